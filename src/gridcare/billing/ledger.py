"""The payments ledger of every account: debts (released bills and their penalties), payments, refunds,
credits (credit notes and penalty waivers) and the allocations that tie money to debts.

* A payment comes from a channel (counter 柜台, bank 银行代收, mobile app 掌上电力, third party 第三方)
  with an idempotency key: ``(channel, key)`` is unique, so a retried payment returns the first one
  and posts nothing twice (a retry with another customer or amount is refused).
* Money on account is allocated at once, oldest bill first, penalty before principal
  (:mod:`gridcare.billing.allocation`); what is left stays on account (预收) and pays the next bill
  released. Allocations consume payments oldest first; refunds take unallocated money, newest
  payment first.
* A credit note cancels its bill's principal: first what is still open, then what was paid, whose
  allocations are reversed (the money returns to the payments and is allocated again).
* Ledger invariants, for every account (tested with hypothesis over random sequences)::

      bills + penalties - credits = allocated payments + balance        (balance = open debts)
      payments - refunds          = allocated payments + unallocated money

Every posting is audited; the caller commits (all or nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gridcare.archives.models import Customer
from gridcare.archives.queries import NotFound
from gridcare.archives.scope import scoped
from gridcare.billing.allocation import OpenBill, Step, penalty_fen, plan
from gridcare.billing.errors import BillingInputError
from gridcare.billing.models import Allocation, Bill, Credit, Debt, Payment, PenaltyWaiver, Refund
from gridcare.security import audit
from gridcare.security.authz import require
from gridcare.security.principal import Principal
from gridcare.security.roles import Permission
from gridcare.timeutil import now_beijing, to_beijing

CHANNELS = ("counter", "bank", "mobile", "third_party")
CHANNEL_LABELS = {"counter": "柜台", "bank": "银行代收", "mobile": "掌上电力", "third_party": "第三方代收"}
COLLECT_PERMISSION = Permission.COLLECT_PAYMENTS
"""Function group of money postings (收费: payments, refunds, bank files): a counter cashier (operator)
posts payments without being able to release bills. Penalty waivers and cost-control settings stay with
``release_bills`` (:data:`WAIVE_PERMISSION`)."""
WAIVE_PERMISSION = Permission.RELEASE_BILLS


MAX_YUAN = Decimal(10) ** 10


class IdempotencyConflict(ValueError):
    """The idempotency key was used before for a different posting."""


def yuan(value: int) -> Decimal:
    return Decimal(int(value)).scaleb(-2).quantize(Decimal("0.01"))


def to_fen(value: Any, field: str, *, allow_zero: bool = False) -> int:
    """An amount in yuan (int, Decimal or decimal text) as fen; at most two decimals, > 0."""
    if isinstance(value, bool | float):
        raise BillingInputError.at(field, "must be an exact number of yuan (not a binary float)")
    try:
        amount = Decimal(value) if isinstance(value, int | str) else value
    except InvalidOperation:
        raise BillingInputError.at(field, f"{value!r} is not a number") from None
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise BillingInputError.at(field, "must be a number of yuan")
    if abs(amount) >= MAX_YUAN:
        raise BillingInputError.at(field, f"must be less than {MAX_YUAN} yuan")
    if amount != amount.quantize(Decimal("0.01")):
        raise BillingInputError.at(field, "at most two decimals (whole fen)")
    if amount < 0 or (amount == 0 and not allow_zero):
        raise BillingInputError.at(field, "must be greater than 0")
    return int(amount.scaleb(2))


def customer_by_no(session: Session, principal: Principal, customer_no: str) -> Customer:
    customer = session.scalar(
        select(Customer).where(Customer.customer_no == customer_no, scoped(Customer.org_id, principal))
    )
    if customer is None:
        raise NotFound(f"customer {customer_no}")
    return customer


def _lock(session: Session, customer_id: int) -> None:
    """Serialise postings of one account (row lock on PostgreSQL; SQLite has one writer anyway)."""
    session.execute(select(Customer.id).where(Customer.id == customer_id).with_for_update())


# --- payments -----------------------------------------------------------------------------------


@dataclass
class PaymentResult:
    payment: Payment
    replayed: bool
    steps: list[Step]


def post_payment(
    session: Session,
    principal: Principal,
    customer_no: str,
    channel: str,
    idempotency_key: str,
    amount_yuan: Any,
    paid_on: date,
    external_ref: str = "",
    now: datetime | None = None,
) -> PaymentResult:
    """Post a payment and allocate it; a retry with the same channel and key returns the first one."""
    require(principal, COLLECT_PERMISSION)
    if channel not in CHANNELS:
        raise BillingInputError.at("channel", f"must be one of {', '.join(CHANNELS)}, got {channel!r}")
    key = (idempotency_key or "").strip()
    if not key or len(key) > 64:
        raise BillingInputError.at("idempotency_key", "required, at most 64 characters")
    amount = to_fen(amount_yuan, "amount_yuan")
    now = to_beijing(now or now_beijing())
    if paid_on > now.date():
        raise BillingInputError.at("paid_on", f"must not be after today ({now.date()})")
    customer = customer_by_no(session, principal, customer_no)
    existing = _existing_payment(session, channel, key, customer.id, amount)
    if existing is not None:
        return PaymentResult(existing, True, [])
    _lock(session, customer.id)
    payment = Payment(
        customer_id=customer.id,
        channel=channel,
        idempotency_key=key,
        amount_fen=amount,
        unallocated_fen=amount,
        paid_on=paid_on,
        external_ref=(external_ref or "")[:64],
        received_by=principal.username,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(payment)
    except IntegrityError:  # the same key posted concurrently
        existing = _existing_payment(session, channel, key, customer.id, amount)
        assert existing is not None
        return PaymentResult(existing, True, [])
    steps = allocate(session, customer.id, paid_on, now)
    audit.record(
        session,
        principal,
        "billing.payment",
        f"customer {customer.customer_no}",
        detail={"payment_id": payment.id, "channel": channel, "amount_yuan": str(yuan(amount)), "key": key},
        now=now,
    )
    from gridcare.billing import prepaid

    prepaid.on_payment(session, customer.id, paid_on, now, payment.id)
    return PaymentResult(payment, False, steps)


def _existing_payment(
    session: Session, channel: str, key: str, customer_id: int, amount: int
) -> Payment | None:
    found = session.scalar(select(Payment).where(Payment.channel == channel, Payment.idempotency_key == key))
    if found is None:
        return None
    if (found.customer_id, found.amount_fen) != (customer_id, amount):
        raise IdempotencyConflict(
            f"idempotency_key: {key!r} was used for payment {found.id} "
            f"({yuan(found.amount_fen)} yuan, another posting); use a new key"
        )
    return found


# --- allocation ---------------------------------------------------------------------------------


def _remaining(debt: Debt) -> int:
    return debt.amount_fen - debt.credited_fen - debt.allocated_fen


def _waivers(session: Session, bill_ids: list[int]) -> dict[int, list[tuple[PenaltyWaiver, int | None]]]:
    """Per bill: its waivers in order with what each may still credit (None: unlimited)."""
    if not bill_ids:
        return {}
    used = dict(
        (row[0], row[1])
        for row in session.execute(
            select(Credit.waiver_id, func.sum(Credit.amount_fen))
            .where(Credit.waiver_id.in_(select(PenaltyWaiver.id).where(PenaltyWaiver.bill_id.in_(bill_ids))))
            .group_by(Credit.waiver_id)
        ).all()
    )
    out: dict[int, list[tuple[PenaltyWaiver, int | None]]] = {}
    for waiver in session.scalars(
        select(PenaltyWaiver).where(PenaltyWaiver.bill_id.in_(bill_ids)).order_by(PenaltyWaiver.id)
    ):
        left = None if waiver.amount_fen is None else waiver.amount_fen - int(used.get(waiver.id) or 0)
        if left is None or left > 0:
            out.setdefault(waiver.bill_id, []).append((waiver, left))
    return out


def _waiver_budget(entries: list[tuple[PenaltyWaiver, int | None]]) -> int | None:
    if any(left is None for _, left in entries):
        return None
    return sum(left or 0 for _, left in entries)


def _credit_waivers(
    session: Session,
    debt: Debt,
    entries: list[tuple[PenaltyWaiver, int | None]],
    amount: int,
    on_date: date,
    now: datetime,
) -> None:
    for index, (waiver, left) in enumerate(entries):
        if amount <= 0:
            break
        take = amount if left is None else min(left, amount)
        if take <= 0:
            continue
        session.add(
            Credit(
                debt_id=debt.id,
                kind="waiver",
                waiver_id=waiver.id,
                amount_fen=take,
                on_date=on_date,
                created_at=now,
            )
        )
        debt.credited_fen += take
        entries[index] = (waiver, None if left is None else left - take)
        amount -= take


def _pay(
    session: Session, debt: Debt, payments: list[Payment], amount: int, on_date: date, now: datetime
) -> None:
    for payment in payments:
        if amount <= 0:
            return
        take = min(payment.unallocated_fen, amount)
        if take <= 0:
            continue
        session.add(
            Allocation(
                payment_id=payment.id, debt_id=debt.id, amount_fen=take, on_date=on_date, created_at=now
            )
        )
        payment.unallocated_fen -= take
        debt.allocated_fen += take
        amount -= take
    if amount:
        raise AssertionError("allocation plan exceeds the money on account")


def allocate(session: Session, customer_id: int, on_date: date, now: datetime | None = None) -> list[Step]:
    """Allocate the account's unallocated money to its open debts (see the module docstring)."""
    now = to_beijing(now or now_beijing())
    payments = list(
        session.scalars(
            select(Payment)
            .where(Payment.customer_id == customer_id, Payment.unallocated_fen > 0)
            .order_by(Payment.paid_on, Payment.id)
        )
    )
    available = sum(p.unallocated_fen for p in payments)
    if available <= 0:
        return []
    rows = session.execute(
        select(Debt, Bill.customer_class)
        .join(Bill, Bill.id == Debt.bill_id)
        .where(
            Debt.customer_id == customer_id,
            Debt.kind == "principal",
            Debt.amount_fen - Debt.credited_fen - Debt.allocated_fen > 0,
        )
    ).all()
    if not rows:
        return []
    debts = {debt.bill_id: debt for debt, _ in rows}
    waivers = _waivers(session, list(debts))
    open_bills = [
        OpenBill(
            debt.bill_id,
            _remaining(debt),
            debt.due_date,
            cls == "residential",
            _waiver_budget(waivers.get(debt.bill_id, [])),
        )
        for debt, cls in rows
    ]
    steps = plan(available, open_bills, on_date)
    for step in steps:
        debt = debts[step.bill_id]
        if step.penalty_fen > 0:
            seq = session.scalar(
                select(func.max(Debt.seq)).where(Debt.bill_id == step.bill_id, Debt.kind == "penalty")
            )
            penalty_debt = Debt(
                customer_id=customer_id,
                bill_id=step.bill_id,
                kind="penalty",
                seq=(seq or 0) + 1,
                amount_fen=step.penalty_fen,
                credited_fen=0,
                allocated_fen=0,
                due_date=on_date,
                created_on=on_date,
                created_at=now,
            )
            session.add(penalty_debt)
            session.flush()
            if step.waived_fen:
                _credit_waivers(
                    session, penalty_debt, waivers.get(step.bill_id, []), step.waived_fen, on_date, now
                )
            _pay(session, penalty_debt, payments, step.penalty_paid_fen, on_date, now)
        _pay(session, debt, payments, step.principal_fen, on_date, now)
    session.flush()
    return steps


