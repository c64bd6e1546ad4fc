"""The billing schedule of ``gridcare run``: the monthly run from the billing day with automatic release
of bills without anomalies, once per month (and idempotently again after a restart), only for months
whose freezes are in the lake; the daily prepaid pass from its hour."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from gridcare.billing import prepaid
from gridcare.billing.models import Bill, BillingRun, Debt, PrepaidEvent
from gridcare.billing.schedule import BillingSchedule, billing_period_due, prepaid_days_due
from gridcare.security.models import AuditRecord
from gridcare.timeutil import BEIJING
from tests.billing.test_runs import july
from tests.billing.test_world import World


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BEIJING)


@pytest.mark.parametrize(
    ("now", "due"),
    [
        (at(date(2024, 8, 4), 23, 59), None),
        (at(date(2024, 8, 5), 1, 59), None),
        (at(date(2024, 8, 5), 2), "2024-07"),
        (at(date(2024, 8, 31), 23, 59), "2024-07"),
        (at(date(2024, 1, 5), 2), "2023-12"),
    ],
)
def test_the_previous_month_is_due_from_the_billing_day(now: datetime, due: str | None) -> None:
    assert billing_period_due(now, billing_day=5) == due


@pytest.fixture
def world(settings: Any, database: Any) -> World:
    return july(settings, database)


def _statuses(world: World) -> dict[str, str]:
    with world.session() as session:
        bills = session.scalars(select(Bill).where(Bill.period == "2024-07"))
        return {b.bill_no[7:17]: b.status for b in bills}


def _billing(done: list[str]) -> list[str]:
    return [line for line in done if line.startswith("billing")]


def _debt_yuan(world: World) -> Decimal:
    with world.session() as session:
        return Decimal(session.scalar(select(func.coalesce(func.sum(Debt.amount_fen), 0)))) / 100


def test_july_is_billed_and_released_on_the_billing_day_once(world: World) -> None:
    schedule = BillingSchedule(world.settings, world.database, world.lake)
    assert _billing(schedule.run_once(at(date(2024, 8, 5), 1))) == []  # before the billing hour
    done = _billing(schedule.run_once(at(date(2024, 8, 5), 2)))
    assert done == ["billing 2024-07: 5 bills created (1 in review, 0 held), 4 released, 0 already billed"]
    # customer 4's end reading is estimated: its bill waits for a person; the others are debts now
    assert _statuses(world) == {
        "0000000001": "released",
        "0000000002": "released",
        "0000000003": "released",
        "0000000004": "review",
        "0000000005": "released",
    }
    assert _debt_yuan(world) == Decimal("269.52") + Decimal("116.23") + Decimal("651.97") + Decimal("9165.46")
    with world.session() as session:
        actors = set(session.scalars(select(AuditRecord.actor).where(AuditRecord.action.like("%release%"))))
    assert actors == {"system"}
    assert _billing(schedule.run_once(at(date(2024, 8, 5), 3))) == []  # once per month
    # a restart repeats the pass: nothing is billed or released twice
    again = BillingSchedule(world.settings, world.database, world.lake).run_once(at(date(2024, 8, 6), 2))
    assert (
        _billing(again)[0]
        == "billing 2024-07: 0 bills created (0 in review, 0 held), 0 released, 5 already billed"
    )
    assert _debt_yuan(world) == Decimal("10203.18")


def test_without_auto_release_the_bills_stay_drafts(world: World) -> None:
    settings = world.settings.model_copy(update={"billing_auto_release": False})
    BillingSchedule(settings, world.database, world.lake).run_once(at(date(2024, 8, 5), 2))
    assert sorted(_statuses(world).values()) == ["draft", "draft", "draft", "draft", "review"]
    assert _debt_yuan(world) == 0


def test_a_month_without_its_freezes_is_left_to_an_operator(world: World) -> None:
    done = BillingSchedule(world.settings, world.database, world.lake).run_once(at(date(2024, 9, 5), 2))
    assert _billing(done) == ["billing 2024-08: not run, no freezes of 2024-09-01 in the lake"]
    with world.session() as session:
        runs = select(func.count()).select_from(BillingRun).where(BillingRun.period == "2024-08")
        assert session.scalar(runs) == 0


@pytest.mark.parametrize(
    ("now", "last", "due"),
    [
        (at(date(2024, 8, 2), 6, 59), None, [date(2024, 8, 1)]),  # first pass: the latest due day only
        (at(date(2024, 8, 2), 7), None, [date(2024, 8, 2)]),
        (at(date(2024, 8, 2), 23), date(2024, 8, 2), []),
        (at(date(2024, 8, 5), 5), date(2024, 8, 2), [date(2024, 8, 3), date(2024, 8, 4)]),  # a leap
    ],
)
def test_prepaid_days_due(now: datetime, last: date | None, due: list[date]) -> None:
    assert prepaid_days_due(now, 7, last) == due


def test_prepaid_pass_once_a_day_from_its_hour(world: World) -> None:
    with world.session() as session:
        prepaid.configure(session, world.manager_a, "0000000001", since=date(2024, 8, 1))
        session.commit()
    schedule = BillingSchedule(world.settings, world.database, world.lake)
    day = date(2024, 8, 2)
    schedule._prepaid_last = date(2024, 8, 1)  # as after a pass on 1 August
    assert schedule.run_once(at(day, 6, 59)) == []
    done = schedule.run_once(at(day, 7))
    assert done == [
        "prepaid 2024-08-02: 1 accounts (0 done before), 0 warnings, 0 trips filed for approval, 0 reconnects"
    ]
    assert schedule.run_once(at(day, 8)) == []
    with world.session() as session:
        events = session.scalars(select(PrepaidEvent.day).where(PrepaidEvent.kind == "daily")).all()
    assert events == [day]
