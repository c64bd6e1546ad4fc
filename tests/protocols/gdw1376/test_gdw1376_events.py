"""AFN 0EH event requests and replies, and the ERC records."""

from __future__ import annotations

import pytest

from gridcare.protocols import gdw1376 as g

ADDR = g.Address("0171", 2082)

# Request important events pm = 0, pn = 5: C 4BH (request class 2/3 data), AFN 0E, SEQ 65H, p0 F1, data 00 05.
# L = 14 << 2 | 2 = 3AH. CS = 4B+71+01+22+08+00+0E+65+00+00+01+00+00+05 = 352 -> 60.
REQUEST = bytes.fromhex("68 3A 00 3A 00 68 4B 71 01 22 08 00 0E 65 00 00 01 00 00 05 60 16")
# Reply: EC1 1, EC2 0, pm 0, pn 1, one ERC14 (0E, Le 0A): power off 2018-08-27 23:05 (05 23 27 08 18),
# power on 2018-08-28 06:30 (30 06 28 08 18). L = 28 << 2 | 2 = 72H.
# CS = 88+71+01+22+08+00+0E+65 (407) + 01 (DT) + 01+00+00+01+0E+0A (26) + 111 + 126 = 671 -> 9F.
REPLY = bytes.fromhex(
    "68 72 00 72 00 68 88 71 01 22 08 00 0E 65 00 00 01 00"
    " 01 00 00 01 0E 0A 05 23 27 08 18 30 06 28 08 18 9F 16"
)


def test_event_request_golden() -> None:
    assert g.build_event_request(ADDR, 1, 0, 5, 5) == REQUEST
    assert g.frame_to_json(g.decode_frame(REQUEST))["units"][0]["data"] == {"pm": 0, "pn": 5}


def test_event_reply_golden_erc14() -> None:
    event = {"erc": 14, "power_off_time": "2018-08-27 23:05", "power_on_time": "2018-08-28 06:30"}
    assert g.build_event_reply(ADDR, 1, 1, 0, 0, [event], 5) == REPLY
    data = g.frame_to_json(g.decode_frame(REPLY))["units"][0]["data"]
    assert data == {
        "ec1": 1,
        "ec2": 0,
        "pm": 0,
        "pn": 1,
        "events": [
            {
                "erc": 14,
                "name": "terminal power off/on (终端停/上电)",
                "power_off_time": "2018-08-27 23:05",
                "power_on_time": "2018-08-28 06:30",
            }
        ],
    }


def wrap_events(records_hex: str, pm: int = 0, count: int = 1) -> bytes:
    body = bytes.fromhex(
        f"88 71 01 22 08 00 0E 60 00 00 02 00 02 05 {pm:02X} {(pm + count) % 256:02X} " + records_hex
    )
    l_field = (len(body) << 2 | 2).to_bytes(2, "little")
    return b"\x68" + l_field + l_field + b"\x68" + body + bytes([sum(body) & 0xFF, 0x16])


def decode_events(records_hex: str, count: int = 1) -> tuple[list[dict[str, object]], list[str]]:
    raw = wrap_events(records_hex, 0, count)
    obj = g.frame_to_json(g.decode_frame(raw))
    assert g.encode_from_json(obj) == raw  # every ERC re-encodes to the same bytes
    return obj["units"][0]["data"]["events"], obj["warnings"]


T = "00 10 28 08 18"  # 2018-08-28 10:00


def test_erc1_init_and_version() -> None:
    events, warnings = decode_events(f"01 0E {T} 02 56 31 2E 30 56 31 2E 31")
    assert events[0] == {
        "erc": 1,
        "name": "data init / version change (数据初始化和版本变更)",
        "time": "2018-08-28 10:00",
        "flags": 2,
        "init": False,
        "version_changed": True,
        "old_version": "V1.0",
        "new_version": "V1.1",
    }
    assert warnings == []


def test_erc3_parameter_change() -> None:
    events, _ = decode_events(f"03 0E {T} 05 00 00 01 00 01 01 02 01")
    assert events[0]["master_address"] == 5
    assert events[0]["changed"] == [{"pn": [0], "fn": [1]}, {"pn": [1], "fn": [10]}]


def test_erc10_voltage_loop() -> None:
    # pn 1, start (01 80); flags 81H = phase A, kind 2 (voltage loss); Ua 0.0, Ub 220.5, Uc 221.0 (A.7);
    # Ia 0.000, Ib 1.500, Ic -2.250 (A.25); forward active 1234.5678 (A.14). Le = 5+2+1+6+9+5 = 28 = 1CH.
    events, _ = decode_events(
        f"0A 1C {T} 01 80 81 00 00 05 22 10 22 00 00 00 00 15 00 50 22 80 78 56 34 12 00"
    )
    e = events[0]
    assert (e["pn"], e["start"], e["phases"], e["kind_code"], e["kind"]) == (
        1,
        True,
        ["A"],
        2,
        "voltage_loss",
    )
    assert e["voltage_v"] == [0.0, 220.5, 221.0]
    assert e["current_a"] == [0.0, 1.5, -2.25]
    assert e["forward_active_kwh"] == 1234.5678


