"""Tiers, basic charges (capacity, demand, suspension, proration), tariff changes and the power-factor
adjustment inside a quote. Expected values are computed by hand."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from gridcare.billing import BillingInputError, QuoteRequest, TierSchedule, compute, quote, validate_model
from tests.billing.builders import (
    D,
    amounts,
    body,
    example_data,
    industrial_tariff,
    kwh,
    request,
    residential_tariff,
)

ENERGY = "电度电费 energy"
TIER2, TIER3 = "阶梯加价-第二档 tier-2 increment", "阶梯加价-第三档 tier-3 increment"
JULY_ENERGY = {"energy_kwh": {"peak": 1000, "flat": 1000, "valley": 1000}}
CAPACITY_1000 = {"transformers": [{"capacity_kva": 1000}]}


def basic_lines(result: Any) -> dict[str, Any]:
    return {
        line.item: line.amount_yuan for line in result.lines if line.item.startswith(("基本电费", "需量"))
    }


def field_of(excinfo: pytest.ExceptionInfo[BillingInputError]) -> str:
    return excinfo.value.errors[0].field


# --- tiers -------------------------------------------------------------------------------------


def test_monthly_tiers_below_the_first_threshold_have_no_increment() -> None:
    result = quote(request(residential_tariff(), {"energy_kwh": {"total": 230}}))
    assert amounts(result) == {ENERGY: D("121.51")}  # 230 x 0.5283 = 121.509


def test_monthly_tiers_start_from_tier_consumed() -> None:
    # 100 kWh already billed this month: 100 -> 400 puts 170 kWh in tier 2.
    result = quote(request(residential_tariff(), {"energy_kwh": {"total": 300}, "tier_consumed_kwh": 100}))
    assert kwh(result) == {ENERGY: D(300), TIER2: D(170)}
    assert result.total_yuan == D("166.99")  # 300 x 0.5283 = 158.49, + 170 x 0.05 = 8.50


def test_monthly_tiers_with_seasonal_bands() -> None:
    tiers = {
        "basis": "monthly",
        "bands": [
            {"up_to_kwh": 230, "increment_yuan_per_kwh": 0},
            {"up_to_kwh": 400, "increment_yuan_per_kwh": D("0.05")},
            {"up_to_kwh": None, "increment_yuan_per_kwh": D("0.3")},
        ],
        "seasons": [
            {
                "name": "夏季 summer",
                "months": [7, 8],
                "bands": [
                    {"up_to_kwh": 260, "increment_yuan_per_kwh": 0},
                    {"up_to_kwh": 600, "increment_yuan_per_kwh": D("0.05")},
                    {"up_to_kwh": None, "increment_yuan_per_kwh": D("0.3")},
                ],
            }
        ],
    }
    july = quote(request(residential_tariff(tiers=tiers), {"energy_kwh": {"total": 500}}))
    assert kwh(july) == {ENERGY: D(500), TIER2: D(240)}
    march = quote(
        request(
            residential_tariff(tiers=tiers),
            {"energy_kwh": {"total": 500}},
            start="2024-03-01",
            end="2024-03-31",
        )
    )
    assert kwh(march) == {ENERGY: D(500), TIER2: D(170), TIER3: D(100)}


def test_seasonal_tiers_restart_when_the_season_changes() -> None:
    tiers = {
        "basis": "seasonal",
        "seasons": [
            {
                "name": "夏季 summer",
                "months": [5, 6, 7, 8, 9, 10],
                "bands": [
                    {"up_to_kwh": 1000, "increment_yuan_per_kwh": 0},
                    {"up_to_kwh": 1500, "increment_yuan_per_kwh": D("0.05")},
                    {"up_to_kwh": None, "increment_yuan_per_kwh": D("0.3")},
                ],
            },
            {
                "name": "非夏季 non-summer",
                "months": [11, 12, 1, 2, 3, 4],
                "bands": [
                    {"up_to_kwh": 100, "increment_yuan_per_kwh": 0},
                    {"up_to_kwh": 200, "increment_yuan_per_kwh": D("0.05")},
                    {"up_to_kwh": None, "increment_yuan_per_kwh": D("0.3")},
                ],
            },
        ],
    }
    req = request(
        residential_tariff("0.5", tiers=tiers),
        {"energy_kwh": {"total": 310}, "tier_consumed_kwh": 900},
        start="2024-10-16",
        end="2024-11-15",
    )
    # 310 kWh by days: October 16 days -> 160, November 15 days -> 150.
    # October: 900 -> 1060 = 60 kWh tier 2; November starts the new season at 0: 150 -> 50 kWh tier 2.
    result = quote(req)
    assert kwh(result) == {ENERGY: D(310), TIER2: D(110)}
    assert result.total_yuan == D("160.50")


def test_tier_window_starts() -> None:
    yearly = TierSchedule.model_validate(
        {"basis": "yearly", "year_start_month": 7, "bands": [{"increment_yuan_per_kwh": 0}]}
    )
    assert yearly.window_starts(date(2024, 6, 20), date(2024, 7, 19)) == [date(2024, 7, 1)]
    assert yearly.window_starts(date(2024, 7, 1), date(2024, 7, 31)) == []


def test_tariff_change_splits_energy_and_prorates_monthly_thresholds() -> None:
    new = residential_tariff("0.5583")
    req = request(
        residential_tariff("0.5283"),
        {"energy_kwh": {"total": 460}},
        tariff_changes=[{"effective_from": "2024-07-16", "tariff": new}],
    )
    result = quote(req)
    # 460 kWh: 15/31 -> 223 at 0.5283 = 117.81; 237 at 0.5583 = 132.32.
    # Thresholds: 230 x 15/31 -> 111, 400 x 15/31 -> 194 (tier 2: 83, tier 3: 29);
    #             230 x 16/31 -> 119, 400 x 16/31 -> 206 (tier 2: 87, tier 3: 31).
    assert [(line.item, line.kwh, line.price, line.amount_yuan) for line in result.lines] == [
        (ENERGY, D(223), D("0.5283"), D("117.81")),
        (ENERGY, D(237), D("0.5583"), D("132.32")),
        (TIER2, D(170), D("0.05"), D("8.50")),
        (TIER3, D(60), D("0.3"), D("18.00")),
    ]
    assert result.total_yuan == D("276.63")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"effective_from": "2024-07-01"}, "tariff_changes[0].effective_from"),
        ({"effective_from": "2024-08-01"}, "tariff_changes[0].effective_from"),
    ],
)
def test_tariff_change_must_fall_inside_the_cycle(change: dict[str, Any], field: str) -> None:
    with pytest.raises(BillingInputError) as excinfo:
        request(
            residential_tariff(),
            {"energy_kwh": {"total": 1}},
            tariff_changes=[{**change, "tariff": residential_tariff()}],
        )
    assert field_of(excinfo) == field


def test_tariff_change_keeps_the_customer_class() -> None:
    other = industrial_tariff()
    with pytest.raises(BillingInputError) as excinfo:
        request(
            residential_tariff(),
            {"energy_kwh": {"total": 1}},
            tariff_changes=[{"effective_from": "2024-07-10", "tariff": other}],
        )
    assert field_of(excinfo) == "tariff_changes[0].tariff.customer_class"


# --- basic charge ------------------------------------------------------------------------------


def test_capacity_charge_is_one_month_per_cycle() -> None:
    result = quote(request(industrial_tariff(), JULY_ENERGY, supply=CAPACITY_1000))
    assert basic_lines(result) == {"基本电费-容量 basic-capacity: 1000 kVA": D("25000.00")}


def test_recognised_suspension_is_not_charged_for_its_days() -> None:
    supply = {
        **CAPACITY_1000,
        "suspensions": [{"capacity_kva": 400, "start": "2024-07-11", "end": "2024-07-31"}],
    }
    result = quote(request(industrial_tariff(), JULY_ENERGY, supply=supply))
    # 1000 x 25 x 10/30 = 8333.33; 600 x 25 x 21/30 = 10500.00
    assert basic_lines(result) == {
        "基本电费-容量 basic-capacity: 1000 kVA × 10/30": D("8333.33"),
        "基本电费-容量 basic-capacity: 600 kVA (400 kVA suspended) × 21/30": D("10500.00"),
    }


def test_suspension_shorter_than_15_days_is_not_recognised() -> None:
    supply = {
        **CAPACITY_1000,
        "suspensions": [{"capacity_kva": 400, "start": "2024-07-11", "end": "2024-07-24"}],
    }
    result = quote(request(industrial_tariff(), JULY_ENERGY, supply=supply))
    assert basic_lines(result) == {"基本电费-容量 basic-capacity: 1000 kVA": D("25000.00")}


def test_open_ended_suspension_counts() -> None:
    supply = {**CAPACITY_1000, "suspensions": [{"capacity_kva": 400, "start": "2024-07-20"}]}
    result = quote(request(industrial_tariff(), JULY_ENERGY, supply=supply))
    assert basic_lines(result) == {
        "基本电费-容量 basic-capacity: 1000 kVA × 19/30": D("15833.33"),
        "基本电费-容量 basic-capacity: 600 kVA (400 kVA suspended) × 12/30": D("6000.00"),
    }


def test_suspension_over_the_whole_cycle_is_one_reduced_month() -> None:
    supply = {**CAPACITY_1000, "suspensions": [{"capacity_kva": 400, "start": "2024-06-01"}]}
    result = quote(request(industrial_tariff(), JULY_ENERGY, supply=supply))
    assert basic_lines(result) == {"基本电费-容量 basic-capacity: 600 kVA (400 kVA suspended)": D("15000.00")}


def test_suspending_more_than_installed_is_an_error() -> None:
    supply = {
        **CAPACITY_1000,
        "suspensions": [{"capacity_kva": 1200, "start": "2024-07-01", "end": "2024-07-31"}],
    }
    with pytest.raises(BillingInputError) as excinfo:
        quote(request(industrial_tariff(), JULY_ENERGY, supply=supply))
    assert field_of(excinfo) == "supply.suspensions[0].capacity_kva"


def test_price_change_alone_splits_the_month_by_cycle_days() -> None:
    new = industrial_tariff(basic_charge={"capacity_price_yuan_per_kva_month": 30})
    req = request(
        industrial_tariff(),
        JULY_ENERGY,
        supply=CAPACITY_1000,
        tariff_changes=[{"effective_from": "2024-07-16", "tariff": new}],
    )
    # 1000 x 25 x 15/31 = 12096.77; 1000 x 30 x 16/31 = 15483.87
    assert basic_lines(quote(req)) == {
        "基本电费-容量 basic-capacity: 1000 kVA × 15/31": D("12096.77"),
        "基本电费-容量 basic-capacity: 1000 kVA × 16/31": D("15483.87"),
    }


def demand_quote(actual: str, contracted: int | None) -> dict[str, Any]:
    supply: dict[str, Any] = {**CAPACITY_1000, "basic_charge_basis": "demand"}
    if contracted is not None:
        supply["contracted_demand_kw"] = contracted
    usage = {**JULY_ENERGY, "max_demand_kw": D(actual)}
    return basic_lines(quote(request(industrial_tariff(), usage, supply=supply)))


def test_demand_within_105_percent_bills_the_contract() -> None:
    assert demand_quote("410", 400) == {"基本电费-需量 basic-demand: 400 kW": D("16000.00")}
    assert demand_quote("300", 400) == {"基本电费-需量 basic-demand: 400 kW": D("16000.00")}


def test_demand_above_105_percent_charges_the_excess_twice() -> None:
    # 450 kW billed (18000.00) plus (450 - 420) kW once more (1200.00)
    assert demand_quote("450", 400) == {
        "基本电费-需量 basic-demand: 450 kW": D("18000.00"),
        "需量超限加收 demand-excess: 30 kW above 105% of 400 kW": D("1200.00"),
    }


def test_demand_without_contract_bills_the_actual() -> None:
    assert demand_quote("333.3", None) == {"基本电费-需量 basic-demand: 333.3 kW": D("13332.00")}


def test_demand_basis_needs_a_demand() -> None:
    with pytest.raises(BillingInputError) as excinfo:
        quote(
            request(
                industrial_tariff(), JULY_ENERGY, supply={**CAPACITY_1000, "basic_charge_basis": "demand"}
            )
        )
    assert field_of(excinfo) == "usage.max_demand_kw"


def test_suspensions_only_with_capacity_basis() -> None:
    supply = {
        **CAPACITY_1000,
        "basic_charge_basis": "demand",
        "suspensions": [{"capacity_kva": 400, "start": "2024-07-01"}],
    }
    with pytest.raises(BillingInputError) as excinfo:
        request(industrial_tariff(), {**JULY_ENERGY, "max_demand_kw": 10}, supply=supply)
    assert field_of(excinfo) == "supply.suspensions"


def test_basic_charge_needs_supply() -> None:
    with pytest.raises(BillingInputError) as excinfo:
        quote(request(industrial_tariff(), JULY_ENERGY))
    assert field_of(excinfo) == "supply"


def test_transformer_change_must_fall_inside_the_cycle() -> None:
    supply = {"transformers": [{"capacity_kva": 315}, {"capacity_kva": 400, "effective_from": "2024-08-02"}]}
    with pytest.raises(BillingInputError) as excinfo:
        request(industrial_tariff(), JULY_ENERGY, supply=supply)
    assert field_of(excinfo) == "supply.transformers[1].effective_from"


# --- power factor --------------------------------------------------------------------------------


def example3(**tariff_changes: Any) -> QuoteRequest:
    data = example_data("industrial-two-part.json")
    data["tariff"].update(tariff_changes)
    return validate_model(QuoteRequest, data)


def test_pf_adjustment_of_example_3() -> None:
    result, working = compute(example3())
    assert (result.power_factor, result.pf_adjustment_pct) == (D("0.81"), D("4.5"))
    assert working.pf_base_yuan == D("93059.10")
    assert amounts(result)["力调电费 power-factor adjustment: PF 0.81 / standard 0.90, +4.5%"] == D("4187.66")


def test_pf_base_can_include_surcharges() -> None:
    # (93059.10 + 3182.80) x 4.5 % = 4330.8855 -> 4330.89
    result = quote(example3(pf_base_includes_surcharges=True))
    assert result.lines[-4].amount_yuan == D("4330.89")
    assert result.total_yuan == D("100572.79")


def test_sub_usage_can_stay_out_of_the_pf_base() -> None:
    data = example_data("industrial-two-part.json")
    data["sub_usages"][0]["pf_adjusted"] = False
    result = quote(validate_model(QuoteRequest, data))
    # (93059.10 - 1264.80) x 4.5 % = 4130.7435 -> 4130.74
    assert [line.item for line in result.lines][5:7] == [
        "基本电费-容量 basic-capacity: 1000 kVA",
        "力调电费 power-factor adjustment: PF 0.81 / standard 0.90, +4.5%",
    ]
    assert result.lines[6].amount_yuan == D("4130.74")
    assert result.total_yuan == D("100372.64")


def test_pf_reduction_is_negative() -> None:
    usage = {**JULY_ENERGY, "reactive_kvarh": 900}  # PF 3000 / sqrt(3000^2 + 900^2) = 0.958 -> 0.96
    result = quote(request(industrial_tariff(), usage, supply=CAPACITY_1000, pf_standard=D("0.9")))
    # energy 893.20 + 535.90 + 278.60 + basic 25000.00 = 26707.70; x -0.75 % = -200.30775 -> -200.31
    assert result.pf_adjustment_pct == D("-0.75")
    assert result.lines[-1].amount_yuan == D("-200.31")
    assert result.total_yuan == D("26507.39")


def test_pf_needs_reactive_energy() -> None:
    with pytest.raises(BillingInputError) as excinfo:
        quote(request(industrial_tariff(), JULY_ENERGY, supply=CAPACITY_1000, pf_standard=D("0.9")))
    assert field_of(excinfo) == "usage.reactive_kvarh"


def test_no_energy_no_power_factor() -> None:
    usage = {"energy_kwh": {"peak": 0}, "reactive_kvarh": 0}
    result = quote(request(industrial_tariff(), usage, supply=CAPACITY_1000, pf_standard=D("0.85")))
    assert (result.power_factor, result.pf_adjustment_pct) == (None, None)
    assert result.total_yuan == D("25000.00")


def test_pf_standard_must_be_an_official_one() -> None:
    with pytest.raises(BillingInputError) as excinfo:
        validate_model(
            QuoteRequest,
            body(industrial_tariff(), JULY_ENERGY, supply=CAPACITY_1000, pf_standard=D("0.95")),
        )
    assert field_of(excinfo) == "pf_standard"
