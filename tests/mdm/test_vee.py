from datetime import datetime, timedelta

import pyarrow as pa
import pytest

from gridcare.mdm import (
    DI_FWD_ACTIVE,
    DI_FWD_ACTIVE_TARIFFS,
    DI_REV_ACTIVE,
    MdmInputError,
    VeeConfig,
    build_grid,
    run_vee,
    validate_readings,
)
from gridcare.timeutil import BEIJING

from .builders import cumulative, day, freeze, meter_id, meters, readings, rows

A, B, C = meter_id(1), meter_id(2), meter_id(3)


def _flags(result, *columns):
    cols = columns or ("meter", "freeze_time", "rule")
    out = []
    for r in result.to_pylist():
        out.append(tuple(r[c] for c in cols))
    return out


def _vee(table, fleet, first, last, start=None, end=None, **kw):
    grid = build_grid(table, fleet, day(first), day(last))
    return run_vee(grid, None if start is None else day(start), None if end is None else day(end), **kw)


def test_missing_reading_and_estimate_in_force():
    fleet = meters([{"meter": A}, {"meter": B}])
    t = readings(
        rows(A, [1.0, 2.0, 3.0]),
        rows(B, [1.0, 2.0, 3.0], skip=[1, 2]),
        rows(B, [2.5], start=2, source="estimated", version=2),
    )
    res = _vee(t, fleet, 0, 2, 1, 2)
    assert _flags(res, "meter", "freeze_time", "version", "rule", "severity", "detail") == [
        (B, freeze(day(1)), None, "MISSING", "error", "no actual reading"),
        (B, freeze(day(2)), None, "MISSING", "error", "no actual reading; an estimate is in force"),
    ]


def test_real_world_glitches_negative_zero_and_jump():
    fleet = meters([{"meter": A}])
    t = readings(rows(A, [100.0, 110.0, -3.0, 130.0, 0.0, 150.0, 900.0, 170.0]))
    res = _vee(t, fleet, 0, 7, 1, 7)
    assert _flags(res, "freeze_time", "rule", "observed", "threshold", "detail") == [
        (freeze(day(2)), "INVALID_VALUE", -3.0, 999999.99, "register value -3.00 kWh outside 0..999999.99"),
        (
            freeze(day(4)),
            "REG_DECREASE",
            0.0,
            130.0,
            "register fell from 130.00 to 0.00 kWh and recovered (isolated reading skipped)",
        ),
        (
            freeze(day(6)),
            "REG_DECREASE",
            900.0,
            150.0,
            "register jumped from 150.00 to 900.00 kWh and fell back (isolated reading skipped)",
        ),
    ]


def test_register_reset_is_a_decrease_and_rollover_is_info():
    fleet = meters([{"meter": A}, {"meter": B}])
    t = readings(rows(A, [500.0, 510.0, 20.0, 30.0]), rows(B, [999995.0, 999999.0, 4.0, 9.0]))
    res = _vee(t, fleet, 0, 3)
    assert _flags(res, "meter", "freeze_time", "rule", "severity", "observed", "detail") == [
        (
            A,
            freeze(day(2)),
            "REG_DECREASE",
            "error",
            20.0,
            "register fell from 510.00 to 20.00 kWh (reset: later advances start from the new level)",
        ),
        (
            B,
            freeze(day(2)),
            "ROLLOVER",
            "info",
            5.0,
            "register wrapped past 999999.99 from 999999.00 to 4.00; advance 5.00 kWh",
        ),
    ]


def test_spike_against_median_of_previous_days():
    fleet = meters([{"meter": A}])
    # ten days of 10 kWh (history), then 45 (not > 5 x 10) and 80 (> 50)
    t = readings(rows(A, cumulative(1000.0, [10.0] * 10 + [45.0, 80.0])))
    res = _vee(t, fleet, 0, 12, 11, 12)
    assert _flags(res, "freeze_time", "rule", "severity", "observed", "threshold", "detail") == [
        (freeze(day(12)), "SPIKE", "warning", 80.0, 50.0, "80.00 kWh/day > 5.00 x typical 10.00 kWh"),
    ]


