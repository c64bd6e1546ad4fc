"""Bills after a run: the review queue, release (``release_bills``, audited), corrections by credit note
and rebill, and the trace of every line back to its readings.

Statuses: ``draft`` (computed, clean) -> ``released``; ``review`` (an anomaly) -> ``accept`` ->
``draft``, or ``void`` (kept, never deleted; the next pass of the run computes the customer again).
A released bill is never changed: :func:`rebill` issues a credit note (红字, the negative of every line)
that cancels it in the ledger and computes a new revision from the current archive and readings, which
goes through review and release again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.orm import Session, aliased

from gridcare.archives.models import Customer
from gridcare.archives.queries import NotFound
from gridcare.archives.scope import scoped
from gridcare.billing.errors import BillingInputError
from gridcare.billing.jsonio import loads
from gridcare.billing.models import Bill, BillingRun, BillLine, Debt, TariffVersion
from gridcare.billing.periods import (
    DRAFT,
    IN_REVIEW,
    KIND_BILL,
    KIND_CREDIT,
    RELEASED,
    VOID,
    bill_no,
    parse_period,
)
from gridcare.billing.pricing import BLOCKING
from gridcare.billing.runs import RunReport, run_billing
from gridcare.security import audit
from gridcare.security.authz import require
from gridcare.security.principal import Principal
from gridcare.security.roles import Permission
from gridcare.storage.lake import ReadingsLake
from gridcare.timeutil import now_beijing, to_beijing

DUE_DAYS = 15
"""Default payment period after release (缴费期限) [days]."""

_TOU_DIS = {
    "sharp": ("05060101.1",),
    "peak": ("05060101.2",),
    "flat": ("05060101", "05060101.1", "05060101.2", "05060101.4"),
    "valley": ("05060101.4",),
}


class BillStateError(ValueError):
    """The bill is not in a state that allows the action (message says which)."""


def fen(value: int) -> Decimal:
    """Integer fen -> yuan with two decimals."""
    return Decimal(int(value)).scaleb(-2).quantize(Decimal("0.01"))


def get_bill(session: Session, principal: Principal, bill_id: int, *, lock: bool = False) -> Bill:
    """A bill in the principal's scope (else :class:`NotFound`)."""
    stmt = select(Bill).where(Bill.id == bill_id, scoped(Bill.org_id, principal))
    if lock:
        stmt = stmt.with_for_update()
    bill = session.scalar(stmt)
    if bill is None:
        raise NotFound(f"bill {bill_id}")
    return bill


def get_run(session: Session, principal: Principal, run_id: int) -> BillingRun:
    """A run the principal may see: one with at least one bill in scope (a run with no bills at all is
    visible to principals who see everything)."""
    run = session.get(BillingRun, run_id)
    if run is None:
        raise NotFound(f"billing run {run_id}")
    if principal.sees_everything:
        return run
    visible = session.scalar(
        select(func.count()).select_from(Bill).where(Bill.run_id == run_id, scoped(Bill.org_id, principal))
    )
    if not visible:
        raise NotFound(f"billing run {run_id}")
    return run


def run_summary(session: Session, principal: Principal, run: BillingRun) -> dict[str, Any]:
    """Counts and totals by status of the run's bills in scope."""
    rows = session.execute(
        select(Bill.status, func.count(), func.coalesce(func.sum(Bill.total_fen), 0))
        .where(Bill.run_id == run.id, Bill.kind == KIND_BILL, scoped(Bill.org_id, principal))
        .group_by(Bill.status)
    ).all()
    return {
        "run_id": run.id,
        "period": run.period,
        "billing_group": run.billing_group,
        "passes": run.passes,
        "created_by": run.created_by,
        "created_at": to_beijing(run.created_at).isoformat(),
        "bills": {status: {"count": count, "total_yuan": fen(total)} for status, count, total in rows},
    }


def list_runs(session: Session, principal: Principal, period: str | None = None) -> list[BillingRun]:
    stmt = select(BillingRun).order_by(BillingRun.period.desc(), BillingRun.billing_group)
    if period:
        parse_period(period)
        stmt = stmt.where(BillingRun.period == period)
    if not principal.sees_everything:
        stmt = stmt.where(BillingRun.id.in_(select(Bill.run_id).where(scoped(Bill.org_id, principal))))
    return list(session.scalars(stmt.limit(500)))


def review_queue(
    session: Session,
    principal: Principal,
    run_id: int | None = None,
    period: str | None = None,
    limit: int = 500,
) -> list[Bill]:
    """Bills waiting for review, oldest first."""
    stmt = select(Bill).where(Bill.status == IN_REVIEW, scoped(Bill.org_id, principal)).order_by(Bill.id)
    if run_id is not None:
        stmt = stmt.where(Bill.run_id == run_id)
    if period:
        stmt = stmt.where(Bill.period == period)
    return list(session.scalars(stmt.limit(max(1, min(limit, 5000)))))


