"""Energy determinants: metered kWh by period, reactive energy, maximum demand, transformer loss and
fixed-quantity / fixed-ratio sub-usage deductions.

Order of operations (docs/billing-quote.md, "Energy"):

1. metered kWh per period = register advance x multiplier, summed over meter runs; where a total is
   given, flat = total - sharp - peak - valley;
2. transformer active loss is added to the periods pro rata to their metered kWh, reactive loss to
   the reactive energy;
3. sub-usages take their kWh from the result, flat first, then valley, peak, sharp.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from gridcare.billing.errors import BillingInputError, Loc
from gridcare.billing.numbers import ZERO, round_places
from gridcare.billing.request import LossTableRow, QuoteRequest, Supply, Transformer
from gridcare.billing.segments import Span, allocate, split_cycle
from gridcare.billing.tariff import PERIODS, Period

Buckets = dict[Period, Decimal]

DEDUCTION_ORDER: tuple[Period, ...] = (Period.FLAT, Period.VALLEY, Period.PEAK, Period.SHARP)
DAYS_PER_MONTH = 30


def empty() -> Buckets:
    return {p: ZERO for p in PERIODS}


def total(buckets: Buckets) -> Decimal:
    return sum(buckets.values(), ZERO)


def metered_energy(request: QuoteRequest, tou: bool) -> Buckets:
    """kWh by period from ``usage.energy_kwh`` or the meter runs (a flat tariff gets one bucket: flat)."""
    usage = request.usage
    result = empty()
    if usage.energy_kwh is not None:
        given = {name: getattr(usage.energy_kwh, name) for name in ("total", *PERIODS)}
        _add(result, _combine(given, ("usage", "energy_kwh"), tou))
        return result
    for index, meter in enumerate(usage.meters):
        factor = meter.factor
        given = {}
        for name in ("total", *PERIODS):
            reading = getattr(meter.registers, name)
            given[name] = None if reading is None else reading.advance * factor
        _add(result, _combine(given, ("usage", "meters", index, "registers"), tou))
    return result


def _add(into: Buckets, values: Buckets) -> None:
    for period, kwh in values.items():
        into[period] += kwh


def _combine(given: dict[str, Decimal | None], loc: Loc, tou: bool) -> Buckets:
    total_kwh = given["total"]
    periods = {Period(name): value for name, value in given.items() if name != "total" and value is not None}
    result = empty()
    if not tou:
        result[Period.FLAT] = total_kwh if total_kwh is not None else sum(periods.values(), ZERO)
        return result
    if not periods:
        raise BillingInputError.at(
            (*loc, "total"), "a time-of-use tariff needs kWh (or registers) per period"
        )
    result.update(periods)
    if total_kwh is not None:
        others = sum((periods.get(p, ZERO) for p in (Period.SHARP, Period.PEAK, Period.VALLEY)), ZERO)
        if total_kwh < others:
            raise BillingInputError.at(
                (*loc, "total"), f"total {total_kwh} kWh is less than sharp + peak + valley ({others} kWh)"
            )
        result[Period.FLAT] = total_kwh - others
    return result


def reactive_energy(request: QuoteRequest) -> Decimal | None:
    """Metered reactive energy [kvarh], or None when none was given."""
    usage = request.usage
    if usage.reactive_kvarh is not None:
        return usage.reactive_kvarh
    runs = [m for m in usage.meters if m.reactive is not None]
    if not runs:
        return None
    return sum((m.reactive.advance * m.factor for m in runs if m.reactive is not None), ZERO)


def max_demand(request: QuoteRequest) -> Decimal | None:
    """Actual maximum demand [kW]: given, or the highest register reading x multiplier of the runs."""
    usage = request.usage
    if usage.max_demand_kw is not None:
        return usage.max_demand_kw
    readings = [m.max_demand_reading * m.factor for m in usage.meters if m.max_demand_reading is not None]
    return max(readings) if readings else None


def transformer_on(supply: Supply, day: date) -> Transformer:
    """The transformer entry in force on ``day``."""
    current = supply.transformers[0]
    for entry in supply.transformers[1:]:
        if entry.effective_from is not None and entry.effective_from <= day:
            current = entry
    return current


@dataclass(frozen=True)
class LossPart:
    """Loss of one segment [kWh, kvarh], already rounded to whole units."""

    span: Span
    capacity_kva: Decimal
    active_kwh: Decimal
    reactive_kvarh: Decimal


def transformer_loss(request: QuoteRequest, metered_kwh: Decimal) -> list[LossPart]:
    """Loss per transformer segment of the cycle (empty when no entry has a loss method).

    Table: the monthly row x days/30 when the transformer changes inside the cycle, otherwise x 1 (a
    whole cycle is one month). Formula: hours = 24 x days, ``E`` = the segment's share of the
    metered kWh by days. Each part is rounded half-up to whole kWh / kvarh.
    """
    supply = request.supply
    if supply is None or all(t.loss == "none" for t in supply.transformers):
        return []
    cycle = request.cycle
    starts = [t.effective_from for t in supply.transformers if t.effective_from is not None]
    spans = split_cycle(cycle.start, cycle.end, starts)
    changed = len(spans) > 1
    energy_parts = allocate(metered_kwh, [s.days for s in spans])
    rows = {row.capacity_kva: row for row in supply.loss_table}
    parts = []
    for span, energy in zip(spans, energy_parts, strict=True):
        entry = transformer_on(supply, span.first)
        active, reactive = _loss_of(entry, rows, span, energy, changed)
        parts.append(LossPart(span, entry.capacity_kva, round_places(active, 0), round_places(reactive, 0)))
    return parts


def _loss_of(
    entry: Transformer, rows: dict[Decimal, LossTableRow], span: Span, energy: Decimal, changed: bool
) -> tuple[Decimal, Decimal]:
    if entry.loss == "table":
        row = rows[entry.capacity_kva]
        share = Decimal(span.days) / DAYS_PER_MONTH if changed else Decimal(1)
        return row.active_kwh * share, row.reactive_kvarh * share
    if entry.loss == "formula" and entry.loss_formula is not None:
        f = entry.loss_formula
        hours = Decimal(24 * span.days)
        active = f.no_load_loss_kw * hours + f.load_loss_coefficient_per_kwh * energy * energy
        reactive = f.no_load_reactive_kvar * hours + f.reactive_load_coefficient_per_kwh * energy * energy
        return active, reactive
    return ZERO, ZERO


def add_active_loss(metered: Buckets, loss_kwh: Decimal) -> Buckets:
    """``metered`` plus ``loss_kwh`` shared pro rata to each period's kWh (all to flat if none)."""
    result = dict(metered)
    if loss_kwh == 0:
        return result
    used = [p for p in PERIODS if metered[p] > 0]
    if not used:
        result[Period.FLAT] += loss_kwh
        return result
    for period, share in zip(used, allocate(loss_kwh, [metered[p] for p in used]), strict=True):
        result[period] += share
    return result


