"""Monthly billing runs (抄表核算): from the readings lake to stored bills, idempotently.

A run belongs to one billing month (``period``, YYYY-MM) and one billing group. A pass:

1. takes the group's customers (not closed, in the caller's scope) that have no current bill for the
   month (a bill that is not void): running again adds only what is missing, nothing twice;
2. finds each customer's meters in the cycle from the metering points' valid ranges (a meter change
   gives two runs, see :mod:`gridcare.billing.determinants`) and the readings from the lake: the
   month's reading is the 00:00 freeze on the 1st; start = freeze on the 1st of the month, end =
   freeze on the 1st of the next month;
3. prices every customer with the tariff versions in force in the cycle: the common shapes
   vectorised (:mod:`gridcare.billing.vectorized`), the rest with the engine (one call per distinct
   request);
4. stores bills with their lines, determinants and the readings they used, in one transaction.

Pricing and the anomalies that put a bill in review are in :mod:`gridcare.billing.pricing`.
"""

from __future__ import annotations

import gc
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gridcare.archives.models import Customer, CustomerStatus, Meter, MeteringPoint, PointPurpose
from gridcare.archives.scope import scoped
from gridcare.billing import meter_changes
from gridcare.billing.bulk import Const, KwhE4, insert_columns, reserve_ids
from gridcare.billing.determinants import (
    RUNS_SCHEMA,
    Determinants,
    ReadingSource,
    compute_determinants,
    merge,
)
from gridcare.billing.errors import BillingInputError
from gridcare.billing.models import Bill, BillingRun, BillLine
from gridcare.billing.periods import (
    DRAFT,
    IN_REVIEW,
    KIND_BILL,
    KIND_CREDIT,
    RELEASED,
    VOID,
    bill_no,
    parse_period,
    shift_period,
)
from gridcare.billing.pricing import ANOMALIES, BLOCKING, Accounts, Outcome, current_bills, price_accounts
from gridcare.billing.tariff_store import TariffBook
from gridcare.billing.terms import load_terms
from gridcare.security import audit
from gridcare.security.authz import require
from gridcare.security.principal import Principal
from gridcare.security.roles import Permission
from gridcare.storage.lake import ReadingsLake
from gridcare.timeutil import now_beijing, to_beijing

__all__ = [
    "DRAFT",
    "IN_REVIEW",
    "KIND_BILL",
    "KIND_CREDIT",
    "RELEASED",
    "VOID",
    "RunReport",
    "bill_no",
    "parse_period",
    "run_billing",
    "run_groups",
    "shift_period",
]


@dataclass
class RunReport:
    """What one pass did."""

    run_id: int
    period: str
    billing_group: str
    considered: int
    already_billed: int
    created: int
    draft: int
    review: int
    held: int
    anomalies: dict[str, int]
    total_yuan: Decimal
    vectorised: int
    engine: int
    engine_calls: int
    seconds: dict[str, float] = field(default_factory=dict)
    run_ids: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "period": self.period,
            "billing_group": self.billing_group,
            "considered": self.considered,
            "already_billed": self.already_billed,
            "created": self.created,
            "draft": self.draft,
            "review": self.review,
            "held": self.held,
            "anomalies": self.anomalies,
            "total_yuan": self.total_yuan,
            "priced_vectorised": self.vectorised,
            "priced_by_engine": self.engine,
            "engine_calls": self.engine_calls,
            "run_ids": self.run_ids,
        }


def run_billing(
    session: Session,
    principal: Principal,
    lake: ReadingsLake,
    period: str,
    billing_group: str,
    *,
    customer_ids: Sequence[int] | None = None,
    corrects: dict[int, int] | None = None,
    now: datetime | None = None,
) -> RunReport:
    """One pass of the run (period, billing group); creates the run on first use. Needs ``release_bills``.
    The caller commits (all or nothing). ``corrects`` maps customer id -> the bill a rebill replaces."""
    if not billing_group or len(billing_group) > 32:
        raise BillingInputError.at("billing_group", "required, at most 32 characters")
    return run_groups(
        session,
        principal,
        lake,
        period,
        [billing_group],
        customer_ids=customer_ids,
        corrects=corrects,
        now=now,
    )


def run_groups(
    session: Session,
    principal: Principal,
    lake: ReadingsLake,
    period: str,
    groups: Sequence[str] | None,
    *,
    customer_ids: Sequence[int] | None = None,
    corrects: dict[int, int] | None = None,
    now: datetime | None = None,
) -> RunReport:
    """One pass of the runs of several billing groups (``None``: every group in scope) in one go: the
    lake is read once. Each group keeps its own run (idempotent per period and group)."""
    require(principal, Permission.RELEASE_BILLS)
    collecting = gc.isenabled()
    gc.disable()  # millions of short-lived rows and no cycles: the collector would only rescan them
    try:
        return _run_groups(session, principal, lake, period, groups, customer_ids, corrects, now)
    finally:
        if collecting:
            gc.enable()


