"""DL/T 645-1997: two-byte data identifiers and the 1997 function bodies.

Control codes (function D4..D0; replies set D7, abnormal replies D6, follow-up frames D5):
01 read, 02 read follow-up, 03 reread, 04 write, 08 broadcast time (identical to 2007 and decoded as
2007), 0A write address, 0C change baud rate, 0F change password, 10 maximum demand clear.

Identifiers covered (DI1 DI0 shown most significant first, sent DI0 first; xF = block of the items):

- 901x / 902x: (current) forward / reverse active energy, x = 0 total, 1..4 tariffs, F block (XXXXXX.XX kWh);
  911x / 912x: forward / reverse reactive; 913x, 915x, 916x, 914x: quadrant I, II, III, IV reactive (kvarh);
  941x / 942x (and 951x..956x reactive): the same of last month;
- A01x / A02x: forward / reverse active maximum demand (XX.XXXX kW); B01x / B02x: their times (MMDDhhmm);
- B611..B613 voltage A..C (XXX V), B621..B623 current (XX.XX A), B630..B633 active power total/A..C
  (XX.XXXX kW), B640..B643 reactive power (XX.XX kvar), B650..B653 power factor (X.XXX), each with xF block;
- C010 date and week (YYMMDDWW), C011 time (hhmmss), C020 run status byte, C030 / C031 active / reactive
  constant, C032 meter number (表号), C033 user number, C034 device code.
"""

from __future__ import annotations

from collections.abc import Sequence

from gridcare.protocols.dlt645.datablock import DataSpec, single
from gridcare.protocols.dlt645.fields import (
    di_from_wire,
    di_to_wire,
    expect,
    need_length,
    password_from_wire,
    password_to_wire,
)
from gridcare.protocols.dlt645.functions import (
    Body,
    Encoder,
    FunctionCodec,
    decode_baud,
    decode_di_data,
    decode_empty,
    decode_new_password,
    decode_plain_address,
    empty_codec,
    encode_baud,
    encode_di_data,
    encode_empty,
    encode_new_password,
    encode_plain_address,
    need_di,
)
from gridcare.protocols.dlt645.model import Value
from gridcare.protocols.dlt645.values import Field, number, when
from gridcare.protocols.errors import BadLength

_ENERGY = {
    0x901: ("forward_active", "正向有功", "kWh"),
    0x902: ("reverse_active", "反向有功", "kWh"),
    0x911: ("forward_reactive", "正向无功", "kvarh"),
    0x912: ("reverse_reactive", "反向无功", "kvarh"),
    0x913: ("q1_reactive", "一象限无功", "kvarh"),
    0x914: ("q4_reactive", "四象限无功", "kvarh"),
    0x915: ("q2_reactive", "二象限无功", "kvarh"),
    0x916: ("q3_reactive", "三象限无功", "kvarh"),
}
_PHASE_VARS = {
    0xB61: ("voltage", "电压", "XXX", "V", False),
    0xB62: ("current", "电流", "XX.XX", "A", False),
    0xB63: ("active_power", "有功功率", "XX.XXXX", "kW", False),
    0xB64: ("reactive_power", "无功功率", "XX.XX", "kvar", False),
    0xB65: ("power_factor", "功率因数", "X.XXX", "", False),
}
_PHASES = {0: ("total", "总"), 1: ("a", "A相"), 2: ("b", "B相"), 3: ("c", "C相")}


def _tariff(x: int) -> tuple[str, str]:
    return ("total", "总") if x == 0 else (f"t{x}", f"费率{x}")


def _energy(di: str, head: int, x: int, last_month: bool) -> DataSpec | None:
    if head not in _ENERGY or not (0 <= x <= 4 or x == 0xF):
        return None
    base, zh, unit = _ENERGY[head]
    when_zh = "(上月)" if last_month else "(当前)"
    suffix = "_last_month" if last_month else ""

    def field(t: int) -> Field:
        t_en, t_zh = _tariff(t)
        return number(f"{base}_{t_en}{suffix}", "XXXXXX.XX", unit, False, f"{when_zh}{zh}{t_zh}电能")

    if x == 0xF:
        groups = tuple((field(t),) for t in range(15))
        return DataSpec(di, f"{when_zh}{zh}电能数据块", f"{base} block", groups, True)
    f = field(x)
    return single(di, f.name_zh, f.name, f)


