"""One encoder per function, request and reply, so a master can ask and a simulated meter can answer.

Every builder returns the frame bytes without FEH preamble (see :func:`with_preamble`). Addresses are
12 characters ("201000000012"); passwords "LLPPPPPP" (level, then password); operator codes 8 hex
characters; data identifiers "0001FF00" (2007) or "9010" (1997). Item values of a reply or a write are
given either as :class:`Value` objects (names as the decoder gives them) or as plain values in the
identifier's item order (``Decimal``/int/str/None; None sends the FFH "no data" filler).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from gridcare.protocols.dlt645.codec import encode_body
from gridcare.protocols.dlt645.frame import build_frame
from gridcare.protocols.dlt645.model import (
    ABNORMAL,
    BROADCAST_ADDRESS,
    DIR_REPLY,
    FOLLOW_UP,
    PROTOCOL_1997,
    PROTOCOL_2007,
    WILDCARD_ADDRESS,
    Protocol,
    Value,
    ValueType,
)
from gridcare.protocols.dlt645.registry_events import lookup
from gridcare.protocols.dlt645.v1997 import lookup_1997
from gridcare.protocols.errors import BadField
from gridcare.timeutil import to_beijing

ItemValues = Sequence[Value] | Sequence[ValueType] | bytes

_FN = {
    PROTOCOL_2007: {
        "read": 0x11,
        "follow_up": 0x12,
        "write": 0x14,
        "write_address": 0x15,
        "baud": 0x17,
        "password": 0x18,
        "demand_clear": 0x19,
    },
    PROTOCOL_1997: {
        "read": 0x01,
        "follow_up": 0x02,
        "write": 0x04,
        "write_address": 0x0A,
        "baud": 0x0C,
        "password": 0x0F,
        "demand_clear": 0x10,
    },
}


def _fn(protocol: Protocol, key: str) -> int:
    if protocol not in _FN:
        raise BadField(f"unknown protocol {protocol!r}")
    return _FN[protocol][key]


def _protocol(di: str | None, protocol: Protocol | None) -> Protocol:
    inferred: Protocol | None = None
    if isinstance(di, str):
        inferred = PROTOCOL_1997 if len(di) == 4 else PROTOCOL_2007 if len(di) == 8 else None
    if protocol is None:
        return inferred or PROTOCOL_2007
    if protocol not in (PROTOCOL_2007, PROTOCOL_1997):
        raise BadField(f"unknown protocol {protocol!r}")
    if inferred is not None and inferred != protocol:
        raise BadField(f"data identifier {di!r} does not belong to {protocol}")
    return protocol


def _frame(protocol: Protocol, address: str, control: int, di: str | None, values: Sequence[Value]) -> bytes:
    return build_frame(address, control, encode_body(protocol, control, di, values))


def item_values(di: str, values: ItemValues, protocol: Protocol) -> list[Value]:
    """Plain values in item order -> named :class:`Value` objects for ``di`` (Values pass through)."""
    if isinstance(values, bytes | bytearray):
        return [Value("raw", bytes(values).hex().upper())]
    vals = list(values)
    if all(isinstance(v, Value) for v in vals):
        return vals  # type: ignore[return-value]
    if any(isinstance(v, Value) for v in vals):
        raise BadField("give either all Value objects or all plain values")
    spec = (lookup_1997 if protocol == PROTOCOL_1997 else lookup)(di)
    if spec is None or spec.special is not None:
        raise BadField(f"{di}: give Value objects (unknown identifier or record data)")
    fields = spec.fields
    if len(vals) > len(fields):
        raise BadField(f"{di} has {len(fields)} items, got {len(vals)} values")
    return [Value(f.name, v, f.unit) for f, v in zip(fields, vals, strict=False)]  # type: ignore[arg-type]


def _time_text(value: datetime | str, what: str) -> str:
    if isinstance(value, datetime):
        return to_beijing(value).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, str):
        return value
    raise BadField(f"{what} must be a datetime or text 'YYYY-MM-DD hh:mm:ss', got {value!r}")


# ---- read ---------------------------------------------------------------------------------------------


def build_read_request(
    address: str,
    di: str,
    protocol: Protocol | None = None,
    *,
    block_count: int | None = None,
    start_time: datetime | str | None = None,
) -> bytes:
    """Read request (2007 11H, 1997 01H). Load-profile reads take ``block_count`` and for the
    "given time" identifiers (06 0k 00 01) ``start_time`` (minutes; seconds are dropped)."""
    p = _protocol(di, protocol)
    values: list[Value] = []
    if block_count is not None:
        values.append(Value("block_count", block_count))
    if start_time is not None:
        if block_count is None:
            raise BadField("start_time needs block_count")
        values.append(Value("start_time", _time_text(start_time, "start_time")[:16]))
    return _frame(p, address, _fn(p, "read"), di, values)


def build_read_reply(
    address: str, di: str, values: ItemValues, *, follow_up: bool = False, protocol: Protocol | None = None
) -> bytes:
    """Normal read reply (2007 91H/B1H, 1997 81H/A1H) carrying the items of ``di``."""
    p = _protocol(di, protocol)
    control = DIR_REPLY | (FOLLOW_UP if follow_up else 0) | _fn(p, "read")
    return _frame(p, address, control, di, item_values(di, values, p))


def build_read_follow_up_request(
    address: str, di: str, seq: int = 1, protocol: Protocol | None = None
) -> bytes:
    """Read follow-up request (2007 12H with frame sequence ``seq``; 1997 02H without)."""
    p = _protocol(di, protocol)
    values = [Value("seq", seq)] if p == PROTOCOL_2007 else []
    return _frame(p, address, _fn(p, "follow_up"), di, values)


def build_read_follow_up_reply(
    address: str,
    di: str,
    values: ItemValues,
    seq: int = 1,
    *,
    follow_up: bool = False,
    protocol: Protocol | None = None,
) -> bytes:
    """Read follow-up reply (2007 92H/B2H ends with ``seq``; 1997 82H/A2H)."""
    p = _protocol(di, protocol)
    items = item_values(di, values, p)
    if p == PROTOCOL_2007:
        items = [*items, Value("seq", seq)]
    control = DIR_REPLY | (FOLLOW_UP if follow_up else 0) | _fn(p, "follow_up")
    return _frame(p, address, control, di, items)


def build_reread_request(address: str) -> bytes:
    """DL/T 645-1997 reread request (03H): the meter repeats its last reply."""
    return _frame(PROTOCOL_1997, address, 0x03, None, [])


def build_reread_reply(address: str, di: str, values: ItemValues, *, follow_up: bool = False) -> bytes:
    """DL/T 645-1997 reread reply (83H/A3H)."""
    control = DIR_REPLY | (FOLLOW_UP if follow_up else 0) | 0x03
    return _frame(PROTOCOL_1997, address, control, di, item_values(di, values, PROTOCOL_1997))


def build_read_address_request() -> bytes:
    """Read communication address (13H), sent to the wildcard address AAAAAAAAAAAA."""
    return _frame(PROTOCOL_2007, WILDCARD_ADDRESS, 0x13, None, [])


def build_read_address_reply(address: str) -> bytes:
    """Read address reply (93H): the meter's own address in the address field and the data."""
    return _frame(PROTOCOL_2007, address, 0x93, None, [Value("address", address)])


