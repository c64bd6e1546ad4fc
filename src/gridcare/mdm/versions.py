"""Reading versions: edits and estimates are new rows, never overwrites; pick the effective version.

Effective reading of a key (meter, di, freeze_time), :func:`latest_valid`:

1. an actual or edited row always beats an estimate (an actual that arrives after an estimate wins);
2. among the rows of the winning kind, the highest version wins; so an edit (made as version max + 1)
   corrects an actual, and an actual ingested later with a higher version supersedes an older edit;
3. rows that tie on the winning version with different values make the key conflicting: it is left out
   (VEE reports DUPLICATE_CONFLICT; an edit resolves it).

The full history of a key is every row; :func:`reading_history` lists it with the effective one marked.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gridcare.mdm.schema import (
    READINGS_REQUIRED,
    READINGS_SCHEMA,
    SOURCE_EDITED,
    SOURCE_ESTIMATED,
    TIMESTAMP,
    MdmInputError,
    datetime_us,
    floats,
    plain,
    require_columns,
    to_utc_us,
)

METHOD_MANUAL: str = "manual_edit"


def _keys(readings: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sort order by (key, firm, version) and per sorted row: group id, firm flag, version."""
    meter = plain(readings.column("meter"))
    di = plain(readings.column("di"))
    t_us = to_utc_us(readings.column("freeze_time"), "readings.freeze_time")
    firm = pc.not_equal(plain(readings.column("source")), SOURCE_ESTIMATED).to_numpy(zero_copy_only=False)
    ver = readings.column("version")
    if ver.null_count:
        raise MdmInputError("readings.version: null versions")
    version = np.asarray(pc.cast(ver, pa.int64()).to_numpy(zero_copy_only=False), np.int64)
    work = pa.table(
        {
            "meter": meter,
            "di": di,
            "t": pa.array(t_us),
            "firm": pa.array(firm.astype(np.int8)),
            "version": version,
        }
    )
    order = pc.sort_indices(
        work,
        sort_keys=[
            ("meter", "ascending"),
            ("di", "ascending"),
            ("t", "ascending"),
            ("firm", "ascending"),
            ("version", "ascending"),
        ],
    ).to_numpy()
    s = work.take(pa.array(order))
    n = len(order)
    new = np.ones(n, bool)
    if n > 1:
        same = (
            pc.equal(s["meter"][1:], s["meter"][:-1]).to_numpy(zero_copy_only=False)
            & pc.equal(s["di"][1:], s["di"][:-1]).to_numpy(zero_copy_only=False)
            & (t_us[order][1:] == t_us[order][:-1])
        )
        new[1:] = ~same
    group = np.cumsum(new) - 1
    return order, group, firm[order], version[order]


def latest_valid(readings: pa.Table, *, tolerance_kwh: float = 0.005) -> pa.Table:
    """The effective row of every (meter, di, freeze_time), with all columns of ``readings``.

    Rules in the module docstring. Output is sorted by meter, di and freeze_time.
    """
    require_columns(readings, READINGS_REQUIRED, "readings")
    if readings.num_rows == 0:
        return readings
    order, group, firm, version = _keys(readings)
    value = floats(readings.column("value"), "readings.value")[order]
    n = order.size
    last = np.ones(n, bool)
    last[:-1] = group[1:] != group[:-1]
    pick = np.flatnonzero(last)
    # rows tied with the pick (same group, kind and version) and disagreeing make the key conflicting
    tie = np.zeros(n, bool)
    tie[1:] = (group[1:] == group[:-1]) & (firm[1:] == firm[:-1]) & (version[1:] == version[:-1])
    differ = tie.copy()
    differ[1:] &= ~(np.abs(value[1:] - value[:-1]) <= tolerance_kwh)
    differ[1:] &= ~(np.isnan(value[1:]) & np.isnan(value[:-1]))
    top = (firm == firm[pick][group]) & (version == version[pick][group])
    bad_group = np.zeros(int(group[-1]) + 1, bool)
    bad_group[group[differ & top]] = True
    pick = pick[~bad_group[group[pick]]]
    return readings.take(pa.array(order[pick]))


def reading_history(readings: pa.Table, meter: str, di: str, freeze_time: datetime) -> pa.Table:
    """Every version of one key, oldest version first, with a boolean ``effective`` column."""
    require_columns(readings, READINGS_REQUIRED, "readings")
    rows = _key_rows(readings, meter, di, freeze_time)
    hist = readings.take(pa.array(rows))
    order = pc.sort_indices(hist, sort_keys=[("version", "ascending")])
    hist = hist.take(order)
    eff = latest_valid(hist)
    effective = np.zeros(hist.num_rows, bool)
    if eff.num_rows:
        versions = hist.column("version").to_numpy(zero_copy_only=False)
        sources = plain(hist.column("source")).to_pylist()
        ev, es = eff.column("version")[0].as_py(), plain(eff.column("source"))[0].as_py()
        effective = (versions == ev) & np.array([s == es for s in sources])
    return hist.append_column("effective", pa.array(effective))


