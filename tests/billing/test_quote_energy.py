"""Energy determination: kWh by period, registers and multipliers, meter change, seasons, transformer
loss, sub-usages and the per-kWh surcharges. Expected values are computed by hand."""

from __future__ import annotations

import pytest

from gridcare.billing import BillingInputError, compute, quote
from tests.billing.builders import (
    D,
    amounts,
    commercial_flat_tariff,
    commercial_tou_tariff,
    example,
    kwh,
    request,
)

PEAK, FLAT, VALLEY, SHARP = (
    "电度电费-峰 energy-peak",
    "电度电费-平 energy-flat",
    "电度电费-谷 energy-valley",
    ("电度电费-尖 energy-sharp"),
)
MARCH = {"start": "2024-03-01", "end": "2024-03-31"}


def error_of(excinfo: pytest.ExceptionInfo[BillingInputError]) -> tuple[str, str]:
    first = excinfo.value.errors[0]
    return first.field, first.reason


def test_example_totals() -> None:
    assert quote(example("residential-monthly-tiers.json")).total_yuan == D("269.52")
    assert quote(example("residential-annual-tiers-tou.json")).total_yuan == D("158.30")
    assert quote(example("industrial-two-part.json")).total_yuan == D("100429.56")
    assert quote(example("meter-and-transformer-change.json")).total_yuan == D("32313.93")


def test_total_wins_and_flat_is_the_remainder() -> None:
    # flat = 1000 - 300 - 200 = 500; March is non-summer.
    result = quote(
        request(commercial_tou_tariff(), {"energy_kwh": {"total": 1000, "peak": 300, "valley": 200}}, **MARCH)
    )
    assert amounts(result) == {PEAK: D("267.96"), FLAT: D("267.95"), VALLEY: D("55.72")}
    assert kwh(result) == {PEAK: D(300), FLAT: D(500), VALLEY: D(200)}
    assert result.total_yuan == D("591.63")


def test_total_overrides_a_given_flat_register() -> None:
    meter = {
        "multiplier": 10,
        "registers": {
            "total": {"start": D("100.0"), "end": D("200.0")},  # 1000 kWh
            "peak": {"start": 0, "end": 30},  # 300
            "flat": {"start": 0, "end": D("49.9")},  # 499, not used
            "valley": {"start": 0, "end": 20},  # 200
        },
    }
    result = quote(request(commercial_tou_tariff(), {"meters": [meter]}, **MARCH))
    assert kwh(result)[FLAT] == D(500)


def test_total_below_the_periods_is_an_error() -> None:
    with pytest.raises(BillingInputError) as excinfo:
        quote(
            request(
                commercial_tou_tariff(), {"energy_kwh": {"total": 400, "peak": 300, "valley": 200}}, **MARCH
            )
        )
    field, reason = error_of(excinfo)
    assert field == "usage.energy_kwh.total"
    assert "less than sharp + peak + valley (500 kWh)" in reason


def test_tou_tariff_needs_periods() -> None:
    with pytest.raises(BillingInputError) as excinfo:
        quote(request(commercial_tou_tariff(), {"energy_kwh": {"total": 400}}, **MARCH))
    assert error_of(excinfo)[0] == "usage.energy_kwh.total"


def test_sharp_outside_the_sharp_season_is_an_error() -> None:
    with pytest.raises(BillingInputError) as excinfo:
        quote(request(commercial_tou_tariff(), {"energy_kwh": {"sharp": 10, "peak": 300}}, **MARCH))
    field, reason = error_of(excinfo)
    assert field == "usage.energy_kwh.sharp"
    assert "'非夏季 non-summer' (month 3) has no sharp period" in reason


def test_season_follows_the_month_of_the_cycle_end() -> None:
    # Cycle 2024-06-16..07-15 ends in July: summer prices, sharp allowed.
    result = quote(
        request(
            commercial_tou_tariff(),
            {"energy_kwh": {"sharp": 100, "flat": 100}},
            start="2024-06-16",
            end="2024-07-15",
        )
    )
    assert amounts(result) == {SHARP: D("107.19"), FLAT: D("53.59")}


def test_flat_tariff_bills_the_sum_of_periods() -> None:
    result = quote(request(commercial_flat_tariff("0.6"), {"energy_kwh": {"peak": D("100.5"), "valley": 50}}))
    assert [(line.item, line.kwh, line.amount_yuan) for line in result.lines] == [
        ("电度电费 energy", D("150.5"), D("90.30"))
    ]


