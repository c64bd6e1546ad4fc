"""Read models of the money panels: arrears in scope (home dashboard) and one account's bills, payments and
open debts (customer 360), from the billing ledger. Amounts are yuan (Decimal, two decimals).

Arrears = what released bills and their penalties still ask for: the sum over open debts of
amount - credited - allocated [fen]. Nothing here writes, and every query is limited to the scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gridcare.archives.models import Customer
from gridcare.archives.scope import scoped
from gridcare.billing import bills as bill_service
from gridcare.billing import ledger
from gridcare.billing.models import Bill, Debt
from gridcare.security.principal import Principal

TOP_DEBTORS = 5


@dataclass(frozen=True)
class Debtor:
    customer_no: str
    name: str
    amount_yuan: Decimal
    """Open debts of the account [yuan]."""


@dataclass(frozen=True)
class Arrears:
    """Open receivables in scope: ``amount_yuan`` owed by ``customers`` accounts, largest first."""

    amount_yuan: Decimal
    customers: int
    debts: int
    top: list[Debtor] = field(default_factory=list)


def arrears(session: Session, principal: Principal, top: int = TOP_DEBTORS) -> Arrears | None:
    """Arrears of the customers in scope; None while no bill has been released in scope (no ledger yet)."""
    in_scope = scoped(Customer.org_id, principal)
    has_ledger = session.scalar(
        select(func.count(Debt.id)).join(Customer, Customer.id == Debt.customer_id).where(in_scope)
    )
    if not has_ledger:
        return None
    remaining = Debt.amount_fen - Debt.credited_fen - Debt.allocated_fen
    per_customer = (
        select(
            Customer.customer_no,
            Customer.name,
            func.sum(remaining).label("open_fen"),
            func.count(Debt.id).label("debts"),
        )
        .join(Customer, Customer.id == Debt.customer_id)
        .where(in_scope, remaining > 0)
        .group_by(Customer.id, Customer.customer_no, Customer.name)
    )
    rows = session.execute(per_customer.order_by(func.sum(remaining).desc(), Customer.customer_no)).all()
    total = sum(int(r.open_fen) for r in rows)
    return Arrears(
        amount_yuan=ledger.yuan(total),
        customers=len(rows),
        debts=sum(int(r.debts) for r in rows),
        top=[Debtor(r.customer_no, r.name, ledger.yuan(int(r.open_fen))) for r in rows[:top]],
    )


@dataclass(frozen=True)
class Account:
    """One customer's bills (latest period first) and ledger (:func:`gridcare.billing.ledger.statement`)."""

    bills: list[Bill]
    statement: dict[str, Any]

    @property
    def empty(self) -> bool:
        """No bill and no payment yet (billing not live for this account)."""
        return not self.bills and not self.statement["payments"] and not self.statement["debts"]


def account(session: Session, principal: Principal, customer_no: str, limit: int = 24) -> Account:
    """Bills and the ledger of an account in scope (NotFound when it is not)."""
    found = bill_service.list_bills(session, principal, customer_no=customer_no, limit=limit)
    return Account(bills=found, statement=ledger.statement(session, principal, customer_no))


def bill_total_yuan(bill: Bill) -> Decimal:
    """The bill's total [yuan] (credit notes are negative)."""
    return ledger.yuan(bill.total_fen)
