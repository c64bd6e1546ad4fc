"""Calendar of the simulated fleet: Chinese public holidays with make-up workdays (调休), day types, seasons,
the Spring Festival period, and the time-of-use (TOU) tariff calendar.

The holiday table is data (``holidays.json`` beside this module): the whole breaks announced by the State
Council General Office each year and the weekend days moved to work. Years 2009-2015 (the years of the
reference load curve the profiles are derived from) and 2024-2026 are checked against the published
notices; 2027 is provisional (see :meth:`HolidayCalendar.verified_years`). A date in a year outside the
table is a workday Monday to Friday and a weekend day otherwise.

Day type precedence: Spring Festival period > public holiday > make-up workday > Saturday/Sunday > workday.
The Spring Festival period runs from :data:`SPRING_FESTIVAL_BEFORE` days before 正月初一 to
:data:`SPRING_FESTIVAL_AFTER` days after it: the window in which the reference curve's load is visibly
depressed (migrant workers leave about two weeks early and return after 元宵).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import IntEnum, StrEnum
from functools import cache
from importlib import resources
from typing import Final

import numpy as np

SPRING_FESTIVAL_BEFORE: Final = 15
"""Days before 正月初一 that belong to the Spring Festival period."""
SPRING_FESTIVAL_AFTER: Final = 20
"""Days after 正月初一 that belong to the Spring Festival period."""
SLOTS_PER_DAY: Final = 96
"""15-minute slots in a day."""


class DayType(StrEnum):
    WORKDAY = "workday"
    WEEKEND = "weekend"
    HOLIDAY = "holiday"  # 法定节假日 (other than the Spring Festival period)
    SPRING_FESTIVAL = "spring_festival"  # 春节 period, see module docstring


class Season(StrEnum):
    WINTER = "winter"  # December - February
    SPRING = "spring"  # March - May
    SUMMER = "summer"  # June - August
    AUTUMN = "autumn"  # September - November


_SEASON_OF_MONTH: Final = (
    Season.WINTER,
    Season.WINTER,
    Season.SPRING,
    Season.SPRING,
    Season.SPRING,
    Season.SUMMER,
    Season.SUMMER,
    Season.SUMMER,
    Season.AUTUMN,
    Season.AUTUMN,
    Season.AUTUMN,
    Season.WINTER,
)


def season_of(day: date) -> Season:
    """Meteorological season of ``day`` (northern hemisphere)."""
    return _SEASON_OF_MONTH[day.month - 1]


@dataclass(frozen=True)
class HolidayYear:
    """One year of the holiday table."""

    year: int
    verified: bool
    source: str
    spring_festival: date  # 正月初一
    holidays: tuple[tuple[str, date, date], ...]  # (name, first day, last day), inclusive
    workdays: tuple[date, ...]  # make-up workdays (调休上班)


@dataclass(frozen=True)
class HolidayCalendar:
    """Public holidays, make-up workdays and Spring Festival dates, looked up by date."""

    years: Mapping[int, HolidayYear]
    _holiday_names: dict[date, str] = field(init=False, repr=False, compare=False)
    _workdays: frozenset[date] = field(init=False, repr=False, compare=False)
    _new_years: dict[int, date] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names: dict[date, str] = {}
        workdays: set[date] = set()
        for y in self.years.values():
            for name, first, last in y.holidays:
                for i in range((last - first).days + 1):
                    names[first + timedelta(days=i)] = name
            workdays.update(y.workdays)
        object.__setattr__(self, "_holiday_names", names)
        object.__setattr__(self, "_workdays", frozenset(workdays))
        object.__setattr__(self, "_new_years", {y.year: y.spring_festival for y in self.years.values()})

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> HolidayCalendar:
        """Build from the ``holidays.json`` layout."""
        years: dict[int, HolidayYear] = {}
        raw_years = data["years"]
        if not isinstance(raw_years, Mapping):
            raise ValueError("holidays: 'years' must be an object keyed by year")
        for key, raw in raw_years.items():
            year = int(key)
            years[year] = HolidayYear(
                year=year,
                verified=bool(raw["verified"]),
                source=str(raw["source"]),
                spring_festival=date.fromisoformat(raw["spring_festival"]),
                holidays=tuple(
                    (str(n), date.fromisoformat(a), date.fromisoformat(b)) for n, a, b in raw["holidays"]
                ),
                workdays=tuple(date.fromisoformat(w) for w in raw["workdays"]),
            )
        return cls(years)

    def verified_years(self) -> list[int]:
        """Years whose dates were checked against the published notice."""
        return sorted(y for y, v in self.years.items() if v.verified)

    def covers(self, day: date) -> bool:
        """Whether ``day``'s year is in the table (outside it only weekends are days off)."""
        return day.year in self.years

    def holiday_name(self, day: date) -> str | None:
        """Name of the public holiday break ``day`` falls in (e.g. "春节"), or None."""
        return self._holiday_names.get(day)

    def is_holiday(self, day: date) -> bool:
        return day in self._holiday_names

    def is_makeup_workday(self, day: date) -> bool:
        """A Saturday or Sunday moved to work (调休上班)."""
        return day in self._workdays

    def is_day_off(self, day: date) -> bool:
        """Public holiday, or a weekend day that is not a make-up workday."""
        if day in self._holiday_names:
            return True
        return day.weekday() >= 5 and day not in self._workdays

    def spring_festival_offset(self, day: date) -> int | None:
        """Days from 正月初一 when ``day`` is in the Spring Festival period, else None."""
        for year in (day.year, day.year + 1):
            new_year = self._new_years.get(year)
            if new_year is None:
                continue
            offset = (day - new_year).days
            if -SPRING_FESTIVAL_BEFORE <= offset <= SPRING_FESTIVAL_AFTER:
                return offset
        return None

    def day_type(self, day: date) -> DayType:
        """Day type by the precedence in the module docstring."""
        if self.spring_festival_offset(day) is not None:
            return DayType.SPRING_FESTIVAL
        if day in self._holiday_names:
            return DayType.HOLIDAY
        if day in self._workdays:
            return DayType.WORKDAY
        return DayType.WEEKEND if day.weekday() >= 5 else DayType.WORKDAY


