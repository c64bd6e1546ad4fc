"""Billing determinants of many accounts at once, from daily frozen registers (DuckDB + numpy).

A *run* is one meter over (part of) a cycle: its start reading is the meter's freeze at 00:00 of
``start_day`` and its end reading the freeze at 00:00 of ``end_day``. A monthly cycle of month M runs
from the freeze on the 1st of M to the freeze on the 1st of M+1; a meter change inside the cycle (one
metering point closed with ``valid_to = d``, the next opened with ``valid_from = d``) gives two runs,
the old meter up to its freeze at ``d`` and the new one from its freeze at ``d``.

kWh of a register = (end - start) x multiplier, exact (``DECIMAL`` in DuckDB, then integers in units
of 0.0001 kWh). Time-of-use accounts read the total and T1..T4 (尖峰平谷); the **total wins**: flat =
total - sharp - peak - valley (the engine's rule), per run, then summed over runs. Accounts with a
power-factor standard also read the reactive register (组合无功1, ``05060301``: kvarh = advance x
multiplier); accounts billed by maximum demand read the demand register (``05060901``) at the end
freeze only: the freeze at 00:00 on the 1st holds the month's maximum (kW = reading x multiplier). These
are in the long table (and the trace) for the engine; they do not change the kWh buckets.

Every reading used is kept in the trace: ``[role, meter, di, freeze_time, value, version, source,
frame_ref, multiplier]`` per register end, role ``start`` or ``end``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import duckdb
import numpy as np
import pyarrow as pa

from gridcare.billing.tariff import PERIODS, Period
from gridcare.mdm.schema import DI_FWD_ACTIVE, DI_FWD_ACTIVE_TARIFFS, DI_FWD_DEMAND, DI_FWD_REACTIVE
from gridcare.timeutil import BEIJING

DI_TOTAL = DI_FWD_ACTIVE
DI_TARIFFS = DI_FWD_ACTIVE_TARIFFS
SLOT_REACTIVE, SLOT_DEMAND = 5, 6
SLOT_DIS = (DI_TOTAL, *DI_TARIFFS, DI_FWD_REACTIVE, DI_FWD_DEMAND)
"""slot 0 = total, 1..4 = T1..T4 = sharp, peak, flat, valley, 5 = reactive [kvarh] (accounts with a PF
standard), 6 = maximum demand [kW] (basic charge by demand; only the end freeze is read)."""
TRACE_FIELDS = ("role", "meter", "di", "freeze_time", "value", "version", "source", "frame_ref", "multiplier")

_EMPTY = pa.table(
    {
        "meter": pa.array([], pa.string()),
        "di": pa.array([], pa.string()),
        "freeze_time": pa.array([], pa.timestamp("s", tz="Asia/Shanghai")),
        "value": pa.array([], pa.decimal128(18, 4)),
        "version": pa.array([], pa.int32()),
        "source": pa.array([], pa.string()),
        "frame_ref": pa.array([], pa.string()),
        "recorded_at": pa.array([], pa.timestamp("ms", tz="Asia/Shanghai")),
    }
)
RUNS_SCHEMA = pa.schema(
    [
        pa.field("account", pa.int64(), nullable=False),  # index of the account in the caller's arrays
        pa.field("run", pa.int32(), nullable=False),  # order of the run within the account
        pa.field("meter", pa.string(), nullable=False),
        pa.field("multiplier", pa.int64(), nullable=False),
        pa.field("start_ts", pa.timestamp("s", tz="Asia/Shanghai"), nullable=False),
        pa.field("end_ts", pa.timestamp("s", tz="Asia/Shanghai"), nullable=False),
        pa.field("tou", pa.bool_(), nullable=False),
        pa.field("reactive", pa.bool_(), nullable=False),  # read the reactive register (力调)
        pa.field("demand", pa.bool_(), nullable=False),  # read the maximum-demand register
    ]
)


def freeze_ts(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=BEIJING)


@dataclass
class Determinants:
    """Per account (arrays of length ``n``): main kWh by period in 0.0001 kWh, and flags.

    ``missing``: a reading needed is absent or null; ``negative``: a register went backwards;
    ``estimated``: a reading used is an estimate; ``bad_total``: total < sharp + peak + valley;
    ``no_run``: the account has no meter in the cycle. ``trace`` is the JSON text of the readings used.
    """

    n: int
    buckets_e4: dict[Period, np.ndarray]
    missing: np.ndarray
    negative: np.ndarray
    estimated: np.ndarray
    bad_total: np.ndarray
    no_run: np.ndarray
    trace: list[str]
    long: pa.Table  # one row per (account, run, slot): for accounts priced by the engine
    changes: dict[int, dict[str, object]] = field(default_factory=dict)
    """Accounts with a meter replacement or multiplier change inside the cycle: what changed and the
    meter runs (see :mod:`gridcare.billing.meter_changes`)."""
    messages: dict[int, list[str]] = field(default_factory=dict)
    """Extra messages per account (a freeze missing on a change day, naming the meter and day)."""

    def total_e4(self) -> np.ndarray:
        return sum((self.buckets_e4[p] for p in PERIODS), np.zeros(self.n, dtype=np.int64))


_SQL = """
WITH dis AS (SELECT * FROM (VALUES {dis}) t(slot, di)),
need AS (SELECT r.*, d.slot, d.di FROM runs r JOIN dis d
         ON (d.slot = 0 OR (r.tou AND d.slot BETWEEN 1 AND 4) OR (r.reactive AND d.slot = 5)
             OR (r.demand AND d.slot = 6))),