def _key_rows(readings: pa.Table, meter: str, di: str, freeze_time: datetime) -> np.ndarray:
    t = datetime_us(freeze_time, "freeze_time")
    mask = pc.equal(plain(readings.column("meter")), meter).to_numpy(zero_copy_only=False) & pc.equal(
        plain(readings.column("di")), di
    ).to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(mask)
    if rows.size:
        ts = to_utc_us(readings.column("freeze_time").take(pa.array(rows)), "readings.freeze_time")
        rows = rows[ts == t]
    return rows


def next_version(readings: pa.Table, meter: str, di: str, freeze_time: datetime) -> int:
    """1 + the highest version of the key (1 when the key has no row)."""
    rows = _key_rows(readings, meter, di, freeze_time)
    if not rows.size:
        return 1
    versions = pc.cast(readings.column("version").take(pa.array(rows)), pa.int64()).to_numpy(
        zero_copy_only=False
    )
    return int(versions.max()) + 1


def apply_edit(
    readings: pa.Table,
    meter: str,
    di: str,
    freeze_time: datetime,
    value: float,
    who: str,
    why: str,
    when: datetime,
) -> pa.Table:
    """A one-row table: the edited reading as a new version (source "edited", method "manual_edit").

    Nothing in ``readings`` is changed; append the row to keep the history. Raises MdmInputError for an
    address that is not 12 digits, an empty data item, a value that is not a finite non-negative number, or an
    empty ``who``/``why``. Naive datetimes are Beijing time.
    """
    require_columns(readings, READINGS_REQUIRED, "readings")
    if not (isinstance(meter, str) and len(meter) == 12 and meter.isdigit()):
        raise MdmInputError(f"meter: {meter!r} is not a 12-digit address")
    if not (isinstance(di, str) and di):
        raise MdmInputError("di: must be a non-empty data item code")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise MdmInputError(f"value: {value!r} is not a finite register value >= 0 [kWh]")
    if not (isinstance(who, str) and who.strip()):
        raise MdmInputError("who: the person making the edit is required")
    if not (isinstance(why, str) and why.strip()):
        raise MdmInputError("why: the reason for the edit is required")
    t_us = datetime_us(freeze_time, "freeze_time")
    when_us = datetime_us(when, "when")
    version = next_version(readings, meter, di, freeze_time)
    return new_rows(
        meters=[meter],
        dis=[di],
        freeze_us=np.array([t_us]),
        values=np.array([round(float(value), 2)]),
        versions=np.array([version]),
        source=SOURCE_EDITED,
        methods=[METHOD_MANUAL],
        recorded_us=np.array([when_us]),
        who=[who],
        why=[why],
    )


def new_rows(
    *,
    meters: pa.Array | Sequence[str],
    dis: pa.Array | Sequence[str],
    freeze_us: np.ndarray,
    values: np.ndarray,
    versions: np.ndarray,
    source: str,
    methods: pa.Array | Sequence[str],
    recorded_us: np.ndarray,
    who: pa.Array | Sequence[str],
    why: pa.Array | Sequence[str],
) -> pa.Table:
    """Rows in :data:`READINGS_SCHEMA` (all columns), from columnar parts."""
    n = len(values)

    def text(x: pa.Array | Sequence[str]) -> pa.Array:
        return x if isinstance(x, pa.Array) else pa.array(list(x), pa.string())

    return pa.table(
        [
            text(meters),
            text(dis),
            pa.array(np.asarray(freeze_us, np.int64)).cast(TIMESTAMP),
            pa.array(np.asarray(values, np.float64)),
            pa.array(np.asarray(versions, np.int32)),
            pa.array([source] * n, pa.string()),
            text(methods),
            pa.array(np.asarray(recorded_us, np.int64)).cast(TIMESTAMP),
            text(who),
            text(why),
        ],
        schema=READINGS_SCHEMA,
    )


def append_rows(readings: pa.Table, rows: pa.Table) -> pa.Table:
    """``readings`` with ``rows`` appended (missing optional columns become null)."""
    return pa.concat_tables([readings, rows], promote_options="permissive")


def latest_valid_sql(table: str, columns: Sequence[str] = tuple(READINGS_SCHEMA.names)) -> str:
    """Engine-neutral SQL (DuckDB, Spark SQL, PostgreSQL) with the semantics of :func:`latest_valid`."""
    cols = ", ".join(columns)
    key = "meter, di, freeze_time"
    return f"""
WITH ranked AS (
  SELECT {cols},
         RANK() OVER (PARTITION BY {key}
                      ORDER BY CASE WHEN source = '{SOURCE_ESTIMATED}' THEN 0 ELSE 1 END DESC,
                               version DESC) AS rk_
  FROM {table}
), top AS (
  SELECT {cols},
         MIN(value) OVER (PARTITION BY {key}) AS vmin_,
         MAX(value) OVER (PARTITION BY {key}) AS vmax_,
         ROW_NUMBER() OVER (PARTITION BY {key} ORDER BY value) AS rn_
  FROM ranked WHERE rk_ = 1
)
SELECT {cols} FROM top WHERE rn_ = 1 AND vmax_ - vmin_ <= 0.005
""".strip()