def _demand(di: str, head: int, x: int) -> DataSpec | None:
    kind = {
        0xA01: ("forward_active", "正向有功"),
        0xA02: ("reverse_active", "反向有功"),
        0xB01: ("forward_active", "正向有功"),
        0xB02: ("reverse_active", "反向有功"),
    }.get(head)
    if kind is None or not (0 <= x <= 4 or x == 0xF):
        return None
    base, zh = kind
    is_time = head >> 8 == 0xB

    def field(t: int) -> Field:
        t_en, t_zh = _tariff(t)
        if is_time:
            return when(f"{base}_demand_{t_en}_time", "MMDDhhmm", f"{zh}{t_zh}最大需量发生时间")
        return number(f"{base}_demand_{t_en}", "XX.XXXX", "kW", False, f"{zh}{t_zh}最大需量")

    if x == 0xF:
        groups = tuple((field(t),) for t in range(15))
        return DataSpec(
            di, f"{zh}最大需量{'发生时间' if is_time else ''}数据块", f"{base} demand block", groups, True
        )
    f = field(x)
    return single(di, f.name_zh, f.name, f)


def _phase_var(di: str, head: int, x: int) -> DataSpec | None:
    if head not in _PHASE_VARS:
        return None
    base, zh, fmt, unit, signed = _PHASE_VARS[head]
    first = 1 if head in (0xB61, 0xB62) else 0

    def field(k: int) -> Field:
        s, p = _PHASES[k]
        return number(f"{base}_{s}", fmt, unit, signed, f"{p}{zh}")

    if x == 0xF:
        return DataSpec(di, f"{zh}数据块", f"{base} block", tuple((field(k),) for k in range(first, 4)), True)
    if not first <= x <= 3:
        return None
    f = field(x)
    return single(di, f.name_zh, f.name, f)


_PARAMETERS_1997: dict[str, DataSpec] = {
    s.di: s
    for s in (
        single(
            "C010",
            "日期及周次",
            "date and weekday",
            Field("weekday", "bcd", 1, "WW", name_zh="周次"),
            when("date", "YYMMDD", "日期"),
        ),
        single("C011", "时间", "time", when("time", "hhmmss", "时间")),
        single(
            "C020",
            "电表运行状态字",
            "run status",
            Field("status_word", "bin", 1, "XX", name_zh="电表运行状态字"),
        ),
        single(
            "C030",
            "电表常数(有功)",
            "active constant",
            number("active_constant", "XXXXXX", "imp/kWh", name_zh="电表常数(有功)"),
        ),
        single(
            "C031",
            "电表常数(无功)",
            "reactive constant",
            number("reactive_constant", "XXXXXX", "imp/kvarh", name_zh="电表常数(无功)"),
        ),
        single(
            "C032", "表号", "meter number", Field("meter_number", "digits", 6, "NNNNNNNNNNNN", name_zh="表号")
        ),
        single(
            "C033",
            "用户号",
            "user number",
            Field("user_number", "digits", 6, "NNNNNNNNNNNN", name_zh="用户号"),
        ),
        single(
            "C034",
            "设备码",
            "device code",
            Field("device_code", "digits", 6, "NNNNNNNNNNNN", name_zh="设备码"),
        ),
    )
}


def lookup_1997(di: str) -> DataSpec | None:
    """The DL/T 645-1997 spec for a 4-hex-digit identifier ("9010"), or None."""
    if len(di) != 4:
        return None
    try:
        value = int(di, 16)
    except ValueError:
        return None
    di = di.upper()
    head, x = value >> 4, value & 0xF
    if head >> 8 == 0x9:
        if head in _ENERGY:
            return _energy(di, head, x, False)
        if head - 0x40 in _ENERGY:
            return _energy(di, head - 0x40, x, True)
        return None
    if head >> 8 in (0xA, 0xB) and head in (0xA01, 0xA02, 0xB01, 0xB02):
        return _demand(di, head, x)
    if head in _PHASE_VARS:
        return _phase_var(di, head, x)
    return _PARAMETERS_1997.get(di)


# ---- 1997 function bodies -------------------------------------------------------------------------------


def _dec_read(payload: bytes, offset: int) -> Body:
    need_length(payload, (2,), "1997 read request", offset)
    return Body(di_from_wire(payload))


