"""The readings lake: Parquet files partitioned by freeze day, queried with DuckDB.

Layout under ``<data_dir>/lake``::

    _wal/readings-000000000001-3f2a9c0d1e4b.arrows   durable write-ahead segments (not yet in Parquet)
    readings/day=2026-11-22/part-000000000001-3f2a9c0d1e4b.parquet

Rows arrive through :meth:`ReadingsLake.append` (durable when it returns) and move to Parquet with
:meth:`ReadingsLake.flush`. A part file is named after the segment it came from, so replaying a segment
after a crash rewrites the same file instead of adding a copy. Readings are never overwritten: an estimate
or an edit is a new row with a higher ``version`` and its ``source``; :meth:`ReadingsLake.current` picks,
per (meter, di, freeze_time), an actual or edited reading over any estimate, then the highest version
(an operator's edit is a higher version of the actual it corrects).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from gridcare.storage.wal import ArrowWal
from gridcare.timeutil import BEIJING, now_beijing

TZ = "Asia/Shanghai"
VALUE_TYPE = pa.decimal128(18, 4)
READINGS_SCHEMA = pa.schema(
    [
        pa.field("meter", pa.string(), nullable=False),  # 12-digit meter address
        pa.field("di", pa.string(), nullable=False),  # DL/T 645 data identifier, e.g. "05060101"
        pa.field("freeze_time", pa.timestamp("s", tz=TZ), nullable=False),
        pa.field("value", VALUE_TYPE),  # register value in the DI's unit ([kWh] for energy); null = missing
        pa.field("version", pa.int32(), nullable=False),  # 1 for what the meter sent; higher for edits
        pa.field("source", pa.string(), nullable=False),  # "actual" | "estimated" | "edited"
        pa.field("method", pa.string()),  # estimation method, for estimated rows
        pa.field("recorded_at", pa.timestamp("ms", tz=TZ), nullable=False),  # when it became known
        pa.field("who", pa.string()),  # operator, for edited rows
        pa.field("why", pa.string()),  # reason, for edited rows
        pa.field("frame_ref", pa.string()),  # raw frame archive reference, for "why is my bill this"
    ]
)
SOURCES = ("actual", "estimated", "edited")


def readings_table(rows: Iterable[dict[str, Any]]) -> pa.Table:
    """Build a readings table from dicts (missing optional keys get defaults: version 1, actual, now)."""
    received = now_beijing()
    cols: dict[str, list[Any]] = {name: [] for name in READINGS_SCHEMA.names}
    for row in rows:
        cols["meter"].append(row["meter"])
        cols["di"].append(row["di"])
        cols["freeze_time"].append(row["freeze_time"])
        value = row.get("value")
        cols["value"].append(None if value is None else Decimal(str(value)))
        cols["version"].append(row.get("version", 1))
        cols["source"].append(row.get("source", "actual"))
        cols["recorded_at"].append(row.get("recorded_at", received))
        for optional in ("method", "who", "why", "frame_ref"):
            cols[optional].append(row.get(optional))
    return pa.table(cols, schema=READINGS_SCHEMA)


def _write_atomically(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    pq.write_table(table, tmp, compression="zstd")
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    tmp.replace(path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class DayPartitionedStore:
    """Append-only rows of ``schema``: durable write-ahead segments, then Parquet under
    ``<root>/<name>/day=YYYY-MM-DD/`` by the Beijing date of ``time_column``."""

    def __init__(self, root: Path, name: str, schema: pa.Schema, time_column: str) -> None:
        self.root = root
        self.schema = schema
        self.time_column = time_column
        self.data_dir = root / name
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.wal = ArrowWal(root / "_wal", name, schema)

    def append(self, table: pa.Table) -> None:
        """Make ``table`` durable (write-ahead, fsync'd). Safe to acknowledge the data afterwards."""
        if table.num_rows:
            self.wal.append(table.cast(self.schema))

    def flush(self) -> int:
        """Move every closed and the open write-ahead segment into Parquet; returns rows moved."""
        moved = 0
        for segment_id in self.wal.rotate():
            table = self.wal.read(segment_id)
            moved += table.num_rows
            self._write_partitions(table, f"part-{segment_id}")
            self.wal.release([segment_id])
        return moved

    def _write_partitions(self, table: pa.Table, stem: str) -> None:
        if table.num_rows == 0:
            return
        days = pc.strftime(table[self.time_column], format="%Y-%m-%d")
        for day in pc.unique(days).to_pylist():
            part = table.filter(pc.equal(days, day))
            _write_atomically(part, self.data_dir / f"day={day}" / f"{stem}.parquet")

    def _files(self, start: date | None, end: date | None) -> list[str]:
        files: list[str] = []
        for day_dir in sorted(self.data_dir.glob("day=*")):
            day = date.fromisoformat(day_dir.name[4:])
            if (start is None or day >= start) and (end is None or day <= end):
                files.extend(str(p) for p in sorted(day_dir.glob("*.parquet")))
        return files

    def raw(self, start: date | None = None, end: date | None = None) -> pa.Table:
        """Every stored row (write-ahead rows included) whose day is in [start, end]."""
        files = self._files(start, end)
        tables = [pq.ParquetDataset(files, schema=self.schema).read()] if files else []
        tables.extend(
            self.wal.read(segment_id) for segment_id in self.wal.segments()
        )  # durable, not yet in Parquet
        table = pa.concat_tables(tables) if tables else self.schema.empty_table()
        if start is not None or end is not None:
            days = pc.strftime(table[self.time_column], format="%Y-%m-%d")
            low = pc.greater_equal(days, (start or date.min).isoformat())
            high = pc.less_equal(days, (end or date.max).isoformat())
            table = table.filter(pc.and_(low, high))
        return table

    def days(self) -> list[date]:
        """Days present in Parquet."""
        return sorted(date.fromisoformat(d.name[4:]) for d in self.data_dir.glob("day=*"))

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection in Beijing time."""
        con = duckdb.connect()
        con.execute(f"SET TimeZone = '{TZ}'")
        return con


class ReadingsLake(DayPartitionedStore):
    """Readings of one installation (see the module docstring for the layout)."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, "readings", READINGS_SCHEMA, "freeze_time")

    def current(
        self, start: date | None = None, end: date | None = None, dis: Sequence[str] = ()
    ) -> pa.Table:
        """One row per (meter, di, freeze_time): actual or edited over estimate, highest version, latest."""
        table = self.raw(start, end)
        if dis:
            table = table.filter(pc.is_in(table["di"], value_set=pa.array(list(dis), pa.string())))
        con = self.connect()
        con.register("r", table)
        result = con.sql(
            """
            SELECT * FROM r
            QUALIFY row_number() OVER (
                PARTITION BY meter, di, freeze_time
                ORDER BY (source <> 'estimated') DESC, version DESC, recorded_at DESC) = 1
            ORDER BY meter, di, freeze_time
            """
        ).to_arrow_table()
        con.close()
        return result.cast(READINGS_SCHEMA)

    def export(self, out: Path, start: date | None = None, end: date | None = None) -> int:
        """Write the current readings (meter, di, freeze_time, value) to a Parquet file; returns rows."""
        table = self.current(start, end).select(["meter", "di", "freeze_time", "value"])
        out.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, out)
        return table.num_rows


def freeze_instant(day: date) -> datetime:
    """The daily freeze instant: 00:00 Beijing time of ``day``."""
    return datetime(day.year, day.month, day.day, tzinfo=BEIJING)
