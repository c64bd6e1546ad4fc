"""Meter changes inside a billing cycle: replacements (换表) and multiplier changes (倍率变更).

Most accounts have one meter with one multiplier for the whole cycle: their determinants come from the
vectorised freeze-to-freeze query of :mod:`gridcare.billing.determinants`. The few accounts whose meter
was replaced in the cycle, or one of whose meters has a multiplier change effective after the cycle's
first day (:func:`gridcare.archives.meter_assets.multiplier_history`), are taken out of it and computed
here, run by run:

* **replacement** (``meter_replacements``, recorded by :func:`gridcare.archives.meter_assets.replace_meter`
  on the change day ``d`` at the instant ``t``): the old meter runs from its start freeze to its **final
  reading** at ``t`` x the old multiplier, the new meter from its **initial reading** at ``t`` to its end
  freeze x the new multiplier (the multipliers recorded with the replacement). The replacement keeps the
  total register (``05060101``) only; the other registers (T1..T4, reactive, demand) are the meters'
  readings at ``t`` when the lake has them (field readings), else the old meter's freeze at 00:00 of
  ``d`` and the new meter's freeze at 00:00 of ``d + 1``. The total wins (flat = total - sharp - peak -
  valley), so the change day's energy is then in the flat period; the change day's reactive energy is
  not counted, and maximum demand is the larger of the two meters' (the engine's rule);
* **multiplier change** effective from 00:00 of ``e`` inside a meter run: the run is split at the freeze
  at 00:00 of ``e``, the part before x the old multiplier, the part after x the new one. Without that
  freeze the account is held (``missing``) with a message naming the meter and the day. A run before
  a change (a cycle billed after the change was recorded) gets the multiplier in force then.

The trace keeps every reading used: ``final`` and ``initial`` (source ``replacement``, frame ref
``meter_replacements:<id>``) for the replacement readings, ``start`` and ``end`` for freezes; the
determinants list the changes and the meter runs (meter, multiplier, from, to, kWh).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from gridcare.archives.asset_models import MeterReplacement
from gridcare.archives.meter_assets import multiplier_history
from gridcare.archives.models import Customer, Meter, MeteringPoint, PointPurpose
from gridcare.billing.determinants import (
    DIS_VALUES,
    SLOT_DIS,
    Determinants,
    ReadingSource,
    assemble,
    e4_text,
    freeze_ts,
)
from gridcare.timeutil import BEIJING, day_start, to_beijing

TS = pa.timestamp("s", tz="Asia/Shanghai")
CHANGE_RUNS_SCHEMA = pa.schema(
    [
        pa.field("account", pa.int64(), nullable=False),
        pa.field("run", pa.int32(), nullable=False),
        pa.field("meter", pa.string(), nullable=False),
        pa.field("multiplier", pa.int64(), nullable=False),
        pa.field("start_ts", TS, nullable=False),  # a freeze, or the replacement instant
        pa.field("end_ts", TS, nullable=False),
        pa.field("start_alt_ts", TS),  # at a replacement: the freeze for registers not read at the instant
        pa.field("end_alt_ts", TS),
        pa.field("start_given", pa.decimal128(18, 4)),  # the replacement's initial total register
        pa.field("end_given", pa.decimal128(18, 4)),  # the replacement's final total register
        pa.field("start_ref", pa.string()),
        pa.field("end_ref", pa.string()),
        pa.field("tou", pa.bool_(), nullable=False),
        pa.field("reactive", pa.bool_(), nullable=False),
        pa.field("demand", pa.bool_(), nullable=False),
    ]
)


@dataclass(frozen=True)
class Replacement:
    id: int
    account: int
    old_meter: str
    new_meter: str
    at: datetime
    old_final: Decimal
    new_initial: Decimal
    old_multiplier: int
    new_multiplier: int

    @property
    def day(self) -> date:
        return self.at.date()

    @property
    def ref(self) -> str:
        return f"meter_replacements:{self.id}"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "replacement",
            "day": self.day,
            "at": self.at,
            "old_meter": self.old_meter,
            "old_final_kwh": self.old_final,
            "old_multiplier": self.old_multiplier,
            "new_meter": self.new_meter,
            "new_initial_kwh": self.new_initial,
            "new_multiplier": self.new_multiplier,
        }


@dataclass(frozen=True)
class MultiplierChange:
    meter: str
    effective_from: date
    old_multiplier: int
    new_multiplier: int

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "multiplier",
            "meter": self.meter,
            "effective_from": self.effective_from,
            "old_multiplier": self.old_multiplier,
            "new_multiplier": self.new_multiplier,
        }


@dataclass
class CycleChanges:
    """The accounts taken out of the vectorised determinants, their runs and what changed."""

    accounts: np.ndarray  # sorted account indices
    runs: pa.Table  # CHANGE_RUNS_SCHEMA
    changes: dict[int, list[dict[str, Any]]]  # per account: changes inside the cycle (the bill is marked)
    split_days: dict[tuple[str, date], MultiplierChange]


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _as_time(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:  # SQLite keeps Beijing wall time
        value = value.replace(tzinfo=BEIJING)
    return to_beijing(value).replace(microsecond=0)


def _replacements(
    session: Session, group: Any, index: dict[int, int], start: date, following: date
) -> list[Replacement]:
    old_m, new_m, new_p = aliased(Meter), aliased(Meter), aliased(MeteringPoint)
    rows = session.execute(
        select(
            MeterReplacement.id,
            old_m.address,
            new_m.address,
            MeterReplacement.replaced_at,
            MeterReplacement.old_final_kwh,
            MeterReplacement.new_initial_kwh,
            MeterReplacement.old_multiplier,
            MeterReplacement.new_multiplier,
            new_p.customer_id,
        )
        .join(old_m, old_m.id == MeterReplacement.old_meter_id)
        .join(new_m, new_m.id == MeterReplacement.new_meter_id)
        .join(new_p, new_p.id == MeterReplacement.new_point_id)
        .where(
            MeterReplacement.replaced_at >= day_start(start),
            MeterReplacement.replaced_at < day_start(following),
            new_p.purpose == PointPurpose.BILLING,
            new_p.customer_id.in_(select(Customer.id).where(group)),
        )
        .order_by(MeterReplacement.replaced_at, MeterReplacement.id)
    ).all()
    out = []
    for rid, old, new, at, final, initial, old_mult, new_mult, customer in rows:
        if customer not in index:  # billed already
            continue
        out.append(
            Replacement(
                id=rid,
                account=index[customer],
                old_meter=old,
                new_meter=new,
                at=_as_time(at),
                old_final=Decimal(str(final)),
                new_initial=Decimal(str(initial)),
                old_multiplier=int(old_mult),
                new_multiplier=int(new_mult),
            )
        )
    return out


def _multiplier_changes(session: Session, start: date) -> dict[str, list[MultiplierChange]]:
    """Per meter, its multiplier changes when one takes effect after ``start`` (oldest first)."""
    table = multiplier_history(session)
    by_meter: dict[str, list[MultiplierChange]] = {}
    for meter, eff, old, new in zip(
        *(
            table.column(c).to_pylist()
            for c in ("meter", "effective_from", "old_multiplier", "new_multiplier")
        ),
        strict=True,
    ):
        by_meter.setdefault(meter, []).append(MultiplierChange(meter, eff, int(old), int(new)))
    return {m: rows for m, rows in by_meter.items() if rows[-1].effective_from > start}


def _in_force(history: list[MultiplierChange] | None, day: date, current: int) -> int:
    if not history:
        return current
    found = history[0].old_multiplier
    for change in history:
        if change.effective_from <= day:
            found = change.new_multiplier
    return found


@dataclass
class _End:
    ts: datetime
    alt: datetime | None = None
    given: Decimal | None = None
    ref: str | None = None


def plan(
    session: Session,
    group: Any,
    customer_ids: list[int],
    runs: pa.Table,
    start: date,
    following: date,
) -> tuple[pa.Table, CycleChanges | None]:
    """Split ``runs`` (the vectorised runs of every account) into the runs of the accounts without meter
    changes and :class:`CycleChanges` for the others (``None`` when there are none)."""
    index = {cid: i for i, cid in enumerate(customer_ids)}
    replacements = _replacements(session, group, index, start, following)
    history = _multiplier_changes(session, start)
    if not replacements and not history:
        return runs, None
    meters = sorted({r.old_meter for r in replacements} | {r.new_meter for r in replacements} | set(history))
    touched = pc.is_in(runs.column("meter"), value_set=pa.array(meters, pa.string()))
    accounts = set(pc.filter(runs.column("account"), touched).to_pylist()) | {r.account for r in replacements}
    if not accounts:
        return runs, None
    chosen = np.asarray(sorted(accounts), dtype=np.int64)
    mine = pc.is_in(runs.column("account"), value_set=pa.array(chosen, pa.int64()))
    rest = runs.filter(pc.invert(mine))
    theirs = runs.filter(mine).to_pylist()
    by_account: dict[int, list[dict[str, Any]]] = {}
    for row in theirs:
        by_account.setdefault(row["account"], []).append(row)
    out: list[dict[str, Any]] = []
    changes: dict[int, list[dict[str, Any]]] = {}
    split_days: dict[tuple[str, date], MultiplierChange] = {}
    for account in chosen.tolist():
        rows = sorted(by_account.get(account, []), key=lambda r: r["run"])
        flags = {k: (rows[0][k] if rows else False) for k in ("tou", "reactive", "demand")}
        mine_reps = [r for r in replacements if r.account == account]
        spans: list[tuple[str, int, date, date]] = [
            (
                r["meter"],
                int(r["multiplier"]),
                to_beijing(r["start_ts"]).date(),
                to_beijing(r["end_ts"]).date(),
            )
            for r in rows
        ]
        for rep in mine_reps:  # replaced on the first day: the old point does not overlap the cycle
            if rep.day == start and not any(m == rep.old_meter for m, *_ in spans):
                spans.insert(0, (rep.old_meter, rep.old_multiplier, start, start))
        noted: list[dict[str, Any]] = [rep.to_json() for rep in mine_reps]
        run_no = 0
        for meter, current, first, last in spans:
            begin = _End(freeze_ts(first))
            finish = _End(freeze_ts(last))
            first_mult: int | None = None
            last_mult: int | None = None
            for rep in mine_reps:
                if rep.new_meter == meter and rep.day == first:
                    alt = min(first + timedelta(days=1), max(last, first))
                    begin = _End(rep.at, freeze_ts(alt), rep.new_initial, rep.ref)
                    first_mult = rep.new_multiplier
                if rep.old_meter == meter and rep.day == last:
                    finish = _End(rep.at, freeze_ts(last), rep.old_final, rep.ref)
                    last_mult = rep.old_multiplier
            meter_history = history.get(meter)
            cuts = [c for c in meter_history or [] if first < c.effective_from < last]
            for c in cuts:
                split_days[(meter, c.effective_from)] = c
                noted.append(c.to_json())
            bounds = [first, *(c.effective_from for c in cuts), last]
            ends = [begin, *(_End(freeze_ts(c.effective_from)) for c in cuts), finish]
            for k in range(len(bounds) - 1):
                multiplier = _in_force(meter_history, bounds[k], current)
                if k == 0 and first_mult is not None:
                    multiplier = first_mult
                if k == len(bounds) - 2 and last_mult is not None:
                    multiplier = last_mult
                a, b = ends[k], ends[k + 1]
                out.append(
                    {
                        "account": account,
                        "run": run_no,
                        "meter": meter,
                        "multiplier": multiplier,
                        "start_ts": a.ts,
                        "end_ts": b.ts,
                        "start_alt_ts": a.alt,
                        "end_alt_ts": b.alt,
                        "start_given": a.given,
                        "end_given": b.given,
                        "start_ref": a.ref,
                        "end_ref": b.ref,
                        **flags,
                    }
                )
                run_no += 1
        if noted:
            changes[account] = noted
    table = pa.Table.from_pylist(out, schema=CHANGE_RUNS_SCHEMA)
    return rest, CycleChanges(chosen, table, changes, split_days)


_SQL = """
WITH dis AS (SELECT * FROM (VALUES {dis}) t(slot, di)),
need AS (SELECT r.*, d.slot, d.di FROM changed r JOIN dis d
         ON (d.slot = 0 OR (r.tou AND d.slot BETWEEN 1 AND 4) OR (r.reactive AND d.slot = 5)
             OR (r.demand AND d.slot = 6))),
