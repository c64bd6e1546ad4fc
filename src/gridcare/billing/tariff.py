"""Tariffs as data: energy prices (flat or time-of-use with seasonal period calendars), residential
tiers (阶梯), two-part basic-charge prices (两部制) and per-kWh government funds and surcharges.

A :class:`Tariff` is one version of a published price schedule. It holds no customer facts (capacity,
PF standard, meters); those travel in the quote request. Storage keeps tariffs as versioned rows or
files and hands them to the pure calculation unchanged.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gridcare.billing.errors import FieldProblem
from gridcare.billing.numbers import NonNegNum, PosNum, StrictBool, StrictInt, StrictStr


class CustomerClass(StrEnum):
    """Customer class (用电类别); the same values as ``gridcare.archives.models.CustomerClass``."""

    RESIDENTIAL = "residential"  # 居民生活
    GENERAL_COMMERCIAL = "general_commercial"  # 一般工商业
    LARGE_INDUSTRIAL = "large_industrial"  # 大工业
    AGRICULTURAL = "agricultural"  # 农业生产


class Period(StrEnum):
    """Time-of-use period (时段)."""

    SHARP = "sharp"  # 尖峰
    PEAK = "peak"  # 峰
    FLAT = "flat"  # 平
    VALLEY = "valley"  # 谷


PERIODS: tuple[Period, ...] = (Period.SHARP, Period.PEAK, Period.FLAT, Period.VALLEY)
PERIOD_ZH: dict[Period, str] = {Period.SHARP: "尖", Period.PEAK: "峰", Period.FLAT: "平", Period.VALLEY: "谷"}

Month = Annotated[StrictInt, Field(ge=1, le=12)]
Name = Annotated[StrictStr, Field(min_length=1, max_length=80)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HourRange(_Model):
    """Clock hours ``[start_hour, end_hour)``; an end at or before the start wraps past midnight
    (``22 -> 8`` covers 22:00-08:00)."""

    start_hour: Annotated[StrictInt, Field(ge=0, le=23)]
    end_hour: Annotated[StrictInt, Field(ge=0, le=24)]

    @model_validator(mode="after")
    def _not_empty(self) -> HourRange:
        if self.end_hour == self.start_hour or (self.start_hour == 0 and self.end_hour == 0):
            raise FieldProblem("end_hour", "must differ from start_hour (a range covers 1 to 24 hours)")
        return self

    def hours(self) -> list[int]:
        """The clock hours (0-23) the range covers."""
        if self.start_hour < self.end_hour:
            return list(range(self.start_hour, self.end_hour))
        return list(range(self.start_hour, 24)) + list(range(0, self.end_hour))


def _check_months(months: list[int], loc: tuple[str | int, ...]) -> None:
    if len(set(months)) != len(months):
        raise FieldProblem(loc, "a month is listed twice")


def _check_partition(groups: list[list[int]], field: str) -> None:
    """Every month 1-12 belongs to exactly one group."""
    seen: dict[int, int] = {}
    for index, months in enumerate(groups):
        for month in months:
            if month in seen:
                raise FieldProblem(
                    (field, index, "months"), f"month {month} is already in {field}[{seen[month]}]"
                )
            seen[month] = index
    missing = sorted(set(range(1, 13)) - set(seen))
    if missing:
        raise FieldProblem(field, f"months {', '.join(map(str, missing))} are not covered")


class TouSeason(_Model):
    """One season of a time-of-use tariff: its months, its period calendar and its prices."""

    name: Name
    months: Annotated[list[Month], Field(min_length=1)]
    hours: dict[Period, Annotated[list[HourRange], Field(min_length=1)]] = Field(
        description="period calendar: clock-hour ranges per period; together they cover 0-24 h exactly once"
    )
    prices_yuan_per_kwh: dict[Period, NonNegNum] = Field(description="energy price per period [yuan/kWh]")

    @model_validator(mode="after")
    def _calendar(self) -> TouSeason:
        _check_months(self.months, ("months",))
        owner: dict[int, Period] = {}
        for period, ranges in self.hours.items():
            for index, rng in enumerate(ranges):
                for hour in rng.hours():
                    if hour in owner:
                        raise FieldProblem(
                            ("hours", period.value, index),
                            f"hour {hour}:00 is already in period {owner[hour].value}",
                        )
                    owner[hour] = period
        gaps = [h for h in range(24) if h not in owner]
        if gaps:
            raise FieldProblem("hours", f"hours {', '.join(f'{h}:00' for h in gaps)} belong to no period")
        if set(self.prices_yuan_per_kwh) != set(self.hours):
            want = ", ".join(p.value for p in PERIODS if p in self.hours)
            raise FieldProblem("prices_yuan_per_kwh", f"must give a price for exactly the periods {want}")
        return self

    def period_at(self, hour: int) -> Period:
        """The period in force at clock hour ``hour`` (0-23)."""
        for period, ranges in self.hours.items():
            if any(hour in rng.hours() for rng in ranges):
                return period
        raise ValueError(f"hour {hour} outside 0-23")


class EnergyPrice(_Model):
    """Energy price: ``flat`` (one price) or ``time_of_use`` (seasons covering all twelve months)."""

    kind: Literal["flat", "time_of_use"]
    price_yuan_per_kwh: NonNegNum | None = Field(
        default=None, description="flat price [yuan/kWh] (kind=flat)"
    )
    seasons: list[TouSeason] = Field(default_factory=list, description="kind=time_of_use")

    @model_validator(mode="after")
    def _shape(self) -> EnergyPrice:
        if self.kind == "flat":
            if self.price_yuan_per_kwh is None:
                raise FieldProblem("price_yuan_per_kwh", "required when kind is flat")
            if self.seasons:
                raise FieldProblem("seasons", "only allowed when kind is time_of_use")
        else:
            if self.price_yuan_per_kwh is not None:
                raise FieldProblem(
                    "price_yuan_per_kwh", "only allowed when kind is flat (give prices per season)"
                )
            if not self.seasons:
                raise FieldProblem("seasons", "required when kind is time_of_use")
            _check_partition([list(s.months) for s in self.seasons], "seasons")
        return self

    def season_for(self, month: int) -> TouSeason:
        """The time-of-use season that contains ``month``."""
        for season in self.seasons:
            if month in season.months:
                return season
        raise ValueError(f"no season for month {month}")


class TierBand(_Model):
    """One tier (档): kWh up to ``up_to_kwh`` (cumulative within the tier window, inclusive) pay the
    period price plus ``increment_yuan_per_kwh``. The last band has no upper bound."""

    up_to_kwh: PosNum | None = None
    increment_yuan_per_kwh: NonNegNum


def _check_bands(bands: list[TierBand], field: str | tuple[str | int, ...]) -> None:
    loc = (field,) if isinstance(field, str) else field
    if not bands:
        raise FieldProblem(loc, "needs at least one band")
    previous = None
    for index, band in enumerate(bands):
        last = index == len(bands) - 1
        if last and band.up_to_kwh is not None:
            raise FieldProblem((*loc, index, "up_to_kwh"), "the last band must have no upper bound (null)")
        if not last:
            if band.up_to_kwh is None:
                raise FieldProblem((*loc, index, "up_to_kwh"), "only the last band may be unbounded")
            if previous is not None and band.up_to_kwh <= previous:
                raise FieldProblem((*loc, index, "up_to_kwh"), "must be greater than the band before")
            previous = band.up_to_kwh


class TierSeason(_Model):
    """Tier bands for a group of months (monthly basis: per-month thresholds in those months;
    seasonal basis: thresholds for the whole season, accumulated over its months)."""

    name: Name
    months: Annotated[list[Month], Field(min_length=1)]
    bands: list[TierBand]


class TierSchedule(_Model):
    """Residential tiers (阶梯电价). The tier window is a billing month (``monthly``), a tier year
    starting on day 1 of ``year_start_month`` (``yearly``), or a season (``seasonal``)."""

    basis: Literal["monthly", "yearly", "seasonal"]
    bands: list[TierBand] = Field(default_factory=list)
    seasons: list[TierSeason] = Field(default_factory=list)
    year_start_month: Month = 1

    @model_validator(mode="after")
    def _shape(self) -> TierSchedule:
        for index, season in enumerate(self.seasons):
            _check_months(list(season.months), ("seasons", index, "months"))
            _check_bands(list(season.bands), ("seasons", index, "bands"))
        if self.basis == "seasonal":
            if self.bands:
                raise FieldProblem("bands", "not used with basis seasonal (give bands per season)")
            if not self.seasons:
                raise FieldProblem("seasons", "required with basis seasonal")
            _check_partition([list(s.months) for s in self.seasons], "seasons")
            for index, season in enumerate(self.seasons):
                if len(_runs(set(season.months))) != 1:
                    raise FieldProblem(("seasons", index, "months"), "a season must be consecutive months")
            return self
        if self.basis == "yearly" and self.seasons:
            raise FieldProblem("seasons", "not used with basis yearly")
        covered = {m for s in self.seasons for m in s.months}
        if len(covered) != sum(len(s.months) for s in self.seasons):
            raise FieldProblem("seasons", "a month is in two seasons")
        if self.bands or len(covered) < 12:
            _check_bands(list(self.bands), "bands")
        return self

    def bands_for(self, on: date) -> list[TierBand]:
        """The bands in force for the tier window containing ``on``."""
        for season in self.seasons:
            if on.month in season.months:
                return list(season.bands)
        return list(self.bands)

    def window_starts(self, first: date, last: date) -> list[date]:
        """Days in ``(first, last]`` on which a new tier window (year or season) begins."""
        if self.basis == "monthly":
            return []
        starts: list[date] = []
        year, month = first.year, first.month
        while True:
            month += 1
            if month == 13:
                year, month = year + 1, 1
            day = date(year, month, 1)
            if day > last:
                return starts
            if self._starts_window(month):
                starts.append(day)

    def _starts_window(self, month: int) -> bool:
        if self.basis == "yearly":
            return month == self.year_start_month
        previous = 12 if month == 1 else month - 1
        return _season_index(self.seasons, month) != _season_index(self.seasons, previous)


def _season_index(seasons: list[TierSeason], month: int) -> int:
    return next(i for i, s in enumerate(seasons) if month in s.months)


def _runs(months: set[int]) -> list[int]:
    """First months of the cyclic runs of consecutive months in ``months``."""
    if len(months) == 12:
        return [1]
    return [m for m in sorted(months) if (12 if m == 1 else m - 1) not in months]


class BasicChargePrices(_Model):
    """Two-part tariff (两部制) basic-charge prices; the customer's chosen basis picks one."""

    capacity_price_yuan_per_kva_month: NonNegNum | None = None
    demand_price_yuan_per_kw_month: NonNegNum | None = None

    @model_validator(mode="after")
    def _some(self) -> BasicChargePrices:
        if self.capacity_price_yuan_per_kva_month is None and self.demand_price_yuan_per_kw_month is None:
            raise FieldProblem(
                "capacity_price_yuan_per_kva_month", "give a capacity price, a demand price or both"
            )
        return self