@dataclass(frozen=True)
class SubUsagePart:
    index: int
    name: str
    kwh: Decimal
    price: Decimal
    pf_adjusted: bool


def deduct_sub_usages(request: QuoteRequest, active: Buckets) -> tuple[Buckets, list[SubUsagePart]]:
    """Main-account kWh by period after the sub-usages, and the sub-usage kWh.

    fixed_quantity takes its kWh; fixed_ratio takes round-half-up(ratio x total active kWh incl. loss)
    whole kWh (never more than the total). Each is deducted flat first, then valley, peak, sharp.
    """
    remaining = dict(active)
    whole = total(active)
    parts = []
    for index, sub in enumerate(request.sub_usages):
        if sub.method == "fixed_quantity" and sub.kwh is not None:
            kwh, field = sub.kwh, "kwh"
        elif sub.ratio is not None:
            kwh, field = min(round_places(whole * sub.ratio, 0), whole), "ratio"
        else:  # pragma: no cover - excluded by SubUsage validation
            raise AssertionError("sub-usage without quantity")
        if kwh > total(remaining):
            raise BillingInputError.at(
                ("sub_usages", index, field),
                f"needs {kwh} kWh but only {total(remaining)} kWh remain in the account",
            )
        need = kwh
        for period in DEDUCTION_ORDER:
            take = min(need, remaining[period])
            remaining[period] -= take
            need -= take
        parts.append(SubUsagePart(index, sub.name, kwh, sub.price_yuan_per_kwh, sub.pf_adjusted))
    return remaining, parts