keys AS (SELECT meter, di, start_ts AS ts FROM need UNION ALL SELECT meter, di, end_ts FROM need
         UNION ALL SELECT meter, di, start_alt_ts FROM need WHERE start_alt_ts IS NOT NULL
         UNION ALL SELECT meter, di, end_alt_ts FROM need WHERE end_alt_ts IS NOT NULL),
candidates AS (
    SELECT x.meter, x.di, x.freeze_time, x.value, x.version, x.source, x.frame_ref, x.recorded_at
    FROM ({source}) x SEMI JOIN keys k ON x.meter = k.meter AND x.di = k.di AND x.freeze_time = k.ts),
rd AS (
    SELECT * FROM candidates
    QUALIFY row_number() OVER (
        PARTITION BY meter, di, freeze_time
        ORDER BY (source <> 'estimated') DESC, version DESC, recorded_at DESC) = 1),
joined AS (
    SELECT n.*,
           CASE WHEN n.slot = 0 AND n.start_given IS NOT NULL THEN 'given'
                WHEN s1.meter IS NOT NULL OR n.start_alt_ts IS NULL THEN 'at' ELSE 'alt' END AS s_how,
           CASE WHEN n.slot = 0 AND n.end_given IS NOT NULL THEN 'given'
                WHEN e1.meter IS NOT NULL OR n.end_alt_ts IS NULL THEN 'at' ELSE 'alt' END AS e_how,
           s1.value AS s1_value, s1.version AS s1_version, s1.source AS s1_source, s1.frame_ref AS s1_ref,
           s2.value AS s2_value, s2.version AS s2_version, s2.source AS s2_source, s2.frame_ref AS s2_ref,
           e1.value AS e1_value, e1.version AS e1_version, e1.source AS e1_source, e1.frame_ref AS e1_ref,
           e2.value AS e2_value, e2.version AS e2_version, e2.source AS e2_source, e2.frame_ref AS e2_ref
    FROM need n
    LEFT JOIN rd s1 ON s1.meter = n.meter AND s1.di = n.di AND s1.freeze_time = n.start_ts AND n.slot <> 6
    LEFT JOIN rd s2 ON s2.meter = n.meter AND s2.di = n.di AND s2.freeze_time = n.start_alt_ts
                       AND n.slot <> 6
    LEFT JOIN rd e1 ON e1.meter = n.meter AND e1.di = n.di AND e1.freeze_time = n.end_ts
    LEFT JOIN rd e2 ON e2.meter = n.meter AND e2.di = n.di AND e2.freeze_time = n.end_alt_ts),
