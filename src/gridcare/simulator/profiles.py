"""Daily load profiles per customer class: 96 quarter-hour shapes by season and day type, daily levels,
noise and per-customer scale.

Base: the regional tables in ``profiles.json`` (derived once by ``scripts/derive_profiles.py`` from a real
regional 15-minute load curve; shapes R[season][day type] with mean 1, levels relative to the year's
workday mean, and the Spring Festival dip by day offset from 正月初一). That region is industry-heavy: its
shape is a day plateau 08:00-22:00 with a lunch dip, and its Spring Festival load falls to ~0.28.

Class modifications on top (``shape = normalise(R ** a * T)``, with T a class template built from hourly
anchor values interpolated to quarter hours):

* residential (居民): a = 0.25; T has a low night (0.4 at 02:00-04:00), a morning bump at 07:00 and the
  evening peak 19:00-21:00 (~2x mean); days off shift the morning later and raise the daytime; summer adds
  air conditioning in the afternoon and late evening, winter adds heating in the morning and evening.
  Levels: seasonal swing 1.5x the region's (cooling and heating), days off *above* workdays (k = -0.5,
  see below), Spring Festival up (k = -0.3: families at home).
* general_commercial (一般工商业): a = 0.3; T is a day plateau 09:00-20:00 with a low night; days off open
  about an hour later. Levels: weekend k = 1.5 (about 0.85x), holidays k = 1.2, Spring Festival k = 0.8.
* large_industrial (大工业): a = 0.35 (flattened regional shape); T is flat three-shift production with
  dips at the shift changes 08:00, 16:00 and 00:00 and a short lunch dip. Levels follow the region's
  day-type ratios (k = 1.2) and its Spring Festival shutdown (k = 1.15); seasonal swing 0.5x the region's.
* agricultural (农业生产): a = 0.15; by month, not by day type: an irrigation season (April-August, with
  September at the edge) with pumps on the night valley tariff and in the working day, and a low
  off-season (barns, greenhouses). Monthly level factors peak in May-June; day types barely matter
  (k = 0) except the Spring Festival (k = 0.5).

Day-type ratio for a class: ``1 + k * (r - 1)`` where r is the region's level ratio of that day type to the
workday of the same season (clamped at 0.05). Spring Festival shapes blend the class's workday shape
towards its holiday-core shape in proportion to the depth of the region's dip on that day.

Class levels are normalised so that the mean over the days of 2026 is 1: a customer's ``daily_kwh`` is
its mean daily energy over a year. Noise is multiplicative and log-normal with mean 1: one factor per
customer-day (sigma by class) and a smoothed factor per quarter hour (3-slot moving sum of normals).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib import resources
from typing import Final

import numpy as np

from gridcare.simulator.calendar import (
    SLOTS_PER_DAY,
    DayType,
    HolidayCalendar,
    Season,
    default_holidays,
    season_of,
)

CLASSES: Final = ("residential", "general_commercial", "large_industrial", "agricultural")
"""Customer classes, same values as :class:`gridcare.archives.models.CustomerClass`; index = class code."""
RESIDENTIAL, GENERAL_COMMERCIAL, LARGE_INDUSTRIAL, AGRICULTURAL = range(4)

DEFAULT_CAPACITY_KVA: Final = {
    "residential": 8.0,
    "general_commercial": 30.0,
    "large_industrial": 630.0,
    "agricultural": 20.0,
}
SLOT_SIGMA: Final = np.array([0.35, 0.15, 0.06, 0.25])
"""Quarter-hour noise (log-normal sigma) by class code."""
DAY_SIGMA: Final = np.array([0.15, 0.08, 0.05, 0.2])
"""Customer-day noise (log-normal sigma) by class code."""
POWER_FACTOR_RANGE: Final = ((0.92, 0.98), (0.88, 0.95), (0.85, 0.93), (0.80, 0.90))
"""Range of a customer's power factor by class code."""

