"""Validation (the V of VEE): run the rules over a grid and return one table of flags.

Result columns (:data:`~gridcare.mdm.schema.VEE_RESULT_SCHEMA`): ``meter, di, freeze_time, version, rule,
severity, detail, observed, threshold``. ``version`` is the flagged reading's version (null when there is no
reading, e.g. MISSING). Rows come grouped by rule (registry order), then by meter and freeze time.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gridcare.mdm import vee_config as rc
from gridcare.mdm import vee_rules as rules
from gridcare.mdm.fleet import Fleet
from gridcare.mdm.grid import RegisterGrid, build_grid
from gridcare.mdm.schema import (
    TIMESTAMP,
    VEE_RESULT_SCHEMA,
    freeze_us,
    plain,
    timestamps,
)
from gridcare.mdm.vee_config import VeeConfig
from gridcare.mdm.vee_rules import Hits

DEFAULT_CONFIG = VeeConfig()


def _table(grid: RegisterGrid, hits: Hits, cfg: VeeConfig) -> pa.Table:
    n = hits.size
    has_row = hits.row >= 0
    safe_rows = pa.array(np.where(has_row, hits.row, 0))
    readings = grid.readings
    if n and readings.num_rows:
        r_meter = plain(readings.column("meter").take(safe_rows))
        r_time = pc.cast(readings.column("freeze_time").take(safe_rows), TIMESTAMP)
        r_version = pc.cast(readings.column("version").take(safe_rows), pa.int32())
    else:
        r_meter = pa.array([""] * n, pa.string())
        r_time = timestamps(np.zeros(n, np.int64))
        r_version = pa.array(np.zeros(n, np.int32))
    row_mask = pa.array(has_row)
    known = hits.midx >= 0
    f_meter = grid.fleet.meters.take(pa.array(np.where(known, hits.midx, 0))) if grid.fleet.n else r_meter
    meter = pc.if_else(pa.array(known), f_meter, r_meter)
    f_time = timestamps(freeze_us(grid.first_day + hits.col))
    freeze_time = pc.if_else(row_mask, r_time, f_time)
    version = pc.if_else(row_mask, r_version, pa.nulls(n, pa.int32()))
    di = hits.di if isinstance(hits.di, pa.Array) else pa.array([hits.di] * n, pa.string())
    return pa.table(
        [
            meter,
            di,
            freeze_time,
            version,
            pa.array([hits.rule] * n, pa.string()),
            pa.array([cfg.severity(hits.rule)] * n, pa.string()),
            hits.detail,
            pa.array(np.asarray(hits.observed, np.float64), from_pandas=True),
            pa.array(np.asarray(hits.threshold, np.float64), from_pandas=True),
        ],
        schema=VEE_RESULT_SCHEMA,
    )


def run_vee(
    grid: RegisterGrid,
    start: date | None = None,
    end: date | None = None,
    *,
    config: VeeConfig = DEFAULT_CONFIG,
    typical: pa.Table | None = None,
    activity: pa.Table | None = None,
    clock: pa.Table | None = None,
) -> pa.Table:
    """Validate the freezes ``start..end`` (default: the whole grid) and return the flags.

    Columns of the grid before ``start`` are history: they give the previous reading of the first interval
    and the typical consumption for SPIKE.

    - ``typical``: optional (meter, typical_kwh) [kWh/day, primary]; when given it replaces the median of
      previous days for SPIKE (e.g. kept by a nightly job, so a one-day run needs no history).
    - ``activity``: optional instantaneous samples (meter, time, power_kw and/or current_a); METER_STOPPED
      needs it. A sample taken on day ``d`` belongs to the interval closed by the freeze of ``d + 1``.
    - ``clock``: optional clock checks (device, device_kind "meter"|"terminal", checked_at, offset_s);
      a terminal's offset flags every meter with that ``terminal`` in the archive. Flags attach to the
      freeze of the check's date.
    """
    c0 = 0 if start is None else grid.column(start, "start")
    c1 = grid.n_freezes - 1 if end is None else grid.column(end, "end")
    parts: list[Hits] = []
    on = config.enabled
    adv = rules.total_advances(grid, config)
    if on(rc.MISSING):
        parts.append(rules.missing(grid, c0, c1))
    if on(rc.INVALID_VALUE):
        parts.append(rules.invalid_value(grid, adv, c0, c1))
    if on(rc.REG_DECREASE):
        parts.append(rules.decrease(grid, adv, c0, c1))
    if on(rc.ROLLOVER):
        parts.append(rules.rollover(grid, adv, c0, c1))
    if on(rc.SPIKE) or on(rc.OVER_CAPACITY):
        parts.extend(h for h in rules.spikes(grid, adv, c0, c1, config, typical) if on(h.rule))
    if on(rc.METER_STOPPED) and activity is not None:
        parts.append(rules.stopped(grid, adv, c0, c1, config, activity))
    if on(rc.REVERSE_ENERGY):
        rev = rules.reverse_energy(grid, c0, c1, config)
        if rev is not None:
            parts.append(rev)
    if on(rc.CLOCK_ERROR) and clock is not None:
        parts.append(rules.clock_errors(grid, c0, c1, config, clock))
    if on(rc.DUPLICATE_CONFLICT):
        parts.append(rules.duplicate_conflicts(grid, c0, c1, config))
    if on(rc.TARIFF_SUM):
        ts = rules.tariff_sum(grid, c0, c1, config, rules.TARIFFS)
        if ts is not None:
            parts.append(ts)
    which = {c for c in (rc.FLAT_LINE, rc.ZERO_RUN) if on(c)}
    if which:
        parts.extend(rules.flat_and_zero(grid, adv, c0, c1, config, which))
    if on(rc.UNKNOWN_METER):
        parts.append(rules.unknown_meters(grid, c0, c1))
    order = {code: i for i, code in enumerate(rc.RULES)}
    parts.sort(key=lambda h: order[h.rule])
    tables = [_table(grid, h, config) for h in parts if h.size]
    if not tables:
        return VEE_RESULT_SCHEMA.empty_table()
    return pa.concat_tables(tables)


def validate_readings(
    readings: pa.Table,
    meters: pa.Table | Fleet,
    start: date,
    end: date,
    *,
    history_days: int = 28,
    config: VeeConfig = DEFAULT_CONFIG,
    typical: pa.Table | None = None,
    activity: pa.Table | None = None,
    clock: pa.Table | None = None,
) -> pa.Table:
    """Convenience: grid from ``start - history_days`` to ``end``, then :func:`run_vee` on ``start..end``."""
    grid = build_grid(
        readings,
        meters,
        start - timedelta(days=history_days),
        end,
        duplicate_tolerance_kwh=config.duplicate_tolerance_kwh,
    )
    return run_vee(grid, start, end, config=config, typical=typical, activity=activity, clock=clock)
