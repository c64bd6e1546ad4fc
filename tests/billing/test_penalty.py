"""Late-payment penalties (违约金)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from gridcare.billing import BillingInputError, PenaltyRequest, penalty, penalty_json, validate_model
from tests.billing.builders import D


def run(customer_class: str, arrears: list[dict[str, Any]], paid_on: str) -> Any:
    req = validate_model(
        PenaltyRequest, {"customer_class": customer_class, "arrears": arrears, "paid_on": paid_on}
    )
    return penalty(req)


def test_brief_example_across_the_year_end() -> None:
    result = run("non_residential", [{"amount_yuan": 2000, "due_date": "2012-12-15"}], "2013-01-18")
    assert penalty_json(result) == {
        "total_yuan": D("172.00"),
        "lines": [
            {
                "due_date": date(2012, 12, 15),
                "amount_yuan": D("2000.00"),
                "days": 34,
                "segments": [
                    {
                        "from": date(2012, 12, 16),
                        "to": date(2012, 12, 31),
                        "days": 16,
                        "rate_per_day": D("0.002"),
                        "penalty_yuan": D("64.00"),
                    },
                    {
                        "from": date(2013, 1, 1),
                        "to": date(2013, 1, 18),
                        "days": 18,
                        "rate_per_day": D("0.003"),
                        "penalty_yuan": D("108.00"),
                    },
                ],
                "penalty_yuan": D("172.00"),
            }
        ],
    }


def test_residential_is_one_per_mille_whatever_the_year() -> None:
    result = run("residential", [{"amount_yuan": 2000, "due_date": "2012-12-15"}], "2013-01-18")
    assert result.total_yuan == D("68.00")  # 34 days x 1 ‰ x 2000
    assert [(s.days, s.rate_per_day) for s in result.lines[0].segments] == [(34, D("0.001"))]


def test_within_the_year_only_two_per_mille() -> None:
    result = run("non_residential", [{"amount_yuan": D("1234.57"), "due_date": "2024-03-10"}], "2024-03-17")
    assert result.total_yuan == D("17.28")  # 7 days x 2 ‰ x 1234.57 = 17.28398


def test_arrears_older_than_a_year_pay_three_per_mille_after_the_first_year_end() -> None:
    result = run("non_residential", [{"amount_yuan": 1000, "due_date": "2011-12-15"}], "2013-01-18")
    # 2011: 16 days x 2 ‰ = 32.00; 2012-01-01..2013-01-18: 366 + 18 = 384 days x 3 ‰ = 1152.00
    assert [(s.days, s.penalty_yuan) for s in result.lines[0].segments] == [
        (16, D("32.00")),
        (384, D("1152.00")),
    ]
    assert result.total_yuan == D("1184.00")


def test_due_on_31_december_is_all_cross_year() -> None:
    result = run("non_residential", [{"amount_yuan": 1000, "due_date": "2023-12-31"}], "2024-01-05")
    assert [(s.days, s.rate_per_day) for s in result.lines[0].segments] == [(5, D("0.003"))]
    assert result.total_yuan == D("15.00")


def test_minimum_one_yuan_per_item() -> None:
    result = run(
        "non_residential",
        [{"amount_yuan": 100, "due_date": "2024-03-10"}, {"amount_yuan": 5000, "due_date": "2024-03-10"}],
        "2024-03-12",
    )
    # 100 x 2 ‰ x 2 = 0.40 -> 1.00; 5000 x 2 ‰ x 2 = 20.00
    assert [line.penalty_yuan for line in result.lines] == [D("1.00"), D("20.00")]
    assert result.total_yuan == D("21.00")


def test_paid_on_time_has_no_penalty() -> None:
    result = run("residential", [{"amount_yuan": 100, "due_date": "2024-03-10"}], "2024-03-10")
    assert (result.lines[0].days, result.lines[0].segments, result.total_yuan) == (0, [], D("0.00"))


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"customer_class": "commercial", "arrears": [], "paid_on": "2024-01-01"}, "customer_class"),
        ({"customer_class": "residential", "arrears": [], "paid_on": "2024-01-01"}, "arrears"),
        (
            {
                "customer_class": "residential",
                "arrears": [{"amount_yuan": D("10.001"), "due_date": "2024-01-01"}],
                "paid_on": "2024-01-02",
            },
            "arrears[0].amount_yuan",
        ),
        (
            {
                "customer_class": "residential",
                "arrears": [{"amount_yuan": 10, "due_date": "2024-13-01"}],
                "paid_on": "2024-01-02",
            },
            "arrears[0].due_date",
        ),
        (
            {"customer_class": "residential", "arrears": [{"amount_yuan": 10, "due_date": "2024-01-01"}]},
            "paid_on",
        ),
    ],
)
def test_bad_input_names_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(BillingInputError) as excinfo:
        validate_model(PenaltyRequest, data)
    assert excinfo.value.errors[0].field == field