def _enc_read(di: str | None, values: Sequence[Value]) -> bytes:
    expect(values, [], "1997 read request")
    return di_to_wire(need_di(di, "1997 read request"), 2)


def _dec_read_reply(payload: bytes, offset: int, follow_up: bool) -> Body:
    if len(payload) < 2:
        raise BadLength(f"1997 read reply needs a 2-byte identifier, got {len(payload)} bytes", offset)
    di = di_from_wire(payload[:2])
    return decode_di_data(di, payload[2:], offset + 2, lookup_1997, partial=follow_up)


def _enc_read_reply(di: str | None, values: Sequence[Value]) -> bytes:
    di = need_di(di, "1997 read reply")
    return di_to_wire(di, 2) + encode_di_data(di, values, lookup_1997)


def _dec_reread(payload: bytes, offset: int) -> Body:
    return decode_empty(payload, offset, "1997 reread request")


def _dec_write(payload: bytes, offset: int) -> Body:
    if len(payload) < 7:
        raise BadLength(f"1997 write request needs identifier, password and data, got {len(payload)}", offset)
    di = di_from_wire(payload[:2])
    data = decode_di_data(di, payload[6:], offset + 6, lookup_1997)
    return Body(di, (Value("password", password_from_wire(payload[2:6])), *data.values), data.warnings)


def _enc_write(di: str | None, values: Sequence[Value]) -> bytes:
    di = need_di(di, "1997 write request")
    (password,) = expect(values[:1], ["password"], "1997 write request")
    return di_to_wire(di, 2) + password_to_wire(password) + encode_di_data(di, values[1:], lookup_1997)


def _dec_address(payload: bytes, offset: int) -> Body:
    need_length(payload, (6,), "1997 write address request", offset)
    return Body(None, (Value("address", decode_plain_address(payload, offset)),))


def _enc_address(di: str | None, values: Sequence[Value]) -> bytes:
    (address,) = expect(values, ["address"], "1997 write address request")
    return encode_plain_address(address)


def _dec_change_password(payload: bytes, offset: int) -> Body:
    need_length(payload, (8,), "1997 change password request", offset)
    return Body(
        None,
        (
            Value("old_password", password_from_wire(payload[:4])),
            Value("new_password", password_from_wire(payload[4:])),
        ),
    )


def _enc_change_password(di: str | None, values: Sequence[Value]) -> bytes:
    old, new = expect(values, ["old_password", "new_password"], "1997 change password request")
    return password_to_wire(old, "old_password") + password_to_wire(new, "new_password")


def _dec_baud_reply(payload: bytes, offset: int, follow_up: bool) -> Body:
    return decode_baud(payload, offset)


def _dec_demand_clear(payload: bytes, offset: int) -> Body:
    return decode_empty(payload, offset, "1997 demand clear request")


def _enc_none(what: str) -> Encoder:
    def enc(di: str | None, values: Sequence[Value]) -> bytes:
        return encode_empty(di, values, what)

    return enc


def _reread_encoder(di: str | None, values: Sequence[Value]) -> bytes:
    return encode_empty(di, values, "1997 reread request")


CODECS_1997: dict[int, FunctionCodec] = {
    0x01: FunctionCodec("read", _dec_read, _enc_read, _dec_read_reply, _enc_read_reply),
    0x02: FunctionCodec("read_follow_up", _dec_read, _enc_read, _dec_read_reply, _enc_read_reply),
    0x03: FunctionCodec("reread", _dec_reread, _reread_encoder, _dec_read_reply, _enc_read_reply),
    0x04: FunctionCodec("write", _dec_write, _enc_write, *empty_codec("1997 write reply")),
    0x0A: FunctionCodec(
        "write_address", _dec_address, _enc_address, *empty_codec("1997 write address reply")
    ),
    0x0C: FunctionCodec(
        "change_baud", lambda p, o: decode_baud(p, o), encode_baud, _dec_baud_reply, encode_baud
    ),
    0x0F: FunctionCodec(
        "change_password",
        _dec_change_password,
        _enc_change_password,
        decode_new_password,
        encode_new_password,
    ),
    0x10: FunctionCodec(
        "demand_clear", _dec_demand_clear, _enc_none("1997 demand clear request"), *empty_codec("1997 reply")
    ),
}