keys AS (SELECT meter, di, start_ts AS ts FROM need UNION ALL SELECT meter, di, end_ts FROM need),
candidates AS (
    SELECT x.meter, x.di, x.freeze_time, x.value, x.version, x.source, x.frame_ref, x.recorded_at
    FROM ({source}) x SEMI JOIN keys k ON x.meter = k.meter AND x.di = k.di AND x.freeze_time = k.ts),
rd AS (
    SELECT * FROM candidates
    QUALIFY row_number() OVER (
        PARTITION BY meter, di, freeze_time
        ORDER BY (source <> 'estimated') DESC, version DESC, recorded_at DESC) = 1)
SELECT n.account, n.run, n.slot, n.multiplier,
       CAST(s.value AS VARCHAR) AS s_text, CAST(e.value AS VARCHAR) AS e_text,
       CASE WHEN n.slot = 6 THEN CAST(e.value * n.multiplier * 10000 AS BIGINT)
            ELSE CAST((e.value - s.value) * n.multiplier * 10000 AS BIGINT) END AS kwh_e4,
       CASE WHEN n.slot = 6 THEN e.value IS NULL ELSE (s.value IS NULL OR e.value IS NULL) END AS missing,
       n.slot <> 6 AND coalesce(e.value < s.value, false) AS negative,
       coalesce(s.source = 'estimated', false) OR coalesce(e.source = 'estimated', false) AS estimated,
       CASE WHEN n.slot = 6 THEN '' ELSE
       json_array('start', n.meter, n.di, strftime(n.start_ts, '%Y-%m-%dT%H:%M:%S+08:00'), s.value,
                  s.version, s.source, s.frame_ref, n.multiplier)
       || ',' END ||
       json_array('end', n.meter, n.di, strftime(n.end_ts, '%Y-%m-%dT%H:%M:%S+08:00'), e.value,
                  e.version, e.source, e.frame_ref, n.multiplier) AS pair