# ---- write --------------------------------------------------------------------------------------------


def build_write_request(
    address: str,
    di: str,
    values: ItemValues,
    password: str,
    operator: str = "00000000",
    protocol: Protocol | None = None,
) -> bytes:
    """Write data (2007 14H: identifier, password, operator, items; 1997 04H: no operator code)."""
    p = _protocol(di, protocol)
    auth = [Value("password", password)]
    if p == PROTOCOL_2007:
        auth.append(Value("operator", operator))
    return _frame(p, address, _fn(p, "write"), di, [*auth, *item_values(di, values, p)])


def build_write_reply(address: str, protocol: Protocol = PROTOCOL_2007) -> bytes:
    """Write data normal reply (94H / 1997 84H)."""
    return _frame(protocol, address, DIR_REPLY | _fn(protocol, "write"), None, [])


def build_write_address_request(
    new_address: str, protocol: Protocol = PROTOCOL_2007, address: str = WILDCARD_ADDRESS
) -> bytes:
    """Write communication address (15H / 1997 0AH), normally sent to AAAAAAAAAAAA."""
    return _frame(protocol, address, _fn(protocol, "write_address"), None, [Value("address", new_address)])


def build_write_address_reply(address: str, protocol: Protocol = PROTOCOL_2007) -> bytes:
    """Write address normal reply (95H / 1997 8AH)."""
    return _frame(protocol, address, DIR_REPLY | _fn(protocol, "write_address"), None, [])


# ---- broadcast time, freeze, baud rate, password ------------------------------------------------------


def build_broadcast_time(dt: datetime | str, address: str = BROADCAST_ADDRESS) -> bytes:
    """Broadcast time (08H, both editions): ``dt`` in Beijing time (aware datetimes are converted)."""
    return _frame(PROTOCOL_2007, address, 0x08, None, [Value("time", _time_text(dt, "time"))])


def build_freeze(address: str, pattern: str) -> bytes:
    """Freeze (16H): ``pattern`` "MMDDhhmm"; 99 in leading pairs repeats (99DDhhmm monthly, 9999hhmm
    daily, 999999mm hourly), "99999999" freezes now. ``address`` may be 999999999999 (no reply)."""
    return _frame(PROTOCOL_2007, address, 0x16, None, [Value("pattern", pattern)])


