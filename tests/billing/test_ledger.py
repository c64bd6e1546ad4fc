"""Payments, allocation (oldest bill first, penalty before principal), penalties, waivers, refunds, credit
notes; the ledger invariants over random sequences (hypothesis)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import count
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from gridcare.archives.models import Customer, CustomerClass, VoltageLevel
from gridcare.billing import allocation, ledger, runs
from gridcare.billing import bills as bill_service
from gridcare.billing.errors import BillingInputError
from gridcare.billing.ledger import IdempotencyConflict
from gridcare.billing.models import Allocation, Bill, Debt
from gridcare.security.authz import PermissionDenied
from gridcare.security.models import AuditRecord
from gridcare.security.principal import SYSTEM
from gridcare.timeutil import BEIJING
from tests.billing.test_runs import july
from tests.billing.test_world import TOTAL, World, build_world, write_readings

D = Decimal


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=BEIJING)


def pay(world: World, customer_no: str, amount: str, day: date, key: str, channel: str = "counter") -> Any:
    with world.session() as session:
        result = ledger.post_payment(session, SYSTEM, customer_no, channel, key, D(amount), day, now=at(day))
        session.commit()
        return ledger.payment_json(result)


def totals(world: World, customer_id: int) -> dict[str, Decimal]:
    with world.session() as session:
        t = ledger.totals(session, customer_id)
        assert t.balanced(), t
        return t.to_json()


@pytest.fixture
def world(settings, database) -> World:
    """July billed and released on 1 August 2024, due 15 August (customer 4 accepted first)."""
    world = july(settings, database)
    with world.session() as session:
        report = runs.run_billing(session, SYSTEM, world.lake, "2024-07", "B01", now=at(date(2024, 8, 1), 8))
        b4 = session.scalar(select(Bill.id).where(Bill.customer_id == 4))
        bill_service.accept(session, SYSTEM, b4, "ok")
        bill_service.release(
            session, SYSTEM, run_id=report.run_id, due_date=date(2024, 8, 15), now=at(date(2024, 8, 1), 9)
        )
        session.commit()
    return world


def test_payment_on_time_then_late_with_penalty_first(world: World) -> None:
    first = pay(world, "0000000001", "100.00", date(2024, 8, 10), "c-1")
    assert first["allocated"] == [
        {"bill_id": 1, "penalty_yuan": D("0.00"), "waived_yuan": D("0.00"), "penalty_paid_yuan": D("0.00"),
         "principal_yuan": D("100.00")}
    ]  # fmt: skip
    # 10 days late (16-25 August), residential 1‰ a day on the 169.52 still open: 1.6952 -> 1.70
    late = pay(world, "0000000001", "200.00", date(2024, 8, 25), "c-2")
    assert late["allocated"][0]["penalty_yuan"] == D("1.70")
    assert late["allocated"][0]["principal_yuan"] == D("169.52")
    assert late["unallocated_yuan"] == D("28.78")
    assert totals(world, 1) == {
        "bills": D("269.52"),
        "penalties": D("1.70"),
        "credits": D("0.00"),
        "allocated": D("271.22"),
        "balance": D("0.00"),
        "payments": D("300.00"),
        "refunds": D("0.00"),
        "unallocated": D("28.78"),
    }


def test_a_retried_payment_never_posts_twice(world: World) -> None:
    once = pay(world, "0000000001", "50.00", date(2024, 8, 10), "bank-20240810-0001", "bank")
    again = pay(world, "0000000001", "50.00", date(2024, 8, 10), "bank-20240810-0001", "bank")
    assert (once["replayed"], again["replayed"]) == (False, True)
    assert again["payment_id"] == once["payment_id"]
    assert totals(world, 1)["payments"] == D("50.00")
    with pytest.raises(IdempotencyConflict, match="bank-20240810-0001"):
        pay(world, "0000000001", "60.00", date(2024, 8, 10), "bank-20240810-0001", "bank")
    # the same key on another channel is another payment
    pay(world, "0000000001", "10.00", date(2024, 8, 10), "bank-20240810-0001", "mobile")
    assert totals(world, 1)["payments"] == D("60.00")


def test_cross_year_penalty_for_non_residential(world: World) -> None:
    with world.session() as session:
        # customer 3 (651.97, general commercial): due 15 Dec 2024 in this test
        debt = session.scalar(select(Debt).where(Debt.customer_id == 3))
        assert debt is not None
        debt.due_date = date(2024, 12, 15)
        session.commit()
    # 16 days at 2‰ (20.86304 -> 20.86) + 18 days at 3‰ (35.20638 -> 35.21) = 56.07
    paid = pay(world, "0000000003", "1000.00", date(2025, 1, 18), "c-3")
    assert paid["allocated"][0]["penalty_yuan"] == D("56.07")
    assert paid["unallocated_yuan"] == D("291.96")


def test_partial_payment_pays_the_largest_principal_its_penalty_allows(world: World) -> None:
    with world.session() as session:
        debt = session.scalar(select(Debt).where(Debt.customer_id == 3))
        assert debt is not None
        debt.due_date = date(2024, 12, 15)
        session.commit()
    # p = 276.24: penalty 8.84 (2‰ x 16) + 14.92 (3‰ x 18) = 23.76; p + 23.76 = 300.00 exactly
    paid = pay(world, "0000000003", "300.00", date(2025, 1, 18), "c-4")
    assert (paid["allocated"][0]["principal_yuan"], paid["allocated"][0]["penalty_yuan"]) == (
        D("276.24"),
        D("23.76"),
    )
    assert paid["unallocated_yuan"] == D("0.00")
    assert totals(world, 3)["balance"] == D("375.73")
    assert (
        allocation.penalty_fen(False, 27625, date(2024, 12, 15), date(2025, 1, 18)) == 2376
    )  # 276.25 costs 300.01


def _august(world: World) -> int:
    """Customer 1's August bill (8583.4 -> 8700.0 = 116.6 kWh, 61.60), released 1 Sept, due 15 Sept."""
    write_readings(world.lake, [("201000000001", TOTAL, date(2024, 9, 1), "8700.0")])
    with world.session() as session:
        report = runs.run_billing(session, SYSTEM, world.lake, "2024-08", "B01", customer_ids=[1])
        bill_service.release(
            session, SYSTEM, run_id=report.run_id, due_date=date(2024, 9, 15), now=at(date(2024, 9, 1))
        )
        session.commit()
        bill = session.scalar(select(Bill).where(Bill.period == "2024-08"))
        assert bill is not None and bill.total_fen == 6160
        return bill.id


