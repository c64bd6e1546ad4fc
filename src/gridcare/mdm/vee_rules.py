"""The VEE rules, each vectorised over ``[meters x freezes]`` matrices of a :class:`RegisterGrid`.

Every rule returns :class:`Hits`: fleet positions, freeze columns, readings rows (-1: no reading), an
observed value, the threshold it was held against and a detail text. Cell-based rules only report columns
``c0..c1`` (the evaluated freezes); earlier columns serve as history. Consumption-based rules attach to the
reading that *closes* the interval; an interval that spans a gap (several days) is judged by its energy
per day (SPIKE, OVER_CAPACITY), while METER_STOPPED, FLAT_LINE and ZERO_RUN use single-day intervals only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.lib.stride_tricks import sliding_window_view

from gridcare.mdm import vee_config as rc
from gridcare.mdm.grid import RegisterGrid
from gridcare.mdm.registers import Advances, grid_advances, register_advances
from gridcare.mdm.schema import (
    DI_FWD_ACTIVE,
    DI_FWD_ACTIVE_TARIFFS,
    DI_REV_ACTIVE,
    MdmInputError,
    floats,
    fmt2,
    join_text,
    plain,
    require_columns,
    to_day_numbers,
)
from gridcare.mdm.vee_config import VeeConfig


@dataclass(frozen=True, eq=False)
class Hits:
    rule: str
    di: str | pa.Array
    midx: np.ndarray
    col: np.ndarray
    row: np.ndarray
    observed: np.ndarray
    threshold: np.ndarray
    detail: pa.Array

    @property
    def size(self) -> int:
        return int(self.midx.size)


def _window(mask: np.ndarray, c0: int, c1: int) -> tuple[np.ndarray, np.ndarray]:
    m, j = np.nonzero(mask[:, c0 : c1 + 1])
    return m, j + c0


def _cell_hits(
    grid: RegisterGrid,
    mask: np.ndarray,
    c0: int,
    c1: int,
    obs: np.ndarray,
    thr: np.ndarray | float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    m, j = _window(mask, c0, c1)
    observed = obs[m, j]
    threshold = thr[m, j] if isinstance(thr, np.ndarray) else np.full(m.size, float(thr))
    return m, j, grid.total.row[m, j], observed, threshold


def missing(grid: RegisterGrid, c0: int, c1: int) -> Hits:
    regs = grid.total
    mask = ~regs.firm & ~regs.conflict
    m, j = _window(mask, c0, c1)
    est = regs.estimated[m, j]
    detail = pc.if_else(pa.array(est), "no actual reading; an estimate is in force", "no actual reading")
    nan = np.full(m.size, np.nan)
    return Hits(rc.MISSING, DI_FWD_ACTIVE, m, j, np.full(m.size, -1, np.int64), nan, nan, detail)


def invalid_value(grid: RegisterGrid, adv: Advances, c0: int, c1: int) -> Hits:
    limit = np.broadcast_to(grid.fleet.rollover_kwh[:, None], adv.invalid.shape)
    m, j, row, obs, thr = _cell_hits(grid, adv.invalid, c0, c1, grid.total.value, limit)
    detail = pc.if_else(
        pa.array(np.isnan(obs)),
        "null register value",
        join_text("register value ", fmt2(obs), " kWh outside 0..", fmt2(thr)),
    )
    return Hits(rc.INVALID_VALUE, DI_FWD_ACTIVE, m, j, row, obs, thr, detail)


def decrease(grid: RegisterGrid, adv: Advances, c0: int, c1: int) -> Hits:
    m, j, row, obs, thr = _cell_hits(grid, adv.decrease, c0, c1, grid.total.value, adv.previous)
    glitch = adv.glitch[m, j]
    jumped = pa.array(glitch & (obs > thr))
    fell = join_text("register fell from ", fmt2(thr), " to ", fmt2(obs), " kWh")
    detail = pc.if_else(
        jumped,
        join_text(
            "register jumped from ",
            fmt2(thr),
            " to ",
            fmt2(obs),
            " kWh and fell back (isolated reading skipped)",
        ),
        pc.if_else(
            pa.array(glitch),
            join_text(fell, " and recovered (isolated reading skipped)"),
            join_text(fell, " (reset: later advances start from the new level)"),
        ),
    )
    return Hits(rc.REG_DECREASE, DI_FWD_ACTIVE, m, j, row, obs, thr, detail)


def rollover(grid: RegisterGrid, adv: Advances, c0: int, c1: int) -> Hits:
    m, j, row, obs, _ = _cell_hits(grid, adv.rollover, c0, c1, adv.advance, 0.0)
    thr = grid.fleet.rollover_kwh[m]
    detail = join_text(
        "register wrapped past ",
        fmt2(thr),
        " from ",
        fmt2(adv.previous[m, j]),
        " to ",
        fmt2(grid.total.value[m, j]),
        "; advance ",
        fmt2(obs),
        " kWh",
    )
    return Hits(rc.ROLLOVER, DI_FWD_ACTIVE, m, j, row, obs, thr, detail)


def _typical_from_table(grid: RegisterGrid, typical: pa.Table) -> np.ndarray:
    require_columns(typical, ["meter", "typical_kwh"], "typical")
    pos = grid.fleet.lookup(typical.column("meter"))
    values = floats(typical.column("typical_kwh"), "typical.typical_kwh")
    out = np.full(grid.fleet.n, np.nan)
    ok = pos >= 0
    out[pos[ok]] = values[ok]
    return out


def _spike_typical(
    single: np.ndarray, per_day: np.ndarray, c0: int, c1: int, cfg: VeeConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cells of columns c0..c1 whose energy per day exceeds k x the median of the previous
    ``spike_history_days`` single-day energies: (meter rows, columns, medians), meter-major.

    Prefilter: ``e > k x median`` needs at least half of the history below ``e / k``; the exact median is
    computed only for the cells that pass. Columns are processed in blocks through a sliding-window view.
    """
    w = cfg.spike_history_days
    n_rows = single.shape[0]
    padded = np.concatenate([np.full((n_rows, w), np.nan), single], axis=1)
    windows = sliding_window_view(padded, w, axis=1)  # windows[:, j] = single[:, j-w : j]
    known = np.concatenate(
        [np.zeros((n_rows, 1), np.int32), np.cumsum(~np.isnan(padded), axis=1, dtype=np.int32)], axis=1
    )
    block = max(1, 32_000_000 // max(1, n_rows * w))
    ms: list[np.ndarray] = []
    js: list[np.ndarray] = []
    meds: list[np.ndarray] = []
    for a in range(c0, c1 + 1, block):
        b = min(c1 + 1, a + block)
        e = per_day[:, a:b]
        valid = known[:, a + w : b + w] - known[:, a:b]
        with np.errstate(invalid="ignore"):
            below = np.count_nonzero(windows[:, a:b, :] < (e / cfg.spike_factor)[:, :, None], axis=2)
            cand = (
                (valid >= max(1, cfg.spike_min_history_days)) & (2 * below >= valid) & (e > cfg.spike_min_kwh)
            )
        m, jj = np.nonzero(cand)
        if not m.size:
            continue
        med = np.nanmedian(windows[m, jj + a, :], axis=1)
        hit = e[m, jj] > cfg.spike_factor * med
        ms.append(m[hit])
        js.append(jj[hit] + a)
        meds.append(med[hit])
    if not ms:
        empty = np.zeros(0, np.int64)
        return empty, empty, np.zeros(0)
    m, j, med = np.concatenate(ms), np.concatenate(js), np.concatenate(meds)
    order = np.lexsort((j, m))
    return m[order].astype(np.int64), j[order].astype(np.int64), med[order]


def spikes(
    grid: RegisterGrid, adv: Advances, c0: int, c1: int, cfg: VeeConfig, typical: pa.Table | None
) -> list[Hits]:
    fleet = grid.fleet
    energy = adv.advance * fleet.multiplier[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        per_day = np.where(adv.span > 0, energy / np.maximum(adv.span, 1), np.nan)
    out: list[Hits] = []
    if typical is not None:
        t = _typical_from_table(grid, typical)[:, None]
        with np.errstate(invalid="ignore"):
            mask = (per_day > cfg.spike_factor * t) & (per_day > cfg.spike_min_kwh)
        m, j = _window(mask, c0, c1)
        med = t[m, 0]
    else:
        single = np.where(adv.span == 1, energy, np.nan)
        m, j, med = _spike_typical(single, per_day, c0, c1, cfg)
    if m.size:
        obs = per_day[m, j]
        thr = cfg.spike_factor * med
        detail = join_text(
            fmt2(obs),
            " kWh/day > ",
            fmt2(np.full(m.size, cfg.spike_factor)),
            " x typical ",
            fmt2(med),
            " kWh",
        )
        out.append(Hits(rc.SPIKE, DI_FWD_ACTIVE, m, j, grid.total.row[m, j], obs, thr, detail))
    cap = fleet.capacity_kva[:, None] * 24.0 * cfg.capacity_factor
    with np.errstate(invalid="ignore"):
        mask = per_day > cap
    m, j = _window(mask, c0, c1)
    if m.size:
        obs, thr = per_day[m, j], cap[m, 0]
        detail = join_text(
            fmt2(obs),
            " kWh/day > capacity ",
            fmt2(fleet.capacity_kva[m]),
            " kVA x 24 h = ",
            fmt2(thr),
            " kWh",
        )
        out.append(Hits(rc.OVER_CAPACITY, DI_FWD_ACTIVE, m, j, grid.total.row[m, j], obs, thr, detail))
    return out


def _activity(grid: RegisterGrid, activity: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """Max |power| [kW] and max current [A] per (meter, closing freeze column); NaN when no sample."""
    require_columns(activity, ["meter", "time"], "activity")
    if "power_kw" not in activity.column_names and "current_a" not in activity.column_names:
        raise MdmInputError("activity: needs a power_kw or a current_a column")
    m = grid.fleet.lookup(activity.column("meter"))
    col = to_day_numbers(activity.column("time"), "activity.time") - grid.first_day + 1
    ok = (m >= 0) & (col >= 0) & (col < grid.n_freezes)
    shape = (grid.fleet.n, grid.n_freezes)
    out = []
    for name in ("power_kw", "current_a"):
        dense = np.full(shape, np.nan)
        if name in activity.column_names:
            x = np.abs(floats(activity.column(name), f"activity.{name}"))
            good = ok & ~np.isnan(x)
            np.fmax.at(dense, (m[good], col[good]), x[good])
        out.append(dense)
    return out[0], out[1]


def stopped(grid: RegisterGrid, adv: Advances, c0: int, c1: int, cfg: VeeConfig, activity: pa.Table) -> Hits:
    power, current = _activity(grid, activity)
    with np.errstate(invalid="ignore"):
        active = (power > cfg.stopped_min_power_kw) | (current > cfg.stopped_min_current_a)
        mask = (adv.span == 1) & (np.abs(adv.advance) < 0.005) & active
    m, j, row, _, _ = _cell_hits(grid, mask, c0, c1, adv.advance, 0.0)
    p, i = power[m, j], current[m, j]
    use_power = ~np.isnan(p) & (p > cfg.stopped_min_power_kw)
    obs = np.where(use_power, p, i)
    thr = np.where(use_power, cfg.stopped_min_power_kw, cfg.stopped_min_current_a)
    detail = join_text(
        "no register advance while ",
        pc.if_else(pa.array(use_power), "power reached ", "current reached "),
        fmt2(obs),
        pc.if_else(pa.array(use_power), " kW", " A"),
    )
    return Hits(rc.METER_STOPPED, DI_FWD_ACTIVE, m, j, row, obs, thr, detail)


def reverse_energy(grid: RegisterGrid, c0: int, c1: int, cfg: VeeConfig) -> Hits | None:
    regs = grid.reverse
    if regs is None:
        return None
    members = regs.members
    fwd_only = grid.fleet.forward_only[members]
    if not fwd_only.any():
        return None
    has_row = regs.has_row & ~regs.conflict & ~regs.estimated
    values = np.where(regs.estimated, np.nan, regs.value)
    adv = register_advances(
        values, has_row, grid.fleet.rollover_kwh[members], max_wrap_fraction=cfg.max_wrap_fraction
    )
    energy = adv.advance * grid.fleet.multiplier[members][:, None]
    with np.errstate(invalid="ignore"):
        mask = fwd_only[:, None] & (adv.advance >= cfg.reverse_min_kwh - 0.005)
    local, j = _window(mask, c0, c1)
    obs = energy[local, j]
    thr = np.full(local.size, cfg.reverse_min_kwh)
    detail = join_text("reverse register advanced ", fmt2(obs), " kWh on a forward-only customer")
    return Hits(rc.REVERSE_ENERGY, DI_REV_ACTIVE, members[local], j, regs.row[local, j], obs, thr, detail)


def clock_errors(grid: RegisterGrid, c0: int, c1: int, cfg: VeeConfig, clock: pa.Table) -> Hits:
    """``clock``: device (address text), device_kind ("meter" | "terminal"), checked_at, offset_s [s]."""
    require_columns(clock, ["device", "device_kind", "checked_at", "offset_s"], "clock")
    fleet = grid.fleet
    kind = plain(clock.column("device_kind"))
    bad = pc.sum(pc.invert(pc.is_in(kind, value_set=pa.array(["meter", "terminal"])))).as_py()
    if bad:
        raise MdmInputError("clock.device_kind: expected 'meter' or 'terminal'")
    is_meter = pc.equal(kind, "meter").to_numpy(zero_copy_only=False)
    offset = floats(clock.column("offset_s"), "clock.offset_s")
    col = to_day_numbers(clock.column("checked_at"), "clock.checked_at") - grid.first_day
    limit = np.where(is_meter, cfg.clock_max_offset_meter_s, cfg.clock_max_offset_terminal_s)
    with np.errstate(invalid="ignore"):
        keep = (np.abs(offset) > limit) & (col >= c0) & (col <= c1)
    device = plain(clock.column("device"))
    parts_m: list[np.ndarray] = []
    parts_c: list[np.ndarray] = []
    parts_o: list[np.ndarray] = []
    parts_l: list[np.ndarray] = []
    km = np.flatnonzero(keep & is_meter)
    if km.size:
        pos = fleet.lookup(device.take(pa.array(km)))
        ok = pos >= 0
        parts_m.append(pos[ok])
        parts_c.append(col[km][ok])
        parts_o.append(offset[km][ok])
        parts_l.append(limit[km][ok])
    kt = np.flatnonzero(keep & ~is_meter)
    if kt.size and fleet.terminals:
        tix = pc.index_in(device.take(pa.array(kt)), value_set=pa.array(fleet.terminals))
        tix_np = np.asarray(tix.fill_null(-1).to_numpy(zero_copy_only=False), np.int64)
        by_terminal = np.argsort(fleet.terminal_idx, kind="stable")
        sorted_t = fleet.terminal_idx[by_terminal]
        start = np.searchsorted(sorted_t, tix_np, side="left")
        stop = np.searchsorted(sorted_t, tix_np, side="right")
        count = np.where(tix_np >= 0, stop - start, 0)
        check = np.repeat(np.arange(kt.size), count)
        within = np.arange(check.size) - np.repeat(np.cumsum(count) - count, count)
        parts_m.append(by_terminal[start[check] + within])
        parts_c.append(col[kt][check])
        parts_o.append(offset[kt][check])
        parts_l.append(limit[kt][check])
    m = np.concatenate(parts_m) if parts_m else np.zeros(0, np.int64)
    j = np.concatenate(parts_c) if parts_c else np.zeros(0, np.int64)
    o = np.concatenate(parts_o) if parts_o else np.zeros(0)
    lim = np.concatenate(parts_l) if parts_l else np.zeros(0)
    if m.size:  # one hit per (meter, freeze): the largest offset
        order = np.lexsort((-np.abs(o), j, m))
        m, j, o, lim = m[order], j[order], o[order], lim[order]
        first = np.ones(m.size, bool)
        first[1:] = (m[1:] != m[:-1]) | (j[1:] != j[:-1])
        m, j, o, lim = m[first], j[first], o[first], lim[first]
    detail = join_text("clock offset ", fmt2(o), " s exceeds ", fmt2(lim), " s")
    return Hits(
        rc.CLOCK_ERROR,
        DI_FWD_ACTIVE,
        m.astype(np.int64),
        j.astype(np.int64),
        grid.total.row[m, j],
        o,
        lim,
        detail,
    )


def _row_hits(
    grid: RegisterGrid, rows: np.ndarray, c0: int, c1: int
) -> tuple[np.ndarray, np.ndarray, pa.Array]:
    """Rows (readings indices) whose freeze column is within c0..c1, their columns and data items."""
    if not rows.size:
        return rows, rows, pa.array([], pa.string())
    idx = pa.array(rows)
    col = (
        to_day_numbers(grid.readings.column("freeze_time").take(idx), "readings.freeze_time") - grid.first_day
    )
    keep = (col >= c0) & (col <= c1)
    rows, col = rows[keep], col[keep]
    di = plain(grid.readings.column("di").take(pa.array(rows)))
    return rows, col, di.combine_chunks() if isinstance(di, pa.ChunkedArray) else di


def duplicate_conflicts(grid: RegisterGrid, c0: int, c1: int, cfg: VeeConfig) -> Hits:
    rows, col, di = _row_hits(grid, np.sort(grid.conflict_rows), c0, c1)
    value = floats(grid.readings.column("value").take(pa.array(rows)), "readings.value")
    m = grid.fleet.lookup(grid.readings.column("meter").take(pa.array(rows)))
    thr = np.full(rows.size, cfg.duplicate_tolerance_kwh)
    detail = join_text(
        "another row of the same version holds a different value (this one ", fmt2(value), " kWh)"
    )
    return Hits(rc.DUPLICATE_CONFLICT, di, m, col, rows, value, thr, detail)


def unknown_meters(grid: RegisterGrid, c0: int, c1: int) -> Hits:
    rows, col, di = _row_hits(grid, grid.unknown_rows, c0, c1)
    value = floats(grid.readings.column("value").take(pa.array(rows)), "readings.value")
    nan = np.full(rows.size, np.nan)
    detail = pa.array(["meter is not in the meter archive"] * rows.size, pa.string())
    return Hits(rc.UNKNOWN_METER, di, np.full(rows.size, -1, np.int64), col, rows, value, nan, detail)


def tariff_sum(grid: RegisterGrid, c0: int, c1: int, cfg: VeeConfig, tariffs: Sequence[str]) -> Hits | None:
    ts = grid.tariffs
    if ts is None:
        return None
    in_window = (ts.cols >= c0) & (ts.cols <= c1)
    cols = ts.cols[in_window]
    total = grid.total.value[np.ix_(ts.members, cols)]
    t_sum, count = ts.total[:, in_window], ts.count[:, in_window]
    diff = np.round(t_sum - total, 2)
    with np.errstate(invalid="ignore"):
        mask = (count == len(tariffs)) & (np.abs(diff) > cfg.tariff_tolerance_kwh + 1e-9)
    lm, lc = np.nonzero(mask)
    m, j = ts.members[lm], cols[lc]
    obs = diff[lm, lc]
    thr = np.full(m.size, cfg.tariff_tolerance_kwh)
    detail = join_text(
        "T1..T", str(len(tariffs)), " sum ", fmt2(t_sum[lm, lc]), " vs total ", fmt2(total[lm, lc]), " kWh"
    )
    return Hits(rc.TARIFF_SUM, DI_FWD_ACTIVE, m, j, grid.total.row[m, j], obs, thr, detail)


def _run_length(cond: np.ndarray) -> np.ndarray:
    """Length of the run of True ending at each cell (0 where False), per row."""
    k = cond.shape[1]
    cols = np.arange(k, dtype=np.int32)
    last_false = np.maximum.accumulate(np.where(cond, np.int32(-1), cols), axis=1)
    return (cols - last_false).astype(np.int32)


def _consuming_classes(grid: RegisterGrid, single: np.ndarray, cfg: VeeConfig) -> np.ndarray:
    """Per meter: does its customer class normally consume (see VeeConfig.zero_class_min_share)?"""
    fleet = grid.fleet
    pos = np.count_nonzero(single > 0, axis=1).astype(np.float64)
    fin = np.count_nonzero(~np.isnan(single), axis=1).astype(np.float64)
    n_cls = len(fleet.classes) + 1
    cls = np.where(fleet.class_idx < 0, n_cls - 1, fleet.class_idx)
    pos_c = np.bincount(cls, weights=pos, minlength=n_cls)
    fin_c = np.bincount(cls, weights=fin, minlength=n_cls)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = pos_c / fin_c
    consuming = share >= cfg.zero_class_min_share
    for i, name in enumerate(fleet.classes):
        if name in cfg.zero_exempt_classes:
            consuming[i] = False
    return np.asarray(consuming[cls], dtype=bool)


def flat_and_zero(
    grid: RegisterGrid, adv: Advances, c0: int, c1: int, cfg: VeeConfig, which: set[str]
) -> list[Hits]:
    energy = adv.advance * grid.fleet.multiplier[:, None]
    single = np.where(adv.span == 1, energy, np.nan)
    out: list[Hits] = []
    if rc.FLAT_LINE in which:
        same = np.zeros(single.shape, bool)
        with np.errstate(invalid="ignore"):
            same[:, 1:] = (single[:, 1:] == single[:, :-1]) & (single[:, 1:] > 0)
        days = _run_length(same) + 1
        mask = same & (days >= cfg.flat_days)
        m, j, row, obs, _ = _cell_hits(grid, mask, c0, c1, single, 0.0)
        n = days[m, j].astype(np.float64)
        detail = join_text(
            "same consumption ",
            fmt2(obs),
            " kWh for ",
            pc.cast(pa.array(n.astype(np.int64)), pa.string()),
            " days",
        )
        out.append(
            Hits(rc.FLAT_LINE, DI_FWD_ACTIVE, m, j, row, n, np.full(m.size, float(cfg.flat_days)), detail)
        )
    if rc.ZERO_RUN in which:
        with np.errstate(invalid="ignore"):
            zero = single == 0
        days = _run_length(zero)
        consuming = _consuming_classes(grid, single, cfg)
        mask = zero & (days >= cfg.zero_days) & consuming[:, None]
        m, j, row, _, _ = _cell_hits(grid, mask, c0, c1, single, 0.0)
        n = days[m, j].astype(np.float64)
        detail = join_text(
            "zero consumption for ", pc.cast(pa.array(n.astype(np.int64)), pa.string()), " days"
        )
        out.append(
            Hits(rc.ZERO_RUN, DI_FWD_ACTIVE, m, j, row, n, np.full(m.size, float(cfg.zero_days)), detail)
        )
    return out


def total_advances(grid: RegisterGrid, cfg: VeeConfig) -> Advances:
    return grid_advances(grid, include_estimates=False, max_wrap_fraction=cfg.max_wrap_fraction)


TARIFFS = DI_FWD_ACTIVE_TARIFFS
