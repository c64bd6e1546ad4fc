"""AFN 00H, 05H, 0CH, 0DH messages: hand-made golden frames, decode and encode."""

from __future__ import annotations

from decimal import Decimal

from gridcare.protocols import gdw1376 as g

ADDR = g.Address("0171", 2082)
HEAD = "71 01 22 08 00"  # A: area 0171, terminal 2082, msa 0


def wrap(user_hex: str) -> bytes:
    """68 L L 68 user CS 16 (used only where the golden bytes are the user data)."""
    user = bytes.fromhex(user_hex)
    l_field = (len(user) << 2 | 2).to_bytes(2, "little")
    return b"\x68" + l_field + l_field + b"\x68" + user + bytes([sum(user) & 0xFF, 0x16])


# --- AFN 00H ------------------------------------------------------------------------------------------

# Terminal confirms an AFN04 setting unit by unit: C 80H (DIR 1, PRM 0, function 0), AFN 00, SEQ 64H, p0 F3,
# data: AFN 04 | p0 F1 ERR 00 | p1 F10 (DT 02 01) ERR 01. L = 23 << 2 | 2 = 5EH.
# CS = 80+71+01+22+08+00+00+64+00+00+04+00 + 04 + 01 + (01+01+02+01+01) = 392 + 1 + 6 = 399 -> 8F.
UNIT_CONFIRM = bytes.fromhex(
    "68 5E 00 5E 00 68 80 71 01 22 08 00 00 64 00 00 04 00 04 00 00 01 00 00 01 01 02 01 01 8F 16"
)


def test_per_unit_confirm_golden() -> None:
    assert g.build_unit_confirm(ADDR, 4, [([0], [1], True), ([1], [10], False)], 4) == UNIT_CONFIRM
    data = g.frame_to_json(g.decode_frame(UNIT_CONFIRM))["units"][0]["data"]
    assert data == {
        "afn": 4,
        "entries": [{"pn": [0], "fn": [1], "ok": True}, {"pn": [1], "fn": [10], "ok": False}],
    }


def test_confirm_and_deny_all_both_directions() -> None:
    up_confirm = g.build_confirm(ADDR, 3, uplink=True)
    assert up_confirm[6] == 0x80 and up_confirm[12:18] == bytes.fromhex("00 63 00 00 01 00")
    down_deny = g.build_deny(ADDR, 3)
    assert down_deny[6] == 0x00 and down_deny[14:18] == bytes.fromhex("00 00 02 00")
    assert g.decode_frame(down_deny).units[0].fn == [2]
    assert g.frame_to_json(g.decode_frame(up_confirm))["units"][0]["name"] == "confirm all (全部确认)"


# --- AFN 05H ------------------------------------------------------------------------------------------

# Remote trip, round 1: C 4AH, AFN 05, SEQ 72H (CON 1, seq 2), DA 01 01, DT 01 00, data 25H (trip duration
# 2 half hours in D7..D4, alarm delay 5 min in D3..D0), PW 16 x 00. L = 29 << 2 | 2 = 76H.
# CS = 4A+71+01+22+08+00+05+72+01+01+01+00+25 = 389 -> 85.
REMOTE_TRIP = bytes.fromhex(
    "68 76 00 76 00 68 4A 71 01 22 08 00 05 72 01 01 01 00 25" + " 00" * 16 + " 85 16"
)
# Clock set to 2018-08-28 16:19:39 (Tuesday): p0 F31 (DT 40 03), data 39 19 16 28 48 18, PW zeros.
# L = 34 << 2 | 2 = 8AH.
# CS = 4A+71+01+22+08+00+05+73+00+00+40+03 + (39+19+16+28+48+18) = 417 + 240 = 657 -> 91.
CLOCK_SET = bytes.fromhex(
    "68 8A 00 8A 00 68 4A 71 01 22 08 00 05 73 00 00 40 03 39 19 16 28 48 18" + " 00" * 16 + " 91 16"
)


def test_remote_trip_golden() -> None:
    built = g.build_remote_trip(ADDR, [1], alarm_delay_min=5, trip_duration_half_h=2, seq=2)
    assert built == REMOTE_TRIP
    obj = g.frame_to_json(g.decode_frame(REMOTE_TRIP))
    assert obj["units"] == [
        {
            "pn": [1],
            "fn": [1],
            "name": "remote trip (遥控跳闸)",
            "data": {"trip_duration_half_h": 2, "alarm_delay_min": 5},
        }
    ]
    assert obj["pw"] == "00" * 16
    assert obj["seq"]["con"] == 1


def test_allow_close_for_two_rounds() -> None:
    raw = g.build_allow_close(ADDR, [1, 2], seq=2)
    assert raw[14:18] == bytes.fromhex("03 01 02 00")  # rounds 1 and 2, F2; no data before the PW
    assert len(raw) == 6 + 8 + 4 + 16 + 2
    f = g.decode_frame(raw)
    assert [(i.pn, i.fn, i.data) for i in f.units[0].items] == [(1, 2, {}), (2, 2, {})]


