"""Metering assets in the MDM energy pipeline: resolve the stored replacements, multiplier changes and the
meters' service periods from the database (and the lake), then apply the pure rules to daily energies.

:func:`adjust_for_assets` is what line-loss tasks call after :func:`gridcare.mdm.registers.daily_energy`:

1. multiplier history — each day's energy with the multiplier in force that day
   (:func:`gridcare.mdm.assets.apply_multiplier_history`);
2. service periods — a meter contributes nothing before its metering point opened or after it closed
   (:func:`gridcare.mdm.assets.mask_out_of_service`), so a meter installed or removed inside a month still
   covers the month;
3. replacements (换表) — the change day's energy from the old meter's final and the new meter's initial
   readings (:func:`gridcare.mdm.meter_change.apply_meter_changes`): consumption is continuous across the
   change. A replacement whose readings contradict the registers (a register going backwards) leaves that
   day unknown for both meters instead of failing the run.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from gridcare.archives.asset_models import FeederMeter
from gridcare.archives.meter_assets import multiplier_history, replacements_table
from gridcare.archives.models import Meter, MeteringPoint
from gridcare.mdm.assets import apply_multiplier_history, mask_out_of_service
from gridcare.mdm.grid import RegisterGrid
from gridcare.mdm.meter_change import apply_meter_changes
from gridcare.mdm.registers import DailyEnergy
from gridcare.mdm.schema import (
    DI_FWD_ACTIVE,
    SOURCE_ESTIMATED,
    MdmInputError,
    day_from_number,
    day_number,
)
from gridcare.mdm.store import MdmLake
from gridcare.mdm.versions import latest_valid

OPEN_END = 10**9
"""Day number standing for "still in service"."""


def service_ranges(
    session: Session, meters: pa.Array, first: date, last: date
) -> tuple[np.ndarray, np.ndarray]:
    """Per meter of ``meters``: first day in service and the day after the last (``OPEN_END`` when still in
    service), over its metering points and feeder-head periods overlapping ``first .. last``."""
    addresses = meters.to_pylist()
    start = np.full(len(addresses), -OPEN_END, np.int64)
    end = np.full(len(addresses), OPEN_END, np.int64)
    if not addresses:
        return start, end
    where = {a: i for i, a in enumerate(addresses)}
    seen: set[int] = set()
    for table in (MeteringPoint, FeederMeter):
        stmt = (
            select(
                Meter.address,
                func.min(table.valid_from),
                func.max(func.coalesce(table.valid_to, date(9999, 12, 31))),
            )
            .join(Meter, Meter.id == table.meter_id)
            .where(table.valid_from <= last, or_(table.valid_to.is_(None), table.valid_to >= first))
            .group_by(Meter.address)
        )
        for address, lo, hi in session.execute(stmt):
            i = where.get(address)
            if i is None:
                continue
            lo_n = day_number(_as_date(lo))
            hi_d = _as_date(hi)
            hi_n = OPEN_END if hi_d.year == 9999 else day_number(hi_d)
            if i in seen:
                start[i], end[i] = min(start[i], lo_n), max(end[i], hi_n)
            else:
                start[i], end[i] = lo_n, hi_n
                seen.add(i)
    return start, end


def _as_date(value: object) -> date:
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])  # SQLite returns aggregates of dates as text


def _old_starts(lake: MdmLake, changes: pa.Table, known: np.ndarray) -> np.ndarray:
    """The freeze at 00:00 of the change day of each old meter that is not in the fleet (NaN if none)."""
    out = np.full(changes.num_rows, np.nan)
    for i in np.flatnonzero(~known).tolist():
        day = changes["change_day"][i].as_py()
        meter = changes["old_meter"][i].as_py()
        rows = latest_valid(lake.read_readings(day, day, dis=[DI_FWD_ACTIVE], meters=[meter]))
        rows = rows.filter(pc.not_equal(rows["source"], SOURCE_ESTIMATED))
        if rows.num_rows:
            value = rows["value"][0].as_py()
            out[i] = np.nan if value is None else float(value)
    return out


def _apply_changes(energy: DailyEnergy, grid: RegisterGrid, changes: pa.Table) -> DailyEnergy:
    try:
        return apply_meter_changes(energy, grid, changes)
    except MdmInputError:
        pass
    result = energy
    for i in range(changes.num_rows):  # one by one: a contradictory replacement leaves its day unknown
        row = changes.slice(i, 1)
        try:
            result = apply_meter_changes(result, grid, row)
        except MdmInputError:
            fleet = result.fleet
            d = day_number(row["change_day"][0].as_py()) - result.first_day
            e = result.energy_kwh.copy()
            for col in ("old_meter", "new_meter"):
                m = int(fleet.lookup(row[col])[0])
                if m >= 0:
                    e[m, d] = np.nan
            result = DailyEnergy(result.fleet, result.first_day, e, result.span_days)
    return result


def adjust_for_assets(
    session: Session, lake: MdmLake, energy: DailyEnergy, grid: RegisterGrid
) -> DailyEnergy:
    """``energy`` (from ``grid``) with multiplier history, service periods and replacements applied."""
    fleet = energy.fleet
    if fleet.n == 0 or energy.n_days == 0:
        return energy
    first = day_from_number(energy.first_day)
    last = day_from_number(energy.first_day + energy.n_days - 1)
    history = multiplier_history(session, fleet.meters.to_pylist())
    energy = apply_multiplier_history(energy, history)
    start, end = service_ranges(session, fleet.meters, first, last)
    energy = mask_out_of_service(energy, start, end)
    changes = replacements_table(session, first, last)
    if changes.num_rows:
        new_pos = fleet.lookup(changes["new_meter"])
        changes = changes.filter(pa.array(new_pos >= 0))
    if changes.num_rows:
        # the grid must hold the freeze after the change day
        day_idx = np.asarray(changes["change_day"].cast(pa.int32()).to_numpy(), np.int64) - grid.first_day
        changes = changes.filter(pa.array(day_idx + 1 < grid.n_freezes))
    if changes.num_rows:
        known = fleet.lookup(changes["old_meter"]) >= 0
        changes = changes.append_column(
            "old_start", pa.array(_old_starts(lake, changes, known), pa.float64())
        )
        energy = _apply_changes(energy, grid, changes)
    return energy
