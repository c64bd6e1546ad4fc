"""Power factor and the adjustment tables of 《功率因数调整电费办法》."""

from __future__ import annotations

import pytest

from gridcare.billing import pf_adjustment_pct, power_factor
from tests.billing.builders import D

# (power factor, adjustment %) straight from the three official tables.
TABLE_090 = [
    ("1.00", "-0.75"),
    ("0.95", "-0.75"),
    ("0.94", "-0.60"),
    ("0.93", "-0.45"),
    ("0.92", "-0.30"),
    ("0.91", "-0.15"),
    ("0.90", "0"),
    ("0.89", "0.5"),
    ("0.83", "3.5"),
    ("0.80", "5.0"),
    ("0.75", "7.5"),
    ("0.70", "10.0"),
    ("0.69", "11"),
    ("0.65", "15"),
    ("0.64", "17"),
    ("0.60", "25"),
]
TABLE_085 = [
    ("1.00", "-1.10"),
    ("0.94", "-1.10"),
    ("0.93", "-0.95"),
    ("0.92", "-0.80"),
    ("0.91", "-0.65"),
    ("0.90", "-0.5"),
    ("0.88", "-0.3"),
    ("0.86", "-0.1"),
    ("0.85", "0"),
    ("0.84", "0.5"),
    ("0.65", "10.0"),
    ("0.64", "11"),
    ("0.60", "15"),
    ("0.59", "17"),
]
TABLE_080 = [
    ("1.00", "-1.30"),
    ("0.92", "-1.30"),
    ("0.91", "-1.15"),
    ("0.90", "-1.0"),
    ("0.85", "-0.5"),
    ("0.81", "-0.1"),
    ("0.80", "0"),
    ("0.79", "0.5"),
    ("0.60", "10.0"),
    ("0.59", "11"),
    ("0.55", "15"),
    ("0.54", "17"),
]


@pytest.mark.parametrize(
    ("standard", "pf", "pct"),
    [("0.90", pf, pct) for pf, pct in TABLE_090]
    + [("0.85", pf, pct) for pf, pct in TABLE_085]
    + [("0.80", pf, pct) for pf, pct in TABLE_080],
)
def test_official_tables(standard: str, pf: str, pct: str) -> None:
    assert pf_adjustment_pct(D(standard), D(pf)) == D(pct)


def test_pf_is_rounded_half_up_before_the_table() -> None:
    assert pf_adjustment_pct(D("0.90"), D("0.895")) == 0  # -> 0.90
    assert pf_adjustment_pct(D("0.90"), D("0.8949")) == D("0.5")  # -> 0.89


def test_unknown_standard() -> None:
    with pytest.raises(ValueError, match=r"0\.90, 0\.85 or 0\.80"):
        pf_adjustment_pct(D("0.95"), D("0.9"))


def test_power_factor_exact_values() -> None:
    assert power_factor(D(3), D(4)) == D("0.60")
    assert power_factor(D(111000), D(80000)) == D("0.81")
    assert power_factor(D(5), D(0)) == D("1.00")
    assert power_factor(D(0), D(5)) == D("0.00")
    assert power_factor(D(0), D(0)) is None


def test_power_factor_rounds_half_up_at_the_boundary() -> None:
    # Q/P = 0.498887... puts PF just below 0.895; Q/P = 0.498 just above.
    assert power_factor(D(1000), D(499)) == D("0.89")  # 0.89478
    assert power_factor(D(1000), D(498)) == D("0.90")  # 0.89515


def test_power_factor_refuses_negative_energy() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        power_factor(D(-1), D(1))