def test_oldest_bill_first(world: World) -> None:
    august = _august(world)
    # July is 26 days late on 10 Sept: 269.52 x 0.026 = 7.00752 -> 7.01; then July, then part of August
    paid = pay(world, "0000000001", "300.00", date(2024, 9, 10), "c-5")
    assert [(a["bill_id"], a["penalty_yuan"], a["principal_yuan"]) for a in paid["allocated"]] == [
        (1, D("7.01"), D("269.52")),
        (august, D("0.00"), D("23.47")),
    ]
    with world.session() as session:
        left = session.scalar(select(Debt).where(Debt.bill_id == august, Debt.kind == "principal"))
        assert left is not None and left.amount_fen - left.allocated_fen == 3813


def test_waiver_credits_the_penalty_with_a_reason_and_permission(world: World) -> None:
    august = _august(world)
    with world.session() as session:
        with pytest.raises(PermissionDenied):
            ledger.waive(session, world.analyst_a, 1, "x")
        with pytest.raises(BillingInputError, match="reason"):
            ledger.waive(session, world.manager_a, 1, "  ")
        ledger.waive(
            session, world.manager_a, 1, "系统故障致缴费失败 payment system outage", now=at(date(2024, 9, 2))
        )
        session.commit()
        assert session.scalar(select(AuditRecord.action).order_by(AuditRecord.seq.desc())) == "billing.waiver"
    paid = pay(world, "0000000001", "300.00", date(2024, 9, 10), "c-6")
    assert [
        (a["bill_id"], a["penalty_yuan"], a["waived_yuan"], a["principal_yuan"]) for a in paid["allocated"]
    ] == [
        (1, D("7.01"), D("7.01"), D("269.52")),
        (august, D("0.00"), D("0.00"), D("30.48")),
    ]
    assert totals(world, 1)["credits"] == D("7.01")


def test_refunds_take_unallocated_money_only(world: World) -> None:
    pay(world, "0000000004", "100.00", date(2024, 8, 10), "c-7")  # bill 15.85: 84.15 on account
    with world.session() as session:
        with pytest.raises(BillingInputError) as info:
            ledger.refund(session, SYSTEM, "0000000004", "r-1", D("90.00"), "销户退费")
        assert str(info.value) == "amount_yuan: 90.00 yuan exceeds the money on account (84.15 yuan)"
        session.rollback()
        _, replayed = ledger.refund(session, SYSTEM, "0000000004", "r-1", D("80.00"), "销户退费")
        session.commit()
        _, again = ledger.refund(session, SYSTEM, "0000000004", "r-1", D("80.00"), "销户退费")
        assert (replayed, again) == (False, True)
    t = totals(world, 4)
    assert (t["refunds"], t["unallocated"], t["allocated"]) == (D("80.00"), D("4.15"), D("15.85"))


