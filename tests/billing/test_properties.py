"""Money invariants (hypothesis): totals, fen precision, period splits, PF monotonicity, penalties."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gridcare.billing import (
    PF_STANDARDS,
    PenaltyRequest,
    QuoteRequest,
    compute,
    penalty,
    pf_adjustment_pct,
    power_factor,
    quote,
    validate_model,
)
from gridcare.billing.numbers import FEN
from gridcare.billing.segments import allocate
from tests.billing.builders import body, commercial_flat_tariff, industrial_tariff, residential_tariff

kwh_2dp = st.decimals(min_value=0, max_value=200000, places=2, allow_nan=False, allow_infinity=False)
price_4dp = st.decimals(min_value=0, max_value=3, places=4, allow_nan=False, allow_infinity=False)


@st.composite
def industrial_requests(draw: st.DrawFn) -> QuoteRequest:
    month = draw(st.integers(1, 12))
    start = date(2024, month, 1)
    end = start + timedelta(days=draw(st.integers(27, 33)))
    periods = ["peak", "flat", "valley"] + (["sharp"] if end.month in (7, 8) else [])
    energy = {p: draw(kwh_2dp) for p in periods}
    supply: dict[str, Any] = {"transformers": [{"capacity_kva": draw(st.integers(100, 5000))}]}
    if draw(st.booleans()):
        change = start + timedelta(days=draw(st.integers(1, 26)))
        supply["transformers"].append(
            {"capacity_kva": draw(st.integers(100, 5000)), "effective_from": change}
        )
    if draw(st.booleans()):
        supply["transformers"][0]["loss"] = "formula"
        supply["transformers"][0]["loss_formula"] = {
            "no_load_loss_kw": draw(st.decimals(0, 5, places=2)),
            "load_loss_coefficient_per_kwh": draw(st.decimals(0, Decimal("0.00001"), places=8)),
        }
    tariff = industrial_tariff(
        surcharges=[
            {"name": f"fund {i}", "price_yuan_per_kwh": draw(st.decimals(0, Decimal("0.05"), places=5))}
            for i in range(draw(st.integers(0, 3)))
        ],
        pf_base_includes_surcharges=draw(st.booleans()),
    )
    usage = {"energy_kwh": energy, "reactive_kvarh": draw(kwh_2dp)}
    subs = []
    if draw(st.booleans()):
        subs.append(
            {
                "name": "照明 lighting",
                "method": "fixed_ratio",
                "ratio": draw(st.decimals(Decimal("0.01"), 1, places=2)),
                "price_yuan_per_kwh": draw(price_4dp),
            }
        )
    return validate_model(
        QuoteRequest,
        body(
            tariff,
            usage,
            start=start.isoformat(),
            end=end.isoformat(),
            supply=supply,
            sub_usages=subs,
            pf_standard=draw(st.sampled_from(PF_STANDARDS)),
        ),
    )


@settings(max_examples=150, deadline=None)
@given(industrial_requests())
def test_total_is_the_sum_of_fen_lines(req: QuoteRequest) -> None:
    result, working = compute(req)
    assert result.total_yuan == sum((line.amount_yuan for line in result.lines), Decimal(0))
    for line in result.lines:
        assert line.amount_yuan == line.amount_yuan.quantize(FEN)
        assert line.amount_yuan.as_tuple().exponent == -2
    billed = sum(
        (line.kwh or 0 for line in result.lines if line.item.startswith(("电度电费", "定量定比"))), Decimal(0)
    )
    loss = sum((p.active_kwh for p in working.loss), Decimal(0))
    assert billed == sum(working.metered_kwh.values(), Decimal(0)) + loss


@settings(max_examples=150, deadline=None)
@given(
    total=st.integers(0, 20000),
    cuts=st.lists(st.integers(0, 20000), min_size=3, max_size=3),
    consumed=st.integers(0, 6000),
)
def test_splitting_kwh_between_periods_never_changes_the_energy_total(
    total: int, cuts: list[int], consumed: int
) -> None:
    points = sorted(min(c, total) for c in cuts)
    parts = [points[0], points[1] - points[0], points[2] - points[1], total - points[2]]
    split = dict(zip(("sharp", "peak", "flat", "valley"), parts, strict=True))
    tiers = {
        "basis": "yearly",
        "bands": [
            {"up_to_kwh": 2760, "increment_yuan_per_kwh": 0},
            {"up_to_kwh": 4800, "increment_yuan_per_kwh": Decimal("0.05")},
            {"up_to_kwh": None, "increment_yuan_per_kwh": Decimal("0.3")},
        ],
    }
    tariff = residential_tariff("0.5283", tiers=tiers)
    whole = quote(
        validate_model(
            QuoteRequest, body(tariff, {"energy_kwh": {"total": total}, "tier_consumed_kwh": consumed})
        )
    )
    by_period = quote(
        validate_model(QuoteRequest, body(tariff, {"energy_kwh": split, "tier_consumed_kwh": consumed}))
    )
    assert by_period == whole
    # Time-of-use: the energy lines still add up to the month's kWh.
    summer = industrial_tariff()
    tou = quote(
        validate_model(
            QuoteRequest,
            body(summer, {"energy_kwh": split}, supply={"transformers": [{"capacity_kva": 100}]}),
        )
    )
    assert sum((line.kwh or 0 for line in tou.lines if line.item.startswith("电度电费")), Decimal(0)) == total


@given(st.sampled_from(PF_STANDARDS), st.integers(0, 100), st.integers(0, 100))
def test_pf_adjustment_is_monotone_non_increasing(standard: Decimal, a: int, b: int) -> None:
    low, high = sorted((Decimal(a) / 100, Decimal(b) / 100))
    assert pf_adjustment_pct(standard, low) >= pf_adjustment_pct(standard, high)


@given(st.integers(1, 10**7), st.integers(0, 10**7))
def test_power_factor_matches_the_float_formula_away_from_half_steps(p: int, q: int) -> None:
    exact = p / (p * p + q * q) ** 0.5
    if abs(exact * 100 - int(exact * 100) - 0.5) < 1e-6:
        return
    pf = power_factor(Decimal(p), Decimal(q))
    assert pf is not None
    assert pf == Decimal(int(exact * 100 + 0.5)) / 100


@given(
    customer_class=st.sampled_from(["residential", "non_residential"]),
    amount=st.decimals(Decimal("0.01"), 10**6, places=2),
    due=st.dates(date(2010, 1, 1), date(2030, 12, 31)),
    days=st.integers(1, 800),
    extra=st.integers(0, 400),
)
def test_penalty_at_least_one_yuan_and_monotone_in_days(
    customer_class: str, amount: Decimal, due: date, days: int, extra: int
) -> None:
    def total(late_days: int) -> Decimal:
        req = validate_model(
            PenaltyRequest,
            {
                "customer_class": customer_class,
                "arrears": [{"amount_yuan": amount, "due_date": due}],
                "paid_on": due + timedelta(days=late_days),
            },
        )
        return penalty(req).total_yuan

    shorter, longer = total(days), total(days + extra)
    assert shorter >= Decimal("1.00")
    assert longer >= shorter


@given(st.decimals(0, 10**6, places=2), st.lists(st.integers(0, 40), min_size=1, max_size=12))
def test_allocate_parts_are_non_negative_and_exact(quantity: Decimal, weights: list[int]) -> None:
    parts = allocate(quantity, weights)
    assert sum(parts, Decimal(0)) == quantity
    assert all(part >= 0 for part in parts)


def test_flat_tariff_split_example() -> None:
    # The property above in one concrete case: 460 kWh in any split bills 243.02.
    tariff = commercial_flat_tariff("0.5283")
    split = quote(
        validate_model(QuoteRequest, body(tariff, {"energy_kwh": {"peak": 100, "flat": 160, "valley": 200}}))
    )
    assert split.total_yuan == Decimal("243.02")
