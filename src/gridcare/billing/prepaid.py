"""Prepaid cost control (远程费控): a daily balance from daily frozen readings, warnings, trips through
maker-checker remote control, and automatic reconnection after payment.

Balance on day D (after the 00:00 freeze of D)::

    balance = money on account (unallocated payments) - open debts (released bills, penalties)
              - estimated charge of the unbilled energy

The unbilled energy runs from the day after the last released bill's cycle (or the account's ``since``
day) to the freeze at 00:00 of D, and is priced exactly as a bill would price it (same determinants and
pricing as a billing run, with the tariff in force). Levels: ``overdrawn`` below zero, ``warning`` below
the account's warning level (e.g. 50 yuan), else ``normal``; ``unknown`` when a reading is missing
(nothing is decided on missing data).

Trips: when the balance has been below zero for ``trip_after_days`` consecutive days the job files a
remote trip through :func:`gridcare.acquisition.service.request_remote_control` as the maker
``system:cost-control``; a second person approves it as for any remote command. A trip rejected by
the checker is not filed again until the balance has recovered.

Reconnection: a payment that brings the balance above zero marks the account ``reconnect_due``;
:func:`run_reconnects` (called after the payment is committed, and by the daily job) cancels a trip
still waiting for approval, or files an allow-close (允许合闸) as ``system:cost-control`` and approves
it as ``system:cost-control-reconnect`` (restoring supply after payment needs no second person).
Every step is audited and written to the account's history (one ``daily`` row per day: running the job
twice for a day adds nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gridcare.archives.models import Customer, Meter, MeteringPoint, PointPurpose
from gridcare.archives.queries import NotFound
from gridcare.archives.scope import scoped
from gridcare.billing import ledger, pricing, runs
from gridcare.billing.determinants import compute_determinants
from gridcare.billing.errors import BillingInputError
from gridcare.billing.models import Bill, Debt, Payment, PrepaidAccount, PrepaidEvent
from gridcare.billing.periods import KIND_BILL, RELEASED
from gridcare.billing.tariff_store import TariffBook
from gridcare.security import approvals, audit
from gridcare.security.authz import require
from gridcare.security.models import ApprovalRequest, ApprovalStatus
from gridcare.security.principal import Principal
from gridcare.security.roles import Permission
from gridcare.storage.lake import ReadingsLake
from gridcare.timeutil import now_beijing, to_beijing

MAKER = Principal(
    username="system:cost-control",
    org_paths=("/",),
    permissions=frozenset({Permission.READ_DATA, Permission.REMOTE_CONTROL}),
)
RECONNECTOR = Principal(
    username="system:cost-control-reconnect",
    org_paths=("/",),
    permissions=frozenset({Permission.READ_DATA, Permission.REMOTE_CONTROL}),
)
NORMAL, TRIP_REQUESTED, TRIPPED, TRIP_REJECTED, RECONNECT_DUE = (
    "normal",
    "trip_requested",
    "tripped",
    "trip_rejected",
    "reconnect_due",
)
DEFAULT_WARN_YUAN = Decimal(50)
DEFAULT_TRIP_AFTER_DAYS = 3


def configure(
    session: Session,
    principal: Principal,
    customer_no: str,
    *,
    warn_yuan: Any = DEFAULT_WARN_YUAN,
    trip_after_days: int = DEFAULT_TRIP_AFTER_DAYS,
    enabled: bool = True,
    since: date | None = None,
    now: datetime | None = None,
) -> PrepaidAccount:
    """Put a customer under cost control (or change its settings); audited. The caller commits."""
    require(principal, ledger.WAIVE_PERMISSION)
    warn = ledger.to_fen(warn_yuan, "warn_yuan", allow_zero=True)
    if not isinstance(trip_after_days, int) or not 1 <= trip_after_days <= 90:
        raise BillingInputError.at("trip_after_days", "must be a whole number of days from 1 to 90")
    now = to_beijing(now or now_beijing())
    customer = ledger.customer_by_no(session, principal, customer_no)
    account = session.get(PrepaidAccount, customer.id)
    if account is None:
        account = PrepaidAccount(customer_id=customer.id, state=NORMAL, since=since or now.date())
        session.add(account)
    elif since is not None:
        account.since = since
    account.enabled, account.warn_fen, account.trip_after_days = enabled, warn, trip_after_days
    account.updated_by, account.updated_at = principal.username, now
    session.flush()
    audit.record(
        session,
        principal,
        "prepaid.configure",
        f"customer {customer.customer_no}",
        detail={"enabled": enabled, "warn_yuan": str(ledger.yuan(warn)), "trip_after_days": trip_after_days},
        now=now,
    )
    return account


@dataclass
class DailyReport:
    day: date
    accounts: int
    already_done: int
    levels: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    trips_requested: list[str] = field(default_factory=list)
    reconnects: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "accounts": self.accounts,
            "already_done": self.already_done,
            "levels": self.levels,
            "warnings": self.warnings,
            "trips_requested": self.trips_requested,
            "reconnects": self.reconnects,
        }


def _money(session: Session, ids: list[int]) -> tuple[dict[int, int], dict[int, int]]:
    credit = {
        cid: int(v or 0)
        for cid, v in session.execute(
            select(Payment.customer_id, func.sum(Payment.unallocated_fen))
            .where(Payment.customer_id.in_(ids))
            .group_by(Payment.customer_id)
        ).all()
    }
    debt = {
        cid: int(v or 0)
        for cid, v in session.execute(
            select(Debt.customer_id, func.sum(Debt.amount_fen - Debt.credited_fen - Debt.allocated_fen))
            .where(Debt.customer_id.in_(ids))
            .group_by(Debt.customer_id)
        ).all()
    }
    return credit, debt


def _unbilled_start(session: Session, accounts: list[PrepaidAccount]) -> dict[int, date]:
    ids = [a.customer_id for a in accounts]
    last = dict(
        (row[0], row[1])
        for row in session.execute(
            select(Bill.customer_id, func.max(Bill.cycle_end))
            .where(
                Bill.customer_id.in_(ids),
                Bill.kind == KIND_BILL,
                Bill.status == RELEASED,
            )
            .group_by(Bill.customer_id)
        ).all()
    )
    return {
        a.customer_id: max(a.since, last[a.customer_id] + timedelta(days=1))
        if a.customer_id in last
        else a.since
        for a in accounts
    }


@dataclass
class _Estimate:
    kwh_e4: int
    fen: int
    known: bool
    readings: str
    note: str


def _estimate(
    session: Session, lake: ReadingsLake, customers: list[Customer], start: date, day: date
) -> dict[int, _Estimate]:
    """Charge of the energy from the freeze of ``start`` to the freeze of ``day``, priced like a bill."""
    if start >= day:
        return {c.id: _Estimate(0, 0, True, "[]", "") for c in customers}
    acc = pricing.Accounts(
        customer_id=[c.id for c in customers],
        customer_no=[c.customer_no for c in customers],
        org_id=[c.org_id for c in customers],
        customer_class=[c.customer_class.value for c in customers],
        tariff_code=[c.tariff_code for c in customers],
        capacity_kva=[c.contracted_capacity_kva for c in customers],
        revision=[0] * len(customers),
    )
    end = day - timedelta(days=1)
    book = TariffBook.load(session)
    versions = {code: book.versions(code, start, end) for code in set(acc.tariff_code)}
    tou = [bool(versions[c]) and book.tariff(versions[c][0]).is_tou for c in acc.tariff_code]
    group = Customer.id.in_(acc.customer_id)
    table = runs.meter_runs(session, group, acc, tou, start, day)
    det = compute_determinants(acc.n, table, runs.reading_source(lake, table))
    outcome, _, _, _ = pricing.price_accounts(
        session, acc, det, book, versions, start, end, start.strftime("%Y-%m")
    )
    out = {}
    for i, customer in enumerate(customers):
        blocking = [a for a in outcome.anomalies[i] if a in pricing.BLOCKING]
        out[customer.id] = _Estimate(
            int(det.total_e4()[i]),
            int(outcome.total_fen[i]),
            not blocking,
            det.trace[i],
            ",".join(blocking),
        )
    return out


def _level(balance: int, warn: int) -> str:
    if balance < 0:
        return "overdrawn"
    return "warning" if balance < warn else "normal"


def _meter_of(session: Session, customer_id: int) -> str | None:
    return session.scalar(
        select(Meter.address)
        .join(MeteringPoint, MeteringPoint.meter_id == Meter.id)
        .where(
            MeteringPoint.customer_id == customer_id,
            MeteringPoint.purpose == PointPurpose.BILLING,
            MeteringPoint.valid_to.is_(None),
        )
        .order_by(MeteringPoint.id)
    )


def _refresh_trip_state(session: Session, account: PrepaidAccount) -> None:
    if account.state != TRIP_REQUESTED or account.trip_approval_id is None:
        return
    status = session.scalar(
        select(ApprovalRequest.status).where(ApprovalRequest.id == account.trip_approval_id)
    )
    if status in (ApprovalStatus.APPROVED, ApprovalStatus.EXECUTED):
        account.state = TRIPPED
    elif status in (ApprovalStatus.REJECTED, ApprovalStatus.CANCELLED):
        account.state = TRIP_REJECTED


def run_daily(
    session: Session, principal: Principal, lake: ReadingsLake, day: date, now: datetime | None = None
) -> DailyReport:
    """The day's balances of every enabled prepaid account in scope; warnings, trips, reconnects.
    Needs ``remote_control`` (it files trips). Resumable: accounts already done for ``day`` are skipped.
    Filing a trip commits (the remote-control service does), so the caller commits the rest."""
    require(principal, Permission.REMOTE_CONTROL)
    now = to_beijing(now or now_beijing())
    rows = session.execute(
        select(PrepaidAccount, Customer)
        .join(Customer, Customer.id == PrepaidAccount.customer_id)
        .where(PrepaidAccount.enabled.is_(True), scoped(Customer.org_id, principal))
        .order_by(Customer.id)
    ).all()
    done = set(
        session.scalars(
            select(PrepaidEvent.customer_id).where(PrepaidEvent.day == day, PrepaidEvent.kind == "daily")
        )
    )
    todo = [(a, c) for a, c in rows if c.id not in done]
    report = DailyReport(day, len(rows), len(rows) - len(todo))
    if not todo:
        return report
    ids = [c.id for _, c in todo]
    credit, debt = _money(session, ids)
    starts = _unbilled_start(session, [a for a, _ in todo])
    estimates: dict[int, _Estimate] = {}
    for start in sorted(set(starts.values())):
        group = [c for _, c in todo if starts[c.id] == start]
        estimates.update(_estimate(session, lake, group, start, day))
    previous = {
        e.customer_id: e
        for e in session.scalars(
            select(PrepaidEvent)
            .where(PrepaidEvent.customer_id.in_(ids), PrepaidEvent.kind == "daily", PrepaidEvent.day < day)
            .order_by(PrepaidEvent.day)
        )
    }
    to_trip: list[tuple[PrepaidAccount, Customer, PrepaidEvent]] = []
    for account, customer in todo:
        _refresh_trip_state(session, account)
        est = estimates[customer.id]
        balance = credit.get(customer.id, 0) - debt.get(customer.id, 0) - est.fen
        before = previous.get(customer.id)
        action, note = "none", est.note
        if not est.known:
            level, below = "unknown", before.days_below_zero if before else 0
        else:
            level = _level(balance, account.warn_fen)
            below = (before.days_below_zero if before else 0) + 1 if balance < 0 else 0
            if balance >= 0 and account.state == TRIP_REJECTED:
                account.state = NORMAL
            if level == "warning" and (before is None or before.level == "normal"):
                action = "warn"
                report.warnings.append(customer.customer_no)
        event = PrepaidEvent(
            customer_id=customer.id,
            day=day,
            kind="daily",
            event_no=0,
            credit_fen=credit.get(customer.id, 0),
            debt_fen=debt.get(customer.id, 0),
            unbilled_kwh=Decimal(est.kwh_e4).scaleb(-4),
            unbilled_fen=est.fen,
            balance_fen=balance,
            level=level,
            days_below_zero=below,
            action=action,
            note=note[:255],
            readings=est.readings,
            computed_at=now,
        )
        session.add(event)
        report.levels[level] = report.levels.get(level, 0) + 1
        if est.known and below >= account.trip_after_days and account.state == NORMAL:
            to_trip.append((account, customer, event))
    session.flush()
    for account, customer, event in to_trip:
        _file_trip(session, account, customer, event)
        if event.action == "trip_requested":
            report.trips_requested.append(customer.customer_no)
    report.reconnects = run_reconnects(session)
    audit.record(
        session,
        principal,
        "prepaid.daily",
        f"cost control {day.isoformat()}",
        detail={k: v for k, v in report.to_json().items() if k != "day"},
        now=now,
    )
    return report


def _file_trip(session: Session, account: PrepaidAccount, customer: Customer, event: PrepaidEvent) -> None:
    from gridcare.acquisition import service

    meter = _meter_of(session, customer.id)
    reason = (
        f"预付费余额不足 prepaid balance {ledger.yuan(event.balance_fen)} yuan below zero for "
        f"{event.days_below_zero} days (户号 {customer.customer_no})"
    )
    try:
        if meter is None:
            raise NotFound(f"billing meter of customer {customer.customer_no}")
        req = service.request_remote_control(session, MAKER, meter, "trip", reason)
    except (NotFound, service.JobRequestError) as exc:
        event.action, event.note = "trip_failed", str(exc)[:255]
        return
    account.state, account.trip_approval_id = TRIP_REQUESTED, req.id
    account.updated_by, account.updated_at = MAKER.username, now_beijing()
    event.action, event.approval_id = "trip_requested", req.id
    session.flush()


def on_payment(
    session: Session, customer_id: int, paid_on: date, now: datetime, payment_id: int | None = None
) -> None:
    """After a payment: record the balance and mark a tripped (or trip-requested) account for
    reconnection when the balance is above zero. Does not commit."""
    account = session.get(PrepaidAccount, customer_id)
    if account is None or not account.enabled:
        return
    _refresh_trip_state(session, account)
    last = session.scalar(
        select(PrepaidEvent)
        .where(PrepaidEvent.customer_id == customer_id, PrepaidEvent.kind == "daily")
        .order_by(PrepaidEvent.day.desc())
        .limit(1)
    )
    unbilled = last.unbilled_fen if last is not None else 0
    credit, debt = _money(session, [customer_id])
    balance = credit.get(customer_id, 0) - debt.get(customer_id, 0) - unbilled
    action = "none"
    if balance > 0 and account.state in (TRIP_REQUESTED, TRIPPED):
        account.state, action = RECONNECT_DUE, "reconnect_due"
        account.updated_by, account.updated_at = "system:payment", now
    elif balance >= 0 and account.state == TRIP_REJECTED:
        account.state = NORMAL
    session.add(
        PrepaidEvent(
            customer_id=customer_id,
            day=paid_on,
            kind="payment",
            event_no=payment_id or 0,
            credit_fen=credit.get(customer_id, 0),
            debt_fen=debt.get(customer_id, 0),
            unbilled_kwh=last.unbilled_kwh if last is not None else Decimal(0),
            unbilled_fen=unbilled,
            balance_fen=balance,
            level=_level(balance, account.warn_fen),
            days_below_zero=0 if balance >= 0 else (last.days_below_zero if last else 0),
            action=action,
            computed_at=now,
        )
    )
    session.flush()


def run_reconnects(session: Session) -> list[str]:
    """Reconnect every account marked ``reconnect_due`` (see the module docstring); returns 户号.
    Commits through the remote-control service."""
    from gridcare.acquisition import service

    done = []
    rows = session.execute(
        select(PrepaidAccount, Customer)
        .join(Customer, Customer.id == PrepaidAccount.customer_id)
        .where(PrepaidAccount.state == RECONNECT_DUE)
        .order_by(Customer.id)
    ).all()
    for account, customer in rows:
        trip = session.get(ApprovalRequest, account.trip_approval_id) if account.trip_approval_id else None
        detail: dict[str, Any] = {"trip_approval_id": account.trip_approval_id}
        if trip is not None and trip.status == ApprovalStatus.PENDING:
            approvals.cancel(session, MAKER, trip.id)
            detail["action"] = "trip_cancelled"
        elif trip is not None and trip.status in (ApprovalStatus.APPROVED, ApprovalStatus.EXECUTED):
            meter = _meter_of(session, customer.id)
            if meter is None:
                continue
            reason = f"缴费后复电 paid: balance above zero (户号 {customer.customer_no})"
            try:
                req = service.request_remote_control(session, MAKER, meter, "allow_close", reason)
                job = service.approve_remote_control(session, RECONNECTOR, req.id)
            except (NotFound, service.JobRequestError) as exc:
                detail["error"] = str(exc)
                audit.record(
                    session,
                    MAKER,
                    "prepaid.reconnect",
                    f"customer {customer.customer_no}",
                    audit.FAILURE,
                    detail=detail,
                )
                continue
            account.close_approval_id = req.id
            detail |= {"action": "allow_close", "approval_id": req.id, "job_id": job.id}
        else:
            detail["action"] = "none"
        account.state, account.updated_by, account.updated_at = NORMAL, MAKER.username, now_beijing()
        audit.record(session, MAKER, "prepaid.reconnect", f"customer {customer.customer_no}", detail=detail)
        session.flush()
        done.append(customer.customer_no)
    return done


def history(session: Session, principal: Principal, customer_no: str, limit: int = 400) -> dict[str, Any]:
    """An account's cost-control settings, state and history (newest first)."""
    customer = ledger.customer_by_no(session, principal, customer_no)
    account = session.get(PrepaidAccount, customer.id)
    if account is None:
        return {"customer_no": customer.customer_no, "prepaid": False, "history": []}
    events = session.scalars(
        select(PrepaidEvent)
        .where(PrepaidEvent.customer_id == customer.id)
        .order_by(PrepaidEvent.day.desc(), PrepaidEvent.kind, PrepaidEvent.id.desc())
        .limit(max(1, min(limit, 5000)))
    ).all()
    return {
        "customer_no": customer.customer_no,
        "prepaid": True,
        "enabled": account.enabled,
        "since": account.since,
        "warn_yuan": ledger.yuan(account.warn_fen),
        "trip_after_days": account.trip_after_days,
        "state": account.state,
        "trip_approval_id": account.trip_approval_id,
        "close_approval_id": account.close_approval_id,
        "history": [
            {
                "day": e.day,
                "kind": e.kind,
                "balance_yuan": ledger.yuan(e.balance_fen),
                "credit_yuan": ledger.yuan(e.credit_fen),
                "debt_yuan": ledger.yuan(e.debt_fen),
                "unbilled_kwh": e.unbilled_kwh.normalize() if e.unbilled_kwh else Decimal(0),
                "unbilled_yuan": ledger.yuan(e.unbilled_fen),
                "level": e.level,
                "days_below_zero": e.days_below_zero,
                "action": e.action,
                "approval_id": e.approval_id,
                "note": e.note,
            }
            for e in events
        ],
    }
