"""Read models of the self-service pages: one customer's own 户, bills, ledger, prepaid balance and usage.

A customer account's principal has no organisation scope and no permission (it may not call the staff
services). :func:`owner_of` resolves the account's own customer and makes :attr:`Owner.reader`: read_data
limited to that customer's organisation, used only here and only together with the customer's own number
or id, so that the staff read services (those of the customer-360 page: :func:`gridcare.web.money.account`,
:func:`gridcare.billing.prepaid.history`, :func:`gridcare.web.reads.customer_points`) serve the owner's data
and nothing else. A bill of anyone else, or one not released yet, is "not found".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from gridcare.archives.models import Customer, Organisation
from gridcare.archives.queries import NotFound
from gridcare.billing import bills as bill_service
from gridcare.billing import prepaid
from gridcare.billing.models import Bill
from gridcare.billing.periods import KIND_CREDIT, RELEASED
from gridcare.config import Settings
from gridcare.security.models import AccountKind, User
from gridcare.security.principal import Principal
from gridcare.security.roles import Permission
from gridcare.storage.lake import ReadingsLake
from gridcare.web import money, reads
from gridcare.web.energy import MeterSpan, customer_daily_energy, customer_monthly_energy

ZERO = Decimal("0.00")
BILLS_SHOWN = 36
"""Bills listed (three years of monthly bills)."""


@dataclass(frozen=True)
class Owner:
    """The logged-in customer's own 户 and the read principal limited to it (see the module docstring)."""

    customer: Customer
    org: Organisation
    reader: Principal


def owner_of(session: Session, principal: Principal) -> Owner | None:
    """The customer of a customer account; None for a staff account (or an account without its 户)."""
    if principal.user_id is None:
        return None
    user = session.get(User, principal.user_id)
    if user is None or user.kind != AccountKind.CUSTOMER or user.customer_id is None:
        return None
    customer = session.get(Customer, user.customer_id)
    org = session.get(Organisation, customer.org_id) if customer is not None else None
    if customer is None or org is None:
        return None
    reader = Principal(
        username=principal.username,
        org_paths=(org.path,),
        permissions=frozenset({Permission.READ_DATA.value}),
        user_id=principal.user_id,
        roles=principal.roles,
        org_id=customer.org_id,
        customer_no=customer.customer_no,
        session_id=principal.session_id,
        source_address=principal.source_address,
    )
    return Owner(customer, org, reader)


@dataclass(frozen=True)
class BillRow:
    """A released bill as the customer sees it: ``status`` from its debts (paid, unpaid, partly_paid,
    overdue), or credited (cancelled by a credit note) / credit_note. Amounts in yuan."""

    bill: Bill
    status: str
    amount_yuan: Decimal
    paid_yuan: Decimal = ZERO
    credited_yuan: Decimal = ZERO
    remaining_yuan: Decimal = ZERO
    """Open principal."""
    penalty_yuan: Decimal = ZERO
    """Penalties booked on the bill (paid or not)."""
    penalty_open_yuan: Decimal = ZERO
    due_date: date | None = None

    @property
    def open_yuan(self) -> Decimal:
        return self.remaining_yuan + self.penalty_open_yuan


def bill_rows(
    bills: list[Bill], debts: list[dict[str, Any]], credited: set[int], today: date
) -> list[BillRow]:
    """Customer-facing rows of released bills from the ledger's debts (:func:`ledger.statement`)."""
    by_bill: dict[str, list[dict[str, Any]]] = {}
    for debt in debts:
        by_bill.setdefault(debt["bill_no"], []).append(debt)
    rows = []
    for bill in bills:
        amount = bill_service.fen(bill.total_fen)
        if bill.kind == KIND_CREDIT:
            rows.append(BillRow(bill, "credit_note", amount, due_date=bill.due_date))
            continue
        mine = by_bill.get(bill.bill_no, [])
        principal = [d for d in mine if d["kind"] == "principal"]
        penalties = [d for d in mine if d["kind"] == "penalty"]
        paid = sum((d["allocated_yuan"] for d in principal), ZERO)
        credited_yuan = sum((d["credited_yuan"] for d in principal), ZERO)
        remaining = sum((d["remaining_yuan"] for d in principal), ZERO)
        penalty = sum((d["amount_yuan"] - d["credited_yuan"] for d in penalties), ZERO)
        penalty_open = sum((d["remaining_yuan"] for d in penalties), ZERO)
        if bill.id in credited:
            status = "credited"
        elif remaining + penalty_open <= 0:
            status = "paid"
        elif bill.due_date is not None and bill.due_date < today:
            status = "overdue"
        elif paid > 0:
            status = "partly_paid"
        else:
            status = "unpaid"
        rows.append(
            BillRow(
                bill,
                status,
                amount,
                paid,
                credited_yuan,
                remaining,
                penalty,
                penalty_open,
                principal[0]["due_date"] if principal else bill.due_date,
            )
        )
    return rows