_AGRI_MONTH: Final = np.array([0.25, 0.25, 0.6, 1.1, 1.4, 1.5, 1.3, 1.3, 0.9, 0.6, 0.5, 0.3])
_IRRIGATION_MONTHS: Final = frozenset(m + 1 for m in range(12) if _AGRI_MONTH[m] >= 0.9)

# day-type sensitivities k (see module docstring), by class code
_K_WEEKEND: Final = (-0.5, 1.5, 1.2, 0.0)
_K_HOLIDAY: Final = (-0.5, 1.2, 1.2, 0.0)
_K_SPRING_FESTIVAL: Final = (-0.3, 0.8, 1.15, 0.5)
_SEASON_SWING: Final = (1.5, 1.2, 0.5, 0.0)
_SHAPE_EXPONENT: Final = (0.25, 0.3, 0.35, 0.15)


def class_code(customer_class: str) -> int:
    """Index of ``customer_class`` in :data:`CLASSES`; a clear error for anything else."""
    try:
        return CLASSES.index(str(customer_class))
    except ValueError:
        raise ValueError(f"customer_class: {customer_class!r} is not one of {', '.join(CLASSES)}") from None


def _hourly(values: list[float]) -> np.ndarray:
    """24 hourly anchor values (at each hour's middle) -> 96 quarter hours, interpolated around the clock."""
    hours = np.arange(24) + 0.5
    x = (np.arange(SLOTS_PER_DAY) + 0.5) / 4
    return np.interp(x, np.concatenate([hours - 24, hours, hours + 24]), np.tile(np.asarray(values), 3))


def _scaled(base: np.ndarray, hours: range, factor: float) -> np.ndarray:
    out = base.copy()
    out[hours.start * 4 : hours.stop * 4] *= factor
    return out


def _residential(season: Season, off: bool) -> np.ndarray:
    if off:
        t = [0.6, 0.5, 0.45, 0.42, 0.42, 0.45, 0.5, 0.7, 0.95, 1.0, 0.95, 1.05]
        t += [1.1, 0.9, 0.85, 0.85, 0.9, 1.05, 1.45, 1.85, 1.95, 1.8, 1.4, 0.9]
    else:
        t = [0.55, 0.45, 0.4, 0.38, 0.38, 0.42, 0.65, 0.95, 0.8, 0.65, 0.62, 0.8]
        t += [0.85, 0.65, 0.6, 0.6, 0.7, 0.95, 1.45, 1.85, 1.95, 1.8, 1.35, 0.85]
    shape = _hourly(t)
    if season == Season.SUMMER:
        shape = _scaled(_scaled(_scaled(shape, range(12, 17), 1.25), range(20, 24), 1.2), range(0, 2), 1.2)
    elif season == Season.WINTER:
        shape = _scaled(_scaled(shape, range(6, 9), 1.15), range(17, 23), 1.1)
    return shape


def _commercial(season: Season, off: bool) -> np.ndarray:
    t = [0.3] * 7 + [0.45, 0.8, 1.3, 1.55, 1.55, 1.45, 1.45, 1.55, 1.55, 1.55, 1.55, 1.45, 1.35, 1.2]
    t += [0.85, 0.5, 0.35]
    if off:
        t[8], t[9] = 0.5, 0.95
    shape = _hourly(t)
    return _scaled(shape, range(11, 18), 1.15) if season == Season.SUMMER else shape


def _industrial() -> np.ndarray:
    shape = np.ones(SLOTS_PER_DAY)
    for slot in (95, 0, 31, 32, 63, 64):  # shift changes around 00:00, 08:00, 16:00
        shape[slot] = 0.85
    shape[47:50] = 0.92  # 11:45-12:30 lunch
    return shape


def _agricultural(month: int) -> np.ndarray:
    if month in _IRRIGATION_MONTHS:
        t = [1.35] * 6 + [1.1, 0.95, 0.95, 0.95, 0.95, 1.05, 1.05, 1.05, 1.05, 1.05, 1.05]
        t += [0.6, 0.6, 0.6, 0.8, 0.8, 1.3, 1.3]
    else:
        t = [0.8] * 6 + [1.15] * 12 + [1.05] * 4 + [0.85, 0.85]
    return _hourly(t)