def _run_groups(
    session: Session,
    principal: Principal,
    lake: ReadingsLake,
    period: str,
    groups: Sequence[str] | None,
    customer_ids: Sequence[int] | None,
    corrects: dict[int, int] | None,
    now: datetime | None,
) -> RunReport:
    start, end, following = parse_period(period)
    clock = time.perf_counter()
    seconds: dict[str, float] = {}
    now = to_beijing(now or now_beijing())
    group = _group_customers(principal, groups, customer_ids)
    if groups is None:
        groups = sorted(set(session.scalars(select(Customer.billing_group).where(group).distinct())))
    run_rows = _run_rows(session, principal, period, list(groups), now)
    accounts, already = _accounts_to_bill(session, group, period)
    accounts.terms = load_terms(session, accounts.customer_id, group)
    seconds["archive"] = time.perf_counter() - clock
    if accounts.n == 0:  # everything billed already: nothing to read or price
        return _report(session, principal, period, groups, run_rows, accounts, already, None, seconds, now)
    book = TariffBook.load(session)
    versions = {code: book.versions(code, start, end) for code in set(accounts.tariff_code)}
    tou_of = {c: bool(rows) and book.tariff(rows[0]).is_tou for c, rows in versions.items()}
    tou = [tou_of[c] for c in accounts.tariff_code]
    runs_table = meter_runs(session, group, accounts, tou, start, following)
    # accounts with a meter replaced or a multiplier change in the cycle take the slower path
    runs_table, changed = meter_changes.plan(
        session, group, accounts.customer_id, runs_table, start, following
    )
    readings = reading_source(lake, runs_table)
    seconds["lake"] = time.perf_counter() - clock - sum(seconds.values())
    det = compute_determinants(accounts.n, runs_table, readings)
    if changed is not None:
        slow = meter_changes.determinants(accounts.n, changed, reading_source(lake, changed.runs))
        det = merge(det, slow, changed.accounts)
    seconds["determinants"] = time.perf_counter() - clock - sum(seconds.values())
    outcome, vec_count, eng_count, calls = price_accounts(
        session, accounts, det, book, versions, start, end, period
    )
    seconds["pricing"] = time.perf_counter() - clock - sum(seconds.values())
    _store(
        session,
        {g: r.id for g, r in run_rows.items()},
        accounts,
        outcome,
        det,
        period,
        start,
        end,
        now,
        corrects or {},
    )
    seconds["store"] = time.perf_counter() - clock - sum(seconds.values())
    return _report(
        session,
        principal,
        period,
        groups,
        run_rows,
        accounts,
        already,
        (outcome, vec_count, eng_count, calls),
        seconds,
        now,
    )


def _report(
    session: Session,
    principal: Principal,
    period: str,
    groups: Sequence[str],
    run_rows: dict[str, BillingRun],
    accounts: Accounts,
    already: int,
    priced: tuple[Outcome, int, int, int] | None,
    seconds: dict[str, float],
    now: datetime,
) -> RunReport:
    run_ids = {g: r.id for g, r in run_rows.items()}
    statuses: Counter[str] = Counter()
    anomaly_counts: Counter[str] = Counter()
    held = vec_count = eng_count = calls = 0
    total = Decimal("0.00")
    if priced is not None:
        outcome, vec_count, eng_count, calls = priced
        statuses = Counter(outcome.status)
        anomaly_counts = Counter(a for found in outcome.anomalies for a in found)
        held = sum(1 for found in outcome.anomalies if any(a in BLOCKING for a in found))
        total = Decimal(int(outcome.total_fen.sum())).scaleb(-2)
    label = groups[0] if len(groups) == 1 else f"{len(groups)} groups"
    report = RunReport(
        run_id=next(iter(run_ids.values())) if len(run_ids) == 1 else 0,
        period=period,
        billing_group=label,
        considered=accounts.n + already,
        already_billed=already,
        created=accounts.n,
        draft=statuses.get(DRAFT, 0),
        review=statuses.get(IN_REVIEW, 0),
        held=held,
        anomalies={a: anomaly_counts[a] for a in ANOMALIES if anomaly_counts.get(a)},
        total_yuan=total.quantize(Decimal("0.01")),
        vectorised=vec_count,
        engine=eng_count,
        engine_calls=calls,
        seconds={k: round(v, 3) for k, v in seconds.items()},
        run_ids=sorted(run_ids.values()),
    )
    audit.record(
        session,
        principal,
        "billing.run",
        f"billing run {period} {label}"[:200],
        detail={k: v for k, v in report.to_json().items() if k not in ("total_yuan", "run_ids")}
        | {"total_yuan": str(report.total_yuan), "runs": len(run_ids)},
        now=now,
    )
    return report