def list_bills(
    session: Session,
    principal: Principal,
    *,
    customer_no: str | None = None,
    period: str | None = None,
    status: str | None = None,
    limit: int = 200,
) -> list[Bill]:
    stmt = select(Bill).where(scoped(Bill.org_id, principal)).order_by(Bill.period.desc(), Bill.id)
    if customer_no:
        stmt = stmt.where(Bill.customer_no == customer_no)
    if period:
        stmt = stmt.where(Bill.period == period)
    if status:
        stmt = stmt.where(Bill.status == status)
    return list(session.scalars(stmt.limit(max(1, min(limit, 5000)))))


def _blocking(bill: Bill) -> list[str]:
    return [a for a in bill.anomalies.split(",") if a in BLOCKING]


def accept(session: Session, principal: Principal, bill_id: int, note: str) -> Bill:
    """Accept a bill in review (its anomaly checked and found right): it becomes a draft. Bills held for
    missing or bad data cannot be accepted; void them and run again after the data is fixed."""
    require(principal, Permission.RELEASE_BILLS)
    if not note.strip():
        raise BillingInputError.at("note", "say what was checked (复核意见)")
    bill = get_bill(session, principal, bill_id, lock=True)
    if bill.status != IN_REVIEW:
        raise BillStateError(f"bill {bill.bill_no} is {bill.status}, not in review")
    if blocking := _blocking(bill):
        raise BillStateError(
            f"bill {bill.bill_no} is held ({', '.join(blocking)}): "
            "void it and run again after the data is fixed"
        )
    bill.status, bill.reviewed_by, bill.review_note = DRAFT, principal.username, note[:255]
    audit.record(
        session, principal, "billing.review.accept", f"bill {bill.bill_no}", detail={"note": note[:200]}
    )
    return bill


def void(session: Session, principal: Principal, bill_id: int, reason: str) -> Bill:
    """Void a bill that was not released (kept for the record); the run's next pass recomputes it."""
    require(principal, Permission.RELEASE_BILLS)
    if not reason.strip():
        raise BillingInputError.at("reason", "say why the bill is voided")
    bill = get_bill(session, principal, bill_id, lock=True)
    if bill.status not in (DRAFT, IN_REVIEW) or bill.kind != KIND_BILL:
        raise BillStateError(
            f"bill {bill.bill_no} is {bill.status}: only drafts and bills in review are voided"
        )
    bill.status, bill.reviewed_by, bill.review_note = VOID, principal.username, reason[:255]
    audit.record(session, principal, "billing.void", f"bill {bill.bill_no}", detail={"reason": reason[:200]})
    return bill


@dataclass(frozen=True)
class ReleaseReport:
    released: int
    total_yuan: Decimal
    due_date: date
    left_in_review: int

    def to_json(self) -> dict[str, Any]:
        return {
            "released": self.released,
            "total_yuan": self.total_yuan,
            "due_date": self.due_date,
            "left_in_review": self.left_in_review,
        }


def release(
    session: Session,
    principal: Principal,
    *,
    run_id: int | None = None,
    bill_ids: list[int] | None = None,
    due_date: date | None = None,
    now: datetime | None = None,
) -> ReleaseReport:
    """Release the drafts of a run (or the listed bills) in the principal's scope: they become debts in
    the ledger, due on ``due_date`` (default release day + :data:`DUE_DAYS`). Needs ``release_bills``;
    audited once per call. The caller commits."""
    require(principal, Permission.RELEASE_BILLS)
    if (run_id is None) == (bill_ids is None):
        raise BillingInputError.at("run_id", "give a run or a list of bills, exactly one")
    now = to_beijing(now or now_beijing())
    today = now.date()
    due = due_date or today + timedelta(days=DUE_DAYS)
    if due < today:
        raise BillingInputError.at("due_date", f"must not be before the release day {today}")
    where = and_(Bill.status == DRAFT, Bill.kind == KIND_BILL, scoped(Bill.org_id, principal))
    label = ""
    if run_id is not None:
        get_run(session, principal, run_id)
        where = and_(where, Bill.run_id == run_id)
        label = f"billing run {run_id}"
    else:
        assert bill_ids is not None
        for bid in bill_ids:
            get_bill(session, principal, bid)
        where = and_(where, Bill.id.in_(bill_ids))
        label = f"bills {','.join(map(str, bill_ids[:20]))}"
    count, total = session.execute(
        select(func.count(), func.coalesce(func.sum(Bill.total_fen), 0)).where(where)
    ).one()
    customers = list(session.scalars(select(Bill.customer_id).where(where, Bill.total_fen > 0).distinct()))
    session.execute(
        insert(Debt).from_select(
            [
                "customer_id",
                "bill_id",
                "kind",
                "seq",
                "amount_fen",
                "credited_fen",
                "allocated_fen",
                "due_date",
                "created_on",
                "created_at",
            ],
            select(
                Bill.customer_id,
                Bill.id,
                _literal("principal"),
                _literal(0),
                Bill.total_fen,
                _literal(0),
                _literal(0),
                _literal(due),
                _literal(today),
                _literal(now),
            ).where(where, Bill.total_fen > 0),
        )
    )
    session.execute(
        update(Bill)
        .where(where)
        .values(status=RELEASED, released_by=principal.username, released_at=now, due_date=due)
        .execution_options(synchronize_session=False)
    )
    left = 0
    if run_id is not None:
        left = (
            session.scalar(
                select(func.count())
                .select_from(Bill)
                .where(Bill.run_id == run_id, Bill.status == IN_REVIEW, scoped(Bill.org_id, principal))
            )
            or 0
        )
    report = ReleaseReport(count, fen(total), due, left)
    audit.record(
        session,
        principal,
        "billing.release",
        label,
        detail={"released": count, "total_yuan": str(fen(total)), "due_date": due.isoformat()},
        now=now,
    )
    _after_release(session, customers, today)
    session.expire_all()
    return report