@cache
def default_holidays() -> HolidayCalendar:
    """The holiday table shipped with gridcare (``holidays.json``)."""
    text = resources.files("gridcare.simulator").joinpath("holidays.json").read_text(encoding="utf-8")
    return HolidayCalendar.from_json(json.loads(text))


class Tariff(IntEnum):
    """Tariff register numbers, DL/T 645 order: T1 sharp (尖), T2 peak (峰), T3 flat (平), T4 valley (谷)."""

    SHARP = 1
    PEAK = 2
    FLAT = 3
    VALLEY = 4


def _slot(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    value = int(hours) * 60 + int(minutes)
    if value % 15 or not 0 <= value <= 24 * 60:
        raise ValueError(f"tou: time {hhmm!r} is not a quarter hour between 00:00 and 24:00")
    return value // 15


@dataclass(frozen=True)
class TouCalendar:
    """Time-of-use periods (时段表) by quarter hour, with sharp (尖峰) periods in some months only.

    ``periods`` are ``(start "HH:MM", end "HH:MM", tariff)`` covering the day; ``sharp_periods`` override
    them in ``sharp_months``. The meter switches tariffs by true Beijing time in this simulator: a meter's
    clock error does not move its tariff switching (it does move its daily freeze).
    """

    periods: tuple[tuple[str, str, Tariff], ...]
    sharp_periods: tuple[tuple[str, str], ...] = ()
    sharp_months: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        base = self._table(self.periods)
        if (base == 0).any():
            raise ValueError("tou: periods must cover every quarter hour of the day")

    @staticmethod
    def _table(periods: tuple[tuple[str, str, Tariff], ...]) -> np.ndarray:
        table = np.zeros(SLOTS_PER_DAY, dtype=np.int8)
        for start, end, tariff in periods:
            a, b = _slot(start), _slot(end)
            if b <= a:
                raise ValueError(f"tou: period {start}-{end} must end after it starts")
            table[a:b] = int(tariff)
        return table

    def slots(self, month: int) -> np.ndarray:
        """Tariff number (1..4) of each of the 96 quarter hours in ``month``."""
        return _tou_slots(self, month)


@cache
def _tou_slots(tou: TouCalendar, month: int) -> np.ndarray:
    table = TouCalendar._table(tou.periods)
    if month in tou.sharp_months:
        for start, end in tou.sharp_periods:
            table[_slot(start) : _slot(end)] = int(Tariff.SHARP)
    table.setflags(write=False)
    return table


DEFAULT_TOU: Final = TouCalendar(
    periods=(
        ("00:00", "08:00", Tariff.VALLEY),
        ("08:00", "11:00", Tariff.PEAK),
        ("11:00", "18:00", Tariff.FLAT),
        ("18:00", "22:00", Tariff.PEAK),
        ("22:00", "24:00", Tariff.VALLEY),
    ),
    sharp_periods=(("19:00", "21:00"),),
    sharp_months=frozenset({1, 7, 8, 12}),
)
"""An illustrative provincial TOU calendar: valley 22:00-08:00, peak 08:00-11:00 and 18:00-22:00, flat
11:00-18:00, sharp 19:00-21:00 in January, July, August and December."""
