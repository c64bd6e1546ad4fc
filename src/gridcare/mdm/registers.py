"""Register advances with rollover and glitch handling, and daily energy per meter.

A register advance is taken between consecutive *usable* readings of a meter (along the freeze axis):

- a value that is null, negative or above the meter's rollover limit is *invalid* and not used;
- a drop whose wrapped advance ``(limit + 0.01 - previous) + current`` is at most ``max_wrap_fraction`` of
  the register range is a *rollover*: the advance is the wrapped one;
- any other drop is a *decrease*. If the next reading is back at or above the previous one, the dropped
  reading was an isolated *glitch* (e.g. a stray zero); if instead this reading is at or above the one
  before the previous, the previous reading was a glitch (a stray jump up). A glitch reading is skipped and
  the advance spans it. Otherwise the register was reset (a level shift): the interval ending at the drop
  has no advance and later advances are taken from the new level.

Energy [kWh] = advance [register kWh] x multiplier. The energy of business day ``d`` is closed by the freeze
at 00:00 on ``d + 1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gridcare.mdm.fleet import Fleet
from gridcare.mdm.grid import RegisterGrid
from gridcare.mdm.schema import (
    REGISTER_RESOLUTION_KWH,
    MdmInputError,
    dates,
    day_from_number,
    day_number,
    floats,
    require_columns,
    round_register,
    to_day_numbers,
)

_EPS = REGISTER_RESOLUTION_KWH / 2


@dataclass(frozen=True, eq=False)
class Advances:
    """Per cell ``[meters x freezes]``: the advance of the interval that the reading in that cell closes.

    ``advance`` [register kWh] is NaN where unknown; ``span`` is the number of days since the previous usable
    reading (0: none); ``previous`` is that reading's value. ``invalid``, ``rollover``, ``decrease`` and
    ``glitch`` (a subset of ``decrease``) are the flags described in the module docstring; ``usable`` marks
    the readings that advances were taken between.
    """

    advance: np.ndarray
    span: np.ndarray
    previous: np.ndarray
    usable: np.ndarray
    invalid: np.ndarray
    rollover: np.ndarray
    decrease: np.ndarray
    glitch: np.ndarray


class GapRuns:
    """Runs of absent (NaN) cells of a ``[rows x k]`` matrix, found on the flattened array (sparse)."""

    def __init__(self, v: np.ndarray) -> None:
        self.k = v.shape[1]
        self.idx = np.flatnonzero(np.isnan(v))
        n, k = self.idx.size, self.k
        col = self.idx % k
        first = np.ones(n, bool)
        first[1:] = (self.idx[1:] != self.idx[:-1] + 1) | (col[1:] == 0)
        last = np.ones(n, bool)
        last[:-1] = first[1:]
        self.start = np.maximum.accumulate(np.where(first, self.idx, 0)) if n else self.idx
        ends = np.where(last, self.idx, np.iinfo(np.int64).max)
        self.end = np.minimum.accumulate(ends[::-1])[::-1] if n else self.idx

    def _lookup(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pos = np.minimum(np.searchsorted(self.idx, q), self.idx.size - 1)
        return pos, self.idx[pos] == q

    def before(self, cells: np.ndarray) -> np.ndarray:
        """Flat index of the last present cell strictly before each cell in its row (-1: none)."""
        res = cells - 1
        if self.idx.size:
            pos, hit = self._lookup(res)
            start = self.start[pos]
            res = np.where(hit, np.where(start % self.k == 0, -1, start - 1), res)
        return np.where(cells % self.k == 0, -1, res)

    def after(self, cells: np.ndarray) -> np.ndarray:
        """Flat index of the first present cell strictly after each cell in its row (-1: none)."""
        res = cells + 1
        if self.idx.size:
            pos, hit = self._lookup(res)
            end = self.end[pos]
            res = np.where(hit, np.where(end % self.k == self.k - 1, -1, end + 1), res)
        return np.where(cells % self.k == self.k - 1, -1, res)


def _previous(v: np.ndarray) -> tuple[np.ndarray, np.ndarray, GapRuns]:
    """Value of, and days since, the previous present cell of each cell (NaN / 0: none).

    Dense where the previous column is present (a shifted copy), sparse fix-up after gaps.
    """
    m, k = v.shape
    pv = np.empty_like(v)
    pv[:, 0] = np.nan
    pv[:, 1:] = v[:, :-1]
    span = np.ones((m, k), np.int32)
    span[:, 0] = 0
    gaps = GapRuns(v)
    if gaps.idx.size:
        same_row = gaps.idx % k != k - 1
        cells = gaps.idx[same_row] + 1
        p = gaps.start[same_row] - 1
        has = gaps.start[same_row] % k != 0
        pv.reshape(-1)[cells] = np.where(has, v.reshape(-1)[np.maximum(p, 0)], np.nan)
        span.reshape(-1)[cells] = np.where(has, cells - p, 0)
    return pv, span, gaps


def _step(
    v: np.ndarray, modulus: np.ndarray, max_wrap_fraction: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, GapRuns, np.ndarray, np.ndarray, np.ndarray]:
    """pv, span, raw diff, gaps, and flat indices of rollovers (with their wrapped advance) and decreases."""
    pv, span, gaps = _previous(v)
    diff = v - pv
    with np.errstate(invalid="ignore"):
        dropped = np.flatnonzero(diff < -_EPS)
    mod = modulus[dropped // v.shape[1], 0]
    wrap = round_register(mod - pv.reshape(-1)[dropped] + v.reshape(-1)[dropped])
    roll = wrap <= max_wrap_fraction * mod
    return pv, span, diff, gaps, dropped[roll], wrap[roll], dropped[~roll]


def _glitches(v: np.ndarray, pv: np.ndarray, gaps: GapRuns, dec: np.ndarray) -> np.ndarray:
    """Flat indices of isolated readings that explain the decreases ``dec`` (module docstring)."""
    flat = v.reshape(-1)
    nxt = gaps.after(dec)
    nv = np.where(nxt >= 0, flat[np.maximum(nxt, 0)], np.nan)
    with np.errstate(invalid="ignore"):
        low = nv >= pv.reshape(-1)[dec] - _EPS  # this reading dropped and the next one recovers
    rest = dec[~low]  # else the previous reading may have jumped up alone
    p = gaps.before(rest)
    pp = np.where(p >= 0, gaps.before(np.maximum(p, 0)), -1)
    ppv = np.where(pp >= 0, flat[np.maximum(pp, 0)], np.nan)
    with np.errstate(invalid="ignore"):
        high = (p >= 0) & (flat[rest] >= ppv - _EPS)
    return np.unique(np.concatenate([dec[low], p[high]]))


def register_advances(
    values: np.ndarray,
    has_row: np.ndarray,
    rollover_kwh: np.ndarray,
    *,
    max_wrap_fraction: float = 0.01,
) -> Advances:
    """Advances between usable readings (module docstring). ``rollover_kwh`` is per row (meter)."""
    v = np.array(values, dtype=np.float64, copy=True)
    limit = np.asarray(rollover_kwh, dtype=np.float64)[:, None]
    modulus = limit + REGISTER_RESOLUTION_KWH
    with np.errstate(invalid="ignore"):
        invalid = has_row & (np.isnan(v) | (v < 0) | (v > limit + _EPS))
    v[invalid] = np.nan
    pv, span, diff, gaps, roll, wrap, dec = _step(v, modulus, max_wrap_fraction)
    glitch_idx = np.zeros(0, np.int64)
    if dec.size:
        glitch_idx = _glitches(v, pv, gaps, dec)
        if glitch_idx.size:
            v.reshape(-1)[glitch_idx] = np.nan
            pv, span, diff, gaps, roll, wrap, dec = _step(v, modulus, max_wrap_fraction)
    usable = ~np.isnan(v)
    advance = diff
    advance.reshape(-1)[roll] = wrap
    advance.reshape(-1)[dec] = np.nan
    advance = round_register(advance)
    span[~usable] = 0

    def mask(idx: np.ndarray) -> np.ndarray:
        out = np.zeros(v.shape, bool)
        out.reshape(-1)[idx] = True
        return out

    glitch = mask(glitch_idx)
    return Advances(
        advance=advance,
        span=span,
        previous=pv,
        usable=usable,
        invalid=invalid,
        rollover=mask(roll),
        decrease=mask(dec) | glitch,
        glitch=glitch,
    )


def grid_advances(
    grid: RegisterGrid, *, include_estimates: bool = False, max_wrap_fraction: float = 0.01
) -> Advances:
    """Advances of the total forward register of ``grid`` (cached on the grid)."""
    key = ("advances", include_estimates, max_wrap_fraction)
    if key not in grid.cache:
        regs = grid.total
        values = regs.value if include_estimates else np.where(regs.estimated, np.nan, regs.value)
        has_row = (regs.has_row & ~regs.conflict) & (include_estimates | ~regs.estimated)
        grid.cache[key] = register_advances(
            values, has_row, grid.fleet.rollover_kwh, max_wrap_fraction=max_wrap_fraction
        )
    adv: Advances = grid.cache[key]
    return adv


@dataclass(frozen=True, eq=False)
class DailyEnergy:
    """Energy per meter and business day, dense ``[meters x days]``.

    ``energy_kwh[m, d]`` is the energy [kWh, primary side = advance x multiplier] of the interval that closes
    at the end of day ``first_day + d`` (NaN: unknown); ``span_days[m, d]`` is that interval's length in days
    (1 = the day alone; 0 = no interval closes that day). Only ``span_days == 1`` cells are single-day
    energies; longer spans cover days with no usable reading before them.
    """

    fleet: Fleet
    first_day: int
    energy_kwh: np.ndarray
    span_days: np.ndarray

    @property
    def n_days(self) -> int:
        return int(self.energy_kwh.shape[1])

    @property
    def days(self) -> list[date]:
        return [day_from_number(self.first_day + i) for i in range(self.n_days)]

    def single_day(self) -> np.ndarray:
        """Energy of cells whose interval is exactly that day, else NaN [kWh]."""
        return np.where(self.span_days == 1, self.energy_kwh, np.nan)

    def to_table(self, *, known_only: bool = True) -> pa.Table:
        """Long table (meter, day, energy_kwh, span_days); ``known_only`` keeps cells with an energy."""
        m_idx, d_idx = (
            np.nonzero(~np.isnan(self.energy_kwh))
            if known_only
            else np.indices(self.energy_kwh.shape).reshape(2, -1)
        )
        return pa.table(
            {
                "meter": self.fleet.meters.take(pa.array(m_idx)),
                "day": dates(d_idx + self.first_day),
                "energy_kwh": pa.array(self.energy_kwh[m_idx, d_idx], from_pandas=True),
                "span_days": pa.array(self.span_days[m_idx, d_idx].astype(np.int32)),
            }
        )

    @classmethod
    def from_table(
        cls, table: pa.Table, meters: pa.Table | Fleet, first_day: date, last_day: date
    ) -> DailyEnergy:
        """Dense energy from a long table (meter, day, energy_kwh[, span_days]); other days are ignored."""
        require_columns(table, ["meter", "day", "energy_kwh"], "energy")
        fleet = meters if isinstance(meters, Fleet) else Fleet.from_table(meters)
        first, n_days = day_number(first_day), day_number(last_day) - day_number(first_day) + 1
        if n_days < 1:
            raise MdmInputError(f"last_day: {last_day} is before first_day {first_day}")
        d = to_day_numbers(table.column("day"), "energy.day") - first
        m = fleet.lookup(table.column("meter"))
        e = floats(table.column("energy_kwh"), "energy.energy_kwh")
        if "span_days" in table.column_names:
            s = np.asarray(
                pc.fill_null(table.column("span_days"), 0).to_numpy(zero_copy_only=False), np.int32
            )
        else:
            s = np.ones(table.num_rows, np.int32)
        ok = (m >= 0) & (d >= 0) & (d < n_days)
        energy = np.full((fleet.n, n_days), np.nan)
        span = np.zeros((fleet.n, n_days), np.int32)
        energy[m[ok], d[ok]] = e[ok]
        span[m[ok], d[ok]] = np.where(np.isnan(e[ok]), 0, s[ok])
        return cls(fleet=fleet, first_day=first, energy_kwh=energy, span_days=span)


def daily_energy(
    grid: RegisterGrid,
    *,
    include_estimates: bool = False,
    max_wrap_fraction: float = 0.01,
    changes: pa.Table | None = None,
) -> DailyEnergy:
    """Energy per meter for the business days ``first_freeze .. last_freeze - 1`` of ``grid``.

    ``include_estimates`` lets estimated registers close intervals (line loss uses actuals by default).
    ``changes`` applies meter replacements inside a day (see :func:`gridcare.mdm.meter_change
    .apply_meter_changes`).
    """
    adv = grid_advances(grid, include_estimates=include_estimates, max_wrap_fraction=max_wrap_fraction)
    energy = np.round(adv.advance[:, 1:] * grid.fleet.multiplier[:, None], 2)
    result = DailyEnergy(
        fleet=grid.fleet,
        first_day=grid.first_day,
        energy_kwh=energy,
        span_days=adv.span[:, 1:].copy(),
    )
    if changes is not None and changes.num_rows:
        from gridcare.mdm.meter_change import apply_meter_changes

        result = apply_meter_changes(result, grid, changes, include_estimates=include_estimates)
    return result
