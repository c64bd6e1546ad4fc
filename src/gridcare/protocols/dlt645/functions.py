"""DL/T 645-2007 function bodies: the data field of each request and normal reply, both directions.

Values per function (request -> normal reply; an abnormal reply carries only the error byte):

=====================  =======================================================  ==========================
function               request values                                           reply values
=====================  =======================================================  ==========================
08 broadcast time      time "YYYY-MM-DD hh:mm:ss" (sent ssmmhhDDMMYY)            (no reply)
11 read                di; [] or block_count or block_count, start_time         di; the identifier's items
12 read follow-up      di; seq                                                  di; items..., seq
13 read address        []                                                       address
14 write               di; password, operator, the identifier's items           []
15 write address       address                                                  []
16 freeze              pattern "MMDDhhmm" (99 = every; sent mmhhDDMM)            []
17 change baud rate    baud_rate (bps)                                          baud_rate
18 change password     di 04000C0x; old_password, new_password                  new_password
19 demand clear        password, operator                                       []
1A meter clear         password, operator                                       []
1B event clear         di (FFFFFFFF = all); password, operator                  []
1C remote control      password, operator, command, valid_until                 []
                       (or password, operator, ciphertext when encrypted,
                       hex most significant first, i.e. reversed wire order)
=====================  =======================================================  ==========================

Unknown identifiers decode to one value "raw" (hex) plus a warning. Replies with the follow-up bit and
read-follow-up replies may carry part of a block: when their data does not fit the identifier's items it
is kept raw, with a warning.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gridcare.protocols.dlt645.datablock import DataSpec, decode_data, encode_data, encode_raw, raw_values
from gridcare.protocols.dlt645.fields import (
    as_int,
    di_from_wire,
    di_to_wire,
    expect,
    need_length,
    operator_from_wire,
    operator_to_wire,
    password_from_wire,
    password_to_wire,
)
from gridcare.protocols.dlt645.frame import decode_address, encode_address
from gridcare.protocols.dlt645.model import (
    BAUD_CODES,
    BAUD_FEATURES,
    REMOTE_COMMAND_CODES,
    REMOTE_COMMANDS,
    Value,
)
from gridcare.protocols.dlt645.registry_events import lookup
from gridcare.protocols.dlt645.values import decode_time, encode_time
from gridcare.protocols.errors import BadBcd, BadField, BadLength


@dataclass(frozen=True)
class Body:
    """The decoded data field of one frame."""

    di: str | None
    values: tuple[Value, ...] = ()
    warnings: tuple[str, ...] = ()


Lookup = Callable[[str], DataSpec | None]
RequestDecoder = Callable[[bytes, int], Body]
ReplyDecoder = Callable[[bytes, int, bool], Body]
Encoder = Callable[[str | None, Sequence[Value]], bytes]


@dataclass(frozen=True)
class FunctionCodec:
    """Codecs of one function; ``decode_reply`` is None for a function without a reply."""

    name: str
    decode_request: RequestDecoder
    encode_request: Encoder
    decode_reply: ReplyDecoder | None
    encode_reply: Encoder | None
    abnormal_lengths: tuple[int, ...] = (1,)


# ---- data of an identifier ------------------------------------------------------------------------------


def decode_di_data(di: str, data: bytes, offset: int, find: Lookup, partial: bool = False) -> Body:
    """Decode ``data`` for identifier ``di``; unknown -> raw hex with a warning."""
    spec = find(di)
    if spec is None:
        return Body(di, tuple(raw_values(data)), (f"unknown data identifier {di}: data kept as raw hex",))
    try:
        values, warnings = decode_data(spec, data, offset)
    except BadLength:
        if not partial:
            raise
        return Body(
            di, tuple(raw_values(data)), (f"{di}: partial data of a multi-frame reply kept as raw hex",)
        )
    return Body(di, tuple(values), tuple(warnings))


def encode_di_data(di: str, values: Sequence[Value], find: Lookup) -> bytes:
    """Inverse of :func:`decode_di_data` (a single "raw" value is written as it is)."""
    if len(values) == 1 and values[0].name == "raw":
        return encode_raw(values)
    spec = find(di)
    if spec is None:
        return encode_raw(values)
    return encode_data(spec, values)


def need_di(di: str | None, what: str) -> str:
    if di is None:
        raise BadField(f"{what} needs a data identifier")
    return di


# ---- shared small bodies --------------------------------------------------------------------------------


def decode_empty(payload: bytes, offset: int, what: str) -> Body:
    need_length(payload, (0,), what, offset)
    return Body(None)


def encode_empty(di: str | None, values: Sequence[Value], what: str) -> bytes:
    expect(values, [], what)
    return b""


def empty_codec(what: str) -> tuple[ReplyDecoder, Encoder]:
    def dec(payload: bytes, offset: int, follow_up: bool) -> Body:
        return decode_empty(payload, offset, what)

    def enc(di: str | None, values: Sequence[Value]) -> bytes:
        return encode_empty(di, values, what)

    return dec, enc


def decode_plain_address(raw: bytes, offset: int) -> str:
    text = decode_address(raw, offset)
    if "A" in text:
        raise BadBcd(f"address {text} in the data field must be all digits", offset)
    return text


def encode_plain_address(value: object) -> bytes:
    if not isinstance(value, str) or not value.isdigit():
        raise BadField(f"address {value!r} must be 12 digits")
    return encode_address(value)


def decode_baud(payload: bytes, offset: int) -> Body:
    need_length(payload, (1,), "change baud rate", offset)
    if payload[0] not in BAUD_FEATURES:
        raise BadField(f"baud-rate feature byte {payload[0]:02X} names no single standard rate", offset)
    return Body(None, (Value("baud_rate", BAUD_FEATURES[payload[0]], "bps"),))


def encode_baud(di: str | None, values: Sequence[Value]) -> bytes:
    (baud,) = expect(values, ["baud_rate"], "change baud rate")
    n = as_int(baud, "baud_rate", 0, 10**6)
    if n not in BAUD_CODES:
        raise BadField(f"baud rate {n} is not one of {sorted(BAUD_CODES)}")
    return bytes([BAUD_CODES[n]])


def decode_new_password(payload: bytes, offset: int, follow_up: bool = False) -> Body:
    need_length(payload, (4,), "change password reply", offset)
    return Body(None, (Value("new_password", password_from_wire(payload)),))


def encode_new_password(di: str | None, values: Sequence[Value]) -> bytes:
    (new,) = expect(values, ["new_password"], "change password reply")
    return password_to_wire(new, "new_password")


def decode_auth(payload: bytes, offset: int) -> list[Value]:
    """PA P0 P1 P2 C0 C1 C2 C3 -> password, operator."""
    return [
        Value("password", password_from_wire(payload[0:4])),
        Value("operator", operator_from_wire(payload[4:8])),
    ]


def encode_auth(password: object, operator: object) -> bytes:
    return password_to_wire(password) + operator_to_wire(operator)


# ---- 2007 functions -------------------------------------------------------------------------------------


def _dec_broadcast_time(payload: bytes, offset: int) -> Body:
    need_length(payload, (6,), "broadcast time", offset)
    text = decode_time("YYMMDDhhmmss", payload, offset, "broadcast time")
    if text is None:
        raise BadField("broadcast time carries no time", offset)
    return Body(None, (Value("time", text),))


def _enc_broadcast_time(di: str | None, values: Sequence[Value]) -> bytes:
    (text,) = expect(values, ["time"], "broadcast time")
    return encode_time("YYMMDDhhmmss", text, "broadcast time")  # type: ignore[arg-type]


def _dec_read(payload: bytes, offset: int) -> Body:
    need_length(payload, (4, 5, 10), "read request", offset)
    di = di_from_wire(payload[:4])
    values: list[Value] = []
    if len(payload) >= 5:
        if (payload[4] >> 4) > 9 or (payload[4] & 0x0F) > 9:
            raise BadBcd(f"block count {payload[4]:02X} is not BCD", offset + 4)
        values.append(Value("block_count", (payload[4] >> 4) * 10 + (payload[4] & 0x0F)))
    if len(payload) == 10:
        start = decode_time("YYMMDDhhmm", payload[5:10], offset + 5, "start_time")
        if start is None:
            raise BadField("given-time read carries no start time", offset + 5)
        values.append(Value("start_time", start))
    return Body(di, tuple(values))


def _enc_read(di: str | None, values: Sequence[Value]) -> bytes:
    out = di_to_wire(need_di(di, "read request"), 4)
    names = [v.name for v in values]
    if names == []:
        return out
    if names == ["block_count"]:
        (count,) = expect(values, ["block_count"], "read request")
        return out + bytes([int(f"{as_int(count, 'block_count', 0, 99):02d}", 16)])
    count, start = expect(values, ["block_count", "start_time"], "read request")
    n = int(f"{as_int(count, 'block_count', 0, 99):02d}", 16)
    return out + bytes([n]) + encode_time("YYMMDDhhmm", start, "start_time")  # type: ignore[arg-type]


def _dec_read_reply(payload: bytes, offset: int, follow_up: bool) -> Body:
    if len(payload) < 4:
        raise BadLength(f"read reply needs a 4-byte identifier, got {len(payload)} bytes", offset)
    di = di_from_wire(payload[:4])
    return decode_di_data(di, payload[4:], offset + 4, lookup, partial=follow_up)


def _enc_read_reply(di: str | None, values: Sequence[Value]) -> bytes:
    di = need_di(di, "read reply")
    return di_to_wire(di, 4) + encode_di_data(di, values, lookup)


def _dec_follow_up(payload: bytes, offset: int) -> Body:
    need_length(payload, (5,), "read follow-up request", offset)
    return Body(di_from_wire(payload[:4]), (Value("seq", payload[4]),))


def _enc_follow_up(di: str | None, values: Sequence[Value]) -> bytes:
    (seq,) = expect(values, ["seq"], "read follow-up request")
    return di_to_wire(need_di(di, "read follow-up request"), 4) + bytes([as_int(seq, "seq", 0, 255)])


def _dec_follow_up_reply(payload: bytes, offset: int, follow_up: bool) -> Body:
    if len(payload) < 5:
        raise BadLength(
            f"read follow-up reply needs identifier and sequence, got {len(payload)} bytes", offset
        )
    di = di_from_wire(payload[:4])
    body = decode_di_data(di, payload[4:-1], offset + 4, lookup, partial=True)
    return Body(di, (*body.values, Value("seq", payload[-1])), body.warnings)


def _enc_follow_up_reply(di: str | None, values: Sequence[Value]) -> bytes:
    di = need_di(di, "read follow-up reply")
    if not values or values[-1].name != "seq":
        raise BadField("read follow-up reply takes the identifier's values and then 'seq'")
    seq = as_int(values[-1].value, "seq", 0, 255)
    return di_to_wire(di, 4) + encode_di_data(di, values[:-1], lookup) + bytes([seq])


def _dec_read_address_reply(payload: bytes, offset: int, follow_up: bool) -> Body:
    need_length(payload, (6,), "read address reply", offset)
    return Body(None, (Value("address", decode_plain_address(payload, offset)),))


def _enc_address(di: str | None, values: Sequence[Value]) -> bytes:
    (address,) = expect(values, ["address"], "address")
    return encode_plain_address(address)


def _dec_write(payload: bytes, offset: int) -> Body:
    if len(payload) < 13:
        raise BadLength(
            f"write request needs identifier, password, operator and data, got {len(payload)}", offset
        )
    di = di_from_wire(payload[:4])
    data = decode_di_data(di, payload[12:], offset + 12, lookup)
    return Body(di, (*decode_auth(payload[4:12], offset + 4), *data.values), data.warnings)


def _enc_write(di: str | None, values: Sequence[Value]) -> bytes:
    di = need_di(di, "write request")
    password, operator = expect(values[:2], ["password", "operator"], "write request")
    return di_to_wire(di, 4) + encode_auth(password, operator) + encode_di_data(di, values[2:], lookup)


def _dec_write_address(payload: bytes, offset: int) -> Body:
    need_length(payload, (6,), "write address request", offset)
    return Body(None, (Value("address", decode_plain_address(payload, offset)),))


def _dec_freeze(payload: bytes, offset: int) -> Body:
    need_length(payload, (4,), "freeze request", offset)
    for i, b in enumerate(payload):
        if (b >> 4) > 9 or (b & 0x0F) > 9:
            raise BadBcd(f"freeze time byte {b:02X} is not BCD", offset + i)
    pattern = payload[::-1].hex()
    check_freeze_pattern(pattern, offset)
    return Body(None, (Value("pattern", pattern),))


def check_freeze_pattern(pattern: object, position: int | None = None) -> str:
    """Validate "MMDDhhmm" where leading pairs may be 99 (every month/day/hour; 99999999 = now)."""
    if not isinstance(pattern, str) or len(pattern) != 8 or not pattern.isdigit():
        raise BadField(f"freeze pattern {pattern!r} must be 8 digits MMDDhhmm", position)
    pairs = [int(pattern[i : i + 2]) for i in range(0, 8, 2)]
    ranges = ((1, 12), (1, 31), (0, 23), (0, 59))
    wild = True
    for (lo, hi), v, name in zip(ranges, pairs, ("month", "day", "hour", "minute"), strict=True):
        if v == 99 and wild:
            continue
        wild = False
        if not lo <= v <= hi:
            raise BadField(
                f"freeze pattern {pattern}: {name} {v:02d} out of range (99 only in leading pairs)", position
            )
    return pattern


def _enc_freeze(di: str | None, values: Sequence[Value]) -> bytes:
    (pattern,) = expect(values, ["pattern"], "freeze request")
    return bytes.fromhex(check_freeze_pattern(pattern))[::-1]


def _dec_change_baud(payload: bytes, offset: int) -> Body:
    return decode_baud(payload, offset)


def _dec_change_baud_reply(payload: bytes, offset: int, follow_up: bool) -> Body:
    return decode_baud(payload, offset)


def _dec_change_password(payload: bytes, offset: int) -> Body:
    need_length(payload, (12,), "change password request", offset)
    values = (
        Value("old_password", password_from_wire(payload[4:8])),
        Value("new_password", password_from_wire(payload[8:12])),
    )
    return Body(di_from_wire(payload[:4]), values)


def _enc_change_password(di: str | None, values: Sequence[Value]) -> bytes:
    old, new = expect(values, ["old_password", "new_password"], "change password request")
    if di is None:
        new_wire = password_to_wire(new, "new_password")
        di = f"04000C{min(new_wire[0], 9) + 1:02X}"
    return di_to_wire(di, 4) + password_to_wire(old, "old_password") + password_to_wire(new, "new_password")


def _dec_clear(what: str) -> RequestDecoder:
    def dec(payload: bytes, offset: int) -> Body:
        need_length(payload, (8,), what, offset)
        return Body(None, tuple(decode_auth(payload, offset)))

    return dec


def _enc_clear(what: str) -> Encoder:
    def enc(di: str | None, values: Sequence[Value]) -> bytes:
        password, operator = expect(values, ["password", "operator"], what)
        return encode_auth(password, operator)

    return enc


def _dec_event_clear(payload: bytes, offset: int) -> Body:
    need_length(payload, (12,), "event clear request", offset)
    return Body(di_from_wire(payload[8:12]), tuple(decode_auth(payload[:8], offset)))


def _enc_event_clear(di: str | None, values: Sequence[Value]) -> bytes:
    password, operator = expect(values, ["password", "operator"], "event clear request")
    return encode_auth(password, operator) + di_to_wire(di if di is not None else "FFFFFFFF", 4)


def _dec_remote_control(payload: bytes, offset: int) -> Body:
    if len(payload) <= 8:
        raise BadLength(
            f"remote control needs password, operator and command, got {len(payload)} bytes", offset
        )
    auth = decode_auth(payload[:8], offset)
    if len(payload) != 16:
        return Body(None, (*auth, Value("ciphertext", payload[8:][::-1].hex().upper())))
    code = payload[8]
    if code not in REMOTE_COMMANDS:
        raise BadField(f"remote control command {code:02X} is not defined", offset + 8)
    warnings: tuple[str, ...] = ()
    if payload[9] != 0:
        warnings = (f"remote control reserved byte N2 is {payload[9]:02X}, expected 00",)
    until = decode_time("YYMMDDhhmmss", payload[10:16], offset + 10, "valid_until")
    if until is None:
        raise BadField("remote control carries no validity time", offset + 10)
    return Body(None, (*auth, Value("command", REMOTE_COMMANDS[code]), Value("valid_until", until)), warnings)


def _enc_remote_control(di: str | None, values: Sequence[Value]) -> bytes:
    if [v.name for v in values] == ["password", "operator", "ciphertext"]:
        password, operator, cipher = expect(values, ["password", "operator", "ciphertext"], "remote control")
        try:
            raw = bytes.fromhex(cipher)[::-1]  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            raise BadField(f"ciphertext {cipher!r} is not hex text") from exc
        if len(raw) == 8:
            raise BadField("an 8-byte ciphertext is indistinguishable from plaintext N1..N8")
        return encode_auth(password, operator) + raw
    password, operator, command, until = expect(
        values, ["password", "operator", "command", "valid_until"], "remote control"
    )
    if command not in REMOTE_COMMAND_CODES:
        raise BadField(f"remote control command {command!r} is not one of {sorted(REMOTE_COMMAND_CODES)}")
    code = REMOTE_COMMAND_CODES[command]  # type: ignore[index]
    tail = encode_time("YYMMDDhhmmss", until, "valid_until")  # type: ignore[arg-type]
    return encode_auth(password, operator) + bytes([code, 0]) + tail


def _dec_request_empty(what: str) -> RequestDecoder:
    def dec(payload: bytes, offset: int) -> Body:
        return decode_empty(payload, offset, what)

    return dec


def _codec(
    name: str,
    dec_req: RequestDecoder,
    enc_req: Encoder,
    reply: tuple[ReplyDecoder, Encoder] | None,
    abnormal: tuple[int, ...] = (1,),
) -> FunctionCodec:
    dec_rep, enc_rep = reply if reply is not None else (None, None)
    return FunctionCodec(name, dec_req, enc_req, dec_rep, enc_rep, abnormal)


CODECS_2007: dict[int, FunctionCodec] = {
    0x08: _codec("broadcast_time", _dec_broadcast_time, _enc_broadcast_time, None, ()),
    0x11: _codec("read", _dec_read, _enc_read, (_dec_read_reply, _enc_read_reply)),
    0x12: _codec(
        "read_follow_up", _dec_follow_up, _enc_follow_up, (_dec_follow_up_reply, _enc_follow_up_reply)
    ),
    0x13: _codec(
        "read_address",
        _dec_request_empty("read address request"),
        lambda di, values: encode_empty(di, values, "read address request"),
        (_dec_read_address_reply, _enc_address),
    ),
    0x14: _codec("write", _dec_write, _enc_write, empty_codec("write reply")),
    0x15: _codec("write_address", _dec_write_address, _enc_address, empty_codec("write address reply")),
    0x16: _codec("freeze", _dec_freeze, _enc_freeze, empty_codec("freeze reply")),
    0x17: _codec("change_baud", _dec_change_baud, encode_baud, (_dec_change_baud_reply, encode_baud)),
    0x18: _codec(
        "change_password",
        _dec_change_password,
        _enc_change_password,
        (decode_new_password, encode_new_password),
    ),
    0x19: _codec(
        "demand_clear", _dec_clear("demand clear"), _enc_clear("demand clear"), empty_codec("reply")
    ),
    0x1A: _codec("meter_clear", _dec_clear("meter clear"), _enc_clear("meter clear"), empty_codec("reply")),
    0x1B: _codec("event_clear", _dec_event_clear, _enc_event_clear, empty_codec("event clear reply")),
    0x1C: _codec(
        "remote_control",
        _dec_remote_control,
        _enc_remote_control,
        empty_codec("remote control reply"),
        (1, 2),
    ),
}