def _fetch(session: Session, stmt: Any) -> list[Any]:
    """All rows of ``stmt`` as the driver returns them (no per-value result processing: a million rows
    of enum and date columns would cost seconds). Values: text for SQLite dates and enums."""
    result = session.connection().execute(stmt)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


def _run_rows(
    session: Session, principal: Principal, period: str, groups: list[str], now: datetime
) -> dict[str, BillingRun]:
    """The run of each group for the period (created on first use), one more pass counted."""
    if len(groups) == 1:
        return {groups[0]: _run_row(session, principal, period, groups[0], now)}
    found = {
        r.billing_group: r
        for r in session.scalars(
            select(BillingRun).where(BillingRun.period == period, BillingRun.billing_group.in_(groups))
        )
    }
    for group in groups:
        if group in found:
            found[group].passes += 1
            found[group].last_pass_at = now
        else:
            found[group] = BillingRun(
                period=period,
                billing_group=group,
                created_by=principal.username,
                created_at=now,
                last_pass_at=now,
            )
            session.add(found[group])
    session.flush()  # a concurrent pass creating the same run fails here (unique), rolling back this one
    return found


def _run_row(session: Session, principal: Principal, period: str, group: str, now: datetime) -> BillingRun:
    run = session.scalar(
        select(BillingRun).where(BillingRun.period == period, BillingRun.billing_group == group)
    )
    if run is None:
        run = BillingRun(
            period=period,
            billing_group=group,
            created_by=principal.username,
            created_at=now,
            last_pass_at=now,
        )
        try:
            with session.begin_nested():
                session.add(run)
        except IntegrityError:  # another pass created it at the same moment
            run = session.scalar(
                select(BillingRun).where(BillingRun.period == period, BillingRun.billing_group == group)
            )
            assert run is not None
            run.passes += 1
    else:
        run.passes += 1
    run.last_pass_at = now
    session.flush()  # takes the write lock before ids are reserved
    return run


def _group_customers(
    principal: Principal, groups: Sequence[str] | None, customer_ids: Sequence[int] | None
) -> Any:
    cond = and_(Customer.status != CustomerStatus.CLOSED, scoped(Customer.org_id, principal))
    if groups is not None:
        cond = and_(cond, Customer.billing_group.in_(list(groups)))
    if customer_ids is not None:
        cond = and_(cond, Customer.id.in_(list(customer_ids)))
    return cond


def _accounts_to_bill(session: Session, group: Any, period: str) -> tuple[Accounts, int]:
    current = (
        select(Bill.customer_id)
        .where(current_bills(period, shift_period(period, 1)))
        .where(Bill.customer_id.in_(select(Customer.id).where(group)))
    )
    billed = {row[0] for row in _fetch(session, current)}
    revisions = dict(
        _fetch(
            session,
            select(Bill.customer_id, func.max(Bill.revision))
            .where(Bill.period == period, Bill.kind == KIND_BILL)
            .where(Bill.customer_id.in_(select(Customer.id).where(group)))
            .group_by(Bill.customer_id),
        )
    )
    rows = _fetch(
        session,
        select(
            Customer.id,
            Customer.customer_no,
            Customer.org_id,
            Customer.customer_class,  # raw text (enum value)
            Customer.tariff_code,
            Customer.contracted_capacity_kva,  # as the driver gives it; Decimal where the engine needs it
            Customer.billing_group,
        )
        .where(group)
        .order_by(Customer.id),
    )
    acc = Accounts([], [], [], [], [], [], [], [])
    for cid, no, org, cls, code, cap, billing_group in rows:
        if cid in billed:
            continue
        acc.customer_id.append(cid)
        acc.customer_no.append(no)
        acc.org_id.append(org)
        acc.customer_class.append(cls if isinstance(cls, str) else cls.value)
        acc.tariff_code.append(code)
        acc.capacity_kva.append(cap)
        acc.revision.append(revisions[cid] + 1 if cid in revisions else 0)
        acc.group.append(billing_group)
    return acc, len(billed)


