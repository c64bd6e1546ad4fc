from datetime import datetime

import numpy as np
import pyarrow as pa
import pytest

from gridcare.mdm import MdmInputError, build_grid, daily_energy, daily_line_loss, meter_change_energy
from gridcare.timeutil import BEIJING

from .builders import day, meter_id, meters, readings, rows

OLD, NEW, SUP = meter_id(1), meter_id(2), meter_id(3)


def test_formula_scalar_and_vectorised():
    # (1003.50 - 1000.00) x 1 + (0.10 - 0.00) x 40 = 3.5 + 4.0
    assert float(meter_change_energy(1000.00, 1003.50, 1, 0.00, 0.10, 40)) == 7.5
    got = meter_change_energy(
        np.array([1000.0, 50.0]),
        np.array([1003.5, 52.0]),
        np.array([1.0, 2.0]),
        np.array([0.0, 10.0]),
        np.array([0.1, 10.5]),
        np.array([40.0, 1.0]),
    )
    assert got.tolist() == [7.5, 4.5]  # second: 2.0 x 2 + 0.5 x 1


def test_formula_rejects_backwards_registers_unless_rolled_over():
    with pytest.raises(MdmInputError, match="old_final: register went backwards"):
        meter_change_energy(1000.0, 999.0, 1, 0.0, 1.0, 1)
    with pytest.raises(MdmInputError, match="new_multiplier"):
        meter_change_energy(1000.0, 1001.0, 1, 0.0, 1.0, 0)
    # 999999.00 -> 999999.99 -> 0.00 -> 1.00 is 2.00
    assert float(meter_change_energy(999999.0, 1.0, 1, 0.0, 1.0, 1, old_rollover_kwh=999999.99)) == 3.0


def _changes(**extra):
    base = {
        "old_meter": [OLD],
        "new_meter": [NEW],
        "change_time": pa.array(
            [datetime(2024, 6, 2, 10, tzinfo=BEIJING)], pa.timestamp("us", tz="Asia/Shanghai")
        ),
        "old_final": [1003.50],
        "new_initial": [0.00],
    }
    base.update(extra)
    return pa.table(base)


def test_change_day_energy_in_daily_energy_and_line_loss():
    fleet = meters(
        [
            {"meter": OLD, "tg": "T"},
            {"meter": NEW, "tg": "T", "multiplier": 40.0},
            {"meter": SUP, "tg": "T", "role": "supply"},
        ]
    )
    t = readings(
        rows(OLD, [990.0, 1000.0]),  # removed on day 1 at 10:00 showing 1003.50
        rows(NEW, [0.10, 0.20], start=2),  # installed at 0.00
        rows(SUP, [0.0, 12.0, 20.0, 25.0]),
    )
    grid = build_grid(t, fleet, day(0), day(3))
    plain = daily_energy(grid)
    assert np.isnan(plain.energy_kwh[[0, 1], 1]).all()  # without the change record day 1 is unknown
    e = daily_energy(grid, changes=_changes())
    assert e.energy_kwh[0].tolist()[:2] == [10.0, 3.5]
    assert e.energy_kwh[1].tolist()[1:] == [4.0, 4.0]
    loss = {r["day"]: r for r in daily_line_loss(e).to_pylist()}
    # day 1: supply 20 - 12 = 8; sold 3.5 + 4.0 = 7.5 (the formula); loss 0.5
    assert (loss[day(1)]["supply_kwh"], loss[day(1)]["sold_kwh"], loss[day(1)]["loss_kwh"]) == (8.0, 7.5, 0.5)
    assert loss[day(1)]["status"] == "qualified"


def test_old_meter_already_out_of_the_archive():
    fleet = meters([{"meter": NEW, "tg": "T", "multiplier": 40.0}])
    t = readings(rows(OLD, [990.0, 1000.0]), rows(NEW, [0.10, 0.20], start=2))
    grid = build_grid(t, fleet, day(0), day(3))
    e = daily_energy(grid, changes=_changes(old_multiplier=[1.0], old_start=[1000.0]))
    assert e.energy_kwh[0].tolist()[1:] == [7.5, 4.0]
    with pytest.raises(MdmInputError, match="old_multiplier"):
        daily_energy(grid, changes=_changes())