def build_freeze_reply(address: str) -> bytes:
    """Freeze normal reply (96H)."""
    return _frame(PROTOCOL_2007, address, 0x96, None, [])


def build_change_baud(address: str, baud: int, protocol: Protocol = PROTOCOL_2007) -> bytes:
    """Change baud rate (17H / 1997 0CH) to ``baud`` bps (600..19200)."""
    return _frame(protocol, address, _fn(protocol, "baud"), None, [Value("baud_rate", baud, "bps")])


def build_change_baud_reply(address: str, baud: int, protocol: Protocol = PROTOCOL_2007) -> bytes:
    """Change baud rate normal reply (97H / 1997 8CH), echoing the new rate."""
    return _frame(
        protocol, address, DIR_REPLY | _fn(protocol, "baud"), None, [Value("baud_rate", baud, "bps")]
    )


def build_change_password(
    address: str, old_password: str, new_password: str, protocol: Protocol = PROTOCOL_2007
) -> bytes:
    """Change password (18H with identifier 04000C01..0A chosen by the new level; 1997 0FH)."""
    values = [Value("old_password", old_password), Value("new_password", new_password)]
    di = None
    if protocol == PROTOCOL_2007:
        level = int(new_password[:2], 16) if isinstance(new_password, str) and len(new_password) == 8 else 0
        di = f"04000C{min(level, 9) + 1:02X}"
    return _frame(protocol, address, _fn(protocol, "password"), di, values)


def build_change_password_reply(address: str, new_password: str, protocol: Protocol = PROTOCOL_2007) -> bytes:
    """Change password normal reply (98H / 1997 8FH) carrying the new password."""
    return _frame(
        protocol, address, DIR_REPLY | _fn(protocol, "password"), None, [Value("new_password", new_password)]
    )


# ---- clears and remote control ------------------------------------------------------------------------


def build_demand_clear(
    address: str, password: str = "02000000", operator: str = "00000000", protocol: Protocol = PROTOCOL_2007
) -> bytes:
    """Maximum demand clear (19H with password and operator; 1997 10H carries no data)."""
    values = [Value("password", password), Value("operator", operator)] if protocol == PROTOCOL_2007 else []
    return _frame(protocol, address, _fn(protocol, "demand_clear"), None, values)


def build_demand_clear_reply(address: str, protocol: Protocol = PROTOCOL_2007) -> bytes:
    """Maximum demand clear normal reply (99H / 1997 90H)."""
    return _frame(protocol, address, DIR_REPLY | _fn(protocol, "demand_clear"), None, [])


def build_meter_clear(address: str, password: str, operator: str = "00000000") -> bytes:
    """Meter clear (1AH)."""
    return _frame(
        PROTOCOL_2007, address, 0x1A, None, [Value("password", password), Value("operator", operator)]
    )


def build_meter_clear_reply(address: str) -> bytes:
    """Meter clear normal reply (9AH)."""
    return _frame(PROTOCOL_2007, address, 0x9A, None, [])


def build_event_clear(address: str, password: str, operator: str = "00000000", di: str = "FFFFFFFF") -> bytes:
    """Event clear (1BH); ``di`` FFFFFFFF clears all events, an event identifier (DI0 = FF) one kind."""
    return _frame(
        PROTOCOL_2007, address, 0x1B, di, [Value("password", password), Value("operator", operator)]
    )


def build_event_clear_reply(address: str) -> bytes:
    """Event clear normal reply (9BH)."""
    return _frame(PROTOCOL_2007, address, 0x9B, None, [])


def build_remote_control(
    address: str, command: str, valid_until: datetime | str, password: str, operator: str = "00000000"
) -> bytes:
    """Remote control (1CH, plaintext form): ``command`` one of trip, allow_close, direct_close, alarm,
    alarm_release, keep_power, keep_power_release; the meter ignores it after ``valid_until``."""
    values = [
        Value("password", password),
        Value("operator", operator),
        Value("command", command),
        Value("valid_until", _time_text(valid_until, "valid_until")),
    ]
    return _frame(PROTOCOL_2007, address, 0x1C, None, values)


def build_remote_control_reply(address: str) -> bytes:
    """Remote control normal reply (9CH)."""
    return _frame(PROTOCOL_2007, address, 0x9C, None, [])


def build_abnormal_reply(
    address: str, function: int, error_bits: int, protocol: Protocol = PROTOCOL_2007
) -> bytes:
    """Abnormal reply to ``function`` (control 0xC0 | function) with error byte ``error_bits``
    (a two-byte error word for remote control when above 0xFF)."""
    if isinstance(function, bool) or not isinstance(function, int) or not 0 <= function <= 0x1F:
        raise BadField(f"function must be 0..31, got {function!r}")
    control = DIR_REPLY | ABNORMAL | function
    return build_frame(address, control, encode_body(protocol, control, None, [], error_bits))
