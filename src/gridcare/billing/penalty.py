"""Late-payment penalties (电费违约金, 《供电营业规则》).

* Residential customers: 1‰ of the arrears per day.
* Other customers: 2‰ per day for the days in the year of the due date, 3‰ per day for the days
  after 31 December of that year (the part carried across the year end).
* Days run from the day after the due date through the payment day, both inclusive.
* Each rate segment is rounded half-up to the fen; an arrears item with at least one day late pays
  at least 1.00 yuan. Paid on or before the due date: 0 days, penalty 0.00.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gridcare.billing.errors import FieldProblem
from gridcare.billing.numbers import Day, Money, OutNum, PosNum, round_yuan

RESIDENTIAL_RATE = Decimal("0.001")
CURRENT_YEAR_RATE = Decimal("0.002")
CROSS_YEAR_RATE = Decimal("0.003")
MINIMUM_YUAN = Decimal("1.00")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Arrears(_In):
    amount_yuan: PosNum
    due_date: Day

    @model_validator(mode="after")
    def _whole_fen(self) -> Arrears:
        if self.amount_yuan != round_yuan(self.amount_yuan):
            raise FieldProblem("amount_yuan", "must be whole fen (at most two decimals)")
        return self


class PenaltyRequest(_In):
    customer_class: Literal["residential", "non_residential"]
    arrears: Annotated[list[Arrears], Field(min_length=1)]
    paid_on: Day


class PenaltySegment(BaseModel):
    """Days ``from_date``..``to_date`` (inclusive) at ``rate_per_day`` of the arrears."""

    model_config = ConfigDict(frozen=True)

    from_date: date = Field(serialization_alias="from")
    to_date: date = Field(serialization_alias="to")
    days: int
    rate_per_day: OutNum
    penalty_yuan: Money


class PenaltyLine(BaseModel):
    """One arrears item: its amount, the days at each rate and its penalty (minimum applied)."""

    model_config = ConfigDict(frozen=True)

    due_date: date
    amount_yuan: Money
    days: int
    segments: list[PenaltySegment]
    penalty_yuan: Money


class PenaltyResponse(BaseModel):
    model_config = ConfigDict(frozen=True)

    total_yuan: Money
    lines: list[PenaltyLine]


def penalty(request: PenaltyRequest) -> PenaltyResponse:
    """Penalties for each arrears item paid on ``request.paid_on``."""
    lines = [_line(request.customer_class, item, request.paid_on) for item in request.arrears]
    total = sum((line.penalty_yuan for line in lines), Decimal("0.00"))
    return PenaltyResponse(total_yuan=round_yuan(total), lines=lines)


def _line(customer_class: str, item: Arrears, paid_on: date) -> PenaltyLine:
    first = item.due_date + timedelta(days=1)
    segments = []
    if paid_on >= first:
        if customer_class == "residential":
            segments.append(_segment(item.amount_yuan, first, paid_on, RESIDENTIAL_RATE))
        else:
            year_end = date(item.due_date.year, 12, 31)
            if first <= year_end:
                segments.append(_segment(item.amount_yuan, first, min(paid_on, year_end), CURRENT_YEAR_RATE))
            if paid_on > year_end:
                start = max(first, year_end + timedelta(days=1))
                segments.append(_segment(item.amount_yuan, start, paid_on, CROSS_YEAR_RATE))
    days = sum(s.days for s in segments)
    amount = sum((s.penalty_yuan for s in segments), Decimal("0.00"))
    if days > 0:
        amount = max(amount, MINIMUM_YUAN)
    return PenaltyLine(
        due_date=item.due_date,
        amount_yuan=round_yuan(item.amount_yuan),
        days=days,
        segments=segments,
        penalty_yuan=amount,
    )


def _segment(amount: Decimal, first: date, last: date, rate: Decimal) -> PenaltySegment:
    days = (last - first).days + 1
    return PenaltySegment(
        from_date=first,
        to_date=last,
        days=days,
        rate_per_day=rate,
        penalty_yuan=round_yuan(amount * rate * days),
    )


def penalty_json(response: PenaltyResponse) -> dict[str, object]:
    """The response as the JSON object the CLI prints (``from``/``to`` keys)."""
    return response.model_dump(mode="python", by_alias=True)