def _normalised(shape: np.ndarray) -> np.ndarray:
    out = np.asarray(shape, dtype=np.float64)
    return out / out.mean()


@dataclass(frozen=True)
class RegionalTables:
    """The contents of ``profiles.json``."""

    shapes: Mapping[tuple[Season, DayType], np.ndarray]
    levels: Mapping[tuple[Season, DayType], float]
    sf_offsets: tuple[int, ...]
    sf_ratio: np.ndarray
    sf_core_shape: np.ndarray

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> RegionalTables:
        shapes: dict[tuple[Season, DayType], np.ndarray] = {}
        levels: dict[tuple[Season, DayType], float] = {}
        raw_shapes = data["shapes"]
        raw_levels = data["levels"]
        sf = data["spring_festival"]
        if (
            not isinstance(raw_shapes, Mapping)
            or not isinstance(raw_levels, Mapping)
            or not isinstance(sf, Mapping)
        ):
            raise ValueError("profiles: 'shapes', 'levels' and 'spring_festival' must be objects")
        for season in Season:
            for day_type in (DayType.WORKDAY, DayType.WEEKEND, DayType.HOLIDAY):
                shape = np.asarray(raw_shapes[season.value][day_type.value], dtype=np.float64)
                if shape.shape != (SLOTS_PER_DAY,):
                    raise ValueError(f"profiles: shape {season}/{day_type} must have {SLOTS_PER_DAY} values")
                shapes[season, day_type] = _normalised(shape)
                levels[season, day_type] = float(raw_levels[season.value][day_type.value])
        return cls(
            shapes=shapes,
            levels=levels,
            sf_offsets=tuple(int(k) for k in sf["offsets"]),
            sf_ratio=np.asarray(sf["ratio"], dtype=np.float64),
            sf_core_shape=_normalised(np.asarray(sf["core_shape"], dtype=np.float64)),
        )


@cache
def regional_tables() -> RegionalTables:
    """The shipped regional tables."""
    text = resources.files("gridcare.simulator").joinpath("profiles.json").read_text(encoding="utf-8")
    return RegionalTables.from_json(json.loads(text))


