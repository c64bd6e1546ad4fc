"""Splitting a billing cycle by dates and splitting quantities by days.

Rules (documented in docs/billing-quote.md):

* A cycle is cut into segments at every change date inside it; a change dated ``d`` starts a new
  segment on ``d``. Segments are whole days, both ends inclusive.
* A quantity is split over segments (or periods) in proportion to weights (days, or kWh) by rounding
  the running total half-up to whole units: part ``i`` = round(Q x W_1..i / W) - round(Q x W_1..i-1 / W),
  the last part takes the remainder, so the parts always add up to ``Q`` exactly and are never negative.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from gridcare.billing.numbers import ZERO, round_places


@dataclass(frozen=True)
class Span:
    """Days ``first`` through ``last`` inclusive."""

    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def split_cycle(first: date, last: date, starts: Iterable[date]) -> list[Span]:
    """``[first, last]`` cut before every date in ``starts`` that lies in ``(first, last]``."""
    cuts = sorted({d for d in starts if first < d <= last})
    spans = []
    begin = first
    for cut in cuts:
        spans.append(Span(begin, cut - timedelta(days=1)))
        begin = cut
    spans.append(Span(begin, last))
    return spans


def allocate(total: Decimal, weights: Sequence[Decimal | int]) -> list[Decimal]:
    """``total`` split in proportion to ``weights`` (whole units, remainder to the last part).

    With all weights zero the whole quantity goes to the last part.
    """
    if not weights:
        raise ValueError("allocate needs at least one weight")
    weight_sum = sum((Decimal(w) for w in weights), ZERO)
    if weight_sum == 0:
        return [ZERO] * (len(weights) - 1) + [total]
    parts: list[Decimal] = []
    running_weight = ZERO
    allocated = ZERO
    for weight in weights[:-1]:
        running_weight += Decimal(weight)
        cumulative = min(round_places(total * running_weight / weight_sum, 0), total)
        parts.append(cumulative - allocated)
        allocated = cumulative
    parts.append(total - allocated)
    return parts
