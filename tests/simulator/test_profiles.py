"""Class load profiles: shapes, levels, scale draws and the shipped regional tables."""

from __future__ import annotations

import json
from datetime import date, timedelta
from importlib import resources

import numpy as np
import pytest

from gridcare.simulator.profiles import (
    CLASSES,
    ProfileSet,
    default_profiles,
    draw_daily_kwh,
    regional_tables,
)

WEDNESDAY = date(2026, 3, 18)
SATURDAY = date(2026, 3, 21)


def hour(shape: np.ndarray, h: int) -> float:
    return float(shape[h * 4 : h * 4 + 4].mean())


@pytest.fixture(scope="module")
def profiles() -> ProfileSet:
    return default_profiles()


def test_shipped_table_is_complete() -> None:
    raw = json.loads(resources.files("gridcare.simulator").joinpath("profiles.json").read_text("utf-8"))
    assert raw["source"]["days_used"] > 2000
    assert raw["source"]["spring_festivals_used"] == 6
    tables = regional_tables()
    assert len(tables.shapes) == 12  # 4 seasons x workday/weekend/holiday
    for shape in tables.shapes.values():
        assert shape.shape == (96,)
        assert shape.mean() == pytest.approx(1.0)
    # the reference region works by day: its 10:00 load is well above its 04:00 load
    workday = next(v for (s, d), v in tables.shapes.items() if s == "spring" and d == "workday")
    assert hour(workday, 10) > 1.5 * hour(workday, 4)
    # and its Spring Festival trough is deep
    assert tables.sf_ratio.min() < 0.35
    assert tables.sf_ratio[tables.sf_offsets.index(0)] < 0.4


@pytest.mark.parametrize("day", [WEDNESDAY, SATURDAY, date(2026, 7, 15), date(2026, 1, 20)])
def test_residential_evening_peak_above_night(profiles: ProfileSet, day: date) -> None:
    shape = profiles.shape("residential", day)
    evening = max(hour(shape, h) for h in (19, 20, 21))
    assert evening > 3 * hour(shape, 4)
    hourly = shape.reshape(24, 4).mean(axis=1)
    assert evening == pytest.approx(hourly.max())  # the daily peak is in the evening


def test_industrial_flatter_than_residential(profiles: ProfileSet) -> None:
    for day in (WEDNESDAY, SATURDAY, date(2026, 8, 5)):
        industrial = profiles.shape("large_industrial", day)
        residential = profiles.shape("residential", day)
        assert industrial.std() < 0.1 < 0.4 < residential.std()
        assert industrial.max() / industrial.min() < 1.5 < 4 < residential.max() / residential.min()


def test_commercial_weekend_below_workday(profiles: ProfileSet) -> None:
    shop = "general_commercial"
    work = profiles.shape(shop, WEDNESDAY) * profiles.level(shop, WEDNESDAY)
    weekend = profiles.shape(shop, SATURDAY) * profiles.level(shop, SATURDAY)
    assert profiles.level(shop, SATURDAY) < 0.9 * profiles.level(shop, WEDNESDAY)
    assert hour(weekend, 9) < 0.8 * hour(work, 9)  # opens later
    assert hour(work, 14) > 3 * hour(work, 3)  # a daytime business


def test_residential_days_off_above_workdays(profiles: ProfileSet) -> None:
    level = profiles.level
    assert level("residential", SATURDAY) > level("residential", WEDNESDAY)
    assert level("residential", date(2026, 10, 2)) > level("residential", date(2026, 10, 12))  # 国庆 vs after


def test_spring_festival_shuts_industry_and_keeps_households(profiles: ProfileSet) -> None:
    new_year = date(2026, 2, 17)
    january_workday = date(2026, 1, 21)
    level = profiles.level
    assert level("large_industrial", new_year) < 0.3 * level("large_industrial", january_workday)
    assert level("residential", new_year) > level("residential", january_workday)


def test_agricultural_irrigation_season(profiles: ProfileSet) -> None:
    july, january = date(2026, 7, 15), date(2026, 1, 14)
    assert profiles.level("agricultural", july) > 3 * profiles.level("agricultural", january)
    shape = profiles.shape("agricultural", july)
    assert hour(shape, 2) > hour(shape, 18)  # pumps run on the night valley tariff


def test_levels_average_one_over_the_year(profiles: ProfileSet) -> None:
    year = [date(2026, 1, 1) + timedelta(days=i) for i in range(365)]
    for name in CLASSES:
        assert np.mean([profiles.level(name, d) for d in year]) == pytest.approx(1.0, abs=1e-9)


def test_day_factors_integrate_to_the_level(profiles: ProfileSet) -> None:
    factors = profiles.day_factors(SATURDAY)
    assert factors.shape == (4, 96)
    for code, name in enumerate(CLASSES):
        daily_kwh_per_unit = factors[code].sum() * 0.25  # kW per (kWh/day) x 0.25 h
        assert daily_kwh_per_unit == pytest.approx(profiles.level(name, SATURDAY))


def test_unknown_class_is_a_clear_error(profiles: ProfileSet) -> None:
    with pytest.raises(ValueError, match="customer_class: 'hospital'"):
        profiles.shape("hospital", WEDNESDAY)


def test_daily_kwh_draws() -> None:
    rng = np.random.default_rng(3)
    residential = [draw_daily_kwh("residential", 8, rng) for _ in range(500)]
    assert min(residential) >= 3.0 and max(residential) <= 15.0
    assert 5.0 < float(np.median(residential)) < 9.0
    commercial = [draw_daily_kwh("general_commercial", 40, rng) for _ in range(200)]
    assert min(commercial) >= 40 * 1.5 and max(commercial) <= 40 * 5
    industrial = draw_daily_kwh("large_industrial", 1000, rng)
    assert 6000 <= industrial <= 14000
    assert 630 * 6 <= draw_daily_kwh("large_industrial", None, rng) <= 630 * 14  # class default capacity