def test_meter_change_sums_runs_with_their_own_multipliers() -> None:
    runs = [
        {
            "ct_ratio": "150/5",
            "registers": {"total": {"start": D("10.00"), "end": D("20.00")}},
            "max_demand_reading": D("0.30"),
        },
        {
            "ct_ratio": 40,
            "registers": {"total": {"start": 0, "end": D("5.25")}},
            "max_demand_reading": D("0.25"),
        },
    ]
    req = request(commercial_flat_tariff("0.6"), {"meters": runs})
    result, working = compute(req)
    # 10.00 x 30 + 5.25 x 40 = 300 + 210 = 510 kWh; demand max(0.30 x 30, 0.25 x 40) = 10 kW
    assert kwh(result) == {"电度电费 energy": D(510)}
    assert working.max_demand_kw == D(10)


def test_ct_and_pt_ratio_multiply() -> None:
    meter = {
        "ct_ratio": "75/5",
        "pt_ratio": "10000/100",
        "registers": {"total": {"start": 1, "end": D("1.5")}},
    }
    result = quote(request(commercial_flat_tariff("0.6"), {"meters": [meter]}))
    assert kwh(result) == {"电度电费 energy": D(750)}  # 0.5 x 15 x 100


@pytest.mark.parametrize(
    ("meter", "field", "fragment"),
    [
        (
            {"registers": {"total": {"start": 15, "end": 12}}},
            "usage.meters[0].registers.total.end",
            "is lower than start (12 < 15); register roll-over is not supported",
        ),
        (
            {"multiplier": 20, "ct_ratio": "100/5", "registers": {"total": {"start": 0, "end": 1}}},
            "usage.meters[0].multiplier",
            "give either multiplier or ct_ratio/pt_ratio",
        ),
        (
            {"ct_ratio": "100/3", "registers": {"total": {"start": 0, "end": 1}}},
            "usage.meters[0].ct_ratio",
            "does not give an exact multiplier",
        ),
        (
            {"pt_ratio": 100, "registers": {"total": {"start": 0, "end": 1}}},
            "usage.meters[0].ct_ratio",
            "required when pt_ratio is given",
        ),
        (
            {"registers": {}},
            "usage.meters[0].registers.total",
            "give the total register or at least one period",
        ),
    ],
)
def test_meter_errors_name_the_field(meter: dict[str, object], field: str, fragment: str) -> None:
    with pytest.raises(BillingInputError) as excinfo:
        request(commercial_flat_tariff(), {"meters": [meter]})
    got_field, reason = error_of(excinfo)
    assert got_field == field
    assert fragment in reason


def test_loss_table_without_change_is_one_month() -> None:
    supply = {
        "transformers": [{"capacity_kva": 315, "loss": "table"}],
        "loss_table": [{"capacity_kva": 315, "active_kwh": 620, "reactive_kvarh": 5600}],
    }
    # February 2024: 29 days, still one month of loss: 1000 + 620 kWh.
    result = quote(
        request(
            commercial_flat_tariff("0.6"),
            {"energy_kwh": {"total": 1000}},
            start="2024-02-01",
            end="2024-02-29",
            supply=supply,
        )
    )
    assert kwh(result) == {"电度电费 energy": D(1620)}
    assert result.total_yuan == D("972.00")


def test_loss_formula_and_pf_with_reactive_loss() -> None:
    supply = {
        "transformers": [
            {
                "capacity_kva": 315,
                "loss": "formula",
                "loss_formula": {
                    "no_load_loss_kw": D("0.5"),
                    "load_loss_coefficient_per_kwh": D("0.000002"),
                    "no_load_reactive_kvar": 3,
                    "reactive_load_coefficient_per_kwh": D("0.00001"),
                },
            }
        ]
    }
    req = request(
        commercial_flat_tariff("0.6"),
        {"energy_kwh": {"total": 10000}, "reactive_kvarh": 4000},
        start="2024-06-01",
        end="2024-06-30",
        supply=supply,
        pf_standard=D("0.85"),
    )
    result, working = compute(req)
    # active loss 0.5 x 720 + 0.000002 x 10000^2 = 360 + 200 = 560; reactive 3 x 720 + 0.00001 x 10^8 = 3160
    assert working.loss[0].active_kwh == D(560)
    assert working.reactive_kvarh == D(7160)
    # 10560 x 0.6 = 6336.00; PF 10560 / sqrt(10560^2 + 7160^2) = 0.8277 -> 0.83: 2 steps below 0.85 = +1.0 %
    assert result.power_factor == D("0.83")
    assert result.pf_adjustment_pct == D(1)
    assert [line.amount_yuan for line in result.lines] == [D("6336.00"), D("63.36")]
    assert result.total_yuan == D("6399.36")


def test_active_loss_is_shared_pro_rata_to_periods() -> None:
    supply = {
        "transformers": [{"capacity_kva": 315, "loss": "table"}],
        "loss_table": [{"capacity_kva": 315, "active_kwh": 100, "reactive_kvarh": 0}],
    }
    result = quote(
        request(
            commercial_tou_tariff(),
            {"energy_kwh": {"peak": 300, "flat": 300, "valley": 400}},
            supply=supply,
            **MARCH,
        )
    )
    # 100 kWh by 300:300:400 -> 30, 30, 40
    assert kwh(result) == {PEAK: D(330), FLAT: D(330), VALLEY: D(440)}