picked AS (
    SELECT account, run, slot, multiplier, meter, di,
           CASE s_how WHEN 'given' THEN start_given WHEN 'at' THEN s1_value ELSE s2_value END AS s_value,
           CASE s_how WHEN 'given' THEN NULL WHEN 'at' THEN s1_version ELSE s2_version END AS s_version,
           CASE s_how WHEN 'given' THEN 'replacement' WHEN 'at' THEN s1_source ELSE s2_source END AS s_source,
           CASE s_how WHEN 'given' THEN start_ref WHEN 'at' THEN s1_ref ELSE s2_ref END AS s_ref,
           CASE s_how WHEN 'alt' THEN start_alt_ts ELSE start_ts END AS s_ts,
           CASE s_how WHEN 'given' THEN 'initial' ELSE 'start' END AS s_role,
           CASE e_how WHEN 'given' THEN end_given WHEN 'at' THEN e1_value ELSE e2_value END AS e_value,
           CASE e_how WHEN 'given' THEN NULL WHEN 'at' THEN e1_version ELSE e2_version END AS e_version,
           CASE e_how WHEN 'given' THEN 'replacement' WHEN 'at' THEN e1_source ELSE e2_source END AS e_source,
           CASE e_how WHEN 'given' THEN end_ref WHEN 'at' THEN e1_ref ELSE e2_ref END AS e_ref,
           CASE e_how WHEN 'alt' THEN end_alt_ts ELSE end_ts END AS e_ts,
           CASE e_how WHEN 'given' THEN 'final' ELSE 'end' END AS e_role
    FROM joined)