def _literal(value: Any) -> Any:
    from sqlalchemy import Date, DateTime, Integer, String, literal

    if isinstance(value, datetime):
        return literal(value, DateTime(timezone=True))
    if isinstance(value, date):
        return literal(value, Date())
    if isinstance(value, int):
        return literal(value, Integer())
    return literal(value, String())


def _after_release(session: Session, customer_ids: list[int], today: date) -> None:
    """Money already on account pays the new debts (oldest first)."""
    from gridcare.billing import ledger

    ledger.allocate_waiting_credit(session, customer_ids, today)


def credited_bill_ids(session: Session, bill_ids: list[int]) -> set[int]:
    credit = aliased(Bill)
    return set(
        session.scalars(
            select(credit.corrects_bill_id).where(
                credit.kind == KIND_CREDIT, credit.corrects_bill_id.in_(bill_ids)
            )
        )
    )


def rebill(
    session: Session,
    principal: Principal,
    lake: ReadingsLake,
    bill_id: int,
    reason: str,
    now: datetime | None = None,
) -> tuple[Bill, RunReport]:
    """Correct a released bill: a credit note cancels it (in the ledger too) and a new revision is
    computed from the current archive and readings (it goes through review and release). The caller
    commits."""
    require(principal, Permission.RELEASE_BILLS)
    if not reason.strip():
        raise BillingInputError.at("reason", "say why the bill is corrected (退补原因)")
    now = to_beijing(now or now_beijing())
    bill = get_bill(session, principal, bill_id, lock=True)
    if bill.kind != KIND_BILL or bill.status != RELEASED:
        raise BillStateError(
            f"bill {bill.bill_no} is a {bill.kind} in status {bill.status}: only released bills are rebilled"
        )
    if credited_bill_ids(session, [bill.id]):
        raise BillStateError(f"bill {bill.bill_no} is already cancelled by a credit note")
    note = credit_note(session, principal, bill, reason, now)
    customer = session.get(Customer, bill.customer_id)
    assert customer is not None
    report = run_billing(
        session,
        principal,
        lake,
        bill.period,
        customer.billing_group,
        customer_ids=[customer.id],
        corrects={customer.id: bill.id},
        now=now,
    )
    audit.record(
        session,
        principal,
        "billing.rebill",
        f"bill {bill.bill_no}",
        detail={"credit_note": note.bill_no, "reason": reason[:200], "new_bills": report.created},
        now=now,
    )
    return note, report