def test_fixed_quantity_deducts_flat_then_valley() -> None:
    sub = {"name": "照明 lighting", "method": "fixed_quantity", "kwh": 600, "price_yuan_per_kwh": D("0.6324")}
    result = quote(
        request(
            commercial_tou_tariff(),
            {"energy_kwh": {"peak": 300, "flat": 500, "valley": 200}},
            sub_usages=[sub],
            **MARCH,
        )
    )
    # flat 500 used up, valley gives the other 100
    assert kwh(result) == {PEAK: D(300), VALLEY: D(100), "定量定比 sub-usage: 照明 lighting": D(600)}
    assert amounts(result) == {
        PEAK: D("267.96"),
        VALLEY: D("27.86"),
        "定量定比 sub-usage: 照明 lighting": D("379.44"),
    }


def test_fixed_ratio_takes_a_share_of_all_kwh() -> None:
    sub = {
        "name": "照明 lighting",
        "method": "fixed_ratio",
        "ratio": D("0.15"),
        "price_yuan_per_kwh": D("0.6324"),
    }
    result = quote(
        request(
            commercial_tou_tariff(),
            {"energy_kwh": {"peak": 300, "flat": 500, "valley": 200}},
            sub_usages=[sub],
            **MARCH,
        )
    )
    assert kwh(result)[FLAT] == D(350)  # 0.15 x 1000 = 150 from flat
    assert kwh(result)["定量定比 sub-usage: 照明 lighting"] == D(150)


def test_sub_usage_larger_than_the_account_is_an_error() -> None:
    sub = {"name": "照明 lighting", "method": "fixed_quantity", "kwh": 1001, "price_yuan_per_kwh": D("0.6")}
    with pytest.raises(BillingInputError) as excinfo:
        quote(
            request(
                commercial_tou_tariff(), {"energy_kwh": {"peak": 500, "flat": 500}}, sub_usages=[sub], **MARCH
            )
        )
    assert error_of(excinfo) == (
        "sub_usages[0].kwh",
        "needs 1001 kWh but only 1000 kWh remain in the account",
    )


def test_sub_usage_shape_errors() -> None:
    sub = {"name": "照明", "method": "fixed_ratio", "kwh": 10, "price_yuan_per_kwh": D("0.6")}
    with pytest.raises(BillingInputError) as excinfo:
        request(commercial_flat_tariff(), {"energy_kwh": {"total": 100}}, sub_usages=[sub])
    assert error_of(excinfo)[0] == "sub_usages[0].ratio"


def test_surcharges_apply_to_main_kwh() -> None:
    tariff = commercial_flat_tariff(
        "0.6",
        surcharges=[
            {"name": "可再生能源电价附加 renewable-energy surcharge", "price_yuan_per_kwh": D("0.019")},
            {"name": "国家重大水利工程建设基金 water-works fund", "price_yuan_per_kwh": D("0.004")},
        ],
    )
    sub = {"name": "照明 lighting", "method": "fixed_quantity", "kwh": 100, "price_yuan_per_kwh": D("0.65")}
    result = quote(request(tariff, {"energy_kwh": {"total": 1234}}, sub_usages=[sub]))
    # main 1134 kWh: 680.40; 1134 x 0.019 = 21.546 -> 21.55; 1134 x 0.004 = 4.536 -> 4.54; lighting 65.00
    assert amounts(result) == {
        "电度电费 energy": D("680.40"),
        "定量定比 sub-usage: 照明 lighting": D("65.00"),
        "可再生能源电价附加 renewable-energy surcharge": D("21.55"),
        "国家重大水利工程建设基金 water-works fund": D("4.54"),
    }
    assert result.total_yuan == D("771.49")


def test_example_4_determinants() -> None:
    _, working = compute(example("meter-and-transformer-change.json"))
    # 315 kVA for 15 days, 400 kVA for 16 days, each days/30 of its monthly table row
    assert [(p.capacity_kva, p.span.days, p.active_kwh, p.reactive_kvarh) for p in working.loss] == [
        (D(315), 15, D(310), D(2800)),
        (D(400), 16, D(395), D(3627)),
    ]
    # 705 kWh shared 13200 : 11000 : 8800 -> 282, 235, 188
    assert {p.value: v for p, v in working.active_kwh.items() if v} == {
        "peak": D(13482),
        "flat": D(11235),
        "valley": D(8988),
    }
    assert working.reactive_kvarh == D(25427)
    assert working.pf_base_yuan == D("29837.85")