class ProfileSet:
    """Class load profiles by date: ``shape`` (mean 1), ``level`` (class-year mean 1) and ``day_factors``."""

    def __init__(
        self, regional: RegionalTables | None = None, holidays: HolidayCalendar | None = None
    ) -> None:
        self.regional = regional or regional_tables()
        self.holidays = holidays or default_holidays()
        self._cache: dict[date, np.ndarray] = {}
        self._norm = np.ones(len(CLASSES))
        first = date(2026, 1, 1)
        year = [first + timedelta(days=i) for i in range(365)]
        self._norm = np.array([np.mean([self._raw(c, d)[1] for d in year]) for c in range(len(CLASSES))])

    def _ratio(self, code: int, season: Season, day_type: DayType, day: date) -> float:
        reg = self.regional
        if day_type == DayType.WORKDAY:
            return 1.0
        if day_type == DayType.SPRING_FESTIVAL:
            offset = self.holidays.spring_festival_offset(day)
            r = float(reg.sf_ratio[reg.sf_offsets.index(offset)]) if offset in reg.sf_offsets else 1.0
            k = _K_SPRING_FESTIVAL[code]
        else:
            r = reg.levels[season, day_type] / reg.levels[season, DayType.WORKDAY]
            k = _K_WEEKEND[code] if day_type == DayType.WEEKEND else _K_HOLIDAY[code]
        return max(0.05, 1.0 + k * (r - 1.0))

    def _raw(self, code: int, day: date) -> tuple[np.ndarray, float]:
        reg = self.regional
        season = season_of(day)
        day_type = self.holidays.day_type(day)
        a = _SHAPE_EXPONENT[code]
        base_type = DayType.WORKDAY if day_type == DayType.SPRING_FESTIVAL else day_type
        region = reg.shapes[season, base_type]
        off = day_type != DayType.WORKDAY
        if code == RESIDENTIAL:
            template = _residential(season, off)
        elif code == GENERAL_COMMERCIAL:
            template = _commercial(season, off)
        elif code == LARGE_INDUSTRIAL:
            template = _industrial()
        else:
            template = _agricultural(day.month)
        shape = _normalised(region**a * template)
        if day_type == DayType.SPRING_FESTIVAL:
            offset = self.holidays.spring_festival_offset(day)
            depth = (
                1.0 - float(reg.sf_ratio[reg.sf_offsets.index(offset)]) if offset in reg.sf_offsets else 0.0
            )
            full = 1.0 - float(reg.sf_ratio.min())
            w = min(1.0, max(0.0, depth / full)) if full > 0 else 0.0
            core = _normalised(reg.sf_core_shape**a * template)
            shape = _normalised((1.0 - w) * shape + w * core)
        if code == AGRICULTURAL:
            season_level = float(_AGRI_MONTH[day.month - 1] / _AGRI_MONTH.mean())
        else:
            workday = np.array([reg.levels[s, DayType.WORKDAY] for s in Season])
            season_level = float(
                (reg.levels[season, DayType.WORKDAY] / workday.mean()) ** _SEASON_SWING[code]
            )
        return shape, season_level * self._ratio(code, season, day_type, day)

    def shape(self, customer_class: str, day: date) -> np.ndarray:
        """The 96-point shape (mean 1) of ``customer_class`` on ``day``."""
        return self._raw(class_code(customer_class), day)[0]

    def level(self, customer_class: str, day: date) -> float:
        """Daily energy of ``customer_class`` on ``day`` relative to its yearly mean day."""
        code = class_code(customer_class)
        return self._raw(code, day)[1] / float(self._norm[code])

    def day_factors(self, day: date) -> np.ndarray:
        """Array (classes, 96): mean power in each quarter hour [kW] per 1 kWh/day of yearly mean energy."""
        hit = self._cache.get(day)
        if hit is not None:
            return hit
        rows = []
        for code in range(len(CLASSES)):
            shape, level = self._raw(code, day)
            rows.append(shape * (level / float(self._norm[code])) / 24.0)
        table = np.vstack(rows)
        table.setflags(write=False)
        if len(self._cache) > 400:
            self._cache.clear()
        self._cache[day] = table
        return table


@cache
def default_profiles() -> ProfileSet:
    """Profiles from the shipped tables and holiday calendar (built once per process)."""
    return ProfileSet()


def draw_daily_kwh(customer_class: str, capacity_kva: float | None, rng: np.random.Generator) -> float:
    """A customer's mean daily energy [kWh/day] from class and contracted capacity.

    residential: log-normal around 7 kWh/day, mildly growing with capacity, clipped to 3..15;
    general_commercial: capacity x 1.5..5 equivalent full-load hours; large_industrial: capacity x 6..14 h;
    agricultural: capacity x 1..3 h. A missing or zero capacity takes the class default
    (:data:`DEFAULT_CAPACITY_KVA`).
    """
    code = class_code(customer_class)
    cap = float(capacity_kva) if capacity_kva else DEFAULT_CAPACITY_KVA[CLASSES[code]]
    if code == RESIDENTIAL:
        value = 7.0 * (cap / 8.0) ** 0.3 * float(rng.lognormal(0.0, 0.35))
        return float(min(15.0, max(3.0, value)))
    hours = {GENERAL_COMMERCIAL: (1.5, 5.0), LARGE_INDUSTRIAL: (6.0, 14.0), AGRICULTURAL: (1.0, 3.0)}[code]
    return cap * float(rng.uniform(*hours))


def draw_power_factor(customer_class: str, rng: np.random.Generator) -> float:
    low, high = POWER_FACTOR_RANGE[class_code(customer_class)]
    return float(rng.uniform(low, high))
