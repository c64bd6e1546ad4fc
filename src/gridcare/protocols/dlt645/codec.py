"""Decode a DL/T 645 frame of either edition, and the JSON contract both ways.

Edition detection: the function code decides (08 and 11..1C are 2007 - 08 is identical in 1997 and
reported as 2007; 01..04, 0A, 0C, 0F, 10 are 1997), and the identifier length must then match (4 bytes
in 2007, 2 bytes in 1997) or the frame is a BadLength error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal
from types import ModuleType
from typing import Any

from gridcare.protocols import fastbcd
from gridcare.protocols.dlt645 import loadprofile as _loadprofile  # noqa: F401  (registers its codec)
from gridcare.protocols.dlt645.datablock import DataSpec
from gridcare.protocols.dlt645.fast import (
    BCD_BYTES,
    FALLBACK,
    Layout,
    decode_items,
    layouts,
    make_frame,
)
from gridcare.protocols.dlt645.fields import need_length
from gridcare.protocols.dlt645.frame import REMOVE_TABLE, build_frame, parse_envelope
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
from gridcare.protocols.dlt645.registry_events import lookup
from gridcare.protocols.dlt645.v1997 import CODECS_1997, lookup_1997
from gridcare.protocols.errors import BadField, UnsupportedFrame

_accel: ModuleType | None
try:
    from gridcare.protocols.dlt645 import _accel
except ImportError:  # pragma: no cover - built by setup.py wherever a C compiler is at hand
    _accel = None

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


# Read replies (normal, with or without the follow-up bit) whose items have a fast decoding:
# control code -> (edition, identifier length, registry look-up).
_FAST_READ_REPLIES: dict[int, tuple[Protocol, int, Callable[[str], DataSpec | None]]] = {
    0x91: (PROTOCOL_2007, 4, lookup),
    0xB1: (PROTOCOL_2007, 4, lookup),
    **{c: (PROTOCOL_1997, 2, lookup_1997) for c in (0x81, 0x82, 0x83, 0xA1, 0xA2, 0xA3)},
}
_FE = b"\xfe"


def decode_frame_py(data: bytes, allow_trailing: bool = False) -> Dlt645Frame:
    """Decode one DL/T 645-2007 or -1997 frame (leading FEH bytes allowed).

    Raises only :class:`~gridcare.protocols.errors.FrameError` subclasses, each with the byte position.
    Bytes after the end byte 16H are a BadLength error unless ``allow_trailing`` (then they are ignored).

    A well-formed frame takes a fast path (see :mod:`.fast`); anything unusual is decoded, or rejected,
    by the fully checking path, so results and errors are the same either way. :func:`decode_frame` is
    this function, or where the native module was built, its C fast path in front of this function.
    """
    if type(data) is not bytes:
        data = bytes(data)
    n = len(data)
    i = n - len(data.lstrip(_FE)) if n and data[0] == 0xFE else 0
    if n >= i + 12 and data[i] == 0x68 and data[i + 7] == 0x68 and fastbcd.ENABLED:
        cs_pos = i + 10 + data[i + 9]
        if (
            (n == cs_pos + 2 or (allow_trailing and n > cs_pos + 2))
            and data[cs_pos + 1] == 0x16
            and sum(data[i:cs_pos]) & 0xFF == data[cs_pos]
        ):
            raw_address = data[i + 1 : i + 7]
            if not raw_address.translate(None, BCD_BYTES):  # plain digits (no wildcard AH nibble)
                control = data[i + 8]
                payload = data[i + 10 : cs_pos].translate(REMOVE_TABLE)
                fast = _FAST_READ_REPLIES.get(control)
                if fast is not None:
                    protocol, di_len, find = fast
                    if len(payload) >= di_len:
                        di = payload[di_len - 1 :: -1].hex().upper()
                        layout = layouts(di, find).get(len(payload) - di_len)
                        if layout is not None:
                            values = decode_items(layout, payload[di_len:])
                            if values is not None:
                                return make_frame(
                                    protocol,
                                    raw_address[::-1].hex(),
                                    control,
                                    True,
                                    False,
                                    bool(control & FOLLOW_UP),
                                    di,
                                    values,
                                    None,
                                    payload,
                                    (),
                                )
                return _decode_body(raw_address[::-1].hex(), control, payload, i + 8, i + 10)
    env = parse_envelope(data, allow_trailing)
    return _decode_body(env.address, env.control, env.payload, env.start + 8, env.data_offset)


def _decode_body(
    address: str, control: int, payload: bytes, control_pos: int, data_offset: int
) -> Dlt645Frame:
    """The frame from its checked framing fields (``control_pos``, ``data_offset``: buffer positions)."""
    function = control & FUNCTION_MASK
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
        body = codec.decode_request(payload, data_offset)
    else:
        if codec.decode_reply is None:
            raise UnsupportedFrame(f"{codec.name} ({function:02X}H) has no reply", control_pos)
        if abnormal:
            if follow_up:
                raise BadField(
                    f"control code {control:02X}H: an abnormal reply has no follow-up", control_pos
                )
            need_length(payload, codec.abnormal_lengths, f"{codec.name} abnormal reply", data_offset)
            error_bits = int.from_bytes(payload, "little")
            body = Body(None)
        else:
            if follow_up and function not in _FOLLOW_UP_OK[protocol]:
                raise BadField(
                    f"control code {control:02X}H: {codec.name} replies have no follow-up", control_pos
                )
            body = codec.decode_reply(payload, data_offset, follow_up)
    return make_frame(
        protocol,
        address,
        control,
        reply,
        abnormal,
        follow_up,
        body.di,
        body.values,
        error_bits,
        payload,
        body.warnings,
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
        # int when the exponent is >= 0, else float. str() is much cheaper than as_tuple(): without an
        # exponent part a finite Decimal's text has a point exactly when its exponent is negative.
        text = str(value)
        if "E" not in text and value.is_finite():
            return float(value) if "." in text else int(value)
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


def _layouts_of_reply(control: int, di: str) -> dict[int, Layout]:
    """The compiled layouts of identifier ``di`` in a fast read reply with this control code."""
    return layouts(di, _FAST_READ_REPLIES[control][2])


def _setup_native(layout_miss: Callable[[int, str], dict[int, Layout]] = _layouts_of_reply) -> None:
    """Wire the native decoder to this module (tests pass another ``layout_miss``, then restore)."""
    assert _accel is not None
    # create_decimal of a context that cannot round: exactly Decimal(text), without the context look-up
    exact = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)
    _accel.setup(decode_frame_py, layout_miss, FALLBACK, fastbcd, Value, Dlt645Frame, exact.create_decimal)


decode_frame: Callable[..., Dlt645Frame]
if _accel is not None:
    _setup_native()
    decode_frame = _accel.decode_frame
else:  # no C compiler where this was installed: the same results, about 10x slower on read replies
    decode_frame = decode_frame_py
