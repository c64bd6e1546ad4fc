from datetime import datetime

import pyarrow as pa
import pytest

from gridcare.mdm import (
    EstimationConfig,
    MdmInputError,
    append_rows,
    build_grid,
    estimate_gaps,
    latest_valid,
)
from gridcare.timeutil import BEIJING

from .builders import cumulative, day, freeze, meter_id, meters, readings, rows

A = meter_id(1)
WHEN = datetime(2024, 6, 20, 6, 0, tzinfo=BEIJING)


def _estimate(table, last, fleet=None, **kw):
    fleet = fleet if fleet is not None else meters([{"meter": A}])
    return estimate_gaps(build_grid(table, fleet, day(0), day(last)), when=WHEN, **kw)


def _summary(est):
    return [(r["freeze_time"], r["value"], r["version"], r["method"]) for r in est.to_pylist()]


def _profile(kwh_by_day):
    return pa.table(
        {
            "customer_class": ["resident"] * len(kwh_by_day),
            "day": pa.array([day(i) for i in kwh_by_day], pa.date32()),
            "kwh": list(kwh_by_day.values()),
        }
    )


def test_linear_between_two_actuals_without_profile():
    est = _estimate(readings(rows(A, [100.0, None, None, 130.0], skip=[1, 2])), 3)
    assert _summary(est) == [
        (freeze(day(1)), 110.0, 1, "linear_interpolation"),
        (freeze(day(2)), 120.0, 1, "linear_interpolation"),
    ]
    row = est.to_pylist()[0]
    assert (row["meter"], row["source"], row["who"], row["recorded_at"]) == (
        A,
        "estimated",
        "mdm.estimation",
        WHEN,
    )
    assert row["why"] == "no actual reading; interpolated between the readings of 2024-06-01 and 2024-06-04"


def test_profile_weights_distribute_the_advance():
    # the freezes of day 1, 2, 3 close days 0, 1, 2 whose class profile is 1, 2, 3 kWh:
    # day 1: 100 + 30 x 1/6 = 105; day 2: 100 + 30 x (1+2)/6 = 115
    est = _estimate(
        readings(rows(A, [100.0, None, None, 130.0], skip=[1, 2])), 3, profiles=_profile({0: 1, 1: 2, 2: 3})
    )
    assert _summary(est) == [
        (freeze(day(1)), 105.0, 1, "profile_interpolation"),
        (freeze(day(2)), 115.0, 1, "profile_interpolation"),
    ]


def test_interpolation_across_a_rollover():
    # 999990.00 -> 20.00 is an advance of 30.00; half of it lands past the wrap at 5.00
    est = _estimate(readings(rows(A, [999990.0, None, 20.0], skip=[1])), 2)
    assert _summary(est) == [(freeze(day(1)), 5.0, 1, "linear_interpolation")]


def test_same_day_last_week_then_class_profile():
    # days 0..7 consumed 1..8 kWh; the freezes of day 9 and 10 are missing and nothing comes after:
    # freeze 9 closes day 8 -> same weekday a week earlier is day 1 (2 kWh): 136 + 2 = 138
    # freeze 10 closes day 9 -> day 2 consumed 3 kWh: 138 + 3 = 141
    values = cumulative(100.0, [1, 2, 3, 4, 5, 6, 7, 8])
    est = _estimate(readings(rows(A, values)), 10)
    assert _summary(est) == [
        (freeze(day(9)), 138.0, 1, "same_day_last_week"),
        (freeze(day(10)), 141.0, 1, "same_day_last_week"),
    ]
    assert (
        est.column("why").to_pylist()[0]
        == "no actual reading; carried forward from the reading of 2024-06-09"
    )


def test_class_profile_is_the_last_resort_in_register_units():
    fleet = meters([{"meter": A, "multiplier": 2.0}])
    # no history a week back: the class profile says 4 kWh on day 1 -> 2.00 register kWh at multiplier 2
    est = _estimate(readings(rows(A, [100.0, 105.0])), 2, fleet=fleet, profiles=_profile({1: 4.0}))
    assert _summary(est) == [(freeze(day(2)), 107.0, 1, "class_profile")]
    assert _estimate(readings(rows(A, [100.0, 105.0])), 2, fleet=fleet).num_rows == 0  # nothing to go on


def test_leading_gap_and_long_gaps_are_left_alone():
    assert _estimate(readings(rows(A, [None, 110.0], skip=[0])), 1).num_rows == 0
    t = readings(rows(A, [100.0, None, None, None, None, 150.0], skip=[1, 2, 3, 4]))
    est = _estimate(t, 5, config=EstimationConfig(max_gap_days=2))
    assert _summary(est) == [
        (freeze(day(1)), 110.0, 1, "linear_interpolation"),
        (freeze(day(2)), 120.0, 1, "linear_interpolation"),
    ]


def test_reestimation_makes_a_new_version_only_when_the_value_changes():
    carried = rows(A, [110.0], start=1, source="estimated")
    t = readings(rows(A, [100.0, None, 130.0], skip=[1]), carried)
    assert _summary(_estimate(t, 2)) == [(freeze(day(1)), 115.0, 2, "linear_interpolation")]
    same = readings(rows(A, [100.0, None, 130.0], skip=[1]), rows(A, [115.0], start=1, source="estimated"))
    assert _estimate(same, 2).num_rows == 0


def test_estimates_never_overwrite_actuals():
    fleet = meters([{"meter": A}])
    actual = readings(rows(A, [100.0, None, None, 130.0, 140.0], skip=[1, 2]))
    est = estimate_gaps(build_grid(actual, fleet, day(0), day(4)), when=WHEN)
    assert sorted(r["freeze_time"] for r in est.to_pylist()) == [freeze(day(1)), freeze(day(2))]
    combined = append_rows(actual, est)
    grid = build_grid(combined, fleet, day(0), day(4))
    assert grid.total.value[0].tolist() == [100.0, 110.0, 120.0, 130.0, 140.0]
    assert grid.total.estimated[0].tolist() == [False, True, True, False, False]
    assert estimate_gaps(grid, when=WHEN).num_rows == 0  # idempotent
    # the real reading of day 1 arrives late, with a lower version than the estimate: it wins
    late = append_rows(combined, readings(rows(A, [108.0], start=1)))
    chosen = {r["freeze_time"]: (r["value"], r["source"]) for r in latest_valid(late).to_pylist()}
    assert chosen[freeze(day(1))] == (108.0, "actual")
    assert chosen[freeze(day(2))] == (120.0, "estimated")
    regrid = build_grid(late, fleet, day(0), day(4))
    # day 2 is re-estimated between the actuals 108 and 130 (a new version 2; nothing is overwritten)
    assert _summary(estimate_gaps(regrid, when=WHEN)) == [(freeze(day(2)), 119.0, 2, "linear_interpolation")]


def test_bad_estimation_input():
    with pytest.raises(MdmInputError, match="max_gap_days"):
        EstimationConfig(max_gap_days=0)
    bad = pa.table({"customer_class": ["resident"], "day": pa.array([day(0)], pa.date32()), "kwh": [-1.0]})
    with pytest.raises(MdmInputError, match=r"profiles\.kwh"):
        _estimate(readings(rows(A, [100.0, 105.0])), 2, profiles=bad)