SELECT account, run, slot, multiplier, meter, di, s_ts, e_ts,
       CAST(s_value AS VARCHAR) AS s_text, CAST(e_value AS VARCHAR) AS e_text,
       CASE WHEN slot = 6 THEN CAST(e_value * multiplier * 10000 AS BIGINT)
            ELSE CAST((e_value - s_value) * multiplier * 10000 AS BIGINT) END AS kwh_e4,
       CASE WHEN slot = 6 THEN e_value IS NULL ELSE (s_value IS NULL OR e_value IS NULL) END AS missing,
       slot <> 6 AND coalesce(e_value < s_value, false) AS negative,
       (slot <> 6 AND coalesce(s_source = 'estimated', false)) OR coalesce(e_source = 'estimated', false)
           AS estimated,
       CASE WHEN slot = 6 THEN '' ELSE
       json_array(s_role, meter, di, strftime(s_ts, '%Y-%m-%dT%H:%M:%S+08:00'), s_value, s_version,
                  s_source, s_ref, multiplier) || ',' END ||
       json_array(e_role, meter, di, strftime(e_ts, '%Y-%m-%dT%H:%M:%S+08:00'), e_value, e_version,
                  e_source, e_ref, multiplier) AS pair
FROM picked
"""


def determinants(n: int, changed: CycleChanges, readings: ReadingSource) -> Determinants:
    """Determinants of the changed accounts (the others have no runs here)."""
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'Asia/Shanghai'")
        con.register("changed", changed.runs)
        long = con.sql(_SQL.format(source=readings.sql(con), dis=DIS_VALUES)).to_arrow_table()
        traces = con.sql(
            "SELECT account, '[' || string_agg(pair, ',' ORDER BY run, slot) || ']' AS trace "
            "FROM long GROUP BY account"
        ).to_arrow_table()
    finally:
        con.close()
    det = assemble(n, long, traces)
    det.long = long.select(["account", "run", "slot", "multiplier", "s_text", "e_text"])
    rows = long.select(["account", "run", "slot", "meter", "multiplier", "s_ts", "e_ts", "kwh_e4", "missing"])
    meter_runs: dict[int, dict[int, dict[str, Any]]] = {}
    messages: dict[int, list[str]] = {}
    for row in rows.to_pylist():
        account, slot = row["account"], row["slot"]
        if slot == 0:
            meter_runs.setdefault(account, {})[row["run"]] = {
                "meter": row["meter"],
                "multiplier": row["multiplier"],
                "from": to_beijing(row["s_ts"]),
                "to": to_beijing(row["e_ts"]),
                "kwh": None if row["missing"] else Decimal(e4_text(int(row["kwh_e4"]))),
            }
        if row["missing"]:
            for when in (row["s_ts"], row["e_ts"]):
                day = to_beijing(when).date()
                change = changed.split_days.get((row["meter"], day))
                if change is None or to_beijing(when) != freeze_ts(day):
                    continue
                text = (
                    f"meter {row['meter']}: no freeze of {SLOT_DIS[slot]} at 00:00 on {day}, the day its "
                    f"multiplier changes {change.old_multiplier} -> {change.new_multiplier} "
                    "(倍率变更日冻结缺失)"
                )
                found = messages.setdefault(account, [])
                if text not in found:
                    found.append(text)
    det.messages = messages
    for account in changed.accounts.tolist():
        det.changes[account] = {
            "changes": changed.changes.get(account, []),
            "meter_runs": [meter_runs.get(account, {})[k] for k in sorted(meter_runs.get(account, {}))],
        }
    return det
