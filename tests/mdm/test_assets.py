"""Metering-asset rules, pure: lifecycle transitions, verification due dates by type, multiplier history,
service periods, and continuity of energy across a replacement (property test)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridcare.mdm import Fleet, build_grid, daily_energy
from gridcare.mdm.assets import (
    DEFAULT_VERIFICATION_MONTHS,
    IllegalTransition,
    VerificationPolicy,
    add_months,
    apply_multiplier_history,
    check_transition,
    due_date,
    mask_out_of_service,
    multipliers_by_day,
)
from gridcare.mdm.meter_change import meter_change_energy
from gridcare.mdm.registers import DailyEnergy
from gridcare.mdm.schema import TIMESTAMP, MdmInputError, day_number
from tests.mdm.builders import day, freeze, readings, rows


@pytest.mark.parametrize(
    ("current", "target"),
    [
        ("stock", "installed"),
        ("installed", "removed"),
        ("removed", "scrapped"),
        ("removed", "stock"),
        ("stock", "scrapped"),
    ],
)
def test_legal_transitions_pass(current: str, target: str) -> None:
    check_transition("201000000001", current, target)


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        ("installed", "stock", "removed"),
        ("installed", "scrapped", "removed"),
        ("stock", "removed", "installed, scrapped"),
        ("removed", "installed", "stock, scrapped"),
        ("scrapped", "stock", "none, scrapped is final"),
        ("installed", "installed", "removed"),
    ],
)
def test_illegal_transitions_name_the_meter_and_the_step(current: str, target: str, allowed: str) -> None:
    with pytest.raises(IllegalTransition) as err:
        check_transition("201000000007", current, target)
    message = str(err.value)
    assert message.startswith("to_status: meter 201000000007 cannot go from ")
    assert f"from {current} (" in message and f"to {target} (" in message
    assert message.endswith(f"allowed from {current}: {allowed}")


def test_unknown_target_status_is_named() -> None:
    with pytest.raises(MdmInputError, match=r"^to_status: 'lost' is not a meter status"):
        check_transition("201000000001", "installed", "lost")


def test_add_months_clamps_to_the_month_end() -> None:
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2023, 1, 31), 1) == date(2023, 2, 28)
    assert add_months(date(2020, 2, 29), 96) == date(2028, 2, 29)
    assert add_months(date(2021, 2, 28), 12) == date(2022, 2, 28)
    assert add_months(date(2024, 12, 15), 1) == date(2025, 1, 15)


def test_due_dates_by_meter_type() -> None:
    policy = VerificationPolicy()
    installed = date(2020, 3, 15)
    assert due_date("single_phase", installed, None, policy) == date(2028, 3, 15)  # 8 years
    assert due_date("three_phase_direct", installed, None, policy) == date(2026, 3, 15)  # 6 years
    assert due_date("three_phase_ct", installed, None, policy) == date(2021, 3, 15)  # inspection every year
    # a verification restarts the count
    assert due_date("three_phase_ct", installed, date(2024, 6, 20), policy) == date(2025, 6, 20)
    assert due_date("single_phase", None, None, policy) is None
    assert (policy.kind("three_phase_ct"), policy.kind("single_phase")) == ("inspection", "rotation")


def test_configured_intervals_override_the_defaults_and_are_checked() -> None:
    policy = VerificationPolicy.from_settings({"three_phase_ct": 6})
    assert policy.months == {**DEFAULT_VERIFICATION_MONTHS, "three_phase_ct": 6}
    assert due_date("three_phase_ct", date(2024, 1, 31), None, policy) == date(2024, 7, 31)
    with pytest.raises(MdmInputError, match=r"^meter_verification_months.ct_meter: not a meter type"):
        VerificationPolicy.from_settings({"ct_meter": 12})
    with pytest.raises(
        MdmInputError, match=r"^meter_verification_months.single_phase: must be a whole number"
    ):
        VerificationPolicy.from_settings({"single_phase": 0})


def _energy(
    values: list[list[float]], multipliers: list[float], first: date = date(2024, 6, 1)
) -> DailyEnergy:
    meters = [f"20100000000{i + 1}" for i in range(len(values))]
    fleet = Fleet.from_table(pa.table({"meter": meters, "multiplier": pa.array(multipliers, pa.float64())}))
    e = np.asarray(values, np.float64)
    return DailyEnergy(fleet, day_number(first), e, np.ones(e.shape, np.int32))


def test_multiplier_history_splits_energy_at_the_effective_date() -> None:
    # meter 1 now has x30 (from 06-03); before, x10: advances of 1.95 a day were 19.5 kWh, not 58.5
    energy = _energy([[58.5, 58.5, 19.5, 19.5], [4.0, 4.0, 4.0, 4.0]], [30.0, 1.0])
    history = pa.table(
        {
            "meter": ["201000000001"],
            "effective_from": pa.array([date(2024, 6, 3)], pa.date32()),
            "old_multiplier": [10.0],
            "new_multiplier": [30.0],
        }
    )
    assert multipliers_by_day(energy, history).tolist() == [[10, 10, 30, 30], [1, 1, 1, 1]]
    out = apply_multiplier_history(energy, history)
    assert out.energy_kwh.tolist() == [[19.5, 19.5, 19.5, 19.5], [4.0, 4.0, 4.0, 4.0]]


def test_two_multiplier_changes_chain() -> None:
    energy = _energy([[4.0] * 5], [4.0])  # advance 1.0 a day, now x4
    history = pa.table(
        {
            "meter": ["201000000001", "201000000001"],
            "effective_from": pa.array([date(2024, 6, 2), date(2024, 6, 4)], pa.date32()),
            "old_multiplier": [1.0, 2.0],
            "new_multiplier": [2.0, 4.0],
        }
    )
    assert multipliers_by_day(energy, history).tolist() == [[1, 2, 2, 4, 4]]
    assert apply_multiplier_history(energy, history).energy_kwh.tolist() == [[1.0, 2.0, 2.0, 4.0, 4.0]]


def test_an_interval_across_a_multiplier_change_is_unknown() -> None:
    energy = _energy([[np.nan, 60.0, 30.0]], [30.0])  # day 1 closes a two-day interval (a gap on day 0)
    energy.span_days[0] = [0, 2, 1]
    history = pa.table(
        {
            "meter": ["201000000001"],
            "effective_from": pa.array([date(2024, 6, 2)], pa.date32()),
            "old_multiplier": [10.0],
            "new_multiplier": [30.0],
        }
    )
    out = apply_multiplier_history(energy, history)
    assert np.isnan(out.energy_kwh[0, 1]) and out.energy_kwh[0, 2] == 30.0


def test_days_out_of_service_count_as_zero() -> None:
    energy = _energy([[5.0, np.nan, np.nan], [np.nan, np.nan, 3.0]], [1.0, 1.0])
    d0 = day_number(date(2024, 6, 1))
    out = mask_out_of_service(energy, np.array([0, d0 + 2]), np.array([d0 + 1, 10**9]))
    assert out.energy_kwh.tolist() == [[5.0, 0.0, 0.0], [0.0, 0.0, 3.0]]
    assert out.span_days.tolist() == [[1, 1, 1], [1, 1, 1]]


def test_replacement_day_from_the_grid_is_continuous() -> None:
    """The change day's energy of a replaced customer is its usual 5 kWh: (1012 - 1010) + (3.5 - 0.5)."""
    fleet = Fleet.from_table(pa.table({"meter": ["201000000001", "201000000011"]}))
    table = readings(
        rows("201000000001", [1000.0, 1005.0, 1010.0]), rows("201000000011", [3.5, 8.5], start=3)
    )
    grid = build_grid(table, fleet, day(0), day(4))
    changes = pa.table(
        {
            "old_meter": ["201000000001"],
            "new_meter": ["201000000011"],
            "change_time": pa.array([freeze(day(2)) + timedelta(hours=10)], TIMESTAMP),
            "old_final": [1012.0],
            "new_initial": [0.5],
        }
    )
    energy = daily_energy(grid, changes=changes)
    point = np.nansum(energy.energy_kwh, axis=0)
    assert point.tolist()[:4] == [5.0, 5.0, 5.0, 5.0]


@settings(max_examples=200, deadline=None)
@given(
    start=st.integers(0, 90_000_000),
    before=st.integers(0, 5_000),
    after=st.integers(0, 5_000),
    initial=st.integers(0, 90_000_000),
    old_mult=st.sampled_from([1, 10, 30, 40, 200]),
    new_mult=st.sampled_from([1, 10, 30, 40, 200]),
)
def test_energy_across_a_replacement_is_the_sum_of_both_parts(
    start: int, before: int, after: int, initial: int, old_mult: int, new_mult: int
) -> None:
    """Whatever the registers, the change day's energy is exactly what each meter measured while in place:
    no reading is lost or counted twice (registers in 0.01 kWh)."""
    old_start, old_final = start / 100, (start + before) / 100
    new_initial, new_end = initial / 100, (initial + after) / 100
    energy = float(meter_change_energy(old_start, old_final, old_mult, new_initial, new_end, new_mult))
    expected = (before * old_mult + after * new_mult) / 100
    assert energy == pytest.approx(expected, abs=1e-6)
