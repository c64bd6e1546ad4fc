"""Energy across a meter replacement inside a day (换表).

energy [kWh] = (old final - old start) x old multiplier + (new end - new initial) x new multiplier

``old start`` is the old meter's freeze at 00:00 of the change day, ``old final`` its register when removed;
``new initial`` is the new meter's register when installed, ``new end`` its freeze at 00:00 of the next day.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from gridcare.mdm.grid import RegisterGrid
from gridcare.mdm.registers import DailyEnergy
from gridcare.mdm.schema import (
    REGISTER_RESOLUTION_KWH,
    MdmInputError,
    floats,
    require_columns,
    round_register,
    to_day_numbers,
)


def _part(start: np.ndarray, end: np.ndarray, rollover: np.ndarray | float | None, field: str) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        adv = round_register(end - start)
        neg = adv < -REGISTER_RESOLUTION_KWH / 2
    if rollover is not None:
        adv = np.where(
            neg, round_register(adv + np.asarray(rollover, np.float64) + REGISTER_RESOLUTION_KWH), adv
        )
        with np.errstate(invalid="ignore"):
            neg = adv < -REGISTER_RESOLUTION_KWH / 2
    if np.any(neg):
        i = int(np.flatnonzero(np.atleast_1d(neg))[0])
        raise MdmInputError(f"{field}: register went backwards (index {i})")
    return np.asarray(adv)


def meter_change_energy(
    old_start: np.ndarray | float,
    old_final: np.ndarray | float,
    old_multiplier: np.ndarray | float,
    new_initial: np.ndarray | float,
    new_end: np.ndarray | float,
    new_multiplier: np.ndarray | float,
    *,
    old_rollover_kwh: np.ndarray | float | None = None,
    new_rollover_kwh: np.ndarray | float | None = None,
) -> np.ndarray:
    """Energy of the change day [kWh], vectorised over numpy arrays (broadcasting); NaN where an input is NaN.

    Registers in [register kWh]. With a rollover limit given, a part that goes backwards is taken as a
    rollover; without, it raises MdmInputError naming the field, as does a multiplier that is not positive.
    """
    arrays = [
        np.asarray(x, np.float64)
        for x in (old_start, old_final, old_multiplier, new_initial, new_end, new_multiplier)
    ]
    o0, o1, om, n0, n1, nm = arrays
    for name, mult in (("old_multiplier", om), ("new_multiplier", nm)):
        if np.any(mult <= 0):
            raise MdmInputError(f"{name}: must be positive")
    old = _part(o0, o1, old_rollover_kwh, "old_final")
    new = _part(n0, n1, new_rollover_kwh, "new_end")
    return np.asarray(old * om + new * nm)


def apply_meter_changes(
    energy: DailyEnergy, grid: RegisterGrid, changes: pa.Table, *, include_estimates: bool = False
) -> DailyEnergy:
    """Energy of change days from the replacement formula.

    ``changes``: old_meter, new_meter, change_time, old_final, new_initial [register kWh]; when the old
    meter is no longer in the archive also ``old_multiplier`` and ``old_start`` (its day-start freeze).
    The old meter's part is booked on the old meter when it is in the archive (both meters then show a
    one-day energy whose sum is the formula), else on the new meter. Cells whose start or end freeze is
    missing stay unknown (NaN).
    """
    require_columns(changes, ["old_meter", "new_meter", "change_time", "old_final", "new_initial"], "changes")
    fleet = grid.fleet
    new = fleet.lookup(changes.column("new_meter"))
    if np.any(new < 0):
        i = int(np.flatnonzero(new < 0)[0])
        raise MdmInputError(f"changes.new_meter: row {i} is not in the meter archive")
    old = fleet.lookup(changes.column("old_meter"))
    if "old_multiplier" in changes.column_names:
        old_mult_col = floats(changes.column("old_multiplier"), "changes.old_multiplier")
    else:
        old_mult_col = np.full(changes.num_rows, np.nan)
    old_mult = np.where(old >= 0, fleet.multiplier[np.maximum(old, 0)], old_mult_col)
    if np.any(np.isnan(old_mult)):
        raise MdmInputError("changes.old_multiplier: needed for an old meter that is not in the archive")
    day = to_day_numbers(changes.column("change_time"), "changes.change_time") - grid.first_day
    if np.any((day < 0) | (day + 1 >= grid.n_freezes)):
        raise MdmInputError("changes.change_time: the change day and the next freeze must be inside the grid")
    regs = grid.total
    values = regs.value if include_estimates else np.where(regs.estimated, np.nan, regs.value)
    old_start = np.where(old >= 0, values[np.maximum(old, 0), day], np.nan)
    if "old_start" in changes.column_names:  # the old meter's day-start freeze, when given explicitly
        given = floats(changes.column("old_start"), "changes.old_start")
        old_start = np.where(np.isnan(given), old_start, given)
    new_end = values[new, day + 1]
    old_final = floats(changes.column("old_final"), "changes.old_final")
    new_initial = floats(changes.column("new_initial"), "changes.new_initial")
    old_part = _part(old_start, old_final, None, "changes.old_final") * old_mult
    new_part = _part(new_initial, new_end, None, "changes.new_end") * fleet.multiplier[new]
    e = energy.energy_kwh.copy()
    s = energy.span_days.copy()
    in_fleet = old >= 0
    e[new, day] = np.where(in_fleet, new_part, new_part + old_part)
    s[new, day] = 1
    e[old[in_fleet], day[in_fleet]] = old_part[in_fleet]
    s[old[in_fleet], day[in_fleet]] = 1
    return DailyEnergy(fleet=fleet, first_day=energy.first_day, energy_kwh=e, span_days=s)
