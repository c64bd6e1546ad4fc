"""Dense register grids: one cell per (meter, freeze day), holding the effective reading of that cell.

``build_grid`` turns a readings table (long layout, any row order) into ``[meters x freeze days]`` numpy
matrices in one vectorised pass. The effective reading of a cell follows :func:`gridcare.mdm.versions
.latest_valid`: an actual or edited row beats any estimate; among those the highest version wins; rows that
tie on the winning version with different values make the cell *conflicting* (value NaN).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gridcare.mdm.fleet import Fleet
from gridcare.mdm.schema import (
    DI_FWD_ACTIVE,
    DI_FWD_ACTIVE_TARIFFS,
    DI_REV_ACTIVE,
    READINGS_REQUIRED,
    SOURCE_ESTIMATED,
    SOURCES,
    MdmInputError,
    day_from_number,
    day_number,
    floats,
    plain,
    require_columns,
    to_day_numbers,
)

_DIS = (DI_FWD_ACTIVE, DI_REV_ACTIVE, *DI_FWD_ACTIVE_TARIFFS)
_TOTAL, _REVERSE = 0, 1
_VERSION_LIMIT = 2**31 - 1


@dataclass(frozen=True, eq=False)
class Registers:
    """Effective readings of one data item over ``members`` (fleet positions) x freeze days.

    ``value`` [kWh, register units] is NaN where there is no usable effective reading (no row, a null value,
    or a conflict); ``row`` is the readings-table row of the effective reading (-1: none); ``estimated``
    marks cells whose effective reading is an estimate; ``firm`` marks cells having at least one actual or
    edited row (any version); ``conflict`` marks cells whose winning rows disagree; ``max_version`` is the
    highest version of any row of the cell (-1: none).
    """

    members: np.ndarray
    value: np.ndarray
    row: np.ndarray
    estimated: np.ndarray
    firm: np.ndarray
    conflict: np.ndarray
    max_version: np.ndarray

    @property
    def has_row(self) -> np.ndarray:
        return self.row >= 0


@dataclass(frozen=True, eq=False)
class TariffSums:
    """Sum [register kWh] and count of the effective tariff registers, on ``members x cols`` of the grid."""

    members: np.ndarray
    cols: np.ndarray
    total: np.ndarray
    count: np.ndarray


@dataclass(frozen=True, eq=False)
class RegisterGrid:
    """Readings of a fleet between two freeze dates, as dense matrices (see module docstring).

    Column ``j`` is the freeze at 00:00 Beijing time on ``first_freeze + j`` days. ``total`` covers every
    fleet meter for :data:`DI_FWD_ACTIVE`; ``reverse`` covers only meters that sent :data:`DI_REV_ACTIVE`
    rows; ``tariffs`` holds the sum and number of effective T1..T4 registers of the cells that have any.
    ``conflict_rows`` are readings rows that share (meter, di, freeze day, version) with a row of a different
    value; ``unknown_rows`` are rows of the selected data items whose meter is not in the fleet.
    """

    fleet: Fleet
    readings: pa.Table
    first_day: int
    n_freezes: int
    total: Registers
    reverse: Registers | None
    tariffs: TariffSums | None
    conflict_rows: np.ndarray
    unknown_rows: np.ndarray
    cache: dict[Any, Any] = field(default_factory=dict, repr=False)

    @property
    def first_freeze(self) -> date:
        return day_from_number(self.first_day)

    @property
    def last_freeze(self) -> date:
        return day_from_number(self.first_day + self.n_freezes - 1)

    def column(self, day: date, what: str) -> int:
        """Column of a freeze date; MdmInputError when outside the grid."""
        j = day_number(day) - self.first_day
        if not 0 <= j < self.n_freezes:
            raise MdmInputError(f"{what}: {day} is outside the grid {self.first_freeze}..{self.last_freeze}")
        return j


def _select(
    cells: np.ndarray,
    firm: np.ndarray,
    version: np.ndarray,
    value: np.ndarray,
    rows: np.ndarray,
    n_cells: int,
    tolerance: float,
) -> tuple[Registers, np.ndarray]:
    """Effective reading per cell, and the rows in same-version disagreements (any version)."""
    row = np.full(n_cells, -1, np.int64)
    row[cells] = rows
    n_filled = int(np.count_nonzero(row >= 0))
    if n_filled == cells.size:  # fast path: every cell has exactly one row
        val = np.full(n_cells, np.nan)
        val[cells] = value
        firm_cell = np.zeros(n_cells, bool)
        firm_cell[cells] = firm
        est = np.zeros(n_cells, bool)
        est[cells] = ~firm
        maxv = np.full(n_cells, -1, np.int32)
        maxv[cells] = version
        regs = Registers(
            members=np.zeros(0, np.int64),
            value=val,
            row=row,
            estimated=est,
            firm=firm_cell,
            conflict=np.zeros(n_cells, bool),
            max_version=maxv,
        )
        return regs, np.zeros(0, np.int64)
    score = (firm.astype(np.int64) << 32) | version
    best = np.full(n_cells, -1, np.int64)
    np.maximum.at(best, cells, score)
    is_best = score == best[cells]
    bcell, brow, bval = cells[is_best], rows[is_best], value[is_best]
    val = np.full(n_cells, np.nan)
    row[:] = -1
    val[bcell] = bval
    row[bcell] = brow
    conflict = np.zeros(n_cells, bool)
    n_filled = int(np.count_nonzero(best >= 0))
    if bcell.size > n_filled:  # ties on the winning version: equal values are harmless, others conflict
        order = np.argsort(bcell, kind="stable")
        c, v = bcell[order], bval[order]
        same = c[1:] == c[:-1]
        differ = same & ~(np.abs(v[1:] - v[:-1]) <= tolerance)
        conflict[c[1:][differ]] = True
        val[conflict] = np.nan
    dup_rows = np.zeros(0, np.int64)
    if cells.size > n_filled:  # some cell has several rows: look for disagreement inside any version
        counts = np.bincount(cells, minlength=n_cells)
        multi = np.flatnonzero(counts[cells] > 1)
        order = multi[np.lexsort((version[multi], cells[multi]))]
        c, ver, v = cells[order], version[order], value[order]
        same = (c[1:] == c[:-1]) & (ver[1:] == ver[:-1])
        differ = same & ~(np.abs(v[1:] - v[:-1]) <= tolerance)
        hit = np.zeros(order.size, bool)
        hit[1:] |= differ
        hit[:-1] |= differ
        dup_rows = np.unique(rows[order[hit]])
    maxv = np.full(n_cells, -1, np.int32)
    np.maximum.at(maxv, cells, version.astype(np.int32))
    firm_cell = np.zeros(n_cells, bool)
    firm_cell[cells[firm]] = True
    estimated = (best >= 0) & ((best >> 32) == 0)
    regs = Registers(
        members=np.zeros(0, np.int64),
        value=val,
        row=row,
        estimated=estimated,
        firm=firm_cell,
        conflict=conflict,
        max_version=maxv,
    )
    return regs, dup_rows


def _shaped(regs: Registers, members: np.ndarray, k: int) -> Registers:
    m = members.size
    return Registers(
        members=members,
        value=regs.value.reshape(m, k),
        row=regs.row.reshape(m, k),
        estimated=regs.estimated.reshape(m, k),
        firm=regs.firm.reshape(m, k),
        conflict=regs.conflict.reshape(m, k),
        max_version=regs.max_version.reshape(m, k),
    )


def _take(column: pa.ChunkedArray, sel: np.ndarray | None) -> pa.ChunkedArray | pa.Array:
    return column if sel is None else column.take(pa.array(sel))


def build_grid(
    readings: pa.Table,
    meters: pa.Table | Fleet,
    first_freeze: date,
    last_freeze: date,
    *,
    duplicate_tolerance_kwh: float = 0.005,
) -> RegisterGrid:
    """Dense grid of the daily frozen registers of ``meters`` for freezes ``first_freeze..last_freeze``.

    Rows of other data items or outside the date range are ignored. Raises MdmInputError (naming the column)
    for missing columns, unknown ``source`` labels, null or negative versions, or an empty date range.
    """
    require_columns(readings, READINGS_REQUIRED, "readings")
    fleet = meters if isinstance(meters, Fleet) else Fleet.from_table(meters)
    first, k = day_number(first_freeze), day_number(last_freeze) - day_number(first_freeze) + 1
    if k < 1:
        raise MdmInputError(f"last_freeze: {last_freeze} is before first_freeze {first_freeze}")
    n = readings.num_rows

    di_enc = pc.dictionary_encode(plain(readings.column("di"))).combine_chunks()
    di_lut = np.array([_DIS.index(d) if d in _DIS else -1 for d in di_enc.dictionary.to_pylist()] + [-1])
    di_idx = di_enc.indices.fill_null(len(di_lut) - 1).to_numpy(zero_copy_only=False)
    di_code = di_lut[di_idx].astype(np.int8) if n else np.zeros(0, np.int8)
    days = to_day_numbers(readings.column("freeze_time"), "readings.freeze_time") - first
    keep = (di_code >= 0) & (days >= 0) & (days < k)
    sel: np.ndarray | None = None if bool(keep.all()) else np.flatnonzero(keep)
    if sel is not None:
        di_code, days = di_code[sel], days[sel]
    rows = np.arange(n, dtype=np.int64) if sel is None else sel

    src = pc.dictionary_encode(plain(_take(readings.column("source"), sel)))
    if isinstance(src, pa.ChunkedArray):
        src = src.combine_chunks()
    labels = src.dictionary.to_pylist()
    unknown = sorted({str(x) for x in labels} - set(SOURCES))
    if unknown or src.null_count:
        raise MdmInputError(
            f"readings.source: unknown label(s) {unknown or ['null']}; expected {list(SOURCES)}"
        )
    firm_lut = np.array([lab != SOURCE_ESTIMATED for lab in labels] + [True])
    firm = firm_lut[src.indices.to_numpy(zero_copy_only=False)] if len(src) else np.zeros(0, bool)

    ver_col = _take(readings.column("version"), sel)
    if ver_col.null_count:
        raise MdmInputError("readings.version: null versions")
    version = np.asarray(pc.cast(ver_col, pa.int64()).to_numpy(zero_copy_only=False), np.int64)
    if version.size and (version.min() < 0 or version.max() > _VERSION_LIMIT):
        raise MdmInputError("readings.version: versions must be between 0 and 2**31-1")
    value = floats(_take(readings.column("value"), sel), "readings.value")
    midx = fleet.lookup(_take(readings.column("meter"), sel))
    known = midx >= 0
    unknown_rows = rows[~known]
    m = fleet.n
    tol = duplicate_tolerance_kwh
    conflict_parts: list[np.ndarray] = []

    t = known & (di_code == _TOTAL)  # boolean compress: the bulk of the rows, kept in order
    total, dup = _select((midx * k + days)[t], firm[t], version[t], value[t], rows[t], m * k, tol)
    total = _shaped(total, np.arange(m, dtype=np.int64), k)
    conflict_parts.append(dup)

    reverse = None
    r = np.flatnonzero(known & (di_code == _REVERSE))
    if r.size:
        members = np.unique(midx[r])
        local = np.searchsorted(members, midx[r])
        regs, dup = _select(
            local * k + days[r], firm[r], version[r], value[r], rows[r], members.size * k, tol
        )
        reverse = _shaped(regs, members, k)
        conflict_parts.append(dup)

    tariffs = None
    x_all = np.flatnonzero(known & (di_code >= 2))
    if x_all.size:  # compact sub-grid: only the meters and freezes that sent tariff registers
        t_members = np.unique(midx[x_all])
        t_cols = np.unique(days[x_all])
        t_sum = np.zeros(t_members.size * t_cols.size)
        t_count = np.zeros(t_members.size * t_cols.size, np.int8)
        for code in range(2, len(_DIS)):
            x = x_all[di_code[x_all] == code]
            if not x.size:
                continue
            cells = np.searchsorted(t_members, midx[x]) * t_cols.size + np.searchsorted(t_cols, days[x])
            regs, dup = _select(cells, firm[x], version[x], value[x], rows[x], t_sum.size, tol)
            conflict_parts.append(dup)
            ok = ~np.isnan(regs.value)
            t_sum[ok] += regs.value[ok]
            t_count += ok
        shape = (t_members.size, t_cols.size)
        tariffs = TariffSums(t_members, t_cols.astype(np.int64), t_sum.reshape(shape), t_count.reshape(shape))
    return RegisterGrid(
        fleet=fleet,
        readings=readings,
        first_day=first,
        n_freezes=k,
        total=total,
        reverse=reverse,
        tariffs=tariffs,
        conflict_rows=np.concatenate(conflict_parts) if conflict_parts else np.zeros(0, np.int64),
        unknown_rows=unknown_rows,
    )
