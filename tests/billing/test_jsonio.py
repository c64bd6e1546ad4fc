"""Exact JSON in and out."""

from __future__ import annotations

from datetime import date

import pytest

from gridcare.billing import BillingInputError, dumps, loads
from gridcare.billing.numbers import decimal_text, plain
from gridcare.billing.segments import allocate, split_cycle
from tests.billing.builders import D


def test_loads_keeps_decimal_digits() -> None:
    assert loads('{"a": 0.1, "b": 12345678901234567.123456789, "c": 3}') == {
        "a": D("0.1"),
        "b": D("12345678901234567.123456789"),
        "c": 3,
    }


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"a": NaN}', "invalid JSON: NaN is not a number JSON allows"),
        ('{"a": 1, "a": 2}', "invalid JSON: duplicate key 'a'"),
        ('{"a": ', "invalid JSON: Expecting value at line 1 column 7"),
    ],
)
def test_loads_refuses(text: str, reason: str) -> None:
    with pytest.raises(BillingInputError) as excinfo:
        loads(text)
    assert (excinfo.value.errors[0].field, excinfo.value.errors[0].reason) == ("(body)", reason)


def test_dumps_writes_exact_digits() -> None:
    value = {
        "m": D("64.00"),
        "k": D("460"),
        "n": None,
        "d": date(2024, 1, 2),
        "l": [D("-0.75"), True],
        "s": "峰",
    }
    assert (
        dumps(value) == '{"m": 64.00, "k": 460, "n": null, "d": "2024-01-02", "l": [-0.75, true], "s": "峰"}'
    )
    assert dumps({"a": []}, indent=2) == '{\n  "a": []\n}'


def test_number_text() -> None:
    assert decimal_text(D("-0.00")) == "0.00"
    assert decimal_text(plain(D("1E+2"))) == "100"
    assert decimal_text(plain(D("460.0"))) == "460"
    assert decimal_text(plain(D("0.30"))) == "0.3"


def test_allocate_rounds_the_running_total() -> None:
    assert allocate(D(300), [16, 15]) == [D(155), D(145)]
    assert allocate(D(5), [1] * 8) == [D(1), D(0), D(1), D(1), D(0), D(1), D(0), D(1)]
    assert allocate(D("0.4"), [1, 1]) == [D(0), D("0.4")]
    assert allocate(D(7), [0, 0]) == [D(0), D(7)]


def test_split_cycle() -> None:
    spans = split_cycle(
        date(2024, 3, 1), date(2024, 3, 31), [date(2024, 3, 16), date(2024, 3, 1), date(2024, 4, 1)]
    )
    assert [(s.first.day, s.last.day, s.days) for s in spans] == [(1, 15, 15), (16, 31, 16)]