def test_spike_needs_enough_history_unless_typical_is_given():
    fleet = meters([{"meter": A}])
    t = readings(rows(A, cumulative(1000.0, [10.0, 10.0, 30.0])))
    assert _vee(t, fleet, 0, 3, 3, 3).num_rows == 0  # two days of history < 7
    typical = pa.table({"meter": [A], "typical_kwh": [5.0]})
    res = _vee(t, fleet, 0, 3, 3, 3, typical=typical)
    assert _flags(res, "rule", "observed", "threshold") == [("SPIKE", 30.0, 25.0)]
    tiny = pa.table({"meter": [A], "typical_kwh": [0.1]})
    small = readings(rows(A, cumulative(1000.0, [0.1, 0.1, 0.8])))
    assert _vee(small, fleet, 0, 3, 3, 3, typical=tiny).num_rows == 0  # 0.8 kWh is under the 1 kWh floor


def test_over_capacity_uses_multiplier_and_days_of_a_gap():
    fleet = meters([{"meter": A, "capacity_kva": 2.0, "multiplier": 40.0}])
    # 2 kVA x 24 h = 48 kWh/day; 1.5 x 40 = 60 kWh in one day; then 2.0 x 40 = 80 kWh over two days
    t = readings(rows(A, [100.0, 101.5, None, 103.5], skip=[2]))
    res = _vee(t, fleet, 0, 3)
    assert _flags(res, "freeze_time", "rule", "severity", "observed", "threshold", "detail") == [
        (freeze(day(2)), "MISSING", "error", None, None, "no actual reading"),
        (
            freeze(day(1)),
            "OVER_CAPACITY",
            "error",
            60.0,
            48.0,
            "60.00 kWh/day > capacity 2.00 kVA x 24 h = 48.00 kWh",
        ),
    ]


def test_meter_stopped_needs_activity_while_the_register_stands():
    fleet = meters([{"meter": A}, {"meter": B}, {"meter": C}])
    t = readings(rows(A, [50.0, 50.0, 50.0]), rows(B, [70.0, 70.0, 70.0]), rows(C, [10.0, 11.0, 12.0]))
    activity = pa.table(
        {
            "meter": [A, A, B, C],
            "time": [
                datetime(2024, 6, 1, 10, tzinfo=BEIJING),  # day 0: closed by the freeze of day 1
                datetime(2024, 6, 2, 11, tzinfo=BEIJING),
                datetime(2024, 6, 2, 12, tzinfo=BEIJING),
                datetime(2024, 6, 1, 9, tzinfo=BEIJING),
            ],
            "power_kw": [1.2, 0.0, None, 3.0],
            "current_a": [5.0, 0.0, 0.3, 10.0],
        }
    )
    res = _vee(t, fleet, 0, 2, activity=activity)
    assert _flags(res, "meter", "freeze_time", "rule", "observed", "detail") == [
        (A, freeze(day(1)), "METER_STOPPED", 1.2, "no register advance while power reached 1.20 kW"),
        (B, freeze(day(2)), "METER_STOPPED", 0.3, "no register advance while current reached 0.30 A"),
    ]
    assert _vee(t, fleet, 0, 2).num_rows == 0  # no activity given: the rule cannot run


def test_reverse_energy_only_on_forward_only_customers():
    fleet = meters([{"meter": A, "forward_only": True, "multiplier": 2.0}, {"meter": B}])
    t = readings(
        rows(A, [10.0, 11.0, 12.0]),
        rows(A, [0.0, 0.0, 1.5], di=DI_REV_ACTIVE),
        rows(B, [10.0, 11.0, 12.0]),
        rows(B, [0.0, 3.0, 6.0], di=DI_REV_ACTIVE),
    )
    res = _vee(t, fleet, 0, 2)
    assert _flags(res, "meter", "di", "freeze_time", "rule", "observed", "detail") == [
        (
            A,
            DI_REV_ACTIVE,
            freeze(day(2)),
            "REVERSE_ENERGY",
            3.0,
            "reverse register advanced 3.00 kWh on a forward-only customer",
        ),
    ]


