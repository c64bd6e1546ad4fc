"""Allocation of money to debts, pure: oldest bill first, and within a bill its late-payment penalty
before its principal (先陈欠后新欠，先违约金后电费).

Bills are taken in order of due date, then bill id. For an overdue bill (payment day after the due
date) the penalty is computed with :func:`gridcare.billing.penalty.penalty` on the principal being
paid now, from the day after the due date through the payment day (1‰ a day residential; 2‰ in the
year of the due date and 3‰ after it for other customers; at least 1.00 yuan). A waiver on the bill
credits the penalty first; the rest of the penalty is paid before the principal. When the money does
not cover a bill's whole principal plus its penalty, the largest principal ``p`` with
``p + penalty(p) <= money`` is paid; if that is nothing, allocation stops there (younger bills are not
paid before older ones). Amounts are integer fen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache

from gridcare.billing.penalty import Arrears, PenaltyRequest, penalty


@dataclass(frozen=True)
class OpenBill:
    """A bill's open principal: ``remaining_fen`` still owed, due on ``due_date``; ``waiver_left_fen`` is
    what waivers may still credit (None: unlimited)."""

    bill_id: int
    remaining_fen: int
    due_date: date
    residential: bool
    waiver_left_fen: int | None = 0


@dataclass(frozen=True)
class Step:
    """What one bill gets: a penalty assessed (``penalty_fen``), of which ``waived_fen`` is credited by
    waivers and ``penalty_paid_fen`` paid, and ``principal_fen`` of principal paid."""

    bill_id: int
    penalty_fen: int
    waived_fen: int
    penalty_paid_fen: int
    principal_fen: int

    @property
    def paid_fen(self) -> int:
        return self.penalty_paid_fen + self.principal_fen


@lru_cache(maxsize=65536)
def penalty_fen(residential: bool, amount_fen: int, due_date: date, paid_on: date) -> int:
    """Late-payment penalty [fen] on ``amount_fen`` paid on ``paid_on`` (0 when not overdue)."""
    if amount_fen <= 0 or paid_on <= due_date:
        return 0
    request = PenaltyRequest(
        customer_class="residential" if residential else "non_residential",
        arrears=[Arrears(amount_yuan=Decimal(amount_fen).scaleb(-2), due_date=due_date)],
        paid_on=paid_on,
    )
    return int(penalty(request).total_yuan.scaleb(2))


def _cost(bill: OpenBill, principal: int, paid_on: date, waiver_left: int | None) -> tuple[int, int, int]:
    pen = penalty_fen(bill.residential, principal, bill.due_date, paid_on)
    waived = pen if waiver_left is None else min(pen, waiver_left)
    return pen, waived, pen - waived


def plan(available_fen: int, bills: list[OpenBill], paid_on: date) -> list[Step]:
    """How ``available_fen`` pays ``bills`` on ``paid_on`` (see the module docstring)."""
    steps: list[Step] = []
    for bill in sorted(bills, key=lambda b: (b.due_date, b.bill_id)):
        if available_fen <= 0:
            break
        if bill.remaining_fen <= 0:
            continue
        waiver = bill.waiver_left_fen
        pen, waived, net = _cost(bill, bill.remaining_fen, paid_on, waiver)
        if bill.remaining_fen + net <= available_fen:
            paid = bill.remaining_fen
        else:
            low, high = 0, bill.remaining_fen - 1  # largest p with p + net(p) <= available
            while low < high:
                mid = (low + high + 1) // 2
                if mid + _cost(bill, mid, paid_on, waiver)[2] <= available_fen:
                    low = mid
                else:
                    high = mid - 1
            paid = low
            if paid == 0:
                break
            pen, waived, net = _cost(bill, paid, paid_on, waiver)
        steps.append(Step(bill.bill_id, pen, waived, net, paid))
        available_fen -= paid + net
        if paid < bill.remaining_fen:
            break  # the rest stays on account: younger bills wait for this one
    return steps
