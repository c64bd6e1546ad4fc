"""DL/T 645-1997: two-byte identifiers, the 1997 control codes, detection of the edition."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gridcare.protocols.dlt645 import (
    Value,
    build_abnormal_reply,
    build_broadcast_time,
    build_change_baud,
    build_change_baud_reply,
    build_change_password,
    build_change_password_reply,
    build_demand_clear,
    build_demand_clear_reply,
    build_frame,
    build_read_follow_up_request,
    build_read_reply,
    build_read_request,
    build_reread_reply,
    build_reread_request,
    build_write_address_reply,
    build_write_address_request,
    build_write_reply,
    build_write_request,
    decode_frame,
    encode_from_json,
    error_names,
    frame_to_json,
    lookup_1997,
)
from gridcare.protocols.errors import BadField, BadLength, UnsupportedFrame

A = "201000000012"


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def roundtrip(frame: bytes):
    decoded = decode_frame(frame)
    assert decoded.protocol == "dlt645-1997"
    assert encode_from_json(frame_to_json(decoded)) == frame
    return decoded


# Read 9010: DI0 DI1 = 10 90 -> 43 C3. CS = 274 + 01 + 02 + 67 + 195 = 539 = 0x21B -> 1B.
READ_9010 = h("68 120000001020 68 01 02 43C3 1B 16")
# Reply 1234.56 kWh: 89 67 45 33. CS = 274 + 81(129) + 06 + 262 + 360 = 1031 = 0x407 -> 07.
REPLY_9010 = h("68 120000001020 68 81 06 43C3 89674533 07 16")


def test_read_forward_active_total_golden():
    assert build_read_request(A, "9010") == READ_9010
    req = roundtrip(READ_9010)
    assert (req.control, req.function, req.di, req.values) == (0x01, 0x01, "9010", ())
    assert build_read_reply(A, "9010", [Decimal("1234.56")]) == REPLY_9010
    rep = roundtrip(REPLY_9010)
    assert (rep.control, rep.direction, rep.di) == (0x81, "reply", "9010")
    assert rep.values == (Value("forward_active_total", Decimal("1234.56"), "kWh"),)


# B611 A-phase voltage 220 V (XXX, 2 bytes: 20 02 -> 53 35); DI 11 B6 -> 44 E9.
# CS = 274 + 129 + 4 + 68 + 233 + 83 + 53 = 844 = 0x34C -> 4C.
def test_voltage_golden():
    frame = h("68 120000001020 68 81 04 44E9 5335 4C 16")
    assert build_read_reply(A, "B611", [220]) == frame
    assert roundtrip(frame).values == (Value("voltage_a", 220, "V"),)


def test_block_901f_total_and_four_tariffs():
    values = [Decimal("10.00"), Decimal("1.00"), Decimal("2.00"), Decimal("3.00"), Decimal("4.00")]
    frame = roundtrip(build_read_reply(A, "901F", values))
    assert [v.name for v in frame.values] == [
        "forward_active_total",
        "forward_active_t1",
        "forward_active_t2",
        "forward_active_t3",
        "forward_active_t4",
    ]
    assert [v.value for v in frame.values] == values


@pytest.mark.parametrize(
    ("di", "name", "unit", "length", "decimals"),
    [
        ("9020", "reverse_active_total", "kWh", 4, 2),
        ("9110", "forward_reactive_total", "kvarh", 4, 2),
        ("9120", "reverse_reactive_total", "kvarh", 4, 2),
        ("9130", "q1_reactive_total", "kvarh", 4, 2),
        ("9140", "q4_reactive_total", "kvarh", 4, 2),
        ("9410", "forward_active_total_last_month", "kWh", 4, 2),
        ("A010", "forward_active_demand_total", "kW", 3, 4),
        ("B010", "forward_active_demand_total_time", "", 4, 0),
        ("B612", "voltage_b", "V", 2, 0),
        ("B621", "current_a", "A", 2, 2),
        ("B630", "active_power_total", "kW", 3, 4),
        ("B633", "active_power_c", "kW", 3, 4),
        ("B640", "reactive_power_total", "kvar", 2, 2),
        ("B650", "power_factor_total", "", 2, 3),
        ("C010", "weekday", "", 1, 0),
        ("C011", "time", "", 3, 0),
        ("C032", "meter_number", "", 6, 0),
    ],
)
def test_1997_registry(di, name, unit, length, decimals):
    field = lookup_1997(di).fields[0]
    assert (field.name, field.unit, field.length, field.decimals) == (name, unit, length, decimals)


@pytest.mark.parametrize("di", ["9015", "9030", "B610", "B614", "C012", "00010000", "90"])
def test_1997_identifiers_outside_the_registry(di):
    assert lookup_1997(di) is None


def test_current_block_and_demand_time():
    frame = roundtrip(build_read_reply(A, "B62F", [Decimal("1.23"), Decimal("4.56"), None]))
    assert [(v.name, v.value) for v in frame.values] == [
        ("current_a", Decimal("1.23")),
        ("current_b", Decimal("4.56")),
        ("current_c", None),
    ]
    frame = roundtrip(build_read_reply(A, "B010", ["10-09 12:15"]))
    assert frame.payload == h("10B0 15120910")
    assert frame.values == (Value("forward_active_demand_total_time", "10-09 12:15"),)


def test_date_time_and_meter_number():
    assert roundtrip(build_read_reply(A, "C010", [1, "2016-01-11"])).payload == h("10C0 01110116")
    assert roundtrip(build_read_reply(A, "C011", ["21:53:55"])).payload == h("11C0 555321")
    assert roundtrip(build_read_reply(A, "C032", ["201000000012"])).values == (
        Value("meter_number", "201000000012"),
    )


def test_follow_up_reread_and_follow_up_flag():
    assert roundtrip(build_read_follow_up_request(A, "901F")).control == 0x02
    req = roundtrip(build_reread_request(A))
    assert (req.control, req.payload, req.di) == (0x03, b"", None)
    rep = roundtrip(build_reread_reply(A, "9010", [Decimal("1.00")], follow_up=True))
    assert (rep.control, rep.follow_up) == (0xA3, True)
    assert roundtrip(build_read_reply(A, "901F", [Decimal("1.00")], follow_up=True)).control == 0xA1


def test_write_has_no_operator_code():
    frame = roundtrip(build_write_request(A, "C011", ["21:53:55"], password="02123456"))
    assert (frame.control, frame.payload) == (0x04, h("11C0 02563412 555321"))
    assert frame.values == (Value("password", "02123456"), Value("time", "21:53:55"))
    assert roundtrip(build_write_reply(A, "dlt645-1997")).control == 0x84


def test_write_address_baud_password_demand_clear():
    frame = roundtrip(build_write_address_request("201000000099", "dlt645-1997"))
    assert (frame.control, frame.values) == (0x0A, (Value("address", "201000000099"),))
    assert roundtrip(build_write_address_reply(A, "dlt645-1997")).control == 0x8A
    baud = roundtrip(build_change_baud(A, 2400, "dlt645-1997"))
    assert (baud.control, baud.payload) == (0x0C, b"\x08")
    assert roundtrip(build_change_baud_reply(A, 2400, "dlt645-1997")).control == 0x8C
    pw = roundtrip(build_change_password(A, "00000000", "01123456", "dlt645-1997"))
    assert (pw.control, pw.payload, pw.di) == (0x0F, h("00000000 01563412"), None)
    assert roundtrip(build_change_password_reply(A, "01123456", "dlt645-1997")).control == 0x8F
    clear = roundtrip(build_demand_clear(A, protocol="dlt645-1997"))
    assert (clear.control, clear.payload) == (0x10, b"")
    assert roundtrip(build_demand_clear_reply(A, "dlt645-1997")).control == 0x90


def test_abnormal_reply_uses_the_1997_error_bits():
    frame = roundtrip(build_abnormal_reply(A, 0x01, 0x02, "dlt645-1997"))
    assert (frame.control, frame.error_bits) == (0xC1, 2)
    assert error_names(frame.error_bits, frame.protocol) == ("bad_data_identifier",)


def test_broadcast_time_is_shared_and_reported_as_2007():
    frame = decode_frame(build_broadcast_time("2017-06-05 10:22:51"))
    assert frame.protocol == "dlt645-2007"
    obj = {**frame_to_json(frame), "protocol": "dlt645-1997"}
    assert encode_from_json(obj) == build_broadcast_time("2017-06-05 10:22:51")


def test_identifier_length_must_match_the_edition():
    with pytest.raises(BadLength) as exc:
        decode_frame(build_frame(A, 0x01, h("00000100")))  # 2007 DI with the 1997 read code
    assert exc.value.position == 10
    with pytest.raises(BadLength):
        decode_frame(build_frame(A, 0x11, h("1090")))  # 1997 DI with the 2007 read code
    with pytest.raises(BadField):
        build_read_request(A, "9010", "dlt645-2007")
    with pytest.raises(UnsupportedFrame):
        encode_from_json(
            {"protocol": "dlt645-1997", "address": A, "control": 0x11, "di": "00010000", "values": []}
        )