def allocate_waiting_credit(session: Session, customer_ids: list[int] | None, on_date: date) -> int:
    """Allocate money on account for every account that has both money waiting and open debts
    (after a release). Returns the number of accounts touched."""
    open_debt = exists().where(
        Debt.customer_id == Payment.customer_id,
        Debt.amount_fen - Debt.credited_fen - Debt.allocated_fen > 0,
    )
    stmt = select(Payment.customer_id).where(Payment.unallocated_fen > 0, open_debt).distinct()
    if customer_ids is not None and len(customer_ids) < 10_000:
        stmt = stmt.where(Payment.customer_id.in_(customer_ids))
    touched = 0
    for cid in list(session.scalars(stmt)):
        _lock(session, cid)
        if allocate(session, cid, on_date):
            touched += 1
    return touched


# --- credits: credit notes and waivers ----------------------------------------------------------


def apply_credit_note(session: Session, note: Bill, original: Bill, on_date: date) -> None:
    """Credit the original bill's principal by the credit note; reverse allocations where the bill had
    been paid, then allocate the freed money again."""
    amount = -note.total_fen
    if amount <= 0:
        return
    _lock(session, original.customer_id)
    debt = session.scalar(select(Debt).where(Debt.bill_id == original.id, Debt.kind == "principal"))
    if debt is None:
        return
    now = now_beijing()
    excess = amount - min(amount, _remaining(debt))
    if excess > 0:
        allocations = session.scalars(
            select(Allocation).where(Allocation.debt_id == debt.id).order_by(Allocation.id.desc())
        ).all()
        net: dict[int, int] = {}
        for a in allocations:
            net[a.payment_id] = net.get(a.payment_id, 0) + a.amount_fen
        for a in allocations:  # newest payments get their money back first
            if excess <= 0:
                break
            back = min(net.get(a.payment_id, 0), excess)
            if back <= 0:
                continue
            net[a.payment_id] -= back
            session.add(
                Allocation(
                    payment_id=a.payment_id,
                    debt_id=debt.id,
                    amount_fen=-back,
                    on_date=on_date,
                    created_at=now,
                )
            )
            payment = session.get(Payment, a.payment_id)
            assert payment is not None
            payment.unallocated_fen += back
            debt.allocated_fen -= back
            excess -= back
    session.add(
        Credit(
            debt_id=debt.id,
            kind="credit_note",
            credit_note_id=note.id,
            amount_fen=amount,
            on_date=on_date,
            created_at=now,
        )
    )
    debt.credited_fen += amount
    session.flush()
    allocate(session, original.customer_id, on_date, now)


