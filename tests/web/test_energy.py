"""Monthly consumption from frozen registers (pure): month boundaries, a meter change inside a month, gaps."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from gridcare.web.energy import MeterSpan, month_starts, monthly_energy_from_registers

D = Decimal


def test_month_starts_cross_the_year_end() -> None:
    assert month_starts(date(2025, 2, 14), 3) == [
        date(2024, 12, 1),
        date(2025, 1, 1),
        date(2025, 2, 1),
        date(2025, 3, 1),
    ]
    assert month_starts(date(2025, 12, 31), 1) == [date(2025, 12, 1), date(2026, 1, 1)]


def test_a_meter_change_inside_a_month_counts_both_meters_with_their_multipliers() -> None:
    # the old meter (x1) runs until 16 January, the new one (x40, CT) from then on
    spans = [
        MeterSpan("201000000001", 1, date(2020, 1, 1), date(2025, 1, 16)),
        MeterSpan("201000000009", 40, date(2025, 1, 16), None),
    ]
    registers = {
        "201000000001": {
            date(2024, 12, 1): D("1000.00"),
            date(2025, 1, 1): D("1310.50"),
            date(2025, 1, 16): D("1460.50"),
        },
        "201000000009": {
            date(2025, 1, 16): D("0.00"),
            date(2025, 2, 1): D("4.25"),
            date(2025, 3, 1): D("12.00"),
        },
    }
    out = monthly_energy_from_registers(registers, spans, month_starts(date(2025, 2, 1), 3))
    assert out == [
        {"month": "2024-12", "kwh": 310.5},
        {"month": "2025-01", "kwh": 320.0},  # 150 on the old meter + 4.25 x 40 on the new one
        {"month": "2025-02", "kwh": 310.0},  # (12.00 - 4.25) x 40
    ]


def test_a_missing_freeze_or_a_register_going_down_leaves_a_gap_not_a_partial_sum() -> None:
    spans = [MeterSpan("201000000001", 1, date(2020, 1, 1), None)]
    registers = {
        "201000000001": {
            date(2025, 1, 1): D("500.00"),
            date(2025, 2, 1): D("480.00"),
            date(2025, 4, 1): D("700.00"),
        }
    }
    out = monthly_energy_from_registers(registers, spans, month_starts(date(2025, 3, 1), 3))
    assert [m["kwh"] for m in out] == [None, None, None]  # down in January; 1 March missing
    # a month before the customer's first meter has nothing to count: no value either
    late = [MeterSpan("201000000001", 1, date(2025, 2, 1), None)]
    out = monthly_energy_from_registers(
        {"201000000001": {date(2025, 2, 1): D("0.00"), date(2025, 3, 1): D("88.80")}},
        late,
        month_starts(date(2025, 2, 1), 2),
    )
    assert out == [{"month": "2025-01", "kwh": None}, {"month": "2025-02", "kwh": 88.8}]
