"""Residential tier increments (阶梯加价) and two-part basic charges (基本电费).

Tiers: the tier of each kWh is decided on the cumulative kWh of the tier window (month, tier year or
season), starting from ``usage.tier_consumed_kwh``. Where a tier window starts or the tariff changes
inside the cycle, the main kWh are split by days; a new window starts from 0. With a monthly basis
and several segments, each segment's thresholds (and the consumption already counted) are the monthly
values x segment days / cycle days, rounded half-up to whole kWh.

Basic charge: one month per cycle. When capacity changes inside the cycle (transformer change or a
recognised suspension starting or ending) every segment is charged days/30 of a month (供电营业规则:
每日按全月基本电费三十分之一计算); a tariff change alone splits the month by days/cycle days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from gridcare.billing.energy import DAYS_PER_MONTH, transformer_on
from gridcare.billing.errors import BillingInputError, Loc
from gridcare.billing.numbers import ZERO, plain, round_places
from gridcare.billing.request import QuoteRequest, Supply, day_after
from gridcare.billing.segments import Span, allocate, split_cycle
from gridcare.billing.tariff import Tariff, TierBand

_ZH_ORDINALS = "一二三四五六七八九十"
DEMAND_TOLERANCE = Decimal("1.05")


@dataclass(frozen=True)
class Charge:
    """An un-rounded charge: ``amount = quantity x price x share`` (``kwh`` for energy-like lines)."""

    item: str
    kwh: Decimal | None
    price: Decimal
    amount: Decimal


def tariff_at(request: QuoteRequest, day: date) -> tuple[Tariff, Loc]:
    """The tariff version in force on ``day`` and its location in the request."""
    tariff: Tariff = request.tariff
    loc: Loc = ("tariff",)
    for index, change in enumerate(request.tariff_changes):
        if change.effective_from <= day:
            tariff, loc = change.tariff, ("tariff_changes", index, "tariff")
    return tariff, loc


def tier_name(index: int) -> str:
    """``0`` -> ``阶梯加价-第一档 tier-1 increment``."""
    zh = _ZH_ORDINALS[index] if index < len(_ZH_ORDINALS) else str(index + 1)
    return f"阶梯加价-第{zh}档 tier-{index + 1} increment"


def tier_charges(request: QuoteRequest, main_kwh: Decimal) -> list[Charge]:
    """Tier increment charges on the main account's kWh (empty without tiers)."""
    schedule = request.tariff.tiers
    if schedule is None:
        return []
    cycle = request.cycle
    window_starts = set(schedule.window_starts(cycle.start, cycle.end))
    starts = window_starts | {c.effective_from for c in request.tariff_changes}
    spans = split_cycle(cycle.start, cycle.end, starts)
    energies = allocate(main_kwh, [s.days for s in spans])
    monthly = schedule.basis == "monthly"
    consumed = request.usage.tier_consumed_kwh
    charges = []
    for span, energy in zip(spans, energies, strict=True):
        tariff, _ = tariff_at(request, span.first)
        tiers = tariff.tiers
        assert tiers is not None  # same basis in every version (request validation)
        if monthly:
            bands = tiers.bands_for(cycle.end)
            before = consumed
            if len(spans) > 1:
                bands = [_prorated(b, span.days, cycle.days) for b in bands]
                before = round_places(consumed * span.days / cycle.days, 0)
        else:
            bands = tiers.bands_for(span.first)
            if span.first in window_starts:
                consumed = ZERO
            before = consumed
            consumed += energy
        charges.extend(_band_charges(bands, before, energy))
    return charges


def _prorated(band: TierBand, days: int, cycle_days: int) -> TierBand:
    if band.up_to_kwh is None:
        return band
    # model_construct: a prorated threshold may round to 0 kWh, which a published band may not be.
    return TierBand.model_construct(
        up_to_kwh=round_places(band.up_to_kwh * days / cycle_days, 0),
        increment_yuan_per_kwh=band.increment_yuan_per_kwh,
    )


def _band_charges(bands: list[TierBand], before: Decimal, energy: Decimal) -> list[Charge]:
    charges = []
    lower = ZERO
    after = before + energy
    for index, band in enumerate(bands):
        upper = band.up_to_kwh
        top = after if upper is None else min(after, upper)
        portion = top - max(before, lower)
        if portion > 0 and band.increment_yuan_per_kwh > 0:
            price = band.increment_yuan_per_kwh
            charges.append(Charge(tier_name(index), portion, price, portion * price))
        if upper is None:
            break
        lower = upper
    return charges


@dataclass(frozen=True)
class CapacitySegment:
    span: Span
    capacity_kva: Decimal
    suspended_kva: Decimal