FROM need n
LEFT JOIN rd s ON s.meter = n.meter AND s.di = n.di AND s.freeze_time = n.start_ts AND n.slot <> 6
LEFT JOIN rd e ON e.meter = n.meter AND e.di = n.di AND e.freeze_time = n.end_ts
"""

_DIS_VALUES = ", ".join(f"({slot}, '{di}')" for slot, di in enumerate(SLOT_DIS))
DIS_VALUES = _DIS_VALUES
READING_COLUMNS = ("meter", "di", "freeze_time", "value", "version", "source", "frame_ref", "recorded_at")


@dataclass(frozen=True)
class ReadingSource:
    """Where the readings rows are: Parquet files of lake rows and rows not yet in Parquet."""

    files: list[str]
    pending: pa.Table | None = None

    def sql(self, con: duckdb.DuckDBPyConnection) -> str:
        cols = ", ".join(READING_COLUMNS)
        parts = []
        if self.files:
            parts.append(f"SELECT {cols} FROM read_parquet({self.files!r})")
        if self.pending is not None and self.pending.num_rows:
            con.register("pending", self.pending.select(list(READING_COLUMNS)))
            parts.append(f"SELECT {cols} FROM pending")
        if not parts:
            con.register("no_readings", _EMPTY)
            parts.append(f"SELECT {cols} FROM no_readings")
        return " UNION ALL ".join(parts)


def compute_determinants(n: int, runs: pa.Table, readings: pa.Table | ReadingSource) -> Determinants:
    """Determinants of ``n`` accounts from their ``runs`` (:data:`RUNS_SCHEMA`) and the lake rows
    (a table with :data:`READING_COLUMNS`, or a :class:`ReadingSource`); the effective version of each
    reading is chosen here (actual or edited over estimate, then highest version, then latest)."""
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'Asia/Shanghai'")
        con.register("runs", runs.cast(RUNS_SCHEMA))
        if isinstance(readings, ReadingSource):
            source = readings.sql(con)
        else:
            con.register("readings", readings)
            source = "SELECT * FROM readings"
        long = con.sql(_SQL.format(source=source, dis=_DIS_VALUES)).to_arrow_table()
        traces = con.sql(
            "SELECT account, '[' || string_agg(pair, ',' ORDER BY run, slot) || ']' AS trace "
            "FROM long GROUP BY account"
        ).to_arrow_table()
    finally:
        con.close()
    return assemble(n, long, traces)


def assemble(n: int, long: pa.Table, traces: pa.Table) -> Determinants:
    """Determinants of ``n`` accounts from the long table (one row per account, run and register slot:
    ``kwh_e4``, ``missing``, ``negative``, ``estimated``, ...) and the trace text per account."""
    account = long.column("account").to_numpy()
    run = long.column("run").to_numpy()
    slot = long.column("slot").to_numpy()
    kwh = long.column("kwh_e4").fill_null(0).to_numpy().astype(np.int64)
    missing_rows = long.column("missing").to_numpy(zero_copy_only=False)
    negative_rows = long.column("negative").to_numpy(zero_copy_only=False)
    estimated_rows = long.column("estimated").to_numpy(zero_copy_only=False)

    # one row per (account, run): registers by slot
    key = account.astype(np.int64) * 4096 + run.astype(np.int64)
    run_keys, run_index = np.unique(key, return_inverse=True)
    m = len(run_keys)
    regs = np.zeros((m, len(SLOT_DIS)), dtype=np.int64)
    has = np.zeros((m, len(SLOT_DIS)), dtype=bool)
    regs[run_index, slot] = kwh
    has[run_index, slot] = True
    run_account = run_keys // 4096
    tou_run = has[:, 1:5].any(axis=1)
    buckets_run = {p: np.zeros(m, dtype=np.int64) for p in PERIODS}
    others = regs[:, 1] + regs[:, 2] + regs[:, 4]
    buckets_run[Period.SHARP] = np.where(tou_run, regs[:, 1], 0)
    buckets_run[Period.PEAK] = np.where(tou_run, regs[:, 2], 0)
    buckets_run[Period.VALLEY] = np.where(tou_run, regs[:, 4], 0)
    buckets_run[Period.FLAT] = np.where(tou_run, regs[:, 0] - others, regs[:, 0])
    bad_run = tou_run & (regs[:, 0] < others)

    buckets = {p: np.zeros(n, dtype=np.int64) for p in PERIODS}
    for p in PERIODS:
        np.add.at(buckets[p], run_account, buckets_run[p])
    flags = {}
    for name, rows in (("missing", missing_rows), ("negative", negative_rows), ("estimated", estimated_rows)):
        flag = np.zeros(n, dtype=bool)
        np.logical_or.at(flag, account, rows.astype(bool))
        flags[name] = flag
    bad_total = np.zeros(n, dtype=bool)
    np.logical_or.at(bad_total, run_account, bad_run)
    no_run = np.ones(n, dtype=bool)
    no_run[run_account] = False
    trace = ["[]"] * n
    for acc, text in zip(
        traces.column("account").to_pylist(), traces.column("trace").to_pylist(), strict=True
    ):
        trace[acc] = text
    return Determinants(
        n=n,
        buckets_e4=buckets,
        missing=flags["missing"],
        negative=flags["negative"],
        estimated=flags["estimated"],
        bad_total=bad_total,
        no_run=no_run,
        trace=trace,
        long=long.select(["account", "run", "slot", "multiplier", "s_text", "e_text"]),
    )


def merge(fast: Determinants, slow: Determinants, accounts: np.ndarray) -> Determinants:
    """``fast`` with the accounts ``accounts`` taken from ``slow`` (each account's runs are in one of
    them only)."""
    for p in PERIODS:
        fast.buckets_e4[p][accounts] = slow.buckets_e4[p][accounts]
    for name in ("missing", "negative", "estimated", "bad_total", "no_run"):
        getattr(fast, name)[accounts] = getattr(slow, name)[accounts]
    for i in accounts.tolist():
        fast.trace[i] = slow.trace[i]
    columns = fast.long.column_names
    fast.long = pa.concat_tables([fast.long, slow.long.select(columns).cast(fast.long.schema)])
    fast.changes.update(slow.changes)
    for i, found in slow.messages.items():
        fast.messages.setdefault(i, []).extend(found)
    return fast


def e4_text(value: int) -> str:
    """0.0001-unit integer as plain decimal text (``4600000`` -> ``"460"``)."""
    return format(Decimal(value).scaleb(-4).normalize(), "f") if value else "0"