def waive(
    session: Session,
    principal: Principal,
    bill_id: int,
    reason: str,
    amount_yuan: Any = None,
    now: datetime | None = None,
) -> PenaltyWaiver:
    """Waive the late-payment penalties of a released bill (all, or up to ``amount_yuan``): open
    penalties are credited now, penalties assessed later are credited when assessed. Needs the
    collection permission and a reason; audited."""
    from gridcare.billing.bills import get_bill

    require(principal, WAIVE_PERMISSION)
    if not reason.strip():
        raise BillingInputError.at("reason", "say why the penalty is waived (减免原因)")
    amount = None if amount_yuan is None else to_fen(amount_yuan, "amount_yuan")
    now = to_beijing(now or now_beijing())
    bill = get_bill(session, principal, bill_id)
    if bill.kind != "bill" or bill.status != "released":
        raise BillingInputError.at("bill_id", f"bill {bill.bill_no} is not a released bill")
    _lock(session, bill.customer_id)
    waiver = PenaltyWaiver(
        bill_id=bill.id,
        customer_id=bill.customer_id,
        amount_fen=amount,
        reason=reason[:255],
        created_by=principal.username,
        created_at=now,
    )
    session.add(waiver)
    session.flush()
    entries = [(waiver, amount)]
    for debt in session.scalars(
        select(Debt).where(Debt.bill_id == bill.id, Debt.kind == "penalty").order_by(Debt.seq)
    ):
        left = _remaining(debt)
        if left > 0:
            budget = _waiver_budget(entries)
            _credit_waivers(
                session, debt, entries, left if budget is None else min(left, budget), now.date(), now
            )
    allocate(session, bill.customer_id, now.date(), now)  # money held back by the penalty may now pay
    audit.record(
        session,
        principal,
        "billing.waiver",
        f"bill {bill.bill_no}",
        detail={
            "waiver_id": waiver.id,
            "amount_yuan": None if amount is None else str(yuan(amount)),
            "reason": reason[:200],
        },
        now=now,
    )
    return waiver


