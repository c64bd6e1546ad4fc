"""The pure bill calculation: ``quote(request) -> QuoteResponse``.

Lines come in this order: energy by period, tier increments, sub-usages, basic charge, power-factor
adjustment, surcharges. Lines with the same item and price are merged (kWh added) before rounding;
every line is rounded half-up to the fen and the total is the sum of the rounded lines.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from gridcare.billing.charges import Charge, basic_charges, tariff_at, tier_charges
from gridcare.billing.energy import (
    Buckets,
    LossPart,
    SubUsagePart,
    add_active_loss,
    deduct_sub_usages,
    max_demand,
    metered_energy,
    reactive_energy,
    total,
    transformer_loss,
)
from gridcare.billing.errors import BillingInputError
from gridcare.billing.numbers import ZERO, plain, round_yuan
from gridcare.billing.pf import pf_adjustment_pct, power_factor
from gridcare.billing.request import QuoteRequest
from gridcare.billing.response import QuoteLine, QuoteResponse
from gridcare.billing.segments import allocate, split_cycle
from gridcare.billing.tariff import PERIOD_ZH, PERIODS, Period, Tariff

ENERGY, TIER, SUB, BASIC, PF, SURCHARGE = "energy", "tier", "sub", "basic", "pf", "surcharge"


@dataclass(frozen=True)
class QuoteWorking:
    """The billing determinants behind a quote, for tracing a line back to its inputs."""

    cycle_days: int
    metered_kwh: Buckets
    loss: list[LossPart]
    active_kwh: Buckets
    sub_usages: list[SubUsagePart]
    main_kwh: Buckets
    reactive_kvarh: Decimal | None
    max_demand_kw: Decimal | None
    pf_base_yuan: Decimal | None


def energy_item(period: Period, tou: bool) -> str:
    """``电度电费-峰 energy-peak`` (time-of-use) or ``电度电费 energy`` (flat price)."""
    return f"电度电费-{PERIOD_ZH[period]} energy-{period.value}" if tou else "电度电费 energy"


def sub_usage_item(name: str) -> str:
    return f"定量定比 sub-usage: {name}"


class _LineBook:
    """Charges merged by (item, price) in first-seen order, each tagged with a category."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str, Decimal | None], list[Decimal | None]] = {}

    def add(self, category: str, charges: Iterable[Charge]) -> None:
        for c in charges:
            key = (category, c.item, c.price)
            row = self._rows.setdefault(key, [None, ZERO])
            if c.kwh is not None:
                row[0] = (row[0] or ZERO) + c.kwh
            row[1] = (row[1] or ZERO) + c.amount

    def add_line(self, category: str, item: str, amount: Decimal) -> None:
        self._rows[(category, item, None)] = [None, amount]

    def lines(self, *categories: str) -> list[QuoteLine]:
        """Lines of ``categories``, in that order (first-seen order within a category)."""
        return [
            QuoteLine.priced(item, kwh, price, amount or ZERO)
            for wanted in categories
            for (category, item, price), (kwh, amount) in self._rows.items()
            if category == wanted
        ]


def quote(request: QuoteRequest) -> QuoteResponse:
    """Price one billing cycle. Pure: no I/O, nothing stored. Raises :class:`BillingInputError`."""
    return compute(request)[0]


