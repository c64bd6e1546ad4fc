"""Vectorised pricing of many accounts on one tariff version, exactly as :func:`gridcare.billing.compute`.

Covers the common shape of a monthly run: one tariff version for the whole cycle, single-part (no
basic charge, hence no power-factor adjustment), flat or time-of-use energy, residential tiers and
per-kWh surcharges, no transformer loss and no sub-usages. Anything else (two-part tariffs, a tariff
change inside the cycle, prices with more than six decimals) goes through the engine; so do accounts
with kWh in a period the season does not have (the engine reports the error).

Arithmetic is exact integer arithmetic: kWh in units of 0.0001 kWh (``*_e4``), prices in units of
0.000001 yuan (``*_e6``); a line amount is ``kwh_e4 x price_e6`` in 1e-10 yuan, rounded half-up to the
fen. Lines come in the engine's order (energy by period, tier increments, surcharges) with the same
item names, so the stored bill is the one the engine would give (tested line by line).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import numpy as np

from gridcare.billing.charges import tier_name
from gridcare.billing.engine import energy_item
from gridcare.billing.tariff import PERIODS, Period, Tariff

E4 = 10_000
E6 = 1_000_000
_HALF_FEN = 50_000_000  # 0.005 yuan in 1e-10 yuan
_FEN = 100_000_000  # 0.01 yuan in 1e-10 yuan
_MAX_PRODUCT = 2**62


def to_units(value: Decimal, scale: int) -> int | None:
    """``value`` x 10^scale as an exact int, or None when it has more decimals than ``scale``."""
    scaled = value.scaleb(scale)
    if scaled != scaled.to_integral_value():
        return None
    return int(scaled)


@dataclass(frozen=True)
class Rate:
    """One priced line kind: ``item`` at ``price`` (also as ``price_e6``)."""

    category: str
    period: Period | None
    item: str
    price: Decimal
    price_e6: int


@dataclass(frozen=True)
class Band:
    lower_e4: int
    upper_e4: int | None
    rate: Rate


@dataclass(frozen=True)
class PriceTable:
    """A tariff version compiled for the billing month ``month``."""

    tou: bool
    energy: dict[Period, Rate]
    bands: list[Band] = field(default_factory=list)
    surcharges: list[Rate] = field(default_factory=list)


def compile_tariff(tariff: Tariff, cycle_start: date, cycle_end: date) -> PriceTable | None:
    """The price table of ``tariff`` for a cycle, or None when the shape needs the engine."""
    if tariff.basic_charge is not None:
        return None

    def rate(category: str, period: Period | None, item: str, price: Decimal) -> Rate | None:
        units = to_units(price, 6)
        return None if units is None else Rate(category, period, item, price, units)

    energy: dict[Period, Rate] = {}
    if tariff.is_tou:
        season = tariff.energy.season_for(cycle_end.month)
        for period in PERIODS:
            if period in season.prices_yuan_per_kwh:
                r = rate("energy", period, energy_item(period, True), season.prices_yuan_per_kwh[period])
                if r is None:
                    return None
                energy[period] = r
    else:
        assert tariff.energy.price_yuan_per_kwh is not None
        r = rate("energy", Period.FLAT, energy_item(Period.FLAT, False), tariff.energy.price_yuan_per_kwh)
        if r is None:
            return None
        energy[Period.FLAT] = r
    bands: list[Band] = []
    if tariff.tiers is not None:
        on = cycle_end if tariff.tiers.basis == "monthly" else cycle_start
        lower = 0
        for index, band in enumerate(tariff.tiers.bands_for(on)):
            upper = None if band.up_to_kwh is None else to_units(band.up_to_kwh, 4)
            r = rate("tier", None, tier_name(index), band.increment_yuan_per_kwh)
            if r is None or (band.up_to_kwh is not None and upper is None):
                return None
            bands.append(Band(lower, upper, r))
            if upper is None:
                break
            lower = upper
    surcharges = []
    for surcharge in tariff.surcharges:
        r = rate("surcharge", None, surcharge.name, surcharge.price_yuan_per_kwh)
        if r is None:
            return None
        surcharges.append(r)
    return PriceTable(tariff.is_tou, energy, bands, surcharges)


@dataclass
class LineBlock:
    """One line kind over all accounts: present where ``mask``; kWh (e4) and amount (fen) per account."""

    rate: Rate
    mask: np.ndarray
    kwh_e4: np.ndarray
    amount_fen: np.ndarray


@dataclass
class Priced:
    """The priced accounts: line blocks in bill order and the total per account [fen]."""

    blocks: list[LineBlock]
    total_fen: np.ndarray
    line_count: np.ndarray


def _amount(kwh_e4: np.ndarray, price_e6: int) -> np.ndarray:
    product = kwh_e4 * price_e6
    return np.asarray((product + _HALF_FEN) // _FEN, dtype=np.int64)


def fits(table: PriceTable, buckets_e4: dict[Period, np.ndarray]) -> np.ndarray:
    """Accounts this table can price: integer products in range, and kWh only in periods it has."""
    n = len(next(iter(buckets_e4.values())))
    ok = np.ones(n, dtype=bool)
    total = sum(buckets_e4.values(), np.zeros(n, dtype=np.int64))
    prices = [r.price_e6 for r in table.energy.values()]
    prices += [b.rate.price_e6 for b in table.bands] + [r.price_e6 for r in table.surcharges]
    top = max([*prices, 1])
    ok &= total < _MAX_PRODUCT // top
    if table.tou:
        for period in PERIODS:
            if period not in table.energy:
                ok &= buckets_e4[period] == 0
    return ok


def price(table: PriceTable, buckets_e4: dict[Period, np.ndarray], consumed_e4: np.ndarray) -> Priced:
    """Price accounts whose main-account kWh by period are ``buckets_e4`` (int64 arrays; a flat tariff
    uses ``Period.FLAT`` only) with ``consumed_e4`` kWh already counted in the tier window."""
    n = len(consumed_e4)
    blocks: list[LineBlock] = []
    if table.tou:
        for period, rate in table.energy.items():
            kwh = buckets_e4[period]
            blocks.append(LineBlock(rate, kwh > 0, kwh, _amount(kwh, rate.price_e6)))
        main = sum((buckets_e4[p] for p in PERIODS), np.zeros(n, dtype=np.int64))
    else:
        main = sum((buckets_e4[p] for p in PERIODS), np.zeros(n, dtype=np.int64))
        rate = table.energy[Period.FLAT]
        blocks.append(LineBlock(rate, main > 0, main, _amount(main, rate.price_e6)))
    before = consumed_e4
    after = before + main
    for band in table.bands:
        top = after if band.upper_e4 is None else np.minimum(after, band.upper_e4)
        portion = top - np.maximum(before, band.lower_e4)
        present = (portion > 0) & (band.rate.price_e6 > 0)
        portion = np.where(present, portion, 0)
        blocks.append(LineBlock(band.rate, present, portion, _amount(portion, band.rate.price_e6)))
    for rate in table.surcharges:
        blocks.append(LineBlock(rate, main > 0, main, _amount(main, rate.price_e6)))
    total = np.zeros(n, dtype=np.int64)
    count = np.zeros(n, dtype=np.int64)
    for block in blocks:
        total += np.where(block.mask, block.amount_fen, 0)
        count += block.mask
    return Priced(blocks, total, count)