def meter_runs(
    session: Session, group: Any, accounts: Accounts, tou: list[bool], start: date, following: date
) -> pa.Table:
    """One row per meter run: the metering points of the accounts that overlap the cycle (with the
    extra registers the accounts' billing terms need)."""
    rows = _fetch(
        session,
        select(
            MeteringPoint.customer_id,
            Meter.address,
            Meter.multiplier,
            MeteringPoint.valid_from,  # ISO text (SQLite) or a date
            MeteringPoint.valid_to,
        )
        .join(Meter, Meter.id == MeteringPoint.meter_id)
        .where(
            MeteringPoint.purpose == PointPurpose.BILLING,
            MeteringPoint.valid_from < following,
            or_(MeteringPoint.valid_to.is_(None), MeteringPoint.valid_to > start),
            MeteringPoint.customer_id.in_(select(Customer.id).where(group)),
        )
        .order_by(MeteringPoint.customer_id, MeteringPoint.valid_from, MeteringPoint.id),
    )
    if not rows:
        return RUNS_SCHEMA.empty_table()
    customer, address, multiplier, valid_from, valid_to = (list(col) for col in zip(*rows, strict=True))
    ids = np.asarray(accounts.customer_id, dtype=np.int64)
    cust = np.asarray([-1 if c is None else c for c in customer], dtype=np.int64)
    pos = np.searchsorted(ids, cust)  # accounts are ordered by customer id
    pos = np.minimum(pos, max(len(ids) - 1, 0))
    known = (len(ids) > 0) & (ids[pos] == cust) if len(ids) else np.zeros(len(cust), dtype=bool)
    first = np.maximum(
        np.asarray([str(v) for v in valid_from], dtype="datetime64[D]"), np.datetime64(start, "D")
    )
    until = np.asarray(
        [following.isoformat() if v is None else str(v) for v in valid_to], dtype="datetime64[D]"
    )
    last = np.minimum(until, np.datetime64(following, "D"))
    keep = known & (last > first)
    reactive = np.zeros(max(accounts.n, 1), dtype=bool)
    demand = np.zeros(max(accounts.n, 1), dtype=bool)
    for i, terms in accounts.terms.items():
        reactive[i] = terms.reads_reactive
        demand[i] = terms.reads_demand
    account = pos[keep]
    # run number within the account: rows are ordered by customer, so count within equal neighbours
    order = np.arange(len(account))
    new_account = np.ones(len(account), dtype=bool)
    new_account[1:] = account[1:] != account[:-1]
    run = order - np.maximum.accumulate(np.where(new_account, order, 0))
    offset = np.timedelta64(-8, "h")  # 00:00 Beijing time as UTC
    as_ts = RUNS_SCHEMA.field("start_ts").type
    keep_idx = np.flatnonzero(keep)
    return pa.table(
        {
            "account": pa.array(account, pa.int64()),
            "run": pa.array(run.astype(np.int32)),
            "meter": pa.array(address, pa.string()).take(pa.array(keep_idx)),
            "multiplier": pa.array(np.asarray(multiplier, dtype=np.int64)[keep]),
            "start_ts": pa.array((first[keep] + offset).astype("datetime64[s]")).cast(as_ts),
            "end_ts": pa.array((last[keep] + offset).astype("datetime64[s]")).cast(as_ts),
            "tou": pa.array(np.asarray(tou, dtype=bool)[account] if len(tou) else np.zeros(0, dtype=bool)),
            "reactive": pa.array(reactive[account]),
            "demand": pa.array(demand[account]),
        },
        schema=RUNS_SCHEMA,
    )


def reading_source(lake: ReadingsLake, runs: pa.Table) -> ReadingSource:
    """The lake rows of the freeze days the runs need: the days' Parquet parts and the durable
    write-ahead rows not yet in Parquet (the effective version is chosen with the determinants;
    ``ReadingsLake.current`` would format every timestamp of the days to filter them and drops
    identifiers with a dot, "05060101.1")."""
    names = [c for c in ("start_ts", "end_ts", "start_alt_ts", "end_alt_ts") if c in runs.column_names]
    stamps = pc.unique(pa.concat_arrays([runs.column(c).combine_chunks() for c in names]))
    days = sorted({to_beijing(s).date() for s in stamps.to_pylist() if s is not None})
    files = [f for day in days for f in lake._files(day, day)]
    pending = [lake.wal.read(segment) for segment in lake.wal.segments()]
    return ReadingSource(files, pa.concat_tables(pending) if pending else None)


# --- storing ------------------------------------------------------------------------------------


