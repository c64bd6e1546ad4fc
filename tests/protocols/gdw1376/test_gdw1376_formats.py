"""Appendix A data formats: hand-made bytes -> values and back; EEH (and FFH) = no data."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gridcare.protocols.errors import BadBcd, BadField
from gridcare.protocols.gdw1376 import formats as fm
from gridcare.protocols.gdw1376.reader import Reader


def reader(hexstr: str) -> Reader:
    raw = bytes.fromhex(hexstr)
    return Reader(raw, 0, len(raw))


@pytest.mark.parametrize(
    ("fmt", "hexstr", "value"),
    [
        (fm.A5, "55 09", "95.5"),  # +XXX.X: tenths 5, units 5 | tens 9, hundreds 0
        (fm.A5, "00 10", "100.0"),
        (fm.A5, "87 89", "-98.7"),  # sign in D7 of the second byte
        (fm.A7, "01 22", "220.1"),
        (fm.A7, "99 99", "999.9"),
        (fm.A9, "45 23 01", "1.2345"),
        (fm.A9, "30 12 80", "-0.1230"),
        (fm.A9, "99 99 79", "79.9999"),
        (fm.A11, "34 12 00 00", "12.34"),
        (fm.A11, "99 99 99 99", "999999.99"),
        (fm.A13, "78 56 34 12", "1234.5678"),
        (fm.A14, "78 56 34 12 00", "1234.5678"),
        (fm.A14, "00 00 00 50 00", "5000.0000"),
        (fm.A25, "75 18 00", "1.875"),
        (fm.A25, "50 02 80", "-0.250"),
        (fm.A26, "00 10", "1.000"),
        (fm.A26, "56 34", "3.456"),
    ],
)
def test_numeric_formats(fmt: fm.Num, hexstr: str, value: str) -> None:
    assert fm.read_num(reader(hexstr), fmt, "v") == Decimal(value)
    assert fm.num_bytes(Decimal(value), fmt, "v") == bytes.fromhex(hexstr)
    # floats from JSON keep their decimal value
    assert fm.num_bytes(float(value), fmt, "v") == bytes.fromhex(hexstr)


@pytest.mark.parametrize("fmt", [fm.A5, fm.A7, fm.A9, fm.A11, fm.A13, fm.A14, fm.A25, fm.A26])
def test_ee_is_no_data(fmt: fm.Num) -> None:
    r = reader("EE " * fmt.length)
    assert fm.read_num(r, fmt, "v") is None
    assert r.warnings == []
    assert fm.num_bytes(None, fmt, "v") == b"\xee" * fmt.length


def test_ff_filler_is_no_data_with_warning() -> None:
    r = reader("FF FF FF FF FF")
    assert fm.read_num(r, fm.A14, "total") is None
    assert r.warnings == ["total: all FFH used as no-data filler (the standard says EEH)"]


@pytest.mark.parametrize(
    ("fmt", "value"),
    [(fm.A7, "-1.0"), (fm.A9, "80.0000"), (fm.A7, "1000.0"), (fm.A11, "1.234"), (fm.A25, "800.000")],
)
def test_numeric_out_of_range(fmt: fm.Num, value: str) -> None:
    with pytest.raises(BadField):
        fm.num_bytes(Decimal(value), fmt, "v")


def test_bad_bcd_names_position() -> None:
    raw = bytes.fromhex("00 00 1A 22")
    r = Reader(raw, 2, 4)
    with pytest.raises(BadBcd) as info:
        fm.read_num(r, fm.A7, "voltage")
    assert info.value.position == 2


def test_a1_clock_with_weekday() -> None:
    # 2018-08-28 16:19:39 Tuesday: 39 19 16 28 | 2 << 5 | 08 = 48 | 18
    assert fm.read_a1(reader("39 19 16 28 48 18"), "clock") == ("2018-08-28 16:19:39", 2)
    assert fm.a1_bytes("2018-08-28 16:19:39") == bytes.fromhex("39 19 16 28 48 18")  # weekday computed
    assert fm.a1_bytes("2018-12-31 23:59:59", 0) == bytes.fromhex("59 59 23 31 12 18")
    assert fm.read_a1(reader("EE EE EE EE EE EE"), "clock") is None


def test_a15_a17_a20_a21_dates() -> None:
    assert fm.read_a15(reader("18 16 28 08 18"), "t") == "2018-08-28 16:18"
    assert fm.a15_bytes("2018-08-28 16:18") == bytes.fromhex("18 16 28 08 18")
    assert fm.read_a17(reader("05 00 01 08"), "t") == "08-01 00:05"
    assert fm.a17_bytes("08-01 00:05") == bytes.fromhex("05 00 01 08")
    assert fm.read_a20(reader("27 08 18"), "td") == "2018-08-27"
    assert fm.a20_bytes("2018-08-27") == bytes.fromhex("27 08 18")
    assert fm.read_a21(reader("07 18"), "td") == "2018-07"
    assert fm.a21_bytes("2018-07") == bytes.fromhex("07 18")


@pytest.mark.parametrize(
    ("func", "hexstr"),
    [
        (fm.read_a15, "00 25 28 08 18"),
        (fm.read_a20, "30 02 18"),
        (fm.read_a21, "13 18"),
        (fm.read_a1, "00 60 00 01 01 18"),
    ],
)
def test_invalid_dates_are_bad_fields(func: object, hexstr: str) -> None:
    with pytest.raises(BadField):
        func(reader(hexstr), "t")  # type: ignore[operator]


def test_a12_address_and_a10_count() -> None:
    assert fm.read_a12(reader("12 00 00 00 10 20"), "addr") == "201000000012"
    assert fm.a12_bytes("201000000012") == bytes.fromhex("12 00 00 00 10 20")
    assert fm.read_count(reader("12 00 00"), "n") == 12


def test_to_decimal_rejects_non_numbers() -> None:
    for bad in (True, "abc", float("nan"), [1]):
        with pytest.raises(BadField):
            fm.to_decimal(bad, "v")
    assert fm.to_decimal(1234.56, "v") == Decimal("1234.56")