def compute(request: QuoteRequest) -> tuple[QuoteResponse, QuoteWorking]:
    """The quote and the determinants behind it."""
    tou = request.tariff.is_tou
    metered = metered_energy(request, tou)
    if tou:
        _check_periods(request, metered)
    loss = transformer_loss(request, total(metered))
    active = add_active_loss(metered, sum((p.active_kwh for p in loss), ZERO))
    main, subs = deduct_sub_usages(request, active)
    reactive = reactive_energy(request)
    if reactive is not None:
        reactive += sum((p.reactive_kvarh for p in loss), ZERO)
    demand = max_demand(request)

    book = _LineBook()
    book.add(ENERGY, _energy_charges(request, main, tou))
    book.add(TIER, tier_charges(request, total(main)))
    for sub in subs:
        book.add(
            SUB if sub.pf_adjusted else SUB + "-no-pf",
            [_priced(sub_usage_item(sub.name), sub.kwh, sub.price)],
        )
    book.add(BASIC, basic_charges(request, demand))
    book.add(SURCHARGE, _surcharges(request, total(main)))

    pf = pct = base = None
    if request.pf_standard is not None:
        if reactive is None:
            raise BillingInputError.at(
                "usage.reactive_kvarh", "required when pf_standard is set (or give reactive registers)"
            )
        pf = power_factor(total(active), reactive)
        if pf is not None:
            pct = pf_adjustment_pct(request.pf_standard, pf)
            categories = [ENERGY, TIER, SUB, BASIC]
            if request.tariff_versions()[-1][1].pf_base_includes_surcharges:
                categories.append(SURCHARGE)
            base = sum((line.amount_yuan for line in book.lines(*categories)), Decimal("0.00"))
            sign = "+" if pct > 0 else ""
            item = f"力调电费 power-factor adjustment: PF {pf} / standard {request.pf_standard}, {sign}{pct}%"
            book.add_line(PF, item, round_yuan(base * pct / 100))

    lines = book.lines(ENERGY, TIER, SUB, SUB + "-no-pf", BASIC, PF, SURCHARGE)
    working = QuoteWorking(
        cycle_days=request.cycle.days,
        metered_kwh=metered,
        loss=loss,
        active_kwh=active,
        sub_usages=subs,
        main_kwh=main,
        reactive_kvarh=reactive,
        max_demand_kw=demand,
        pf_base_yuan=base,
    )
    return QuoteResponse.of(lines, pf, pct), working


def _priced(item: str, kwh: Decimal, price: Decimal) -> Charge:
    return Charge(item, kwh, price, kwh * price)


def _price_spans(request: QuoteRequest) -> list[tuple[Tariff, int]]:
    cycle = request.cycle
    spans = split_cycle(cycle.start, cycle.end, [c.effective_from for c in request.tariff_changes])
    return [(tariff_at(request, s.first)[0], s.days) for s in spans]


def _energy_price(tariff: Tariff, period: Period, month: int) -> Decimal:
    if tariff.energy.kind == "flat":
        assert tariff.energy.price_yuan_per_kwh is not None
        return tariff.energy.price_yuan_per_kwh
    return tariff.energy.season_for(month).prices_yuan_per_kwh[period]


def _energy_charges(request: QuoteRequest, main: Buckets, tou: bool) -> list[Charge]:
    """Energy per period, split by days over tariff versions where the tariff changes in the cycle."""
    spans = _price_spans(request)
    month = request.cycle.end.month
    charges = []
    for period in PERIODS:
        if main[period] == 0:
            continue
        for (tariff, _), kwh in zip(spans, allocate(main[period], [d for _, d in spans]), strict=True):
            if kwh:
                charges.append(_priced(energy_item(period, tou), kwh, _energy_price(tariff, period, month)))
    return charges


def _surcharges(request: QuoteRequest, main_kwh: Decimal) -> list[Charge]:
    """Per-kWh funds and surcharges on the main account's kWh (sub-usage prices are all-in)."""
    spans = _price_spans(request)
    charges = []
    for (tariff, _), kwh in zip(spans, allocate(main_kwh, [d for _, d in spans]), strict=True):
        for surcharge in tariff.surcharges:
            if kwh:
                charges.append(_priced(surcharge.name, kwh, surcharge.price_yuan_per_kwh))
    return charges


def _check_periods(request: QuoteRequest, metered: Buckets) -> None:
    """Every period with kWh must exist in the season (by the cycle's end month) of each version."""
    month = request.cycle.end.month
    usage = request.usage
    for _, tariff in request.tariff_versions():
        season = tariff.energy.season_for(month)
        for period in PERIODS:
            if metered[period] > 0 and period not in season.prices_yuan_per_kwh:
                loc = (
                    ("usage", "energy_kwh", period.value)
                    if usage.energy_kwh is not None
                    else ("usage", "meters")
                )
                raise BillingInputError.at(
                    loc,
                    f"{plain(metered[period])} kWh in period {period.value}, but tariff season "
                    f"{season.name!r} (month {month}) has no {period.value} period",
                )