def credit_note(session: Session, principal: Principal, bill: Bill, reason: str, now: datetime) -> Bill:
    """Issue the credit note of ``bill`` (every line negated) and credit it in the ledger."""
    note = Bill(
        bill_no=bill_no(bill.period, bill.customer_no, KIND_CREDIT, bill.revision),
        run_id=bill.run_id,
        customer_id=bill.customer_id,
        customer_no=bill.customer_no,
        org_id=bill.org_id,
        customer_class=bill.customer_class,
        tariff_code=bill.tariff_code,
        tariff_version_id=bill.tariff_version_id,
        period=bill.period,
        cycle_start=bill.cycle_start,
        cycle_end=bill.cycle_end,
        kind=KIND_CREDIT,
        revision=bill.revision,
        status=RELEASED,
        total_fen=-bill.total_fen,
        energy_kwh=-bill.energy_kwh,
        tier_kwh=-bill.tier_kwh,
        estimated=bill.estimated,
        anomalies="",
        determinants=bill.determinants,
        readings=bill.readings,
        corrects_bill_id=bill.id,
        reason=reason[:255],
        due_date=now.date(),
        created_at=now,
        released_by=principal.username,
        released_at=now,
    )
    session.add(note)
    session.flush()
    for line in session.scalars(select(BillLine).where(BillLine.bill_id == bill.id).order_by(BillLine.seq)):
        session.add(
            BillLine(
                bill_id=note.id,
                seq=line.seq,
                category=line.category,
                period=line.period,
                item=line.item,
                kwh=None if line.kwh is None else -line.kwh,
                price=line.price,
                amount_fen=-line.amount_fen,
            )
        )
    session.flush()
    from gridcare.billing import ledger

    ledger.apply_credit_note(session, note, bill, now.date())
    return note


# --- presenting ---------------------------------------------------------------------------------


def readings_of(bill: Bill) -> list[dict[str, Any]]:
    """The readings the bill used, as objects (value exact)."""
    fields = ("role", "meter", "di", "freeze_time", "value", "version", "source", "frame_ref", "multiplier")
    return [dict(zip(fields, row, strict=True)) for row in loads(bill.readings or "[]")]


def _line_dis(line: BillLine, tou: bool) -> tuple[str, ...] | None:
    if line.category == "energy":
        return _TOU_DIS[line.period or "flat"] if tou else ("05060101",)
    if line.category in ("tier", "surcharge", "sub", "pf"):
        return None  # all registers of the account
    return ()


def bill_json(session: Session, bill: Bill, *, lines: bool = True, trace: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": bill.id,
        "bill_no": bill.bill_no,
        "kind": bill.kind,
        "revision": bill.revision,
        "status": bill.status,
        "customer_no": bill.customer_no,
        "customer_class": bill.customer_class,
        "tariff_code": bill.tariff_code,
        "tariff_version_id": bill.tariff_version_id,
        "period": bill.period,
        "cycle": {"start": bill.cycle_start, "end": bill.cycle_end},
        "total_yuan": fen(bill.total_fen),
        "energy_kwh": _kwh(bill.energy_kwh),
        "estimated": bill.estimated,
        "anomalies": [a for a in bill.anomalies.split(",") if a],
        "corrects_bill_id": bill.corrects_bill_id,
        "reason": bill.reason,
        "due_date": bill.due_date,
        "run_id": bill.run_id,
        "released_by": bill.released_by,
        "reviewed_by": bill.reviewed_by,
        "review_note": bill.review_note,
    }
    if lines:
        rows = list(
            session.scalars(select(BillLine).where(BillLine.bill_id == bill.id).order_by(BillLine.seq))
        )
        readings = readings_of(bill) if trace else []
        tou = any(r["di"] != "05060101" for r in readings)
        out["lines"] = []
        for line in rows:
            entry: dict[str, Any] = {
                "seq": line.seq,
                "category": line.category,
                "period": line.period,
                "item": line.item,
                "kwh": _kwh(line.kwh),
                "price": None if line.price is None else line.price.normalize(),
                "amount_yuan": fen(line.amount_fen),
            }
            if trace:
                dis = _line_dis(line, tou)
                entry["readings"] = (
                    [i for i, r in enumerate(readings) if dis is None or r["di"] in dis] if dis != () else []
                )
            out["lines"].append(entry)
    if trace:
        out["determinants"] = _determinants(session, bill)
        out["readings"] = readings_of(bill)
    return out


def _determinants(session: Session, bill: Bill) -> dict[str, Any]:
    """The stored determinants; a vectorised bill stores only what is not in its columns (one tariff
    version, metered = main kWh), so the rest is filled in here."""
    stored: dict[str, Any] = loads(bill.determinants or "{}")
    if stored.get("path") != "vector":
        return stored
    version = session.get(TariffVersion, bill.tariff_version_id) if bill.tariff_version_id else None
    versions = (
        [
            {
                "id": version.id,
                "code": version.code,
                "effective_from": version.effective_from,
                "revision": version.revision,
            }
        ]
        if version is not None
        else []
    )
    days = (bill.cycle_end - bill.cycle_start).days + 1
    return {
        "path": "vector",
        "cycle": {"start": bill.cycle_start, "end": bill.cycle_end, "days": days},
        "tariff_versions": versions,
        "metered_kwh": stored.get("main_kwh"),
    } | stored


def _kwh(value: Decimal | None) -> Decimal | None:
    if value is None:
        return None
    normal = Decimal(value).quantize(Decimal("0.0001")).normalize()
    return normal.quantize(Decimal(1)) if normal == normal.to_integral_value() else normal
