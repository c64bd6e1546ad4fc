"""The quote response: bill lines, total and the power-factor result (the external contract).

Line items are named ``"<中文> <english>"``, optionally followed by ``": <determinants>"``; see
``docs/billing-quote.md`` for the list. Amounts are yuan with exactly two decimals; ``kwh`` and
``price`` carry their exact digits without trailing zeros.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from gridcare.billing.numbers import Money, OutNum, plain, round_yuan


class QuoteLine(BaseModel):
    """One bill line; ``amount_yuan`` is already rounded half-up to the fen."""

    model_config = ConfigDict(frozen=True)

    item: str
    kwh: OutNum | None = Field(description="energy of the line [kWh]; null for non-energy lines")
    price: OutNum | None = Field(description="unit price [yuan/kWh, yuan/kVA·month or yuan/kW·month]")
    amount_yuan: Money

    @classmethod
    def priced(cls, item: str, kwh: Decimal | None, price: Decimal | None, amount: Decimal) -> QuoteLine:
        """A line whose amount is rounded half-up to the fen here (kWh and price printed plain)."""
        return cls(
            item=item,
            kwh=None if kwh is None else plain(kwh),
            price=None if price is None else plain(price),
            amount_yuan=round_yuan(amount),
        )


class QuoteResponse(BaseModel):
    """A computed bill: nothing is stored. ``total_yuan`` is the sum of the line amounts."""

    model_config = ConfigDict(frozen=True)

    total_yuan: Money
    lines: list[QuoteLine]
    power_factor: OutNum | None = Field(
        description="monthly power factor, two decimals; null if not assessed"
    )
    pf_adjustment_pct: OutNum | None = Field(description="力调 percentage: + surcharge, - reduction")

    @classmethod
    def of(
        cls, lines: list[QuoteLine], power_factor: Decimal | None, pf_adjustment_pct: Decimal | None
    ) -> QuoteResponse:
        total = sum((line.amount_yuan for line in lines), Decimal("0.00"))
        return cls(
            total_yuan=round_yuan(total),
            lines=lines,
            power_factor=power_factor,
            pf_adjustment_pct=None if pf_adjustment_pct is None else plain(pf_adjustment_pct),
        )
