"""The DL/T 645-2007 data-identifier registry: names, formats, lengths, units, signs, and decoded values
of variables, parameters, prepaid money, events, freezes and load-profile records."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gridcare.protocols.dlt645 import (
    Value,
    build_frame,
    build_read_reply,
    decode_frame,
    encode_from_json,
    frame_to_json,
    lookup,
)
from gridcare.protocols.errors import BadChecksum, BadField, BadLength

A = "201000000012"


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def reply(di: str, data: str):
    """Decode a read reply built from hand-written data bytes (33H is added by build_frame)."""
    di_wire = bytes.fromhex(di)[::-1]
    frame = build_frame(A, 0x91, di_wire + h(data))
    decoded = decode_frame(frame)
    assert encode_from_json(frame_to_json(decoded)) == frame
    return decoded


@pytest.mark.parametrize(
    ("di", "name", "zh", "fmt", "length", "unit", "signed", "decimals"),
    [
        ("00000000", "combined_active_total", "(当前)组合有功总电能", "XXXXXX.XX", 4, "kWh", True, 2),
        ("00010000", "forward_active_total", "(当前)正向有功总电能", "XXXXXX.XX", 4, "kWh", False, 2),
        ("00020300", "reverse_active_t3", "(当前)反向有功费率3电能", "XXXXXX.XX", 4, "kWh", False, 2),
        (
            "00010001",
            "forward_active_total_last1",
            "(上1结算日)正向有功总电能",
            "XXXXXX.XX",
            4,
            "kWh",
            False,
            2,
        ),
        ("00030000", "combined_reactive_1_total", "(当前)组合无功1总电能", "XXXXXX.XX", 4, "kvarh", True, 2),
        ("00050000", "q1_reactive_total", "(当前)第一象限无功总电能", "XXXXXX.XX", 4, "kvarh", False, 2),
        ("00080100", "q4_reactive_t1", "(当前)第四象限无功费率1电能", "XXXXXX.XX", 4, "kvarh", False, 2),
        ("00090000", "forward_apparent_total", "(当前)正向视在总电能", "XXXXXX.XX", 4, "kVAh", False, 2),
        ("00150000", "forward_active_phase_a", "(当前)A相正向有功电能", "XXXXXX.XX", 4, "kWh", False, 2),
        ("003D0000", "forward_active_phase_c", "(当前)C相正向有功电能", "XXXXXX.XX", 4, "kWh", False, 2),
        ("01010000", "forward_active_demand_total", "(当前)正向有功总最大需量", "XX.XXXX", 3, "kW", False, 4),
        ("02010100", "voltage_a", "A相电压", "XXX.X", 2, "V", False, 1),
        ("02020300", "current_c", "C相电流", "XXX.XXX", 3, "A", True, 3),
        ("02030000", "active_power_total", "总有功功率", "XX.XXXX", 3, "kW", True, 4),
        ("02040100", "reactive_power_a", "A相无功功率", "XX.XXXX", 3, "kvar", True, 4),
        ("02050000", "apparent_power_total", "总视在功率", "XX.XXXX", 3, "kVA", True, 4),
        ("02060000", "power_factor_total", "总功率因数", "X.XXX", 2, "", True, 3),
        ("02800002", "frequency", "电网频率", "XX.XX", 2, "Hz", False, 2),
        ("00900200", "remaining_money", "(当前)剩余金额", "XXXXXX.XX", 4, "yuan", False, 2),
        ("00900201", "overdraft_money", "(当前)透支金额", "XXXXXX.XX", 4, "yuan", False, 2),
        ("03300D00", "cover_open_count", "开表盖总次数", "XXXXXX", 3, "", False, 0),
        ("03300000", "programming_count", "编程总次数", "XXXXXX", 3, "", False, 0),
        ("1D000001", "trip_count", "跳闸总次数", "XXXXXX", 3, "", False, 0),
        ("1E000001", "close_count", "合闸总次数", "XXXXXX", 3, "", False, 0),
        ("10000001", "loss_of_voltage_count", "失压总次数", "XXXXXX", 3, "", False, 0),
        ("10010001", "loss_of_voltage_count_phase_a", "A相失压总次数", "XXXXXX", 3, "", False, 0),
    ],
)
def test_registry_entries(di, name, zh, fmt, length, unit, signed, decimals):
    spec = lookup(di)
    assert spec is not None
    (field,) = spec.fields[:1]
    assert (field.name, field.name_zh, field.fmt, field.length, field.unit, field.signed, field.decimals) == (
        name,
        zh,
        fmt,
        length,
        unit,
        signed,
        decimals,
    )


@pytest.mark.parametrize(
    "di",
    [
        "00FF0000",
        "0001FFFF",
        "00014000",
        "0001000D",
        "01000000",
        "02010000",
        "02070000",
        "0280000B",
        "04000100",
        "03300D0B",
        "1D000002",
        "1D00FF0B",
        "05060040",
        "06070001",
        "10000000",
        "1234",
        "",
    ],
)
def test_identifiers_outside_the_registry(di):
    assert lookup(di) is None


def test_voltage_block_three_phases():
    frame = reply("0201FF00", "0122 0222 9921")  # 220.1 / 220.2 / 219.9 V
    assert frame.values == (
        Value("voltage_a", Decimal("220.1"), "V"),
        Value("voltage_b", Decimal("220.2"), "V"),
        Value("voltage_c", Decimal("219.9"), "V"),
    )


def test_active_power_block_total_and_phases_with_sign():
    frame = reply("0203FF00", "563412 005081 005000 500004")
    assert [v.value for v in frame.values] == [
        Decimal("12.3456"),
        Decimal("-1.5000"),
        Decimal("0.5000"),
        Decimal("4.0050"),
    ]
    assert [v.name for v in frame.values] == [
        "active_power_total",
        "active_power_a",
        "active_power_b",
        "active_power_c",
    ]


def test_power_factor_and_frequency():
    assert reply("02060000", "8509").values == (Value("power_factor_total", Decimal("0.985"), ""),)
    assert reply("02060100", "0085").values == (Value("power_factor_a", Decimal("-0.500"), ""),)
    assert reply("02800002", "0150").values == (Value("frequency", Decimal("50.01"), "Hz"),)


def test_date_week_time_address_status_words():
    # 04000101 YYMMDDWW sent WW DD MM YY: Monday 2016-01-11
    assert reply("04000101", "01 110116").values == (Value("weekday", 1), Value("date", "2016-01-11"))
    assert reply("04000102", "555321").values == (Value("time", "21:53:55"),)
    assert reply("04000401", "120000001020").values == (Value("address", "201000000012"),)
    # run status word 1 is a bit field (binary, low byte first): bits 2 and 4 -> 0x0014 = 20
    assert reply("04000501", "1400").values == (Value("status_word_1", 0x0014),)
    block = reply("040005FF", "1400 0000 0100")
    assert [(v.name, v.value) for v in block.values] == [
        ("status_word_1", 20),
        ("status_word_2", 0),
        ("status_word_3", 1),
    ]


def test_prepaid_money():
    assert reply("00900200", "56341200").values == (Value("remaining_money", Decimal("1234.56"), "yuan"),)
    assert reply("00900201", "00000000").values == (Value("overdraft_money", Decimal("0.00"), "yuan"),)


def test_settlement_day_block():
    frame = reply("000100FF", "00000100 00000200 00000300")
    assert [(v.name, v.value) for v in frame.values] == [
        ("forward_active_total", Decimal("100.00")),
        ("forward_active_total_last1", Decimal("200.00")),
        ("forward_active_total_last2", Decimal("300.00")),
    ]


def test_demand_block_pairs_value_and_time():
    frame = reply("0101FF00", "563412 0000091015 FFFFFF FFFFFFFFFF")
    assert frame.values == (
        Value("forward_active_demand_total", Decimal("12.3456"), "kW"),
        Value("forward_active_demand_total_time", "2015-10-09 00:00"),
        Value("forward_active_demand_t1", None, "kW"),
        Value("forward_active_demand_t1_time", None),
    )


def test_cover_open_record():
    data = "512210050617 000011050617" + "00000100" * 6 + "00000200" * 6
    frame = reply("03300D01", data)
    assert len(frame.payload) == 4 + 60
    assert frame.values[:4] == (
        Value("start_time", "2017-06-05 10:22:51"),
        Value("end_time", "2017-06-05 11:00:00"),
        Value("before_forward_active_total", Decimal("100.00"), "kWh"),
        Value("before_reverse_active_total", Decimal("100.00"), "kWh"),
    )
    assert frame.values[-1] == Value("after_q4_reactive_total", Decimal("200.00"), "kvarh")


def test_event_record_that_never_happened_has_null_times():
    """Meters fill the times of an event that never happened with zeros; that decodes to None (and is
    re-encoded as the FFH filler), never to a made-up date."""
    frame = decode_frame(build_frame(A, 0x91, h("020D3003" + "000000000000" * 2 + "00000000" * 12)))
    assert frame.values[0] == Value("start_time", None) and frame.values[1] == Value("end_time", None)
    assert frame.values[2] == Value("before_forward_active_total", Decimal("0.00"), "kWh")
    again = decode_frame(encode_from_json(frame_to_json(frame)))
    assert again.payload[4:16] == b"\xff" * 12 and again.values == frame.values


def test_programming_record():
    data = "512210050617 78563412 02010004 01010004" + "FFFFFFFF" * 8
    frame = reply("03300001", data)
    assert frame.values[:4] == (
        Value("time", "2017-06-05 10:22:51"),
        Value("operator", "12345678"),
        Value("programmed_di_1", "04000102"),
        Value("programmed_di_2", "04000101"),
    )
    assert frame.values[4] == Value("programmed_di_3", None)


def test_trip_record_and_close_time():
    data = "512210050617 78563412" + "56341200" + "00000000" * 5
    frame = reply("1D00FF01", data)
    assert [v.name for v in frame.values] == [
        "trip_time",
        "operator",
        "forward_active_total",
        "reverse_active_total",
        "q1_reactive_total",
        "q2_reactive_total",
        "q3_reactive_total",
        "q4_reactive_total",
    ]
    assert frame.values[2] == Value("forward_active_total", Decimal("1234.56"), "kWh")
    assert reply("1E000101", "512210050617").values == (Value("close_time", "2017-06-05 10:22:51"),)


def test_loss_of_voltage_counters_and_times():
    assert reply("10000001", "120000").values == (Value("loss_of_voltage_count", 12),)
    assert reply("10000002", "301200").values == (Value("loss_of_voltage_minutes", 1230, "min"),)
    assert reply("10010101", "512210050617").values == (
        Value("loss_of_voltage_start_phase_a", "2017-06-05 10:22:51"),
    )


@pytest.mark.parametrize("n", [1, 2, 31, 62])
def test_daily_freeze_time_and_energy_for_the_last_n_days(n):
    di_time = f"050600{n:02X}"
    assert reply(di_time, "0000091015").values == (Value("freeze_time", "2015-10-09 00:00"),)
    frame = reply(f"050601{n:02X}", "56341200 00000100 00000200 FFFFFFFF 00000000")
    assert [(v.name, v.value) for v in frame.values] == [
        ("forward_active_total", Decimal("1234.56")),
        ("forward_active_t1", Decimal("100.00")),
        ("forward_active_t2", Decimal("200.00")),
        ("forward_active_t3", None),
        ("forward_active_t4", Decimal("0.00")),
    ]
    assert lookup(f"050602{n:02X}").fields[0].name == "reverse_active_total"


def test_daily_freeze_beyond_62_days_is_not_defined():
    assert lookup("0506003F") is None


def test_daily_freeze_demand_block():
    frame = reply("05060901", "563412 0000091015")
    assert frame.values == (
        Value("forward_active_demand_total", Decimal("12.3456"), "kW"),
        Value("forward_active_demand_total_time", "2015-10-09 00:00"),
    )


# ---- load profile -----------------------------------------------------------------------------------------

# One record at 2015-10-09 12:15 with class 1 only (Ua 220.1, Ub 220.2, Uc 219.9 V; Ia 1.234, Ib 0.500,
# Ic -0.100 A; 50.00 Hz) and five empty classes. n = 5 + 17 + 6 = 28 = 1CH.
# CS = A0+A0 (320) + 1C (28) + time 15 12 09 10 15 (85) + class 1 (35+36+186+70+5+129+80 = 541)
#      + 6*AA (1020) = 1994 = 0x7CA -> CA.
RECORD = "A0A0 1C 1512091015 0122 0222 9921 341200 000500 000180 0050 AAAAAAAAAAAA CA E5"
RECORD_VALUES = (
    Value("record_time", "2015-10-09 12:15"),
    Value("voltage_a", Decimal("220.1"), "V"),
    Value("voltage_b", Decimal("220.2"), "V"),
    Value("voltage_c", Decimal("219.9"), "V"),
    Value("current_a", Decimal("1.234"), "A"),
    Value("current_b", Decimal("0.500"), "A"),
    Value("current_c", Decimal("-0.100"), "A"),
    Value("frequency", Decimal("50.00"), "Hz"),
)


def test_load_profile_record_golden():
    frame = reply("06000001", RECORD)
    assert frame.values == RECORD_VALUES
    assert frame.warnings == ()
    built = build_read_reply(A, "06000001", list(RECORD_VALUES))
    assert decode_frame(built).payload == h("01000006" + RECORD)


def test_load_profile_two_records_and_a_full_record():
    full_values = [
        Value("record_time", "2015-10-09 12:30"),
        *RECORD_VALUES[1:],
        *(
            Value(n, Decimal("1.0000"))
            for n in ("active_power_total", "active_power_a", "active_power_b", "active_power_c")
        ),
        *(
            Value(n, Decimal("-0.5000"))
            for n in ("reactive_power_total", "reactive_power_a", "reactive_power_b", "reactive_power_c")
        ),
        *(
            Value(n, Decimal("0.999"))
            for n in ("power_factor_total", "power_factor_a", "power_factor_b", "power_factor_c")
        ),
        Value("forward_active_total", Decimal("1234.56")),
        Value("reverse_active_total", Decimal("0.00")),
        Value("combined_reactive_1_total", Decimal("-12.34")),
        Value("combined_reactive_2_total", None),
        *(Value(f"q{k}_reactive_total", Decimal(k)) for k in range(1, 5)),
        Value("active_demand_current", Decimal("1.2345")),
        Value("reactive_demand_current", Decimal("0.0001")),
    ]
    frame = decode_frame(build_read_reply(A, "06000000", [*RECORD_VALUES, *full_values]))
    assert [v.value for v in frame.values] == [v.value for v in (*RECORD_VALUES, *full_values)]
    assert [v.name for v in frame.values] == [v.name for v in (*RECORD_VALUES, *full_values)]
    # the full record is 2 + 1 + (5 + 17 + 24 + 8 + 16 + 16 + 6 + 6) + 2 = 103 bytes
    assert len(frame.payload) == 4 + 33 + 103


def test_load_profile_record_marked_bad_is_decoded_with_a_warning():
    record = h(RECORD)
    bad = b"\xe0\xe0" + record[2:-2]
    bad += bytes([sum(bad) & 0xFF, 0xE5])
    frame = decode_frame(build_frame(A, 0x91, h("01000006") + bad))
    assert frame.values == RECORD_VALUES
    assert frame.warnings == ("load record at byte 14 is marked bad by the meter (start code E0E0)",)


def test_load_profile_record_without_trailing_separators():
    """A meter may stop after the last class it records; the byte count n says where."""
    record = h("A0A0 17 1512091015 0122 0222 9921 341200 000500 000180 0050 AA")
    record += bytes([sum(record) & 0xFF, 0xE5])
    assert decode_frame(build_frame(A, 0x91, h("01000006") + record)).values == RECORD_VALUES


def test_load_profile_record_errors():
    good = h("01000006" + RECORD)
    with pytest.raises(BadChecksum) as exc:
        decode_frame(build_frame(A, 0x91, good[:-2] + b"\xcb\xe5"))
    assert exc.value.position == 10 + len(good) - 2
    with pytest.raises(BadField):
        decode_frame(build_frame(A, 0x91, good[:-1] + b"\xe6"))
    with pytest.raises(BadField):
        decode_frame(build_frame(A, 0x91, h("01000006") + b"\xa1" + good[5:]))
    with pytest.raises(BadLength):
        decode_frame(build_frame(A, 0x91, good[:-5]))
    no_separator = h("A0A0 1C 1512091015 0122 0222 9921 341200 000500 000180 0050 ABAAAAAAAAAA")
    no_separator += bytes([sum(no_separator) & 0xFF, 0xE5])
    with pytest.raises(BadField) as exc:
        decode_frame(build_frame(A, 0x91, h("01000006") + no_separator))
    assert exc.value.position == 10 + 4 + 3 + 5 + 17
