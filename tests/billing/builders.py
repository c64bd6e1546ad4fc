"""Request builders for the billing tests: plain dicts (as JSON would give) validated into models."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path
from typing import Any

from gridcare.billing import QuoteRequest, QuoteResponse, loads, parse_model, validate_model

D = Decimal
EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "billing"

SUMMER: dict[str, Any] = {
    "name": "夏季 summer",
    "months": [7, 8],
    "hours": {
        "sharp": [{"start_hour": 10, "end_hour": 11}, {"start_hour": 14, "end_hour": 15}],
        "peak": [
            {"start_hour": 8, "end_hour": 10},
            {"start_hour": 11, "end_hour": 12},
            {"start_hour": 17, "end_hour": 22},
        ],
        "flat": [
            {"start_hour": 12, "end_hour": 14},
            {"start_hour": 15, "end_hour": 17},
            {"start_hour": 22, "end_hour": 24},
        ],
        "valley": [{"start_hour": 0, "end_hour": 8}],
    },
    "prices_yuan_per_kwh": {
        "sharp": D("1.0719"),
        "peak": D("0.8932"),
        "flat": D("0.5359"),
        "valley": D("0.2786"),
    },
}
NON_SUMMER: dict[str, Any] = {
    "name": "非夏季 non-summer",
    "months": [1, 2, 3, 4, 5, 6, 9, 10, 11, 12],
    "hours": {
        "peak": [{"start_hour": 8, "end_hour": 11}, {"start_hour": 17, "end_hour": 22}],
        "flat": [{"start_hour": 11, "end_hour": 17}, {"start_hour": 22, "end_hour": 24}],
        "valley": [{"start_hour": 0, "end_hour": 8}],
    },
    "prices_yuan_per_kwh": {"peak": D("0.8932"), "flat": D("0.5359"), "valley": D("0.2786")},
}
TOU_ENERGY: dict[str, Any] = {"kind": "time_of_use", "seasons": [SUMMER, NON_SUMMER]}

THREE_TIERS_MONTHLY: dict[str, Any] = {
    "basis": "monthly",
    "bands": [
        {"up_to_kwh": 230, "increment_yuan_per_kwh": 0},
        {"up_to_kwh": 400, "increment_yuan_per_kwh": D("0.05")},
        {"up_to_kwh": None, "increment_yuan_per_kwh": D("0.30")},
    ],
}


def industrial_tariff(**changes: Any) -> dict[str, Any]:
    """Large industrial TOU tariff: 25 yuan/kVA·month or 40 yuan/kW·month, no surcharges."""
    tariff: dict[str, Any] = {
        "customer_class": "large_industrial",
        "energy": copy.deepcopy(TOU_ENERGY),
        "basic_charge": {"capacity_price_yuan_per_kva_month": 25, "demand_price_yuan_per_kw_month": 40},
    }
    tariff.update(changes)
    return tariff


def commercial_tou_tariff(**changes: Any) -> dict[str, Any]:
    """General commercial TOU tariff (single-part)."""
    tariff: dict[str, Any] = {"customer_class": "general_commercial", "energy": copy.deepcopy(TOU_ENERGY)}
    tariff.update(changes)
    return tariff


def commercial_flat_tariff(price: str = "0.6", **changes: Any) -> dict[str, Any]:
    tariff: dict[str, Any] = {
        "customer_class": "general_commercial",
        "energy": {"kind": "flat", "price_yuan_per_kwh": D(price)},
    }
    tariff.update(changes)
    return tariff


def residential_tariff(price: str = "0.5283", tiers: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "customer_class": "residential",
        "energy": {"kind": "flat", "price_yuan_per_kwh": D(price)},
        "tiers": copy.deepcopy(THREE_TIERS_MONTHLY) if tiers is None else tiers,
    }


def body(
    tariff: dict[str, Any],
    usage: dict[str, Any],
    start: str = "2024-07-01",
    end: str = "2024-07-31",
    **extra: Any,
) -> dict[str, Any]:
    data: dict[str, Any] = {"tariff": tariff, "cycle": {"start": start, "end": end}, "usage": usage}
    data.update(extra)
    return data


def request(tariff: dict[str, Any], usage: dict[str, Any], **kwargs: Any) -> QuoteRequest:
    return validate_model(QuoteRequest, body(tariff, usage, **kwargs))


def example(name: str) -> QuoteRequest:
    return parse_model(QuoteRequest, (EXAMPLES / name).read_bytes())


def example_data(name: str) -> dict[str, Any]:
    data: dict[str, Any] = loads((EXAMPLES / name).read_bytes())
    return data


def amounts(response: QuoteResponse) -> dict[str, Decimal]:
    """Line amounts by item (items must be unique in the response)."""
    items = [line.item for line in response.lines]
    assert len(items) == len(set(items)), items
    return {line.item: line.amount_yuan for line in response.lines}


def kwh(response: QuoteResponse) -> dict[str, Decimal | None]:
    return {line.item: line.kwh for line in response.lines}