def _store(
    session: Session,
    run_ids: dict[str, int],
    acc: Accounts,
    out: Outcome,
    det: Determinants,
    period: str,
    start: date,
    end: date,
    now: datetime,
    corrects: dict[int, int],
) -> None:
    n = acc.n
    if n == 0:
        return
    bills = Bill.__table__
    ids = reserve_ids(session, bills, n)  # type: ignore[arg-type]
    estimated = det.estimated & ~det.no_run
    insert_columns(
        session,
        bills,  # type: ignore[arg-type]
        {
            "id": ids,
            "bill_no": [
                bill_no(period, no, KIND_BILL, r) for no, r in zip(acc.customer_no, acc.revision, strict=True)
            ],
            "run_id": [run_ids[g] for g in acc.group],
            "customer_id": acc.customer_id,
            "customer_no": acc.customer_no,
            "org_id": acc.org_id,
            "customer_class": acc.customer_class,
            "tariff_code": acc.tariff_code,
            "tariff_version_id": out.version_id,
            "period": Const(period),
            "cycle_start": Const(start),
            "cycle_end": Const(end),
            "kind": Const(KIND_BILL),
            "revision": acc.revision,
            "status": out.status,
            "total_fen": out.total_fen,
            "energy_kwh": KwhE4(out.energy_e4),
            "tier_kwh": KwhE4(out.tier_e4),
            "estimated": estimated.astype(np.int64),
            "anomalies": [",".join(a) for a in out.anomalies],
            "determinants": out.determinants,
            "readings": det.trace,
            "corrects_bill_id": [corrects.get(c) for c in acc.customer_id],
            "reason": [("rebill" if c in corrects else "") for c in acc.customer_id],
            "created_at": Const(now),
        },
        n,
    )
    _store_lines(session, np.asarray(ids, dtype=np.int64), out)


def _store_lines(session: Session, bill_ids: np.ndarray, out: Outcome) -> None:
    held = np.asarray([any(a in BLOCKING for a in found) for found in out.anomalies], dtype=bool)
    counter = np.zeros(out.n, dtype=np.int64)
    parts: dict[str, list[Any]] = {
        k: [] for k in ("bill_id", "seq", "category", "period", "item", "price", "amount")
    }
    kwh_parts: list[np.ndarray] = []
    null_parts: list[np.ndarray] = []
    for idx, block in out.vector_blocks:
        mask = block.mask & ~held[idx]
        where = idx[mask]
        if len(where) == 0:
            continue
        m = len(where)
        parts["bill_id"].append(bill_ids[where])
        parts["seq"].append(counter[where].copy())
        counter[where] += 1
        rate = block.rate
        parts["category"].append([rate.category] * m)
        parts["period"].append([None if rate.period is None else rate.period.value] * m)
        parts["item"].append([rate.item] * m)
        parts["price"].append([rate.price] * m)
        parts["amount"].append(block.amount_fen[mask])
        kwh_parts.append(block.kwh_e4[mask])
        null_parts.append(np.zeros(m, dtype=bool))
    if out.lines:
        rows = [line for line in out.lines if not held[line[0]]]
        parts["bill_id"].append(bill_ids[[r[0] for r in rows]] if rows else np.zeros(0, dtype=np.int64))
        parts["seq"].append(np.asarray([r[1] for r in rows], dtype=np.int64))
        parts["category"].append([r[2] for r in rows])
        parts["period"].append([r[3] for r in rows])
        parts["item"].append([r[4] for r in rows])
        parts["price"].append([r[6] for r in rows])
        parts["amount"].append(np.asarray([r[7] for r in rows], dtype=np.int64))
        kwh_parts.append(np.asarray([0 if r[5] is None else r[5] for r in rows], dtype=np.int64))
        null_parts.append(np.asarray([r[5] is None for r in rows], dtype=bool))
    if not kwh_parts:
        return
    total = sum(len(k) for k in kwh_parts)
    flat: dict[str, Any] = {}
    for name in ("bill_id", "seq", "amount"):
        flat[name] = np.concatenate([np.asarray(p, dtype=np.int64) for p in parts[name]])
    for name in ("category", "period", "item", "price"):
        flat[name] = [v for p in parts[name] for v in p]
    insert_columns(
        session,
        BillLine.__table__,  # type: ignore[arg-type]
        {
            "bill_id": flat["bill_id"],
            "seq": flat["seq"],
            "category": flat["category"],
            "period": flat["period"],
            "item": flat["item"],
            "kwh": KwhE4(np.concatenate(kwh_parts), np.concatenate(null_parts)),
            "price": flat["price"],
            "amount_fen": flat["amount"],
        },
        total,
    )