# --- refunds ------------------------------------------------------------------------------------


def refund(
    session: Session,
    principal: Principal,
    customer_no: str,
    idempotency_key: str,
    amount_yuan: Any,
    reason: str,
    now: datetime | None = None,
) -> tuple[Refund, bool]:
    """Pay back money on account (unallocated), newest payment first. Idempotent on the key."""
    require(principal, COLLECT_PERMISSION)
    key = (idempotency_key or "").strip()
    if not key or len(key) > 64:
        raise BillingInputError.at("idempotency_key", "required, at most 64 characters")
    if not reason.strip():
        raise BillingInputError.at("reason", "say why the money is refunded (退费原因)")
    amount = to_fen(amount_yuan, "amount_yuan")
    now = to_beijing(now or now_beijing())
    customer = customer_by_no(session, principal, customer_no)
    found = session.scalar(select(Refund).where(Refund.idempotency_key == key))
    if found is not None:
        if (found.customer_id, found.amount_fen) != (customer.id, amount):
            raise IdempotencyConflict(
                f"idempotency_key: {key!r} was used for refund {found.id}; use a new key"
            )
        return found, True
    _lock(session, customer.id)
    payments = list(
        session.scalars(
            select(Payment)
            .where(Payment.customer_id == customer.id, Payment.unallocated_fen > 0)
            .order_by(Payment.paid_on.desc(), Payment.id.desc())
        )
    )
    on_account = sum(p.unallocated_fen for p in payments)
    if amount > on_account:
        raise BillingInputError.at(
            "amount_yuan", f"{yuan(amount)} yuan exceeds the money on account ({yuan(on_account)} yuan)"
        )
    row = Refund(
        customer_id=customer.id,
        idempotency_key=key,
        amount_fen=amount,
        reason=reason[:255],
        created_by=principal.username,
        created_on=now.date(),
        created_at=now,
    )
    session.add(row)
    session.flush()
    left = amount
    for payment in payments:
        if left <= 0:
            break
        take = min(payment.unallocated_fen, left)
        session.add(
            Allocation(
                payment_id=payment.id, refund_id=row.id, amount_fen=take, on_date=now.date(), created_at=now
            )
        )
        payment.unallocated_fen -= take
        left -= take
    session.flush()
    audit.record(
        session,
        principal,
        "billing.refund",
        f"customer {customer.customer_no}",
        detail={"refund_id": row.id, "amount_yuan": str(yuan(amount)), "reason": reason[:200]},
        now=now,
    )
    return row, False