def capacity_segments(request: QuoteRequest, supply: Supply) -> tuple[list[CapacitySegment], int]:
    """Segments with their billed capacity, and the day base of the month share (30 or cycle days)."""
    cycle = request.cycle
    recognised = [(i, s) for i, s in enumerate(supply.suspensions) if s.recognised]
    capacity_starts = {t.effective_from for t in supply.transformers if t.effective_from is not None}
    for _, sus in recognised:
        capacity_starts.add(sus.start)
        if sus.end is not None:
            capacity_starts.add(day_after(sus.end))
    inside = {d for d in capacity_starts if cycle.start < d <= cycle.end}
    starts = inside | {c.effective_from for c in request.tariff_changes}
    base = DAYS_PER_MONTH if inside else cycle.days
    segments = []
    for span in split_cycle(cycle.start, cycle.end, starts):
        capacity = transformer_on(supply, span.first).capacity_kva
        suspended = ZERO
        for index, sus in recognised:
            if sus.start <= span.first and (sus.end is None or span.first <= sus.end):
                suspended += sus.capacity_kva
                if suspended > capacity:
                    raise BillingInputError.at(
                        ("supply", "suspensions", index, "capacity_kva"),
                        f"suspended {suspended} kVA exceeds the {capacity} kVA in service on {span.first}",
                    )
        segments.append(CapacitySegment(span, capacity, suspended))
    return segments, base


def _share_text(days: int, base: int) -> str:
    return "" if days == base else f" × {days}/{base}"


def basic_charges(request: QuoteRequest, max_demand_kw: Decimal | None) -> list[Charge]:
    """Basic-charge lines (empty when no tariff version has a basic charge)."""
    versions = [t for _, t in request.tariff_versions()]
    if all(t.basic_charge is None for t in versions):
        return []
    supply = request.supply
    if supply is None:
        raise BillingInputError.at("supply", "required: the tariff has a basic charge (两部制)")
    if supply.basic_charge_basis == "capacity":
        return _capacity_charges(request, supply)
    return _demand_charges(request, supply, max_demand_kw)


def _capacity_charges(request: QuoteRequest, supply: Supply) -> list[Charge]:
    segments, base = capacity_segments(request, supply)
    merged: list[tuple[CapacitySegment, int, Decimal]] = []
    for seg in segments:
        tariff, loc = tariff_at(request, seg.span.first)
        if tariff.basic_charge is None:
            continue
        price = tariff.basic_charge.capacity_price_yuan_per_kva_month
        if price is None:
            raise BillingInputError.at(
                (*loc, "basic_charge", "capacity_price_yuan_per_kva_month"),
                "required for basic_charge_basis capacity",
            )
        if merged and (merged[-1][0].capacity_kva, merged[-1][0].suspended_kva, merged[-1][2]) == (
            seg.capacity_kva,
            seg.suspended_kva,
            price,
        ):
            prev, days, _ = merged[-1]
            merged[-1] = (prev, days + seg.span.days, price)
        else:
            merged.append((seg, seg.span.days, price))
    charges = []
    for seg, days, price in merged:
        billed = seg.capacity_kva - seg.suspended_kva
        suspended = f" ({plain(seg.suspended_kva)} kVA suspended)" if seg.suspended_kva else ""
        item = f"基本电费-容量 basic-capacity: {plain(billed)} kVA{suspended}{_share_text(days, base)}"
        charges.append(Charge(item, None, price, billed * price * days / base))
    return charges


def _demand_charges(request: QuoteRequest, supply: Supply, actual: Decimal | None) -> list[Charge]:
    if actual is None:
        raise BillingInputError.at("usage.max_demand_kw", "required for basic_charge_basis demand")
    contracted = supply.contracted_demand_kw
    excess = ZERO
    if contracted is None:
        billed = actual
    elif actual <= contracted * DEMAND_TOLERANCE:
        billed = contracted
    else:
        billed, excess = actual, actual - contracted * DEMAND_TOLERANCE
    cycle = request.cycle
    charges = []
    for span in split_cycle(cycle.start, cycle.end, [c.effective_from for c in request.tariff_changes]):
        tariff, loc = tariff_at(request, span.first)
        if tariff.basic_charge is None:
            continue
        price = tariff.basic_charge.demand_price_yuan_per_kw_month
        if price is None:
            raise BillingInputError.at(
                (*loc, "basic_charge", "demand_price_yuan_per_kw_month"),
                "required for basic_charge_basis demand",
            )
        share = Decimal(span.days) / cycle.days
        part = _share_text(span.days, cycle.days)
        charges.append(
            Charge(
                f"基本电费-需量 basic-demand: {plain(billed)} kW{part}", None, price, billed * price * share
            )
        )
        if excess > 0:
            limit = plain(contracted or ZERO)
            item = f"需量超限加收 demand-excess: {plain(excess)} kW above 105% of {limit} kW{part}"
            charges.append(Charge(item, None, price, excess * price * share))
    return charges