def test_clock_error_thresholds_for_meters_and_terminals():
    fleet = meters([{"meter": A, "terminal": "T01"}, {"meter": B, "terminal": "T01"}, {"meter": C}])
    t = readings(rows(A, [1.0, 2.0]), rows(B, [1.0, 2.0]), rows(C, [1.0, 2.0]))
    at = datetime(2024, 6, 2, 3, tzinfo=BEIJING)
    clock = pa.table(
        {
            "device": [C, C, A, "T01", "T01"],
            "device_kind": ["meter", "meter", "meter", "terminal", "terminal"],
            "checked_at": [at, at + timedelta(hours=1), at, at, at - timedelta(days=1)],
            "offset_s": [12.0, -30.0, 9.0, 6.0, 4.0],
        }
    )
    res = _vee(t, fleet, 0, 1, clock=clock)
    assert _flags(res, "meter", "freeze_time", "rule", "observed", "threshold", "detail") == [
        (A, freeze(day(1)), "CLOCK_ERROR", 6.0, 5.0, "clock offset 6.00 s exceeds 5.00 s"),
        (B, freeze(day(1)), "CLOCK_ERROR", 6.0, 5.0, "clock offset 6.00 s exceeds 5.00 s"),
        (C, freeze(day(1)), "CLOCK_ERROR", -30.0, 10.0, "clock offset -30.00 s exceeds 10.00 s"),
    ]
    bad = clock.set_column(1, "device_kind", pa.array(["meter", "meter", "meter", "gateway", "meter"]))
    with pytest.raises(MdmInputError, match=r"clock\.device_kind"):
        _vee(t, fleet, 0, 1, clock=bad)


def test_conflicting_duplicates_flag_every_row():
    fleet = meters([{"meter": A}])
    t = readings(rows(A, [1.0, 2.0, 3.0]), rows(A, [2.4], start=1), rows(A, [3.0], start=2))
    res = _vee(t, fleet, 0, 2)
    assert _flags(res, "freeze_time", "version", "rule", "observed") == [
        (freeze(day(1)), 1, "DUPLICATE_CONFLICT", 2.0),
        (freeze(day(1)), 1, "DUPLICATE_CONFLICT", 2.4),
    ]


def test_tariff_registers_must_sum_to_the_total():
    fleet = meters([{"meter": A}, {"meter": B}])
    t1, t2, t3, t4 = DI_FWD_ACTIVE_TARIFFS
    t = readings(
        rows(A, [90.0, 100.0]),
        rows(B, [90.0, 100.0]),
        # A: 25 + 25 + 25 + 24.90 = 99.90, off by -0.10 > 0.05
        *[
            rows(A, [v], start=1, di=d)
            for v, d in zip([25.0, 25.0, 25.0, 24.9], (t1, t2, t3, t4), strict=True)
        ],
        # B: 99.97 is within the 0.05 tolerance of truncated registers
        *[
            rows(B, [v], start=1, di=d)
            for v, d in zip([25.0, 25.0, 25.0, 24.97], (t1, t2, t3, t4), strict=True)
        ],
    )
    res = _vee(t, fleet, 0, 1)
    assert _flags(res, "meter", "di", "rule", "observed", "detail") == [
        (A, DI_FWD_ACTIVE, "TARIFF_SUM", -0.1, "T1..T4 sum 99.90 vs total 100.00 kWh"),
    ]


