"""Every DL/T 645-2007 function: request, normal reply and abnormal reply, encoded and decoded, with the
data field (after removing 33H) written out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
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
    build_event_clear,
    build_event_clear_reply,
    build_frame,
    build_freeze,
    build_freeze_reply,
    build_meter_clear,
    build_meter_clear_reply,
    build_read_follow_up_reply,
    build_read_follow_up_request,
    build_read_reply,
    build_read_request,
    build_remote_control,
    build_remote_control_reply,
    build_write_address_reply,
    build_write_address_request,
    build_write_reply,
    build_write_request,
    decode_frame,
    encode_from_json,
    frame_to_json,
)
from gridcare.protocols.errors import BadField, BadLength, FrameError

A = "201000000012"


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def roundtrip(frame: bytes):
    """Decode, check the JSON contract encodes back to the same bytes, return the decoded frame."""
    decoded = decode_frame(frame)
    assert encode_from_json(frame_to_json(decoded)) == frame
    return decoded


def test_broadcast_time_from_aware_datetime_is_sent_in_beijing_time():
    utc = datetime(2017, 6, 5, 2, 22, 51, tzinfo=UTC)
    frame = roundtrip(build_broadcast_time(utc))
    assert frame.payload == h("512210050617")
    assert frame.values == (Value("time", "2017-06-05 10:22:51"),)
    naive = build_broadcast_time(datetime(2017, 6, 5, 10, 22, 51))
    assert naive == build_broadcast_time(utc.astimezone(timezone(timedelta(hours=8))))


def test_broadcast_time_with_impossible_date_is_bad_field():
    raw = build_frame("999999999999", 0x08, h("512210310217"))  # 31 February 2017
    with pytest.raises(BadField) as exc:
        decode_frame(raw)
    assert exc.value.position == 10


def test_read_load_profile_given_time_request():
    frame = roundtrip(build_read_request(A, "06000001", block_count=1, start_time="2015-10-09 00:00"))
    assert frame.payload == h("01000006 01 0000091015")
    assert frame.values == (Value("block_count", 1), Value("start_time", "2015-10-09 00:00"))
    frame = roundtrip(build_read_request(A, "06000002", block_count=12))
    assert frame.payload == h("02000006 12")  # NN is BCD: 12 blocks -> 12H


def test_read_request_with_a_bad_length_is_rejected():
    with pytest.raises(BadLength) as exc:
        decode_frame(build_frame(A, 0x11, h("000001")))
    assert exc.value.position == 10


def test_read_reply_with_follow_up_flag():
    frame = roundtrip(build_read_reply(A, "00010000", [Decimal("1.00")], follow_up=True))
    assert (frame.control, frame.follow_up) == (0xB1, True)


def test_read_follow_up_request_and_reply():
    req = roundtrip(build_read_follow_up_request(A, "0001FF00", seq=1))
    assert (req.control, req.payload, req.values) == (0x12, h("00FF0100 01"), (Value("seq", 1),))
    rep = roundtrip(build_read_follow_up_reply(A, "0001FF00", [Decimal("5.00"), Decimal("6.00")], seq=1))
    assert rep.control == 0x92
    assert rep.payload == h("00FF0100 00050000 00060000 01")
    assert [v.name for v in rep.values] == ["forward_active_total", "forward_active_t1", "seq"]
    assert rep.values[-1] == Value("seq", 1)


def test_follow_up_part_that_splits_an_item_is_kept_raw_with_a_warning():
    frame = decode_frame(build_frame(A, 0xB2, h("00FF0100 000500 02")))
    assert frame.values == (Value("raw", "000500"), Value("seq", 2))
    assert frame.warnings == ("0001FF00: partial data of a multi-frame reply kept as raw hex",)
    assert encode_from_json(frame_to_json(frame)) == build_frame(A, 0xB2, h("00FF0100 000500 02"))


def test_write_request_and_reply():
    frame = roundtrip(
        build_write_request(A, "04000102", ["21:53:55"], password="02123456", operator="12345678")
    )
    # DI 02 01 00 04 | PA P0 P1 P2 = 02 56 34 12 | operator 78 56 34 12 | hhmmss low first 55 53 21
    assert frame.payload == h("02010004 02563412 78563412 555321")
    assert frame.values == (
        Value("password", "02123456"),
        Value("operator", "12345678"),
        Value("time", "21:53:55"),
    )
    reply = roundtrip(build_write_reply(A))
    assert (reply.control, reply.payload, reply.values) == (0x94, b"", ())
    abnormal = roundtrip(build_abnormal_reply(A, 0x14, 0x04))
    assert (abnormal.control, abnormal.error_bits) == (0xD4, 4)


def test_write_address_request_and_reply():
    frame = roundtrip(build_write_address_request("201000000099"))
    assert frame.address == "AAAAAAAAAAAA"
    assert (frame.control, frame.payload) == (0x15, h("990000001020"))
    assert frame.values == (Value("address", "201000000099"),)
    assert roundtrip(build_write_address_reply("201000000099")).control == 0x95


def test_write_address_data_must_not_hold_wildcards():
    with pytest.raises(FrameError):
        decode_frame(build_frame("AAAAAAAAAAAA", 0x15, h("9900000010AA")))


@pytest.mark.parametrize(
    ("pattern", "payload"),
    [
        ("99999999", "99999999"),  # freeze now
        ("99990000", "00009999"),  # daily at 00:00
        ("99011200", "00120199"),  # monthly, day 1 at 12:00
        ("99999930", "30999999"),  # hourly at minute 30
        ("10091215", "15120910"),  # once, 9 October 12:15
    ],
)
def test_freeze_patterns_are_sent_minute_first(pattern, payload):
    frame = roundtrip(build_freeze(A, pattern))
    assert (frame.control, frame.payload, frame.values) == (0x16, h(payload), (Value("pattern", pattern),))


@pytest.mark.parametrize("pattern", ["13010000", "99329900", "0199999", "12999900", "9999996A"])
def test_bad_freeze_patterns_are_rejected(pattern):
    with pytest.raises(BadField):
        build_freeze(A, pattern)


def test_freeze_reply_and_broadcast_freeze():
    assert roundtrip(build_freeze_reply(A)).control == 0x96
    assert roundtrip(build_freeze("999999999999", "99999999")).address == "999999999999"


@pytest.mark.parametrize(
    ("baud", "z"), [(600, 0x02), (1200, 0x04), (2400, 0x08), (4800, 0x10), (9600, 0x20), (19200, 0x40)]
)
def test_change_baud_feature_byte(baud, z):
    req = roundtrip(build_change_baud(A, baud))
    assert (req.control, req.payload, req.values) == (0x17, bytes([z]), (Value("baud_rate", baud, "bps"),))
    rep = roundtrip(build_change_baud_reply(A, baud))
    assert (rep.control, rep.payload) == (0x97, bytes([z]))


def test_change_baud_rejects_non_standard_rates_and_feature_bytes():
    with pytest.raises(BadField):
        build_change_baud(A, 115200)
    with pytest.raises(BadField) as exc:
        decode_frame(build_frame(A, 0x17, b"\x32"))  # 0x32 sets three bits: no single rate
    assert exc.value.position == 10
    assert roundtrip(build_abnormal_reply(A, 0x17, 0x08)).error_bits == 0x08


def test_change_password():
    req = roundtrip(build_change_password(A, "02000000", "04123456"))
    # DI 04 00 0C 05 (level 4 -> 05) | old 02 00 00 00 | new 04 56 34 12
    assert req.payload == h("050C0004 02000000 04563412")
    assert (req.di, req.values) == (
        "04000C05",
        (Value("old_password", "02000000"), Value("new_password", "04123456")),
    )
    rep = roundtrip(build_change_password_reply(A, "04123456"))
    assert (rep.control, rep.payload, rep.values) == (
        0x98,
        h("04563412"),
        (Value("new_password", "04123456"),),
    )


@pytest.mark.parametrize(
    ("builder", "control", "reply_builder", "reply_control"),
    [
        (build_demand_clear, 0x19, build_demand_clear_reply, 0x99),
        (build_meter_clear, 0x1A, build_meter_clear_reply, 0x9A),
    ],
)
def test_demand_and_meter_clear(builder, control, reply_builder, reply_control):
    req = roundtrip(builder(A, "02000000", "12345678"))
    assert (req.control, req.payload) == (control, h("02000000 78563412"))
    assert req.values == (Value("password", "02000000"), Value("operator", "12345678"))
    rep = roundtrip(reply_builder(A))
    assert (rep.control, rep.payload) == (reply_control, b"")
    assert roundtrip(build_abnormal_reply(A, control, 0x04)).control == control | 0xC0


def test_event_clear_all_and_one_kind():
    req = roundtrip(build_event_clear(A, "02000000", "00000001"))
    assert req.payload == h("02000000 01000000 FFFFFFFF")
    assert (req.di, req.values) == (
        "FFFFFFFF",
        (Value("password", "02000000"), Value("operator", "00000001")),
    )
    one = roundtrip(build_event_clear(A, "02000000", "00000001", di="03300DFF"))
    assert one.payload[-4:] == h("FF0D3003")
    assert roundtrip(build_event_clear_reply(A)).control == 0x9B


@pytest.mark.parametrize(
    ("command", "code"),
    [
        ("trip", 0x1A),
        ("allow_close", 0x1B),
        ("direct_close", 0x1C),
        ("alarm", 0x2A),
        ("alarm_release", 0x2B),
        ("keep_power", 0x3A),
        ("keep_power_release", 0x3B),
    ],
)
def test_remote_control_commands(command, code):
    frame = roundtrip(build_remote_control(A, command, "2017-06-05 10:22:51", "02000000", "12345678"))
    assert frame.control == 0x1C
    # PA P0P1P2 | C0..C3 | N1 command, N2 00, N3..N8 ss mm hh DD MM YY
    assert frame.payload == h("02000000 78563412") + bytes([code, 0]) + h("512210050617")
    assert frame.values == (
        Value("password", "02000000"),
        Value("operator", "12345678"),
        Value("command", command),
        Value("valid_until", "2017-06-05 10:22:51"),
    )


def test_remote_control_reply_and_refusals():
    assert roundtrip(build_remote_control_reply(A)).control == 0x9C
    one = roundtrip(build_abnormal_reply(A, 0x1C, 0x04))
    assert (one.control, one.payload, one.error_bits) == (0xDC, b"\x04", 4)
    word = roundtrip(build_abnormal_reply(A, 0x1C, 0x0110))  # two-byte error word of cost-control meters
    assert (word.payload, word.error_bits) == (h("1001"), 0x0110)


def test_remote_control_unknown_command_byte_is_bad_field():
    raw = build_frame(A, 0x1C, h("02000000 78563412 4A00 512210050617"))
    with pytest.raises(BadField) as exc:
        decode_frame(raw)
    assert exc.value.position == 18


def test_remote_control_reserved_byte_is_tolerated_with_a_warning():
    frame = decode_frame(build_frame(A, 0x1C, h("02000000 78563412 1A07 512210050617")))
    assert frame.warnings == ("remote control reserved byte N2 is 07, expected 00",)
    assert frame.values[2] == Value("command", "trip")


def test_abnormal_reply_with_two_bytes_only_for_remote_control():
    with pytest.raises(BadLength):
        decode_frame(build_frame(A, 0xD1, h("0101")))
    with pytest.raises(BadField):
        build_abnormal_reply(A, 0x11, 0x100)


def test_encode_from_json_accepts_parts_instead_of_control():
    obj = {
        "protocol": "dlt645-2007",
        "address": A,
        "direction": "request",
        "abnormal": False,
        "follow_up": False,
        "function": 0x11,
        "di": "02010100",
        "values": [],
    }
    assert encode_from_json(obj) == build_read_request(A, "02010100")
    with pytest.raises(BadField):
        encode_from_json({**obj, "control": 0x91})  # disagrees with direction


@pytest.mark.parametrize(
    "obj",
    [
        {"protocol": "dlt645-2009", "address": A, "control": 0x11, "di": "00010000", "values": []},
        {"address": 201000000012, "control": 0x11, "di": "00010000", "values": []},
        {"address": A, "control": 0x11, "di": "0001", "values": []},
        {"address": A, "control": 0x11, "di": None, "values": []},
        {
            "address": A,
            "control": 0x91,
            "di": "00010000",
            "values": [{"name": "forward_active_total", "value": True}],
        },
        {"address": A, "control": 0x91, "di": "00010000", "values": [{"name": "wrong_name", "value": 1}]},
        {
            "address": A,
            "control": 0x91,
            "di": "00010000",
            "values": [{"name": "forward_active_total", "value": 1.234}],
        },
        {"address": A, "control": 0xD1, "values": [], "error_bits": None},
        {"address": A, "control": 0x88, "values": []},
        {"address": A, "control": 0x05, "values": []},
        {"address": A, "control": 0x16, "values": [{"name": "pattern", "value": "1309"}]},
        {"address": A, "control": 0x1C, "values": [{"name": "password", "value": "0200000"}]},
    ],
)
def test_encode_from_json_rejects_bad_input_with_a_frame_error(obj):
    with pytest.raises(FrameError):
        encode_from_json(obj)


def test_values_accept_value_objects_with_names():
    frame = build_read_reply(A, "02010100", [Value("voltage_a", Decimal("220.1"), "V")])
    assert decode_frame(frame).values == (Value("voltage_a", Decimal("220.1"), "V"),)
    with pytest.raises(BadField):
        build_read_reply(A, "02010100", [Value("voltage_b", Decimal("220.1"), "V")])