def test_clock_set_golden() -> None:
    assert g.build_clock_set(ADDR, "2018-08-28 16:19:39", seq=3) == CLOCK_SET
    data = g.frame_to_json(g.decode_frame(CLOCK_SET))["units"][0]["data"]
    assert data == {"clock": "2018-08-28 16:19:39", "weekday": 2}


def test_keep_power_and_fee_alarm() -> None:
    raw = g.build_control(ADDR, 26, [0], {"alarm_hours": [0, 8, 23]}, 1)
    assert raw[18:21] == bytes.fromhex("01 01 80")  # bits 0, 8, 23 little endian
    assert g.decode_frame(raw).units[0].items[0].data == {"alarm_hours": [0, 8, 23]}
    raw = g.build_control(ADDR, 25, [0], {"duration_half_h": 4}, 1)
    assert raw[18] == 4


# --- AFN 0CH ------------------------------------------------------------------------------------------

# Request F129 for p1: C 4AH (request class 1), AFN 0C, SEQ 61H, DA 01 01, DT 01 10.
# CS = 4A+71+01+22+08+00+0C+61+01+01+01+10 = 358 -> 66.
REQUEST_F129 = bytes.fromhex("68 32 00 32 00 68 4A 71 01 22 08 00 0C 61 01 01 01 10 66 16")
# Reply: C 88H, read time 2018-08-28 16:18 (18 16 28 08 18), M = 4, total 1234.5678 (78 56 34 12 00),
# tariffs 300.1234 (34 12 00 03 00), 500.0000 (00 00 00 05 00), 434.4444 (44 44 34 04 00), tariff 4 no data.
# User data 43 bytes -> L AEH.
# CS = 401 (C..SEQ) + 19 (DA DT) + 118 + 4 + 276 + 73 + 5 + 192 + 5 x EE (1190) = 2278 -> E6.
REPLY_F129 = bytes.fromhex(
    "68 AE 00 AE 00 68 88 71 01 22 08 00 0C 61 01 01 01 10 18 16 28 08 18 04"
    " 78 56 34 12 00 34 12 00 03 00 00 00 00 05 00 44 44 34 04 00 EE EE EE EE EE E6 16"
)


def test_class1_request_golden() -> None:
    assert g.build_class1_request(ADDR, [1], [129], 1) == REQUEST_F129
    obj = g.frame_to_json(g.decode_frame(REQUEST_F129))
    assert obj["units"] == [
        {"pn": [1], "fn": [129], "name": "current forward active energy (当前正向有功电能示值)", "data": {}}
    ]


def test_f129_reply_golden() -> None:
    data = {
        "read_time": "2018-08-28 16:18",
        "tariff_count": 4,
        "forward_active_kwh": [
            Decimal("1234.5678"),
            Decimal("300.1234"),
            Decimal("500"),
            Decimal("434.4444"),
            None,
        ],
    }
    assert g.build_class1_reply(ADDR, [(1, 129, data)], 1) == REPLY_F129
    obj = g.frame_to_json(g.decode_frame(REPLY_F129))
    assert obj["units"][0]["data"] == {
        "read_time": "2018-08-28 16:18",
        "tariff_count": 4,
        "forward_active_kwh": [1234.5678, 300.1234, 500.0, 434.4444, None],
    }


F25_DATA_HEX = (
    "15 16 28 08 18"  # read time 2018-08-28 16:15
    " 45 23 01 15 41 00 15 41 00 15 41 00"  # P total 1.2345, A/B/C 0.4115 kW (A.9)
    " 30 12 80 EE EE EE EE EE EE EE EE EE"  # Q total -0.1230 kvar, phases no data
    " 55 09 00 10 87 89 EE EE"  # PF 95.5, 100.0, -98.7 %, no data (A.5)
    " 01 22 98 21 00 00"  # Ua 220.1, Ub 219.8, Uc 0.0 V (A.7)
    " 75 18 00 50 02 80 00 00 00 EE EE EE"  # Ia 1.875, Ib -0.250, Ic 0.000, I0 no data (A.25)
    " 00 30 01 EE EE EE EE EE EE EE EE EE"  # S total 1.3000 kVA, phases no data
)


def test_f25_reply_decode() -> None:
    assert len(bytes.fromhex(F25_DATA_HEX)) == 67
    raw = wrap(f"88 {HEAD} 0C 62 01 01 01 03 " + F25_DATA_HEX)
    obj = g.frame_to_json(g.decode_frame(raw))
    assert obj["units"][0]["data"] == {
        "read_time": "2018-08-28 16:15",
        "active_power_kw": [1.2345, 0.4115, 0.4115, 0.4115],
        "reactive_power_kvar": [-0.123, None, None, None],
        "power_factor_pct": [95.5, 100.0, -98.7, None],
        "voltage_v": [220.1, 219.8, 0.0],
        "current_a": [1.875, -0.25, 0.0],
        "zero_sequence_current_a": None,
        "apparent_power_kva": [1.3, None, None, None],
    }
    assert obj["warnings"] == []
    assert g.encode_from_json(obj) == raw