class Surcharge(_Model):
    """A government fund or surcharge (政府性基金及附加) levied per kWh; ``name`` is the bill item."""

    name: Name
    price_yuan_per_kwh: NonNegNum


class Tariff(_Model):
    """One version of a tariff (电价)."""

    code: Annotated[StrictStr, Field(max_length=40)] | None = Field(
        default=None, description="tariff code (电价码) for tracing a bill to its price schedule"
    )
    name: Name | None = None
    customer_class: CustomerClass
    energy: EnergyPrice
    tiers: TierSchedule | None = Field(default=None, description="residential tiers (阶梯); residential only")
    basic_charge: BasicChargePrices | None = Field(
        default=None, description="two-part tariff; not residential"
    )
    surcharges: list[Surcharge] = Field(default_factory=list)
    pf_base_includes_surcharges: StrictBool = Field(
        default=False, description="power-factor adjustment also applies to the surcharge lines"
    )

    @model_validator(mode="after")
    def _rules(self) -> Tariff:
        residential = self.customer_class is CustomerClass.RESIDENTIAL
        if self.tiers is not None and not residential:
            raise FieldProblem("tiers", "tiers apply to residential tariffs only")
        if self.basic_charge is not None and residential:
            raise FieldProblem("basic_charge", "residential tariffs have no basic charge")
        names = [s.name for s in self.surcharges]
        for index, name in enumerate(names):
            if name in names[:index]:
                raise FieldProblem(("surcharges", index, "name"), f"duplicate surcharge {name!r}")
        return self

    @property
    def is_tou(self) -> bool:
        return self.energy.kind == "time_of_use"
