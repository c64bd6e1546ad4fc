"""Holiday table, day types, seasons and the TOU calendar."""

from __future__ import annotations

from datetime import date

import pytest

from gridcare.simulator.calendar import (
    DEFAULT_TOU,
    DayType,
    Season,
    Tariff,
    TouCalendar,
    default_holidays,
    season_of,
)


@pytest.fixture(scope="module")
def cal():
    return default_holidays()


def test_spring_festival_2026_is_a_holiday_in_the_spring_festival_period(cal) -> None:
    day = date(2026, 2, 17)  # 正月初一
    assert cal.is_holiday(day)
    assert cal.holiday_name(day) == "春节"
    assert cal.spring_festival_offset(day) == 0
    assert cal.day_type(day) == DayType.SPRING_FESTIVAL
    assert cal.holiday_name(date(2026, 2, 15)) == "春节"  # 腊月二十八, first day of the break
    assert cal.holiday_name(date(2026, 2, 24)) is None  # back to work after 初七


@pytest.mark.parametrize(
    "day",
    [date(2026, 1, 4), date(2026, 5, 9), date(2026, 9, 20), date(2025, 4, 27), date(2024, 5, 11)],
)
def test_makeup_workdays_are_workdays(cal, day: date) -> None:
    assert day.weekday() >= 5  # a Saturday or Sunday ...
    assert cal.is_makeup_workday(day)
    assert not cal.is_day_off(day)
    assert cal.day_type(day) == DayType.WORKDAY  # ... that is worked (调休上班)


def test_makeup_workday_inside_the_spring_festival_period_is_flagged_but_typed_spring_festival(cal) -> None:
    day = date(2026, 2, 14)  # Saturday worked before 春节
    assert cal.is_makeup_workday(day) and not cal.is_day_off(day)
    assert cal.day_type(day) == DayType.SPRING_FESTIVAL


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 10, 3), DayType.HOLIDAY),  # 国庆 on a Saturday: holiday wins
        (date(2026, 10, 8), DayType.WORKDAY),
        (date(2026, 3, 14), DayType.WEEKEND),
        (date(2026, 3, 11), DayType.WORKDAY),
        (date(2025, 1, 28), DayType.SPRING_FESTIVAL),  # 除夕 2025
        (date(2025, 10, 8), DayType.HOLIDAY),  # 国庆+中秋 8 days
        (date(2024, 6, 10), DayType.HOLIDAY),  # 端午 2024
        (date(2013, 4, 7), DayType.WORKDAY),  # reference years too
        (date(2031, 7, 5), DayType.WEEKEND),  # outside the table: weekends only
        (date(2031, 7, 7), DayType.WORKDAY),
    ],
)
def test_day_types(cal, day: date, expected: DayType) -> None:
    assert cal.day_type(day) == expected


def test_spring_festival_period_bounds(cal) -> None:
    assert cal.spring_festival_offset(date(2026, 2, 2)) == -15
    assert cal.spring_festival_offset(date(2026, 2, 1)) is None
    assert cal.spring_festival_offset(date(2026, 3, 9)) == 20
    assert cal.spring_festival_offset(date(2026, 3, 10)) is None
    assert cal.spring_festival_offset(date(2024, 12, 31)) is None  # 2025 new year is 01-29: -29 days


def test_verified_years_and_provisional_2027(cal) -> None:
    assert cal.verified_years() == [2009, 2010, 2011, 2012, 2013, 2014, 2015, 2024, 2025, 2026]
    assert not cal.years[2027].verified
    assert cal.covers(date(2027, 6, 1)) and not cal.covers(date(2020, 6, 1))
    for year in cal.years.values():  # every make-up workday is a Saturday or Sunday
        assert all(d.weekday() >= 5 for d in year.workdays), year.year


def test_seasons() -> None:
    assert [season_of(date(2026, m, 1)) for m in (1, 3, 6, 9, 12)] == [
        Season.WINTER,
        Season.SPRING,
        Season.SUMMER,
        Season.AUTUMN,
        Season.WINTER,
    ]


def test_tou_calendar_sharp_only_in_sharp_months() -> None:
    july, march = DEFAULT_TOU.slots(7), DEFAULT_TOU.slots(3)
    assert july[19 * 4] == Tariff.SHARP and july[20 * 4 + 3] == Tariff.SHARP
    assert march[19 * 4] == Tariff.PEAK
    assert march[3 * 4] == Tariff.VALLEY and march[23 * 4] == Tariff.VALLEY
    assert march[9 * 4] == Tariff.PEAK and march[12 * 4] == Tariff.FLAT
    assert len(march) == 96


def test_tou_calendar_rejects_gaps_and_odd_times() -> None:
    with pytest.raises(ValueError, match="cover every quarter hour"):
        TouCalendar(periods=(("00:00", "12:00", Tariff.FLAT),))
    with pytest.raises(ValueError, match="quarter hour"):
        TouCalendar(periods=(("00:00", "12:10", Tariff.FLAT), ("12:10", "24:00", Tariff.PEAK)))