def test_erc12_and_erc13() -> None:
    events, _ = decode_events(f"0C 07 {T} 05 80 0D 08 {T} 03 00 12", count=2)
    assert (events[0]["erc"], events[0]["pn"], events[0]["start"]) == (12, 5, True)
    e13 = events[1]
    assert (e13["pn"], e13["start"], e13["flags"]) == (3, False, 0x12)
    assert e13["phase_break_count_changed"] is True
    assert e13["battery_low"] is True
    assert e13["programming_or_demand_reset"] is False


def test_erc21_terminal_fault() -> None:
    events, _ = decode_events(f"15 06 {T} 04")
    assert (events[0]["fault_code"], events[0]["fault"]) == (4, "RS-485 meter reading fault")


def test_erc37_meter_cover_open() -> None:
    before = "00 00 10 00 00 00 00 00 34 12 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
    after = "01 00 10 00 00 00 00 00 34 12 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
    events, _ = decode_events(
        f"25 46 {T} 02 00 12 00 00 30 15 20 27 08 18 00 16 20 27 08 18 {before} {after}"
    )
    e = events[0]
    assert (e["pn"], e["start"], e["open_count"]) == (2, False, 12)
    assert (e["open_time"], e["close_time"]) == ("2018-08-27 20:15:30", "2018-08-27 20:16:00")
    assert e["before"] == {
        "forward_active_kwh": 1000.0,
        "reverse_active_kwh": 0.0,
        "q1_reactive_kvarh": 12.34,
        "q2_reactive_kvarh": 0.0,
        "q3_reactive_kvarh": 0.0,
        "q4_reactive_kvarh": 0.0,
    }
    assert e["after"]["forward_active_kwh"] == 1000.01


def test_erc40_magnetic_interference() -> None:
    events, _ = decode_events(f"28 0F {T} 02 80 02 12 00 00 00 10 20 02")
    e = events[0]
    assert (e["pn"], e["start"], e["device_type"], e["device"]) == (2, True, 2, "meter")
    assert e["device_address"] == "201000000012"
    assert (e["anomaly_type"], e["anomaly"]) == (2, "strong constant field")


def test_unknown_erc_is_raw_with_warning() -> None:
    events, warnings = decode_events(f"1F 03 AA BB CC 0E 0A {'EE ' * 10}", count=2)
    assert events[0] == {"erc": 31, "name": "ERC31", "raw": "aabbcc"}
    assert events[1]["erc"] == 14 and events[1]["power_off_time"] is None
    assert warnings == ["AFN0E F2 p0: unknown ERC31 (3 bytes) kept as raw hex"]


def test_erc_that_does_not_decode_is_raw_with_warning() -> None:
    events, warnings = decode_events("0E 0A 05 23 32 13 18 30 06 28 08 18")  # month 13
    assert events[0]["raw"] == "0523321318300628" + "0818"
    assert len(warnings) == 1 and "ERC14 content does not decode" in warnings[0]


def test_erc_with_extra_bytes_keeps_them() -> None:
    events, warnings = decode_events(f"15 07 {T} 04 99")
    assert events[0]["fault_code"] == 4 and events[0]["extra_hex"] == "99"
    assert warnings == ["AFN0E F2 p0: ERC21: 1 bytes after the known fields kept in extra_hex"]


def test_pointers_announce_more_records_than_present() -> None:
    raw = wrap_events(
        f"15 06 {T} 04", pm=250, count=8
    )  # pm 250, pn 2: (2 - 250) mod 256 = 8 records announced
    f = g.decode_frame(raw)
    data = f.units[0].items[0].data
    assert (data["pm"], data["pn"], len(data["events"])) == (250, 2, 1)
    assert f.warnings == ["AFN0E F2 p0: pointers pm=250 pn=2 announce 8 records, the frame holds 1"]


@pytest.mark.parametrize("erc", [1, 3, 10, 12, 13, 14, 21, 37, 40])
def test_every_known_erc_encodes_from_sparse_fields(erc: int) -> None:
    raw = g.build_event_reply(ADDR, 1, 0, 0, 0, [{"erc": erc}], 1)
    events = g.frame_to_json(g.decode_frame(raw))["units"][0]["data"]["events"]
    assert events[0]["erc"] == erc
    assert "raw" not in events[0]


def test_cut_off_last_record_keeps_the_earlier_ones() -> None:
    # two records announced: a whole ERC21, then an ERC14 whose Le (0A) promises 10 bytes but only 3 follow
    raw = wrap_events(f"15 06 {T} 04 0E 0A 05 23 27", count=2)
    obj = g.frame_to_json(g.decode_frame(raw))
    data = obj["units"][0]["data"]
    assert [e["erc"] for e in data["events"]] == [21]
    assert data["trailing_hex"] == "0e0a052327"
    # byte 32 = 6 (68 L L 68) + 8 (C A AFN SEQ) + 4 (DA DT) + 4 (EC1 EC2 pm pn) + 8 (ERC21) + 2 (ERC14, Le)
    assert obj["warnings"] == [
        "AFN0E F2 p0: event record 2 is cut off (ERC14 content: needs 10 bytes, only 3 left at byte 32); "
        "5 bytes kept in trailing_hex",
        "AFN0E F2 p0: pointers pm=0 pn=2 announce 2 records, the frame holds 1",
    ]
    assert g.encode_from_json(obj) == raw