def test_credit_note_on_a_paid_bill_returns_the_money_to_the_account(world: World) -> None:
    pay(world, "0000000001", "300.00", date(2024, 8, 10), "c-8")  # 269.52 paid, 30.48 on account
    write_readings(world.lake, [("201000000001", TOTAL, date(2024, 8, 1), "8553.4", "edited", 2)])
    with world.session() as session:
        bill_service.rebill(session, SYSTEM, world.lake, 1, "抄表差错", now=at(date(2024, 8, 20)))
        session.commit()
        reversal = session.scalar(select(Allocation.amount_fen).where(Allocation.amount_fen < 0))
        assert reversal == -26952
    assert totals(world, 1) == {
        "bills": D("269.52"),
        "penalties": D("0.00"),
        "credits": D("269.52"),
        "allocated": D("0.00"),
        "balance": D("0.00"),
        "payments": D("300.00"),
        "refunds": D("0.00"),
        "unallocated": D("300.00"),
    }
    with world.session() as session:
        new = session.scalar(
            select(Bill).where(Bill.customer_id == 1, Bill.revision == 1, Bill.kind == "bill")
        )
        assert new is not None and new.total_fen == 24467
        bill_service.release(
            session, SYSTEM, bill_ids=[new.id], due_date=date(2024, 9, 5), now=at(date(2024, 8, 21))
        )
        session.commit()
    t = totals(world, 1)
    assert (t["bills"], t["allocated"], t["balance"], t["unallocated"]) == (
        D("514.19"),
        D("244.67"),
        D("0.00"),
        D("55.33"),
    )


