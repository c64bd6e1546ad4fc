"""Estimation (the first E of VEE): fill missing daily registers with new, flagged rows.

A freeze is a *gap* when it has no actual or edited row at all (any version); only gaps are estimated, so an
estimate can never hide an actual, and :func:`~gridcare.mdm.versions.latest_valid` prefers any actual that
arrives later. Anchors are the usable actual/edited registers (see :mod:`gridcare.mdm.registers`).
Methods, in order of preference:

1. ``profile_interpolation``: the gap lies between two anchors whose advance is valid: the advance is
   distributed over the days in between in proportion to the class profile's daily kWh (the register at a
   gap freeze is ``previous + advance x profile share of the days so far``); ``linear_interpolation`` when
   the profile does not cover those days (equal shares).
2. ``same_day_last_week``: no later anchor: each missing day's advance is the actual single-day advance of
   the same weekday one week earlier, accumulated from the previous anchor.
3. ``class_profile``: last resort for a day with no such advance: the class profile's kWh for that day
   (divided by the meter's multiplier to get register units).

Gaps before the first anchor of a meter are not estimated. Each estimate is a row with source="estimated",
its method, version = highest version of the key + 1, ``recorded_at`` = ``when``, ``who`` and ``why``.
A gap that already holds an estimate gets a new version only when the new value differs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gridcare.mdm.grid import RegisterGrid
from gridcare.mdm.registers import GapRuns, grid_advances
from gridcare.mdm.schema import (
    DI_FWD_ACTIVE,
    READINGS_SCHEMA,
    REGISTER_RESOLUTION_KWH,
    SOURCE_ESTIMATED,
    MdmInputError,
    dates,
    datetime_us,
    floats,
    freeze_us,
    join_text,
    plain,
    require_columns,
    round_register,
    to_day_numbers,
)
from gridcare.mdm.versions import new_rows

METHOD_PROFILE_INTERPOLATION = "profile_interpolation"
METHOD_LINEAR_INTERPOLATION = "linear_interpolation"
METHOD_SAME_DAY_LAST_WEEK = "same_day_last_week"
METHOD_CLASS_PROFILE = "class_profile"
_METHODS = (
    METHOD_PROFILE_INTERPOLATION,
    METHOD_LINEAR_INTERPOLATION,
    METHOD_SAME_DAY_LAST_WEEK,
    METHOD_CLASS_PROFILE,
)


@dataclass(frozen=True)
class EstimationConfig:
    """``max_gap_days``: longest span (previous anchor to estimated freeze, days) that is estimated;
    ``week_lag_days``: lag of the same-day-last-week method; ``who``: recorded as the author."""

    max_gap_days: int = 31
    week_lag_days: int = 7
    max_wrap_fraction: float = 0.01
    who: str = "mdm.estimation"

    def __post_init__(self) -> None:
        if self.max_gap_days < 1:
            raise MdmInputError("EstimationConfig.max_gap_days: must be at least 1")
        if self.week_lag_days < 1:
            raise MdmInputError("EstimationConfig.week_lag_days: must be at least 1")
        if not self.who.strip():
            raise MdmInputError("EstimationConfig.who: must not be empty")


def profile_weights(
    grid: RegisterGrid, profiles: pa.Table | None, rows: np.ndarray | None = None
) -> np.ndarray:
    """Class profile kWh of the day each interval closes, per meter ``[meters x freezes]`` (NaN: none).

    ``profiles``: (customer_class, day, kwh) — typical energy of one customer of the class on that day [kWh].
    Column ``i`` holds the day ``first_freeze + i - 1`` (the day the freeze of column ``i`` closes).
    ``rows`` limits the result to those fleet positions.
    """
    fleet = grid.fleet
    class_idx = fleet.class_idx if rows is None else fleet.class_idx[rows]
    out = np.full((class_idx.size, grid.n_freezes), np.nan)
    if profiles is None or profiles.num_rows == 0 or not fleet.classes:
        return out
    require_columns(profiles, ["customer_class", "day", "kwh"], "profiles")
    cls = pc.index_in(plain(profiles.column("customer_class")), value_set=pa.array(fleet.classes))
    c = np.asarray(cls.fill_null(-1).to_numpy(zero_copy_only=False), np.int64)
    col = to_day_numbers(profiles.column("day"), "profiles.day") - grid.first_day + 1
    kwh = floats(profiles.column("kwh"), "profiles.kwh")
    if np.any(kwh[~np.isnan(kwh)] < 0):
        raise MdmInputError("profiles.kwh: must not be negative")
    ok = (c >= 0) & (col >= 1) & (col < grid.n_freezes)
    table = np.full((len(fleet.classes) + 1, grid.n_freezes), np.nan)
    table[c[ok], col[ok]] = kwh[ok]
    return table[np.where(class_idx < 0, len(fleet.classes), class_idx)]


def _pick(matrix: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """matrix[rows, cols] through the flat view (cheaper than 2-d fancy indexing on large matrices)."""
    return matrix.reshape(-1)[rows * matrix.shape[1] + cols]


def estimate_gaps(
    grid: RegisterGrid,
    *,
    when: datetime,
    profiles: pa.Table | None = None,
    start: date | None = None,
    end: date | None = None,
    config: EstimationConfig | None = None,
) -> pa.Table:
    """Estimate the total forward register at every gap freeze in ``start..end`` (default: whole grid).

    Returns only the new rows (:data:`READINGS_SCHEMA`), sorted by meter and freeze time; append them to the
    readings to keep the history. See the module docstring for the methods. Work is proportional to the
    number of gaps (and the meters that have one), not to the size of the grid.
    """
    cfg = config or EstimationConfig()
    c0 = 0 if start is None else grid.column(start, "start")
    c1 = grid.n_freezes - 1 if end is None else grid.column(end, "end")
    when_us = datetime_us(when, "when")
    fleet, regs, k = grid.fleet, grid.total, grid.n_freezes
    gm, gj = np.nonzero(~regs.firm[:, c0 : c1 + 1])
    gj = gj + c0
    if not gm.size:
        return READINGS_SCHEMA.empty_table()
    adv = grid_advances(grid, include_estimates=False, max_wrap_fraction=cfg.max_wrap_fraction)
    anchor_v = np.where(adv.usable, regs.value, np.nan)
    runs = GapRuns(anchor_v)
    cells = gm * k + gj
    p, n = runs.before(cells), runs.after(cells)
    pcol, ncol = p % k, n % k
    keep = (p >= 0) & (gj - pcol <= cfg.max_gap_days)
    gm, gj, cells, p, n, pcol, ncol = (x[keep] for x in (gm, gj, cells, p, n, pcol, ncol))
    base = anchor_v.reshape(-1)[p]
    span_adv = np.where(n >= 0, adv.advance.reshape(-1)[np.maximum(n, 0)], np.nan)
    bracket = (n >= 0) & ~np.isnan(span_adv)
    rows = np.unique(gm)
    local = np.searchsorted(rows, gm)
    w = profile_weights(grid, profiles, rows)  # [len(rows) x k]

    # 1. between anchors: profile shares of the days (p, j] in (p, n], else equal shares
    with np.errstate(invalid="ignore", divide="ignore"):
        share = (gj - pcol) / (ncol - pcol)
    use_profile = np.zeros(gm.size, bool)
    if profiles is not None and bracket.any():
        w_cum = np.cumsum(np.nan_to_num(w), axis=1)
        w_nan = np.cumsum(np.isnan(w), axis=1)
        w_total = _pick(w_cum, local, ncol) - _pick(w_cum, local, pcol)
        use_profile = bracket & (_pick(w_nan, local, ncol) == _pick(w_nan, local, pcol)) & (w_total > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            prof_share = (_pick(w_cum, local, gj) - _pick(w_cum, local, pcol)) / w_total
        share = np.where(use_profile, prof_share, share)
    value = base + span_adv * share
    method = np.where(bracket, np.where(use_profile, 0, 1), -1).astype(np.int8)

    # 2./3. forward from the previous anchor: same day last week, else class profile
    fwd = ~bracket
    if fwd.any():
        lag = cfg.week_lag_days
        single = np.where(adv.span[rows] == 1, adv.advance[rows], np.nan)
        week = np.full(single.shape, np.nan)
        week[:, lag:] = single[:, :-lag]
        step = np.where(np.isnan(week), w / fleet.multiplier[rows][:, None], week)
        s_cum = np.cumsum(np.nan_to_num(step), axis=1)
        s_nan = np.cumsum(np.isnan(step), axis=1)
        lf, jf, pf = local[fwd], gj[fwd], pcol[fwd]
        ok = _pick(s_nan, lf, jf) == _pick(s_nan, lf, pf)
        value[fwd] = base[fwd] + _pick(s_cum, lf, jf) - _pick(s_cum, lf, pf)
        method[fwd] = np.where(ok, np.where(np.isnan(_pick(week, lf, jf)), 3, 2), -1)

    limit = fleet.rollover_kwh[gm]
    with np.errstate(invalid="ignore"):
        value = round_register(
            np.where(value > limit + REGISTER_RESOLUTION_KWH / 2, value - limit - 0.01, value)
        )
        current = regs.value.reshape(-1)[cells]
        changed = ~regs.estimated.reshape(-1)[cells] | ~(
            np.abs(value - current) < REGISTER_RESOLUTION_KWH / 2
        )
    out = (method >= 0) & changed
    if not out.any():
        return READINGS_SCHEMA.empty_table()
    m, j, code, value = gm[out], gj[out], method[out], value[out]
    p, q = pcol[out], np.where(n[out] >= 0, ncol[out], 0)
    versions = np.maximum(regs.max_version.reshape(-1)[cells[out]], 0) + 1
    d_prev = pc.cast(dates(grid.first_day + p), pa.string())
    d_next = pc.cast(dates(grid.first_day + q), pa.string())
    why = pc.if_else(
        pa.array(code <= 1),
        join_text("no actual reading; interpolated between the readings of ", d_prev, " and ", d_next),
        join_text("no actual reading; carried forward from the reading of ", d_prev),
    )
    return new_rows(
        meters=fleet.meters.take(pa.array(m)),
        dis=pa.array([DI_FWD_ACTIVE] * m.size, pa.string()),
        freeze_us=freeze_us(grid.first_day + j),
        values=value,
        versions=versions,
        source=SOURCE_ESTIMATED,
        methods=pa.array(_METHODS, pa.string()).take(pa.array(code.astype(np.int64))),
        recorded_us=np.full(m.size, when_us, np.int64),
        who=pa.array([cfg.who] * m.size, pa.string()),
        why=why,
    )
