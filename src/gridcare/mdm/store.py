"""Lake I/O of meter data management: readings in the MDM layout, and the MDM result datasets.

This module (with :mod:`gridcare.mdm.tasks`) is the I/O side of the MDM room; the other ``mdm`` modules stay
pure. Everything lives under the installation's lake (``settings.lake_dir``), day-partitioned like the
readings::

    readings/day=D/part-mdm-<stamp>.parquet      estimates and edits (new versions; never overwrite)
    vee/day=D/part-<stamp>.parquet               VEE flags of the freeze of D (:data:`VEE_FLAGS_SCHEMA`)
    lineloss/day=D/part-<stamp>.parquet          daily 台区 line loss of business day D
    mdm_energy/day=D/part-<stamp>.parquet        energy per meter of business day D
    mdm_runs/day=D/part-<stamp>.parquet          one row per run (written last: a run without it is void)

Results are append-only: a re-run adds files stamped with its ``run_at``; readers take the rows of the
latest run recorded in ``mdm_runs`` for that day and kind. MDM writes Parquet parts with unique names
directly (fsync'd temp file, then an atomic rename) rather than through a write-ahead log, so a batch run
never contends with the front-end that owns the readings write-ahead log.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from gridcare.mdm.schema import READINGS_SCHEMA as MDM_READINGS_SCHEMA
from gridcare.mdm.schema import TIMESTAMP, VEE_RESULT_SCHEMA
from gridcare.storage.lake import READINGS_SCHEMA as LAKE_READINGS_SCHEMA
from gridcare.storage.lake import DayPartitionedStore, ReadingsLake
from gridcare.timeutil import to_beijing

KIND_VEE = "vee"
KIND_LINELOSS = "lineloss"

VEE_FLAGS_SCHEMA = pa.schema(
    [
        *VEE_RESULT_SCHEMA,
        pa.field("tg", pa.string()),  # 台区 code of the meter (null: not in the archive)
        pa.field("org", pa.string()),  # organisation code of that 台区 (scope)
        pa.field("run_at", TIMESTAMP, nullable=False),
    ]
)
"""A VEE flag (:data:`~gridcare.mdm.schema.VEE_RESULT_SCHEMA`) with the meter's 台区, organisation and run."""

LINELOSS_SCHEMA = pa.schema(
    [
        pa.field("tg", pa.string(), nullable=False),
        pa.field("day", pa.date32(), nullable=False),  # business day (closed by the freeze of day + 1)
        pa.field("supply_kwh", pa.float64()),
        pa.field("sold_kwh", pa.float64()),
        pa.field("loss_kwh", pa.float64()),
        pa.field("loss_rate", pa.float64()),
        pa.field("status", pa.string()),
        pa.field("reason", pa.string()),
        pa.field("customers", pa.int32()),
        pa.field("missing_points", pa.int32()),
        pa.field("feeder", pa.string()),
        pa.field("org", pa.string()),
        pa.field("run_at", TIMESTAMP, nullable=False),
    ]
)
"""Daily line loss of one 台区 (:func:`gridcare.mdm.daily_line_loss`) with its feeder, organisation, run."""

ENERGY_SCHEMA = pa.schema(
    [
        pa.field("meter", pa.string(), nullable=False),
        pa.field("day", pa.date32(), nullable=False),
        pa.field("energy_kwh", pa.float64()),  # primary side; null: no single-day energy
        pa.field("span_days", pa.int32()),
        pa.field("role", pa.string()),
        pa.field("tg", pa.string()),
        pa.field("org", pa.string()),
        pa.field("run_at", TIMESTAMP, nullable=False),
    ]
)
"""Energy of one meter on one business day [kWh], as used by that day's line loss."""

RUNS_SCHEMA = pa.schema(
    [
        pa.field("kind", pa.string(), nullable=False),  # "vee" | "lineloss"
        pa.field("day", pa.date32(), nullable=False),
        pa.field("run_at", TIMESTAMP, nullable=False),
        pa.field("who", pa.string()),
        pa.field("meters", pa.int64()),
        pa.field("readings", pa.int64()),
        pa.field("results", pa.int64()),  # flags (vee) or 台区 rows (lineloss)
        pa.field("estimates", pa.int64()),
        pa.field("seconds", pa.float64()),
    ]
)

_ESSENTIAL = ("meter", "di", "freeze_time", "value", "version", "source")