def test_api_and_cli_payments(world: World) -> None:
    import json

    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from gridcare.api.app import create_app
    from gridcare.cli import app as cli_app
    from tests.security.helpers import bearer, token_for

    manager = bearer(token_for(world.database, world.settings, world.accounts["mgr-a"]))
    analyst = bearer(token_for(world.database, world.settings, world.accounts["ana-a"]))
    body = {
        "customer_no": "0000000001",
        "channel": "mobile",
        "idempotency_key": "app-7f3a",
        "amount_yuan": 269.52,
        "paid_on": "2024-08-12",
    }
    with TestClient(create_app(world.settings, world.database)) as client:
        assert client.post("/api/v1/billing/payments", json=body, headers=analyst).status_code == 403
        bad = client.post("/api/v1/billing/payments", json={**body, "amount_yuan": 1.234}, headers=manager)
        assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "amount_yuan"
        out_of_scope = client.post(
            "/api/v1/billing/payments", json={**body, "customer_no": "0000000004"}, headers=manager
        )
        assert out_of_scope.status_code == 404
        posted = client.post("/api/v1/billing/payments", json=body, headers=manager)
        assert posted.status_code == 201 and '"principal_yuan": 269.52' in posted.text
        retried = client.post("/api/v1/billing/payments", json=body, headers=manager)
        assert retried.status_code == 200 and retried.json()["replayed"] is True
        statement = client.get("/api/v1/billing/customers/0000000001/ledger", headers=analyst)
        assert statement.status_code == 200
        assert '"balanced": true' in statement.text and '"arrears_yuan": 0.00' in statement.text
    runner = CliRunner()
    data = ["--data-dir", str(world.settings.data_dir)]
    out = runner.invoke(
        cli_app,
        ["payments", "post", "0000000003", "--amount", "651.97", "--channel", "counter", "--key", "cnt-1",
         "--paid-on", "2024-08-14", *data],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    assert '"principal_yuan": 651.97' in out.stdout
    refused = runner.invoke(
        cli_app, ["payments", "post", "0000000003", "--amount", "0", "--channel", "atm", "--key", "x", *data]
    )
    assert (
        refused.exit_code == 2
        and "错误 error: channel: must be one of counter, bank, mobile, third_party" in refused.output
    )
    shown = json.loads(
        runner.invoke(cli_app, ["payments", "ledger", "0000000003", *data]).stdout, parse_float=Decimal
    )
    assert shown["balanced"] is True and shown["totals"]["allocated"] == D("651.97")


# --- the ledger invariants over random sequences ------------------------------------------------

_customers = count(100)


def _new_customer(world: World) -> tuple[int, str]:
    number = next(_customers)
    with world.session() as session:
        customer = Customer(
            id=number,
            customer_no=f"9{number:09d}",
            name="测试",
            customer_class=CustomerClass.RESIDENTIAL if number % 2 else CustomerClass.GENERAL_COMMERCIAL,
            voltage_level=VoltageLevel.V220,
            contracted_capacity_kva=D("8.00"),
            billing_group="P",
            tariff_code="RES-TIER-2024",
            org_id=3,
        )
        session.add(customer)
        session.commit()
        return customer.id, customer.customer_no


def _release_bill(world: World, customer_id: int, customer_no: str, fen: int, day: date, seq: int) -> int:
    with world.session() as session:
        customer = session.get(Customer, customer_id)
        assert customer is not None
        bill = Bill(
            bill_no=f"P-{customer_no}-{seq}",
            customer_id=customer_id,
            customer_no=customer_no,
            org_id=3,
            customer_class=customer.customer_class.value,
            tariff_code="RES-TIER-2024",
            period=f"{2000 + seq // 12:04d}-{seq % 12 + 1:02d}",
            cycle_start=day,
            cycle_end=day,
            kind="bill",
            revision=0,
            status="draft",
            total_fen=fen,
            energy_kwh=D(0),
            tier_kwh=D(0),
            created_at=at(day),
        )
        session.add(bill)
        session.flush()
        bill_service.release(
            session, SYSTEM, bill_ids=[bill.id], due_date=day + timedelta(days=15), now=at(day)
        )
        session.commit()
        return bill.id


operations = st.lists(
    st.one_of(
        st.tuples(st.just("bill"), st.integers(0, 50_000)),
        st.tuples(st.just("pay"), st.integers(1, 60_000)),
        st.tuples(st.just("retry"), st.integers(0, 5)),
        st.tuples(st.just("refund"), st.integers(1, 30_000)),
        st.tuples(st.just("rebill"), st.integers(0, 5), st.integers(0, 50_000)),
        st.tuples(st.just("waive"), st.integers(0, 5), st.one_of(st.none(), st.integers(1, 2_000))),
        st.tuples(st.just("wait"), st.integers(1, 40)),
    ),
    min_size=1,
    max_size=14,
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
def test_ledger_invariants_hold_over_random_sequences(
    settings_world: World, ops: list[tuple[Any, ...]]
) -> None:
    world = settings_world
    customer_id, customer_no = _new_customer(world)
    day = date(2024, 1, 1)
    bills: list[int] = []
    keys: list[tuple[str, int]] = []
    expected_payments = expected_refunds = expected_bills = 0
    for n, op in enumerate(ops):
        if op[0] == "bill":
            bills.append(_release_bill(world, customer_id, customer_no, op[1], day, n))
            expected_bills += op[1]
        elif op[0] == "pay":
            key = f"k{customer_id}-{n}"
            pay(world, customer_no, str(Decimal(op[1]).scaleb(-2)), day, key)
            keys.append((key, op[1]))
            expected_payments += op[1]
        elif op[0] == "retry" and keys:
            key, amount = keys[op[1] % len(keys)]
            assert pay(world, customer_no, str(Decimal(amount).scaleb(-2)), day, key)["replayed"] is True
        elif op[0] == "refund":
            with world.session() as session:
                try:
                    ledger.refund(
                        session,
                        SYSTEM,
                        customer_no,
                        f"r{customer_id}-{n}",
                        Decimal(op[1]).scaleb(-2),
                        "退费",
                        now=at(day),
                    )
                    session.commit()
                    expected_refunds += op[1]
                except BillingInputError:
                    session.rollback()  # more than the money on account: nothing changes
        elif op[0] == "rebill" and bills:
            original = bills[op[1] % len(bills)]
            with world.session() as session:
                bill = session.get(Bill, original)
                assert bill is not None
                if not bill_service.credited_bill_ids(session, [original]):
                    bill_service.credit_note(session, SYSTEM, bill, "退补", at(day))
                    session.commit()
                    bills.append(_release_bill(world, customer_id, customer_no, op[2], day, n))
                    expected_bills += op[2]
        elif op[0] == "waive" and bills:
            with world.session() as session:
                amount = None if op[2] is None else Decimal(op[2]).scaleb(-2)
                ledger.waive(session, SYSTEM, bills[op[1] % len(bills)], "减免", amount, now=at(day))
                session.commit()
        elif op[0] == "wait":
            day += timedelta(days=op[1])
        with world.session() as session:
            t = ledger.totals(session, customer_id)
            debts = session.scalars(select(Debt).where(Debt.customer_id == customer_id)).all()
        assert t.bills + t.penalties - t.credits == t.allocated + t.balance
        assert t.payments - t.refunds == t.allocated + t.unallocated
        assert (t.payments, t.refunds, t.bills) == (expected_payments, expected_refunds, expected_bills)
        assert t.unallocated >= 0 and all(d.amount_fen - d.credited_fen - d.allocated_fen >= 0 for d in debts)
        # money waits on account beside an open debt only when it cannot pay a fen more of the oldest
        # overdue bill with its penalty (at least 1.00 yuan)
        if t.balance > 0:
            assert t.unallocated < 101


@pytest.fixture
def settings_world(settings, database) -> World:
    return build_world(settings, database)