F33_BODY_HEX = (
    "18 16 28 08 18 02"  # read time, M = 2
    " 78 56 34 12 00 00 00 00 06 00 78 56 34 06 00"  # forward active 1234.5678, 600.0000, 634.5678 (A.14)
    " 34 12 00 00 00 06 00 00 34 06 00 00"  # forward reactive 12.34, 6.00, 6.34 (A.11)
    " 00 10 00 00 00 05 00 00 00 05 00 00"  # quadrant I 10.00, 5.00, 5.00
    " 34 02 00 00 00 01 00 00 EE EE EE EE"  # quadrant IV 2.34, 1.00, no data
)


def test_f33_reply_decode() -> None:
    raw = wrap(f"88 {HEAD} 0C 63 01 01 01 04 " + F33_BODY_HEX)
    data = g.frame_to_json(g.decode_frame(raw))["units"][0]["data"]
    assert data == {
        "read_time": "2018-08-28 16:18",
        "tariff_count": 2,
        "forward_active_kwh": [1234.5678, 600.0, 634.5678],
        "forward_reactive_kvarh": [12.34, 6.0, 6.34],
        "q1_reactive_kvarh": [10.0, 5.0, 5.0],
        "q4_reactive_kvarh": [2.34, 1.0, None],
    }


def test_f34_reply_decode_same_layout() -> None:
    raw = wrap(f"88 {HEAD} 0C 63 01 01 02 04 " + F33_BODY_HEX)
    data = g.frame_to_json(g.decode_frame(raw))["units"][0]["data"]
    assert data["reverse_active_kwh"] == [1234.5678, 600.0, 634.5678]
    assert data["reverse_reactive_kvarh"] == [12.34, 6.0, 6.34]
    assert data["q2_reactive_kvarh"] == [10.0, 5.0, 5.0]
    assert data["q3_reactive_kvarh"] == [2.34, 1.0, None]


def test_terminal_clock_f2() -> None:
    raw = wrap(f"88 {HEAD} 0C 61 00 00 02 00 39 19 16 28 48 18")
    assert g.frame_to_json(g.decode_frame(raw))["units"][0]["data"] == {
        "clock": "2018-08-28 16:19:39",
        "weekday": 2,
    }


# --- AFN 0DH ------------------------------------------------------------------------------------------

# Request F161 for p1, frozen day 2018-08-27: C 4BH (request class 2), AFN 0D, SEQ 62H, DA 01 01, DT 01 14,
# td_d 27 08 18. L = 15 << 2 | 2 = 3EH. CS = 4B+71+01+22+08+00+0D+62+01+01+01+14+27+08+18 = 436 -> B4.
REQUEST_F161 = bytes.fromhex("68 3E 00 3E 00 68 4B 71 01 22 08 00 0D 62 01 01 01 14 27 08 18 B4 16")


def test_class2_request_golden() -> None:
    assert g.build_class2_request(ADDR, [1], [161], "2018-08-27", 2) == REQUEST_F161
    assert g.frame_to_json(g.decode_frame(REQUEST_F161))["units"][0]["data"] == {"td": "2018-08-27"}


def test_f161_daily_reply() -> None:
    raw = wrap(f"88 {HEAD} 0D 62 01 01 01 14 27 08 18 05 00 28 08 18 01 00 00 00 50 00 00 00 00 50 00")
    data = g.frame_to_json(g.decode_frame(raw))["units"][0]["data"]
    assert data == {
        "td": "2018-08-27",
        "read_time": "2018-08-28 00:05",
        "tariff_count": 1,
        "forward_active_kwh": [5000.0, 5000.0],
    }


def test_f177_monthly_request_and_reply() -> None:
    request = g.build_class2_request(ADDR, [1], [177], "2018-07", 2)
    assert request[14:20] == bytes.fromhex("01 01 01 16 07 18")  # DT F177 = 22 * 8 + 1; td_m 07 18
    raw = wrap(f"88 {HEAD} 0D 62 01 01 01 16 07 18 05 00 01 08 18 01 00 00 00 50 00 00 00 00 50 00")
    data = g.frame_to_json(g.decode_frame(raw))["units"][0]["data"]
    assert data["td"] == "2018-07"
    assert data["read_time"] == "2018-08-01 00:05"
    assert data["forward_active_kwh"] == [5000.0, 5000.0]


def test_f1_daily_and_f18_monthly_frozen_energy() -> None:
    raw = wrap(f"88 {HEAD} 0D 62 01 01 01 00 27 08 18 " + F33_BODY_HEX)
    data = g.frame_to_json(g.decode_frame(raw))["units"][0]["data"]
    assert data["td"] == "2018-08-27"
    assert data["forward_active_kwh"] == [1234.5678, 600.0, 634.5678]
    assert data["q4_reactive_kvarh"] == [2.34, 1.0, None]
    raw = wrap(f"88 {HEAD} 0D 62 01 01 02 02 07 18 " + F33_BODY_HEX)  # F18 = 2 * 8 + 2
    data = g.frame_to_json(g.decode_frame(raw))["units"][0]["data"]
    assert data["td"] == "2018-07"
    assert data["reverse_active_kwh"] == [1234.5678, 600.0, 634.5678]