def _write_atomically(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp, compression="zstd")
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    tmp.replace(path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _stamp(prefix: str) -> str:
    return f"{prefix}-{datetime.now().strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:8]}"


def write_parts(store: DayPartitionedStore, table: pa.Table, prefix: str = "part") -> int:
    """Write ``table`` (cast to the store's schema) as new Parquet files, one per day; returns rows."""
    if table.num_rows == 0:
        return 0
    table = table.select(store.schema.names).cast(store.schema)
    days = pc.strftime(table[store.time_column], format="%Y-%m-%d")
    stem = _stamp(prefix)
    for day in pc.unique(days).to_pylist():
        part = table.filter(pc.equal(days, day))
        _write_atomically(part, store.data_dir / f"day={day}" / f"{stem}.parquet")
    return table.num_rows


def _day_files(store: DayPartitionedStore, first: date, last: date) -> list[str]:
    files: list[str] = []
    day = first
    while day <= last:
        folder = store.data_dir / f"day={day.isoformat()}"
        if folder.is_dir():
            files.extend(str(p) for p in sorted(folder.glob("*.parquet")))
        day += timedelta(days=1)
    return files


def to_mdm_layout(table: pa.Table) -> pa.Table:
    """Lake readings (decimal values, second/millisecond timestamps) in the MDM reading layout."""
    cols = {}
    for field in MDM_READINGS_SCHEMA:
        if field.name in table.column_names:
            cols[field.name] = pc.cast(table.column(field.name), field.type)
    return pa.table(cols)


def to_lake_layout(table: pa.Table, recorded_at: datetime) -> pa.Table:
    """MDM-layout rows in the lake's reading schema (``recorded_at`` filled where null)."""
    n = table.num_rows
    cols = []
    for field in LAKE_READINGS_SCHEMA:
        if field.name in table.column_names:
            col = table.column(field.name)
            if field.name == "recorded_at":  # microseconds to the lake's milliseconds: truncated
                col = pc.fill_null(col, pa.scalar(to_beijing(recorded_at), TIMESTAMP))
                cols.append(pc.cast(col, field.type, safe=False))
            else:
                cols.append(pc.cast(col, field.type))
        elif field.name == "recorded_at":
            cols.append(pa.array([to_beijing(recorded_at)] * n, field.type))
        else:
            cols.append(pa.nulls(n, field.type))
    return pa.table(cols, schema=LAKE_READINGS_SCHEMA)


class MdmLake:
    """The readings lake and the MDM result datasets of one installation (``settings.lake_dir``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.readings = ReadingsLake(root)
        self.vee = DayPartitionedStore(root, "vee", VEE_FLAGS_SCHEMA, "freeze_time")
        self.lineloss = DayPartitionedStore(root, "lineloss", LINELOSS_SCHEMA, "day")
        self.energy = DayPartitionedStore(root, "mdm_energy", ENERGY_SCHEMA, "day")
        self.runs = DayPartitionedStore(root, "mdm_runs", RUNS_SCHEMA, "day")

    # -- readings ------------------------------------------------------------------------------------
    def read_readings(
        self,
        first: date,
        last: date,
        *,
        dis: Sequence[str] | None = None,
        meters: Sequence[str] | None = None,
        columns: Sequence[str] = _ESSENTIAL,
    ) -> pa.Table:
        """Every stored version of the readings with freeze days ``first..last``, in the MDM layout.

        ``dis``/``meters`` restrict the data items and meter addresses; write-ahead rows not yet in Parquet
        are included.
        """
        lake = self.readings
        cols = list(columns)
        filters = []
        if dis is not None:
            filters.append(("di", "in", list(dis)))
        if meters is not None:
            filters.append(("meter", "in", list(meters)))
        files = _day_files(lake, first, last)
        parts: list[pa.Table] = []
        if files:
            parts.append(
                pq.ParquetDataset(files, schema=lake.schema, filters=filters or None).read(columns=cols)
            )
        for seq in lake.wal.segments():  # durable rows the front-end has not moved to Parquet yet
            wal = lake.wal.read(seq)
            if wal.num_rows:
                day = pc.strftime(wal["freeze_time"], format="%Y-%m-%d")
                keep = pc.and_(pc.greater_equal(day, first.isoformat()), pc.less_equal(day, last.isoformat()))
                if dis is not None:
                    keep = pc.and_(keep, pc.is_in(wal["di"], value_set=pa.array(list(dis), pa.string())))
                if meters is not None:
                    keep = pc.and_(
                        keep, pc.is_in(wal["meter"], value_set=pa.array(list(meters), pa.string()))
                    )
                parts.append(wal.filter(keep).select(cols))
        if not parts:
            return to_mdm_layout(lake.schema.empty_table().select(cols))
        return to_mdm_layout(pa.concat_tables(parts))

    def write_readings(self, rows: pa.Table, recorded_at: datetime) -> int:
        """Append estimated or edited reading versions (MDM layout) to the readings lake; returns rows."""
        return write_parts(self.readings, to_lake_layout(rows, recorded_at), prefix="part-mdm")

    # -- results -------------------------------------------------------------------------------------
    def record_run(self, row: dict[str, object]) -> None:
        """Record a finished run (last write of a run: it makes the run's results visible)."""
        write_parts(self.runs, pa.Table.from_pylist([row], schema=RUNS_SCHEMA))

    def latest_run(self, kind: str, day: date) -> dict[str, object] | None:
        """The latest recorded run of ``kind`` for ``day``, or None."""
        runs = self.runs.raw(day, day)
        runs = runs.filter(pc.equal(runs["kind"], kind))
        if runs.num_rows == 0:
            return None
        i = pc.index(runs["run_at"], pc.max(runs["run_at"])).as_py()
        row: dict[str, object] = runs.slice(i, 1).to_pylist()[0]
        return row

    def results(self, store: DayPartitionedStore, kind: str, day: date) -> pa.Table | None:
        """Rows of ``store`` for ``day`` written by the latest run of ``kind``; None when it never ran."""
        run = self.latest_run(kind, day)
        if run is None:
            return None
        files = _day_files(store, day, day)
        if not files:
            return store.schema.empty_table()
        table = pq.ParquetDataset(files, schema=store.schema, filters=[("run_at", "=", run["run_at"])]).read()
        return table

    def results_range(self, store: DayPartitionedStore, kind: str, first: date, last: date) -> pa.Table:
        """Rows of the latest run of each day in ``first..last`` that has one."""
        parts = []
        day = first
        while day <= last:
            t = self.results(store, kind, day)
            if t is not None and t.num_rows:
                parts.append(t)
            day += timedelta(days=1)
        return pa.concat_tables(parts) if parts else store.schema.empty_table()
