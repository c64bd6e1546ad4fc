"""Decode a DL/T 645 frame of either edition, and the JSON contract both ways.

Edition detection: the function code decides (08 and 11..1C are 2007 - 08 is identical in 1997 and
reported as 2007; 01..04, 0A, 0C, 0F, 10 are 1997), and the identifier length must then match (4 bytes
in 2007, 2 bytes in 1997) or the frame is a BadLength error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from gridcare.protocols.dlt645 import loadprofile as _loadprofile  # noqa: F401  (registers its codec)
from gridcare.protocols.dlt645.fields import need_length
from gridcare.protocols.dlt645.frame import build_frame, parse_envelope
from gridcare.protocols.dlt645.functions import CODECS_2007, Body, FunctionCodec
from gridcare.protocols.dlt645.model import (
    ABNORMAL,
    DIR_REPLY,
    FOLLOW_UP,
    FUNCTION_MASK,
    PROTOCOL_1997,
    PROTOCOL_2007,
    Dlt645Frame,
    Protocol,
    Value,
    ValueType,
)
from gridcare.protocols.dlt645.v1997 import CODECS_1997
from gridcare.protocols.errors import BadField, UnsupportedFrame

# Functions whose normal replies may set the follow-up bit (D5).
_FOLLOW_UP_OK = {PROTOCOL_2007: {0x11, 0x12}, PROTOCOL_1997: {0x01, 0x02, 0x03}}


def codec_for(
    function: int, protocol: Protocol | None = None, position: int | None = None
) -> tuple[Protocol, FunctionCodec]:
    """The edition and codec of ``function``; with ``protocol`` given, the function must belong to it."""
    if function in CODECS_2007 and protocol in (None, PROTOCOL_2007):
        return PROTOCOL_2007, CODECS_2007[function]
    if function in CODECS_1997 and protocol in (None, PROTOCOL_1997):
        return PROTOCOL_1997, CODECS_1997[function]
    if function == 0x08 and protocol == PROTOCOL_1997:
        return PROTOCOL_1997, CODECS_2007[function]
    what = f"{protocol} " if protocol else ""
    raise UnsupportedFrame(f"function code {function:02X}H is not a {what}DL/T 645 function", position)


def decode_frame(data: bytes, *, allow_trailing: bool = False) -> Dlt645Frame:
    """Decode one DL/T 645-2007 or -1997 frame (leading FEH bytes allowed).

    Raises only :class:`~gridcare.protocols.errors.FrameError` subclasses, each with the byte position.
    Bytes after the end byte 16H are a BadLength error unless ``allow_trailing`` (then they are ignored).
    """
    env = parse_envelope(data, allow_trailing)
    control = env.control
    function = control & FUNCTION_MASK
    control_pos = env.start + 8
    protocol, codec = codec_for(function, None, control_pos)
    reply = bool(control & DIR_REPLY)
    abnormal = bool(control & ABNORMAL)
    follow_up = bool(control & FOLLOW_UP)
    error_bits: int | None = None
    if not reply:
        if abnormal or follow_up:
            raise BadField(
                f"control code {control:02X}H: a request sets no abnormal or follow-up bit", control_pos
            )
        body = codec.decode_request(env.payload, env.data_offset)
    else:
        if codec.decode_reply is None:
            raise UnsupportedFrame(f"{codec.name} ({function:02X}H) has no reply", control_pos)
        if abnormal:
            if follow_up:
                raise BadField(
                    f"control code {control:02X}H: an abnormal reply has no follow-up", control_pos
                )
            need_length(env.payload, codec.abnormal_lengths, f"{codec.name} abnormal reply", env.data_offset)
            error_bits = int.from_bytes(env.payload, "little")
            body = Body(None)
        else:
            if follow_up and function not in _FOLLOW_UP_OK[protocol]:
                raise BadField(
                    f"control code {control:02X}H: {codec.name} replies have no follow-up", control_pos
                )
            body = codec.decode_reply(env.payload, env.data_offset, follow_up)
    return Dlt645Frame(
        protocol=protocol,
        address=env.address,
        control=control,
        direction="reply" if reply else "request",
        abnormal=abnormal,
        follow_up=follow_up,
        function=function,
        di=body.di,
        values=body.values,
        error_bits=error_bits,
        payload=env.payload,
        warnings=body.warnings,
    )


def encode_body(
    protocol: Protocol, control: int, di: str | None, values: Sequence[Value], error_bits: int | None = None
) -> bytes:
    """The data field (without the 33H offset) of a frame with this control code."""
    function = control & FUNCTION_MASK
    _, codec = codec_for(function, protocol)
    if not control & DIR_REPLY:
        if control & (ABNORMAL | FOLLOW_UP):
            raise BadField(f"control code {control:02X}H: a request sets no abnormal or follow-up bit")
        return codec.encode_request(di, values)
    if codec.encode_reply is None:
        raise UnsupportedFrame(f"{codec.name} ({function:02X}H) has no reply")
    if control & ABNORMAL:
        if control & FOLLOW_UP:
            raise BadField(f"control code {control:02X}H: an abnormal reply has no follow-up")
        if values:
            raise BadField("an abnormal reply carries no values, only error_bits")
        if isinstance(error_bits, bool) or not isinstance(error_bits, int) or error_bits < 0:
            raise BadField(
                f"an abnormal reply needs error_bits as a non-negative integer, got {error_bits!r}"
            )
        size = 1 if error_bits <= 0xFF else 2
        if size not in codec.abnormal_lengths:
            raise BadField(f"error_bits {error_bits} does not fit the {codec.name} abnormal reply")
        return error_bits.to_bytes(size, "little")
    if control & FOLLOW_UP and function not in _FOLLOW_UP_OK[protocol]:
        raise BadField(f"control code {control:02X}H: {codec.name} replies have no follow-up")
    return codec.encode_reply(di, values)


def _json_value(value: ValueType) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value.as_tuple().exponent >= 0 else float(value)  # type: ignore[operator]
    return value


def frame_to_json(frame: Dlt645Frame) -> dict[str, Any]:
    """The JSON contract of a frame (numbers as JSON numbers, times as ISO text)."""
    return {
        "protocol": frame.protocol,
        "address": frame.address,
        "control": frame.control,
        "direction": frame.direction,
        "abnormal": frame.abnormal,
        "follow_up": frame.follow_up,
        "function": frame.function,
        "di": frame.di,
        "values": [{"name": v.name, "value": _json_value(v.value), "unit": v.unit} for v in frame.values],
        "error_bits": frame.error_bits,
        "warnings": list(frame.warnings),
    }


def _from_json(name: str, value: Any) -> ValueType:
    if value is None or isinstance(value, str | Decimal):
        return value
    if isinstance(value, bool):
        raise BadField(f"value {name!r}: booleans are not DL/T 645 values")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    raise BadField(f"value {name!r}: {value!r} is not a number, text or null")


def _control_from_json(obj: Mapping[str, Any]) -> int:
    parts = ("direction", "abnormal", "follow_up", "function")
    composed: int | None = None
    if all(k in obj for k in parts):
        direction = obj["direction"]
        if direction not in ("request", "reply"):
            raise BadField(f"direction must be 'request' or 'reply', got {direction!r}")
        function = obj["function"]
        if isinstance(function, bool) or not isinstance(function, int) or not 0 <= function <= FUNCTION_MASK:
            raise BadField(f"function must be 0..31, got {function!r}")
        composed = (
            (DIR_REPLY if direction == "reply" else 0)
            | (ABNORMAL if obj["abnormal"] else 0)
            | (FOLLOW_UP if obj["follow_up"] else 0)
            | function
        )
    control = obj.get("control")
    if control is None:
        if composed is None:
            raise BadField("give 'control', or 'direction', 'abnormal', 'follow_up' and 'function'")
        return composed
    if isinstance(control, bool) or not isinstance(control, int) or not 0 <= control <= 0xFF:
        raise BadField(f"control must be a byte, got {control!r}")
    if composed is not None and composed != control:
        raise BadField(
            f"control {control:02X}H disagrees with direction/abnormal/follow_up/function ({composed:02X}H)"
        )
    return control


def encode_from_json(obj: Mapping[str, Any]) -> bytes:
    """Frame bytes from the JSON contract of a request or a reply (the inverse of :func:`frame_to_json`)."""
    if not isinstance(obj, Mapping):
        raise BadField("expected a JSON object")
    protocol = obj.get("protocol", PROTOCOL_2007)
    if protocol not in (PROTOCOL_2007, PROTOCOL_1997):
        raise BadField(f"protocol must be {PROTOCOL_2007!r} or {PROTOCOL_1997!r}, got {protocol!r}")
    address = obj.get("address")
    if not isinstance(address, str):
        raise BadField(f"address must be 12 characters of text, got {address!r}")
    control = _control_from_json(obj)
    di = obj.get("di")
    if di is not None and not isinstance(di, str):
        raise BadField(f"di must be hex text or null, got {di!r}")
    raw_values = obj.get("values", [])
    if not isinstance(raw_values, list):
        raise BadField("values must be a list")
    values = []
    for item in raw_values:
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            raise BadField(f"each value needs a 'name', got {item!r}")
        unit = item.get("unit", "")
        values.append(
            Value(
                item["name"],
                _from_json(item["name"], item.get("value")),
                unit if isinstance(unit, str) else "",
            )
        )
    payload = encode_body(protocol, control, di, values, obj.get("error_bits"))
    return build_frame(address, control, payload)