def test_flat_line_and_zero_run():
    fleet = meters(
        [
            {"meter": A},
            {"meter": B},
            {"meter": C},
            {"meter": meter_id(4), "customer_class": "seasonal"},
        ]
    )
    t = readings(
        rows(A, cumulative(100.0, [7.25] * 6 + [1.0, 2.0])),  # 6 equal days: flagged on days 5 and 6
        rows(B, cumulative(100.0, [0.0] * 8)),  # zero for 8 days in a consuming class
        rows(C, cumulative(100.0, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])),
        rows(meter_id(4), cumulative(100.0, [0.0] * 8)),  # a class that mostly does not consume
    )
    res = _vee(t, fleet, 0, 8)
    assert _flags(res, "meter", "freeze_time", "rule", "observed", "detail") == [
        (A, freeze(day(5)), "FLAT_LINE", 5.0, "same consumption 7.25 kWh for 5 days"),
        (A, freeze(day(6)), "FLAT_LINE", 6.0, "same consumption 7.25 kWh for 6 days"),
        (B, freeze(day(7)), "ZERO_RUN", 7.0, "zero consumption for 7 days"),
        (B, freeze(day(8)), "ZERO_RUN", 8.0, "zero consumption for 8 days"),
    ]
    exempt = VeeConfig(zero_exempt_classes=frozenset({"resident"}))
    assert [r for r in _flags(_vee(t, fleet, 0, 8, config=exempt)) if r[2] == "ZERO_RUN"] == []


def test_unknown_meter_rows_are_reported():
    fleet = meters([{"meter": A}])
    t = readings(rows(A, [1.0, 2.0]), rows(meter_id(77), [5.0], start=1))
    res = _vee(t, fleet, 0, 1)
    assert _flags(res, "meter", "freeze_time", "version", "rule", "severity") == [
        (meter_id(77), freeze(day(1)), 1, "UNKNOWN_METER", "warning")
    ]


def test_window_config_and_convenience_wrapper():
    fleet = meters([{"meter": A}, {"meter": B}])
    t = readings(rows(A, [1.0, 2.0, 3.0, 4.0]), rows(B, [1.0, 2.0, 3.0, 4.0], skip=[1, 3]))
    assert _flags(_vee(t, fleet, 0, 3, 2, 3)) == [(B, freeze(day(3)), "MISSING")]
    cfg = VeeConfig(disabled_rules=frozenset({"MISSING"}))
    assert _vee(t, fleet, 0, 3, config=cfg).num_rows == 0
    cfg = VeeConfig(severity_overrides={"MISSING": "warning"})
    assert set(_vee(t, fleet, 0, 3, config=cfg).column("severity").to_pylist()) == {"warning"}
    res = validate_readings(t, fleet, day(3), day(3), history_days=3)
    assert _flags(res) == [(B, freeze(day(3)), "MISSING")]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"spike_factor": 1.0}, "spike_factor"),
        ({"flat_days": 1}, "flat_days"),
        ({"tariff_tolerance_kwh": -0.1}, "tariff_tolerance_kwh"),
        ({"disabled_rules": frozenset({"NOPE"})}, "NOPE"),
        ({"severity_overrides": {"SPIKE": "fatal"}}, "fatal"),
    ],
)
def test_config_rejects_bad_values(kwargs, message):
    with pytest.raises(MdmInputError, match=message):
        VeeConfig(**kwargs)


def test_window_outside_grid_is_an_error():
    fleet = meters([{"meter": A}])
    grid = build_grid(readings(rows(A, [1.0])), fleet, day(0), day(1))
    with pytest.raises(MdmInputError, match="end: 2024-06-05 is outside the grid"):
        run_vee(grid, day(0), day(4))


def test_no_readings_at_all_means_every_meter_is_missing():
    fleet = meters([{"meter": A}, {"meter": B}])
    res = _vee(readings(), fleet, 0, 0)
    assert _flags(res, "meter", "rule", "version") == [(A, "MISSING", None), (B, "MISSING", None)]
