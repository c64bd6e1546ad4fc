"""Golden DL/T 645-2007 frames with hand-checked bytes and decoded values, and the JSON contract.

Checksums are worked out in the comments: the header 68 12 00 00 00 10 20 68 of meter 201000000012 sums
to 104+18+16+32+104 = 274; each data byte is sent +33H.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from gridcare.protocols.dlt645 import (
    Value,
    build_abnormal_reply,
    build_broadcast_time,
    build_frame,
    build_read_address_reply,
    build_read_reply,
    build_read_request,
    decode_frame,
    encode_from_json,
    error_names,
    frame_to_json,
)
from gridcare.protocols.errors import BadBcd, BadChecksum, BadField, BadLength

A = "201000000012"


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


# Reply 00 01 00 00 = 1234.56 kWh: value BCD 00 12 34 56 sent 56 34 12 00 -> +33H 89 67 45 33.
# CS = 274 + 91(145) + 08 + DI 33 33 34 33 (205) + 89 67 45 33 (360) = 992 = 0x3E0 -> E0.
ENERGY_REPLY = h("68 120000001020 68 91 08 33333433 89674533 E0 16")


def test_forward_active_total_reply_golden():
    assert build_read_reply(A, "00010000", [Decimal("1234.56")]) == ENERGY_REPLY
    frame = decode_frame(b"\xfe\xfe\xfe\xfe" + ENERGY_REPLY)
    assert frame.protocol == "dlt645-2007"
    assert (frame.control, frame.direction, frame.function, frame.di) == (0x91, "reply", 0x11, "00010000")
    assert frame.values == (Value("forward_active_total", Decimal("1234.56"), "kWh"),)
    assert frame.payload == h("00000100 56341200")


def test_json_contract_exactly():
    obj = frame_to_json(decode_frame(ENERGY_REPLY))
    assert obj == {
        "protocol": "dlt645-2007",
        "address": "201000000012",
        "control": 145,
        "direction": "reply",
        "abnormal": False,
        "follow_up": False,
        "function": 17,
        "di": "00010000",
        "values": [{"name": "forward_active_total", "value": 1234.56, "unit": "kWh"}],
        "error_bits": None,
        "warnings": [],
    }
    assert '"value": 1234.56' in json.dumps(obj)
    assert encode_from_json(obj) == ENERGY_REPLY


def test_request_json_has_no_values():
    obj = frame_to_json(decode_frame(build_read_request(A, "00010000")))
    assert obj["values"] == [] and obj["direction"] == "request" and obj["control"] == 0x11
    assert encode_from_json(json.loads(json.dumps(obj))) == build_read_request(A, "00010000")


# Block 00 01 FF 00: total 1234.56, T1 234.56, T2 500.00, T3 400.00, T4 100.00; L = 4 + 5*4 = 0x18.
# CS = 274 + 145 + 24 + DI 33 32 34 33 (204) + 360 + 344 + 209 + 208 + 205 = 1973 = 0x7B5 -> B5.
BLOCK_REPLY = h("68 120000001020 68 91 18 33323433 89674533 89673533 33333833 33333733 33333433 B5 16")


def test_forward_active_block_total_and_four_tariffs():
    values = [Decimal("1234.56"), Decimal("234.56"), Decimal("500.00"), Decimal("400.00"), Decimal("100.00")]
    assert build_read_reply(A, "0001FF00", values) == BLOCK_REPLY
    frame = decode_frame(BLOCK_REPLY)
    assert [v.name for v in frame.values] == [
        "forward_active_total",
        "forward_active_t1",
        "forward_active_t2",
        "forward_active_t3",
        "forward_active_t4",
    ]
    assert [v.value for v in frame.values] == values
    assert {v.unit for v in frame.values} == {"kWh"}
    assert [item["value"] for item in frame_to_json(frame)["values"]] == [
        1234.56,
        234.56,
        500.0,
        400.0,
        100.0,
    ]


def test_block_with_a_missing_tariff_gives_null_not_zero():
    frame = decode_frame(build_read_reply(A, "0001FF00", [Decimal("1.00"), None, Decimal("0.00")]))
    assert [v.value for v in frame.values] == [Decimal("1.00"), None, Decimal("0.00")]
    assert frame_to_json(frame)["values"][1] == {"name": "forward_active_t1", "value": None, "unit": "kWh"}


# All FFH (sent 32 32 32 32): CS = 274 + 145 + 8 + 205 + 4*50 = 832 = 0x340 -> 40.
# All EEH (sent 21 21 21 21): CS = 274 + 145 + 8 + 205 + 4*33 = 764 = 0x2FC -> FC.
@pytest.mark.parametrize(
    "frame",
    [
        h("68 120000001020 68 91 08 33333433 32323232 40 16"),
        h("68 120000001020 68 91 08 33333433 21212121 FC 16"),
    ],
)
def test_missing_data_filler_decodes_to_none(frame):
    decoded = decode_frame(frame)
    assert decoded.values == (Value("forward_active_total", None, "kWh"),)


def test_non_bcd_value_byte_is_bad_bcd_with_its_position():
    raw = h("68 120000001020 68 91 08 33333433 8967 7D 33")  # third value byte 7D-33 = 4A
    frame = b"\xfe" + raw + bytes([sum(raw) & 0xFF, 0x16])
    with pytest.raises(BadBcd) as exc:
        decode_frame(frame)
    assert exc.value.position == 1 + 10 + 4 + 2


def test_data_of_the_wrong_length_is_bad_length_at_the_data():
    raw = h("68 120000001020 68 91 07 33333433 896745")
    with pytest.raises(BadLength) as exc:
        decode_frame(raw + bytes([sum(raw) & 0xFF, 0x16]))
    assert exc.value.position == 14


def test_partial_tariff_item_in_a_block_is_bad_length():
    raw = h("68 120000001020 68 91 0A 33323433 89674533 8967")
    with pytest.raises(BadLength) as exc:
        decode_frame(raw + bytes([sum(raw) & 0xFF, 0x16]))
    assert exc.value.position == 18


# Current A = -1.234 A: XXX.XXX = 001.234, bytes 34 12 00, sign bit -> 34 12 80, sent 67 45 B3.
# DI 02 02 01 00 sent 33 34 35 35. CS = 274 + 145 + 7 + 209 + 351 = 986 = 0x3DA -> DA.
def test_negative_current_sign_bit():
    frame = h("68 120000001020 68 91 07 33343535 6745B3 DA 16")
    assert build_read_reply(A, "02020100", [Decimal("-1.234")]) == frame
    assert decode_frame(frame).values == (Value("current_a", Decimal("-1.234"), "A"),)


# Max demand 01 01 00 00: 12.3456 kW (56 34 12 -> 89 67 45) at 2015-10-09 00:00 (mm hh DD MM YY =
# 00 00 09 10 15 -> 33 33 3C 43 48). CS = 274 + 145 + 12 + 206 + 309 + 301 = 1247 = 0x4DF -> DF.
def test_maximum_demand_with_time():
    frame = h("68 120000001020 68 91 0C 33333434 896745 33333C4348 DF 16")
    assert build_read_reply(A, "01010000", [Decimal("12.3456"), "2015-10-09 00:00"]) == frame
    decoded = decode_frame(frame)
    assert decoded.values == (
        Value("forward_active_demand_total", Decimal("12.3456"), "kW"),
        Value("forward_active_demand_total_time", "2015-10-09 00:00", ""),
    )
    assert frame_to_json(decoded)["values"][1]["value"] == "2015-10-09 00:00"


def test_demand_with_impossible_date_is_bad_field_at_the_time():
    raw = h("68 120000001020 68 91 0C 33333434 896745 33333C") + bytes([0x13 + 0x33, 0x48])  # month 13
    with pytest.raises(BadField) as exc:
        decode_frame(raw + bytes([sum(raw) & 0xFF, 0x16]))
    assert exc.value.position == 10 + 4 + 3


# Read address reply: data 12 00 00 00 10 20 -> 45 33 33 33 43 53.
# CS = 274 + 93(147) + 6 + 69+51+51+51+67+83 (372) = 799 = 0x31F -> 1F.
def test_read_address_reply_gives_one_value_named_address():
    frame = h("68 120000001020 68 93 06 453333334353 1F 16")
    assert build_read_address_reply(A) == frame
    decoded = decode_frame(frame)
    assert decoded.values == (Value("address", "201000000012", ""),)
    assert frame_to_json(decoded)["values"] == [{"name": "address", "value": "201000000012", "unit": ""}]


# Abnormal read reply, error "no data requested" (02H, sent 35). CS = 274 + D1(209) + 1 + 53 = 537 -> 19.
def test_abnormal_reply_gives_error_bits_and_no_values():
    frame = h("68 120000001020 68 D1 01 35 19 16")
    assert build_abnormal_reply(A, 0x11, 0x02) == frame
    decoded = decode_frame(frame)
    assert (decoded.abnormal, decoded.error_bits, decoded.values, decoded.di) == (True, 2, (), None)
    obj = frame_to_json(decoded)
    assert obj["error_bits"] == 2 and obj["values"] == [] and obj["abnormal"] is True
    assert error_names(decoded.error_bits) == ("no_data_requested",)
    assert encode_from_json(obj) == frame


def test_error_bit_names():
    assert error_names(0x7F) == (
        "other_error",
        "no_data_requested",
        "password_error_or_unauthorised",
        "baud_rate_cannot_change",
        "annual_time_zones_exceeded",
        "daily_periods_exceeded",
        "tariff_count_exceeded",
    )
    assert error_names(0x80) == ("bit7",)
    assert error_names(0x06, "dlt645-1997") == ("bad_data_identifier", "password_error")
    assert error_names(0x0012, remote_control_word=True) == ("mac_error", "validity_time_expired")


# Broadcast time 2017-06-05 10:22:51: ss mm hh DD MM YY = 51 22 10 05 06 17 -> 84 55 43 38 39 4A.
# CS = 2*68 (208) + 6*99 (918) + 08 + 06 + 132+85+67+56+57+74 (471) = 1611 = 0x64B -> 4B.
def test_broadcast_time_sends_seconds_first():
    frame = h("68 999999999999 68 08 06 84554338394A 4B 16")
    assert build_broadcast_time("2017-06-05 10:22:51") == frame
    decoded = decode_frame(frame)
    assert decoded.address == "999999999999"
    assert decoded.values == (Value("time", "2017-06-05 10:22:51", ""),)


def test_unknown_di_is_kept_as_raw_hex_with_a_warning():
    frame = build_frame(A, 0x91, h("0201FE04 0102AB"))
    decoded = decode_frame(frame)
    assert decoded.di == "04FE0102"
    assert decoded.values == (Value("raw", "0102AB", ""),)
    assert decoded.warnings == ("unknown data identifier 04FE0102: data kept as raw hex",)
    obj = frame_to_json(decoded)
    assert obj["warnings"] == ["unknown data identifier 04FE0102: data kept as raw hex"]
    assert encode_from_json(obj) == frame


def test_real_world_encrypted_remote_trip_and_its_reply():
    """Frames published in a vendor's integration notes (trip, PA=98, operator 12345678, ciphertext
    865BAA06...C131EB, meter 111111111111). Their checksums must verify."""
    request = h(
        "FEFEFEFE 68 111111111111 68 1C 1C CB333333 AB896745 1E64F436A4F5830A0B3DFCB113771D0039DD8EB9 7D 16"
    )
    decoded = decode_frame(request)
    assert decoded.address == "111111111111"
    assert decoded.values == (
        Value("password", "98000000", ""),
        Value("operator", "12345678", ""),
        Value("ciphertext", "865BAA06CDEA44E07EC90AD8D750C27103C131EB", ""),
    )
    assert encode_from_json(frame_to_json(decoded)) == request[4:]
    reply = decode_frame(h("FEFE 68 111111111111 68 9C 00 D2 16"))
    assert (reply.control, reply.function, reply.direction, reply.values) == (0x9C, 0x1C, "reply", ())


def test_checksum_of_real_world_frame_is_enforced():
    with pytest.raises(BadChecksum):
        decode_frame(h("FEFE 68 111111111111 68 9C 00 D3 16"))
