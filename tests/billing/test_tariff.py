"""Tariff model: period calendars, seasons, tiers and the rules that tie them to customer classes."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gridcare.billing import BillingInputError, Period, Tariff, validate_model
from gridcare.billing.tariff import HourRange
from tests.billing.builders import (
    NON_SUMMER,
    SUMMER,
    D,
    commercial_tou_tariff,
    industrial_tariff,
    residential_tariff,
)


def problem(data: dict[str, Any]) -> tuple[str, str]:
    with pytest.raises(BillingInputError) as excinfo:
        validate_model(Tariff, data)
    first = excinfo.value.errors[0]
    return first.field, first.reason


def test_valid_tou_tariff_and_period_lookup() -> None:
    tariff = validate_model(Tariff, industrial_tariff())
    summer = tariff.energy.season_for(7)
    assert summer.name == "夏季 summer"
    assert [summer.period_at(h) for h in (3, 8, 10, 12, 14, 16, 18, 23)] == [
        Period.VALLEY,
        Period.PEAK,
        Period.SHARP,
        Period.FLAT,
        Period.SHARP,
        Period.FLAT,
        Period.PEAK,
        Period.FLAT,
    ]
    assert tariff.energy.season_for(3).prices_yuan_per_kwh[Period.PEAK] == D("0.8932")


def test_hour_range_wraps_past_midnight() -> None:
    assert HourRange(start_hour=22, end_hour=8).hours() == [22, 23, 0, 1, 2, 3, 4, 5, 6, 7]
    assert HourRange(start_hour=0, end_hour=24).hours() == list(range(24))


def test_calendar_gap_names_the_hours() -> None:
    season = copy.deepcopy(NON_SUMMER)
    season["hours"]["flat"] = [{"start_hour": 11, "end_hour": 17}]
    data = commercial_tou_tariff(energy={"kind": "time_of_use", "seasons": [SUMMER, season]})
    assert problem(data) == ("energy.seasons[1].hours", "hours 22:00, 23:00 belong to no period")


def test_calendar_overlap_names_the_range() -> None:
    season = copy.deepcopy(NON_SUMMER)
    season["hours"]["flat"].append({"start_hour": 10, "end_hour": 11})
    data = commercial_tou_tariff(energy={"kind": "time_of_use", "seasons": [SUMMER, season]})
    assert problem(data) == ("energy.seasons[1].hours.flat[2]", "hour 10:00 is already in period peak")


def test_prices_must_match_the_calendar() -> None:
    season = copy.deepcopy(NON_SUMMER)
    season["prices_yuan_per_kwh"]["sharp"] = D("1.2")
    data = commercial_tou_tariff(energy={"kind": "time_of_use", "seasons": [SUMMER, season]})
    assert problem(data) == (
        "energy.seasons[1].prices_yuan_per_kwh",
        "must give a price for exactly the periods peak, flat, valley",
    )


def test_seasons_must_cover_every_month() -> None:
    season = copy.deepcopy(NON_SUMMER)
    season["months"] = [1, 2, 3, 4, 5, 6, 11, 12]
    data = commercial_tou_tariff(energy={"kind": "time_of_use", "seasons": [SUMMER, season]})
    assert problem(data) == ("energy.seasons", "months 9, 10 are not covered")


def test_a_month_in_two_seasons() -> None:
    season = copy.deepcopy(NON_SUMMER)
    season["months"] = [*season["months"], 7]
    data = commercial_tou_tariff(energy={"kind": "time_of_use", "seasons": [SUMMER, season]})
    assert problem(data) == ("energy.seasons[1].months", "month 7 is already in seasons[0]")


def test_flat_energy_needs_a_price() -> None:
    assert problem({"customer_class": "agricultural", "energy": {"kind": "flat"}}) == (
        "energy.price_yuan_per_kwh",
        "required when kind is flat",
    )


def test_tiers_only_for_residential() -> None:
    data = industrial_tariff(tiers=residential_tariff()["tiers"])
    assert problem(data) == ("tiers", "tiers apply to residential tariffs only")


def test_no_basic_charge_for_residential() -> None:
    data = residential_tariff()
    data["basic_charge"] = {"capacity_price_yuan_per_kva_month": 20}
    assert problem(data) == ("basic_charge", "residential tariffs have no basic charge")


@pytest.mark.parametrize(
    ("bands", "field", "reason"),
    [
        (
            [
                {"up_to_kwh": 400, "increment_yuan_per_kwh": 0},
                {"up_to_kwh": 230, "increment_yuan_per_kwh": 0},
            ],
            "tiers.bands[1].up_to_kwh",
            "the last band must have no upper bound (null)",
        ),
        (
            [
                {"up_to_kwh": 400, "increment_yuan_per_kwh": 0},
                {"up_to_kwh": 230, "increment_yuan_per_kwh": 0},
                {"increment_yuan_per_kwh": 0},
            ],
            "tiers.bands[1].up_to_kwh",
            "must be greater than the band before",
        ),
        ([], "tiers.bands", "needs at least one band"),
        (
            [{"increment_yuan_per_kwh": 0}, {"increment_yuan_per_kwh": 0}],
            "tiers.bands[0].up_to_kwh",
            "only the last band may be unbounded",
        ),
    ],
)
def test_band_rules(bands: list[dict[str, Any]], field: str, reason: str) -> None:
    assert problem(residential_tariff(tiers={"basis": "yearly", "bands": bands})) == (field, reason)


def test_seasonal_tier_seasons_are_consecutive_months() -> None:
    band = [{"increment_yuan_per_kwh": 0}]
    tiers = {
        "basis": "seasonal",
        "seasons": [
            {"name": "a", "months": [1, 2, 7], "bands": band},
            {"name": "b", "months": [3, 4, 5, 6, 8, 9, 10, 11, 12], "bands": band},
        ],
    }
    assert problem(residential_tariff(tiers=tiers)) == (
        "tiers.seasons[0].months",
        "a season must be consecutive months",
    )


def test_negative_price_and_string_numbers_are_refused() -> None:
    data = commercial_tou_tariff()
    data["energy"]["seasons"][0]["prices_yuan_per_kwh"]["peak"] = D("-0.1")
    assert problem(data) == (
        "energy.seasons[0].prices_yuan_per_kwh.peak",
        "Input should be greater than or equal to 0",
    )
    data["energy"]["seasons"][0]["prices_yuan_per_kwh"]["peak"] = "0.9"
    assert problem(data) == (
        "energy.seasons[0].prices_yuan_per_kwh.peak",
        "must be a JSON number, not a string",
    )
    data["energy"]["seasons"][0]["prices_yuan_per_kwh"]["peak"] = 0.9
    assert problem(data)[1] == "must be an exact number (int or Decimal), not a binary float"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("8", "Input should be a valid integer"),
        (8.0, "Input should be a valid integer"),
        (True, "Input should be a valid integer"),
        (25, "Input should be less than or equal to 23"),
    ],
)
def test_hours_are_strict_integers(value: object, reason: str) -> None:
    data = commercial_tou_tariff()
    data["energy"]["seasons"][1]["hours"]["valley"][0]["start_hour"] = value
    field, got = problem(data)
    assert field == "energy.seasons[1].hours.valley[0].start_hour"
    assert got.startswith(reason)


def test_unknown_period_is_refused() -> None:
    data = commercial_tou_tariff()
    data["energy"]["seasons"][1]["prices_yuan_per_kwh"]["shoulder"] = D("0.4")
    field, reason = problem(data)
    assert field == "energy.seasons[1].prices_yuan_per_kwh.shoulder"
    assert reason.startswith("not an allowed key: Input should be 'sharp', 'peak', 'flat' or 'valley'")