# --- reading the ledger -------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerTotals:
    """An account's ledger, each figure from its own table [fen]."""

    bills: int
    penalties: int
    credits: int
    allocated: int
    balance: int
    payments: int
    refunds: int
    unallocated: int

    def balanced(self) -> bool:
        return (
            self.bills + self.penalties - self.credits == self.allocated + self.balance
            and self.payments - self.refunds == self.allocated + self.unallocated
        )

    def to_json(self) -> dict[str, Decimal]:
        return {name: yuan(getattr(self, name)) for name in self.__dataclass_fields__}


def totals(session: Session, customer_id: int) -> LedgerTotals:
    def one(stmt: Any) -> int:
        return int(session.scalar(stmt) or 0)

    released = and_(Bill.customer_id == customer_id, Bill.status == "released")
    return LedgerTotals(
        bills=one(select(func.sum(Bill.total_fen)).where(released, Bill.kind == "bill")),
        penalties=one(
            select(func.sum(Debt.amount_fen)).where(Debt.customer_id == customer_id, Debt.kind == "penalty")
        ),
        credits=-one(select(func.sum(Bill.total_fen)).where(released, Bill.kind == "credit_note"))
        + one(
            select(func.sum(Credit.amount_fen))
            .join(Debt, Debt.id == Credit.debt_id)
            .where(Debt.customer_id == customer_id, Credit.kind == "waiver")
        ),
        allocated=one(
            select(func.sum(Allocation.amount_fen))
            .join(Payment, Payment.id == Allocation.payment_id)
            .where(Payment.customer_id == customer_id, Allocation.debt_id.isnot(None))
        ),
        balance=one(
            select(func.sum(Debt.amount_fen - Debt.credited_fen - Debt.allocated_fen)).where(
                Debt.customer_id == customer_id
            )
        ),
        payments=one(select(func.sum(Payment.amount_fen)).where(Payment.customer_id == customer_id)),
        refunds=one(select(func.sum(Refund.amount_fen)).where(Refund.customer_id == customer_id)),
        unallocated=one(select(func.sum(Payment.unallocated_fen)).where(Payment.customer_id == customer_id)),
    )