@dataclass
class Ledger:
    """Bills (latest period first) and the ledger statement of the owner."""

    rows: list[BillRow]
    statement: dict[str, Any]
    open_debts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def latest(self) -> BillRow | None:
        return next((r for r in self.rows if r.bill.kind != KIND_CREDIT), None)

    @property
    def earliest_due(self) -> date | None:
        return min((d["due_date"] for d in self.open_debts), default=None)


def ledger_of(session: Session, owner: Owner, today: date) -> Ledger:
    """The owner's released bills with their status, and the ledger (open debts, payments, refunds)."""
    account = money.account(session, owner.reader, owner.customer.customer_no, limit=BILLS_SHOWN * 2)
    released = [b for b in account.bills if b.status == RELEASED][:BILLS_SHOWN]
    credited = bill_service.credited_bill_ids(session, [b.id for b in released])
    statement = account.statement
    rows = bill_rows(released, statement["debts"], credited, today)
    open_debts = [d for d in statement["debts"] if d["remaining_yuan"] > 0]
    return Ledger(rows, statement, open_debts)


def own_bill(session: Session, owner: Owner, bill_id: int) -> Bill:
    """One of the owner's released bills; :class:`NotFound` for any other id (another customer's bill, a
    draft), exactly like a missing one."""
    try:
        bill = bill_service.get_bill(session, owner.reader, bill_id)
    except NotFound:
        raise NotFound(f"bill {bill_id}") from None
    if bill.customer_id != owner.customer.id or bill.status != RELEASED:
        raise NotFound(f"bill {bill_id}")
    return bill


def bill_detail(session: Session, owner: Owner, bill: Bill, today: date) -> dict[str, Any]:
    """The bill's lines and readings (:func:`gridcare.billing.bills.bill_json`) and its payment state."""
    detail = bill_service.bill_json(session, bill, lines=True, trace=True)
    ledger = ledger_of(session, owner, today)
    row = next((r for r in ledger.rows if r.bill.id == bill.id), None)
    if row is None:  # older than the bills listed: its own row
        credited = bill_service.credited_bill_ids(session, [bill.id])
        row = bill_rows([bill], ledger.statement["debts"], credited, today)[0]
    corrects = session.get(Bill, bill.corrects_bill_id) if bill.corrects_bill_id else None
    return {"json": detail, "row": row, "corrects": corrects}


def prepaid_state(session: Session, owner: Owner) -> dict[str, Any] | None:
    """The prepaid (费控) account and its latest balance; None when the customer is not prepaid.

    The latest balance is that of the newest day: the balance after the day's last payment when one was
    posted after the daily calculation, else the daily one (None before the first calculation)."""
    found = prepaid.history(session, owner.reader, owner.customer.customer_no, limit=20)
    if not found["prepaid"] or not found["enabled"]:
        return None
    events = found["history"]
    latest = None
    if events:
        newest = [e for e in events if e["day"] == events[0]["day"]]
        latest = next((e for e in newest if e["kind"] == "payment"), newest[0])
    return {**found, "latest": latest}


def spans_of(session: Session, owner: Owner) -> list[MeterSpan]:
    """The owner's meters with the days each was in use."""
    return [
        MeterSpan(r.meter.address, r.meter.multiplier, r.point.valid_from, r.point.valid_to)
        for r in reads.customer_points(session, owner.customer.id)
    ]


def daily_usage(
    session: Session, settings: Settings, owner: Owner, today: date, days: int = 30
) -> dict[str, Any]:
    """Daily consumption [kWh] of the ``days`` business days up to yesterday."""
    spans = spans_of(session, owner)
    series = customer_daily_energy(ReadingsLake(settings.lake_dir), spans, today - timedelta(days=1), days)
    values = [p["kwh"] for p in series if p["kwh"] is not None]
    return {
        "unit": "kWh",
        "dates": [p["date"] for p in series],
        "kwh": [p["kwh"] for p in series],
        "total_kwh": round(sum(values), 2) if values else None,
        "days_with_data": len(values),
        "meters": sorted({s.address for s in spans}),
    }


def monthly_usage(
    session: Session, settings: Settings, owner: Owner, today: date, months: int = 12
) -> dict[str, Any]:
    """Consumption [kWh] of the ``months`` complete calendar months before this one."""
    spans = spans_of(session, owner)
    last_month = today.replace(day=1) - timedelta(days=1)
    series = customer_monthly_energy(ReadingsLake(settings.lake_dir), spans, last_month, months)
    values = [p["kwh"] for p in series if p["kwh"] is not None]
    return {
        "unit": "kWh",
        "months": [p["month"] for p in series],
        "kwh": [p["kwh"] for p in series],
        "total_kwh": round(sum(values), 2) if values else None,
        "months_with_data": len(values),
        "meters": sorted({s.address for s in spans}),
    }