def accrued_penalty(session: Session, customer_id: int, as_of: date) -> int:
    """Penalty the open principal would carry if paid in full on ``as_of`` (not booked) [fen]."""
    rows = session.execute(
        select(Debt, Bill.customer_class)
        .join(Bill, Bill.id == Debt.bill_id)
        .where(Debt.customer_id == customer_id, Debt.kind == "principal")
    ).all()
    return sum(
        penalty_fen(cls == "residential", _remaining(d), d.due_date, as_of)
        for d, cls in rows
        if _remaining(d) > 0
    )


def statement(
    session: Session, principal: Principal, customer_no: str, as_of: date | None = None
) -> dict[str, Any]:
    """An account's ledger: totals, open debts, payments, refunds and credits (read_data, in scope)."""
    customer = customer_by_no(session, principal, customer_no)
    as_of = as_of or now_beijing().date()
    t = totals(session, customer.id)
    debts = session.execute(
        select(Debt, Bill.bill_no, Bill.period)
        .join(Bill, Bill.id == Debt.bill_id)
        .where(Debt.customer_id == customer.id)
        .order_by(Debt.due_date, Debt.bill_id, Debt.kind.desc(), Debt.seq)
    ).all()
    payments = session.scalars(
        select(Payment).where(Payment.customer_id == customer.id).order_by(Payment.id)
    ).all()
    refunds = session.scalars(
        select(Refund).where(Refund.customer_id == customer.id).order_by(Refund.id)
    ).all()
    credits = session.execute(
        select(Credit, Debt.bill_id)
        .join(Debt, Debt.id == Credit.debt_id)
        .where(Debt.customer_id == customer.id)
        .order_by(Credit.id)
    ).all()
    return {
        "customer_no": customer.customer_no,
        "as_of": as_of,
        "totals": t.to_json(),
        "balanced": t.balanced(),
        "arrears_yuan": yuan(t.balance),
        "on_account_yuan": yuan(t.unallocated),
        "accrued_penalty_yuan": yuan(accrued_penalty(session, customer.id, as_of)),
        "debts": [
            {
                "id": d.id,
                "bill_no": no,
                "period": period,
                "kind": d.kind,
                "amount_yuan": yuan(d.amount_fen),
                "credited_yuan": yuan(d.credited_fen),
                "allocated_yuan": yuan(d.allocated_fen),
                "remaining_yuan": yuan(_remaining(d)),
                "due_date": d.due_date,
            }
            for d, no, period in debts
        ],
        "payments": [
            {
                "id": p.id,
                "channel": p.channel,
                "idempotency_key": p.idempotency_key,
                "amount_yuan": yuan(p.amount_fen),
                "unallocated_yuan": yuan(p.unallocated_fen),
                "paid_on": p.paid_on,
                "external_ref": p.external_ref,
            }
            for p in payments
        ],
        "refunds": [
            {"id": r.id, "amount_yuan": yuan(r.amount_fen), "reason": r.reason, "created_on": r.created_on}
            for r in refunds
        ],
        "credits": [
            {
                "id": c.id,
                "bill_id": bill_id,
                "kind": c.kind,
                "amount_yuan": yuan(c.amount_fen),
                "on_date": c.on_date,
            }
            for c, bill_id in credits
        ],
    }


def payment_json(result: PaymentResult) -> dict[str, Any]:
    p = result.payment
    return {
        "payment_id": p.id,
        "replayed": result.replayed,
        "channel": p.channel,
        "idempotency_key": p.idempotency_key,
        "amount_yuan": yuan(p.amount_fen),
        "unallocated_yuan": yuan(p.unallocated_fen),
        "paid_on": p.paid_on,
        "allocated": [
            {
                "bill_id": s.bill_id,
                "penalty_yuan": yuan(s.penalty_fen),
                "waived_yuan": yuan(s.waived_fen),
                "penalty_paid_yuan": yuan(s.penalty_paid_fen),
                "principal_yuan": yuan(s.principal_fen),
            }
            for s in result.steps
        ],
    }
