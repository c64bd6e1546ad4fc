"""Billing runs from the lake: determinants, meter change, multipliers, anomalies and review, idempotency,
release, rebill by credit note, trace to readings; the vectorised path equals the engine."""

from __future__ import annotations

import calendar
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from gridcare.archives.models import (
    Customer,
    CustomerClass,
    Meter,
    MeteringPoint,
    MeterStatus,
    MeterType,
    PointPurpose,
    VoltageLevel,
)
from gridcare.billing import QuoteRequest, compute, runs, validate_model, vectorized
from gridcare.billing import bills as bill_service
from gridcare.billing.bills import BillStateError
from gridcare.billing.models import Bill, BillLine, Debt
from gridcare.billing.tariff import PERIODS, Period, Tariff
from gridcare.security.authz import PermissionDenied
from gridcare.security.models import AuditRecord
from gridcare.security.principal import SYSTEM
from gridcare.storage.db import transaction
from tests.billing.builders import NON_SUMMER, SUMMER
from tests.billing.test_world import (
    GC,
    RES,
    T1,
    T2,
    T3,
    T4,
    TOTAL,
    World,
    approve_tariffs,
    build_world,
    write_readings,
)

D = Decimal
J1, J16, A1, S1 = date(2024, 7, 1), date(2024, 7, 16), date(2024, 8, 1), date(2024, 9, 1)

LI_TOML = """
[[tariffs]]
code = "LI-TWOPART-2024"
effective_from = 2024-01-01

[tariffs.tariff]
customer_class = "large_industrial"
basic_charge = { capacity_price_yuan_per_kva_month = 25 }

[tariffs.tariff.energy]
kind = "time_of_use"

[[tariffs.tariff.energy.seasons]]
name = "全年"
months = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
prices_yuan_per_kwh = { sharp = 1.0719, peak = 0.8932, flat = 0.5359, valley = 0.2786 }
hours = { sharp = [{ start_hour = 10, end_hour = 11 }], peak = [{ start_hour = 8, end_hour = 10 }, \
{ start_hour = 11, end_hour = 24 }], flat = [{ start_hour = 0, end_hour = 4 }], \
valley = [{ start_hour = 4, end_hour = 8 }] }
"""


def july(settings: Any, database: Any) -> World:
    """Customers 1-4 of the small archive plus 5 (large industrial, CT meter x40); customer 2's meter is
    replaced on 16 July by meter 201000000005 (multiplier 2). Readings for July (freezes on 1 July,
    16 July and 1 August); customer 4's end reading is an estimate."""
    world = build_world(settings, database)
    approve_tariffs(world, LI_TOML, "toml")
    with transaction(database.sessions) as session:
        session.execute(update(MeteringPoint).where(MeteringPoint.code == "MP0002").values(valid_to=J16))
        session.add_all(
            [
                _meter(5, "201000000005", 2),
                _meter(6, "201000000006", 40),
                Customer(
                    id=5,
                    customer_no="0000000005",
                    name="城关机械厂",
                    customer_class=CustomerClass.LARGE_INDUSTRIAL,
                    voltage_level=VoltageLevel.KV10,
                    contracted_capacity_kva=D("315.00"),
                    billing_group="B01",
                    tariff_code="LI-TWOPART-2024",
                    org_id=3,
                ),
            ]
        )
        session.flush()
        session.add_all(
            [
                _point("MP0002", 2, 5, J16),
                _point("MP0005", 5, 6, date(2020, 1, 1)),
            ]
        )
    write_readings(
        world.lake,
        [
            ("201000000001", TOTAL, J1, "8123.4"),
            ("201000000001", TOTAL, A1, "8583.4"),
            ("201000000002", TOTAL, J1, "1000"),
            ("201000000002", TOTAL, J16, "1100"),
            ("201000000005", TOTAL, J16, "0"),
            ("201000000005", TOTAL, A1, "60"),
            *_tou("201000000003", J1, ("5000", "100", "1000", "2000", "1900")),
            *_tou("201000000003", A1, ("6000", "200", "1300", "2350", "2150")),
            ("201000000004", TOTAL, J1, "300"),
            ("201000000004", TOTAL, A1, "330", "estimated"),
            *_tou("201000000006", J1, ("100", "10", "30", "40", "20")),
            *_tou("201000000006", A1, ("150", "15", "45", "55", "30")),
        ],
    )
    return world


def _meter(mid: int, address: str, multiplier: int) -> Meter:
    return Meter(
        id=mid,
        address=address,
        meter_type=MeterType.THREE_PHASE_CT if multiplier > 2 else MeterType.SINGLE_PHASE,
        phases=3 if multiplier > 2 else 1,
        rated_voltage="220V",
        rated_current="5(60)A",
        multiplier=multiplier,
        org_id=3,
        status=MeterStatus.INSTALLED,
    )


def _point(code: str, customer: int, meter: int, valid_from: date) -> MeteringPoint:
    return MeteringPoint(
        code=code,
        purpose=PointPurpose.BILLING,
        customer_id=customer,
        meter_id=meter,
        transformer_area_id=1,
        terminal_id=1,
        valid_from=valid_from,
    )


def _tou(meter: str, day: date, values: tuple[str, ...]) -> list[tuple[str, str, date, str]]:
    return [(meter, di, day, v) for di, v in zip((TOTAL, T1, T2, T3, T4), values, strict=True)]


def _bills(world: World) -> dict[str, Bill]:
    with world.session() as session:
        return {b.bill_no: b for b in session.scalars(select(Bill).order_by(Bill.id))}


def _lines(world: World, bill_id: int) -> list[tuple[str, Decimal | None, Decimal]]:
    with world.session() as session:
        rows = session.scalars(select(BillLine).where(BillLine.bill_id == bill_id).order_by(BillLine.seq))
        return [(r.item, r.kwh, bill_service.fen(r.amount_fen)) for r in rows]


@pytest.fixture
def world(settings, database) -> World:
    return july(settings, database)


def test_july_run_prices_every_customer_from_the_lake(world: World) -> None:
    with world.session() as session:
        report = runs.run_billing(session, SYSTEM, world.lake, "2024-07", "B01")
        session.commit()
    assert (report.created, report.draft, report.review, report.held) == (5, 4, 1, 0)
    assert report.anomalies == {"estimated": 1}
    assert (report.vectorised, report.engine, report.engine_calls) == (4, 1, 1)
    bills = _bills(world)
    totals = {no[7:17]: bill_service.fen(b.total_fen) for no, b in bills.items()}
    # 1: 460 kWh, docs example 1; 2: meter change 100 kWh (old) + 60 x 2 (new, multiplier 2) = 220 kWh
    # 3: TOU 107.19 + 267.96 + 187.57 + 69.65 + water fund 19.60; 4: 30 kWh estimated
    # 5: x40: sharp 200, peak 600, flat 2000-200-600-400 = 800, valley 400 kWh + 315 kVA x 25
    assert totals == {
        "0000000001": D("269.52"),
        "0000000002": D("116.23"),
        "0000000003": D("651.97"),
        "0000000004": D("15.85"),
        "0000000005": D("9165.46"),
    }
    assert report.total_yuan == D("10219.03")
    b2 = bills["202407-0000000002-B0"]
    assert b2.energy_kwh == D("220") and b2.status == "draft"
    assert _lines(world, b2.id) == [("电度电费 energy", D("220"), D("116.23"))]
    b4 = bills["202407-0000000004-B0"]
    assert (b4.status, b4.estimated, b4.anomalies) == ("review", True, "estimated")
    b5 = bills["202407-0000000005-B0"]
    assert _lines(world, b5.id) == [
        ("电度电费-尖 energy-sharp", D("200"), D("214.38")),
        ("电度电费-峰 energy-peak", D("600"), D("535.92")),
        ("电度电费-平 energy-flat", D("800"), D("428.72")),
        ("电度电费-谷 energy-valley", D("400"), D("111.44")),
        ("基本电费-容量 basic-capacity: 315 kVA", None, D("7875.00")),
    ]


def test_bill_traces_every_line_to_its_readings(world: World) -> None:
    with world.session() as session:
        runs.run_billing(session, SYSTEM, world.lake, "2024-07", "B01")
        session.commit()
        bill = session.scalar(select(Bill).where(Bill.customer_id == 2))
        assert bill is not None
        detail = bill_service.bill_json(session, bill)
    readings = detail["readings"]
    assert [(r["role"], r["meter"], r["freeze_time"], r["value"], r["multiplier"]) for r in readings] == [
        ("start", "201000000002", "2024-07-01T00:00:00+08:00", D("1000.0000"), 1),
        ("end", "201000000002", "2024-07-16T00:00:00+08:00", D("1100.0000"), 1),
        ("start", "201000000005", "2024-07-16T00:00:00+08:00", D("0.0000"), 2),
        ("end", "201000000005", "2024-08-01T00:00:00+08:00", D("60.0000"), 2),
    ]
    assert readings[0]["frame_ref"] == "f-201000000002-05060101-2024-07-01"
    assert (readings[0]["version"], readings[0]["source"], readings[0]["di"]) == (1, "actual", "05060101")
    assert detail["lines"][0]["readings"] == [0, 1, 2, 3]
    assert detail["determinants"]["main_kwh"] == {"flat": 220}
    assert detail["determinants"]["metered_kwh"] == {"flat": 220}
    assert detail["determinants"]["tariff_versions"][0]["code"] == RES
    assert detail["determinants"]["cycle"]["days"] == 31
    with world.session() as session:
        tou = session.scalar(select(Bill).where(Bill.customer_id == 3))
        assert tou is not None
        lines = bill_service.bill_json(session, tou)["lines"]
    reads = bill_service.readings_of(tou)
    sharp = [reads[i]["di"] for i in lines[0]["readings"]]
    flat = {reads[i]["di"] for i in lines[2]["readings"]}
    assert sharp == ["05060101.1", "05060101.1"]
    assert flat == {"05060101", "05060101.1", "05060101.2", "05060101.4"}  # flat = total - the others


def test_running_twice_creates_nothing_twice(world: World) -> None:
    with world.session() as session:
        first = runs.run_billing(session, world.manager_a, world.lake, "2024-07", "B01")
        session.commit()
        again = runs.run_billing(session, world.manager_a, world.lake, "2024-07", "B01")
        session.commit()
        # station A's manager bills station A only; a run by someone seeing station B adds customer 4
        rest = runs.run_billing(session, SYSTEM, world.lake, "2024-07", "B01")
        session.commit()
        count = session.scalar(select(func.count()).select_from(Bill))
        passes = session.scalar(select(func.max(Bill.run_id)))
    assert (first.created, again.created, again.already_billed, rest.created) == (4, 0, 4, 1)
    assert count == 5 and passes == 1 == first.run_id == again.run_id


def test_held_bill_is_voided_and_recomputed_after_the_reading_arrives(world: World) -> None:
    write_readings(world.lake, [("201000000001", TOTAL, S1, "8600")])
    with world.session() as session:
        runs.run_billing(
            session, SYSTEM, world.lake, "2024-08", "B01"
        )  # customer 2's new meter: no Sept freeze
        session.commit()
        held = session.scalar(select(Bill).where(Bill.period == "2024-08", Bill.customer_id == 2))
        assert held is not None
        assert (held.status, held.anomalies, held.total_fen) == ("review", "missing", 0)
        assert "missing end reading of 05060101" in held.determinants
        with pytest.raises(BillStateError, match="held"):
            bill_service.accept(session, world.manager_a, held.id, "checked")
        bill_service.void(session, world.manager_a, held.id, "读数补抄后重算")
        session.commit()
    write_readings(world.lake, [("201000000005", TOTAL, S1, "100")])
    with world.session() as session:
        report = runs.run_billing(session, SYSTEM, world.lake, "2024-08", "B01", customer_ids=[2])
        session.commit()
        rows = session.execute(
            select(Bill.revision, Bill.status, Bill.total_fen).where(
                Bill.period == "2024-08", Bill.customer_id == 2
            )
        ).all()
    assert report.created == 1
    assert sorted(tuple(r) for r in rows) == [(0, "void", 0), (1, "draft", 4226)]  # 80 kWh x 0.5283 = 42.264


def test_review_accept_and_release_are_audited_and_need_release_bills(world: World) -> None:
    with world.session() as session:
        report = runs.run_billing(session, SYSTEM, world.lake, "2024-07", "B01")
        session.commit()
        b4 = session.scalar(select(Bill).where(Bill.customer_id == 4))
        assert b4 is not None
        assert [b.id for b in bill_service.review_queue(session, SYSTEM, report.run_id)] == [b4.id]
        assert bill_service.review_queue(session, world.manager_a, report.run_id) == []  # station B
        with pytest.raises(PermissionDenied):
            bill_service.release(session, world.analyst_a, run_id=report.run_id)
        released = bill_service.release(
            session, world.manager_a, run_id=report.run_id, due_date=date(2099, 8, 20)
        )
        session.commit()
        assert (released.released, released.total_yuan, released.left_in_review) == (4, D("10203.18"), 0)
        bill_service.accept(session, world.manager_b, b4.id, "估抄已核实 estimate checked on site")
        session.commit()
        again = bill_service.release(
            session, world.manager_b, run_id=report.run_id, due_date=date(2099, 8, 20)
        )
        session.commit()
        assert (again.released, again.total_yuan) == (1, D("15.85"))
        debts = session.execute(
            select(Debt.bill_id, Debt.amount_fen, Debt.due_date).order_by(Debt.bill_id)
        ).all()
        assert [d.amount_fen for d in debts] == [26952, 11623, 65197, 1585, 916546]
        trail = session.execute(
            select(AuditRecord.action, AuditRecord.actor).where(AuditRecord.action.like("billing.%"))
        ).all()
    assert [tuple(t) for t in trail] == [
        ("billing.run", "system"),
        ("billing.release", "mgr-a"),
        ("billing.review.accept", "mgr-b"),
        ("billing.release", "mgr-b"),
    ]


def test_rebill_issues_a_credit_note_and_a_new_revision(world: World) -> None:
    with world.session() as session:
        report = runs.run_billing(session, SYSTEM, world.lake, "2024-07", "B01")
        bill_service.release(session, SYSTEM, run_id=report.run_id, due_date=date(2099, 8, 20))
        session.commit()
    # the end reading of customer 1 is corrected: a new version, 8553.4 (430 kWh instead of 460)
    write_readings(world.lake, [("201000000001", TOTAL, A1, "8553.4", "edited", 2)])
    with world.session() as session:
        original = session.scalar(select(Bill).where(Bill.customer_id == 1))
        assert original is not None
        with pytest.raises(BillStateError, match="only drafts and bills in review"):
            bill_service.void(session, SYSTEM, original.id, "x")
        note, rerun = bill_service.rebill(
            session, world.manager_a, world.lake, original.id, "抄表差错 misread"
        )
        session.commit()
        with pytest.raises(BillStateError, match="already cancelled"):
            bill_service.rebill(session, world.manager_a, world.lake, original.id, "again")
        rows = session.scalars(select(Bill).where(Bill.customer_id == 1).order_by(Bill.id)).all()
    assert [(b.bill_no, b.kind, b.status, bill_service.fen(b.total_fen)) for b in rows] == [
        ("202407-0000000001-B0", "bill", "released", D("269.52")),  # never changed
        ("202407-0000000001-C0", "credit_note", "released", D("-269.52")),
        ("202407-0000000001-B1", "bill", "draft", D("244.67")),  # 227.17 + 8.50 + 9.00
    ]
    assert note.corrects_bill_id == original.id == rows[2].corrects_bill_id
    assert _lines(world, note.id)[0] == ("电度电费 energy", D("-460"), D("-243.02"))
    assert rerun.created == 1
    assert '8553.4000,2,"edited"' in rows[2].readings  # the new revision uses the corrected reading


def test_jump_is_flagged_against_the_last_released_bills(world: World) -> None:
    with world.session() as session:
        july_run = runs.run_billing(session, SYSTEM, world.lake, "2024-07", "B01")
        b4 = session.scalar(select(Bill.id).where(Bill.customer_id == 4))
        assert b4 is not None
        bill_service.accept(session, SYSTEM, b4, "ok")
        bill_service.release(session, SYSTEM, run_id=july_run.run_id, due_date=date(2099, 8, 20))
        session.commit()
    write_readings(
        world.lake,
        [
            ("201000000001", TOTAL, S1, "10083.4"),  # 1500 kWh after 460 in July
            ("201000000005", TOTAL, S1, "100"),
            *_tou("201000000003", S1, ("6900", "290", "1570", "2665", "2375")),
            ("201000000004", TOTAL, A1, "331"),  # the actual reading arrived: it wins over the estimate
            ("201000000004", TOTAL, S1, "360"),
            *_tou("201000000006", S1, ("150", "15", "45", "55", "30")),
        ],
    )
    with world.session() as session:
        august = runs.run_billing(session, SYSTEM, world.lake, "2024-08", "B01")
        session.commit()
        flagged = dict(
            session.execute(select(Bill.customer_no, Bill.anomalies).where(Bill.period == "2024-08")).all()
        )
        b4_aug = session.scalar(select(Bill).where(Bill.period == "2024-08", Bill.customer_id == 4))
    assert august.anomalies == {"zero": 1, "jump": 1}
    assert flagged["0000000001"] == "jump"  # 1500 > 3 x 460
    assert flagged["0000000003"] == ""  # 900 kWh after 1000: no jump
    assert flagged["0000000005"] == "zero"
    assert b4_aug is not None and (b4_aug.energy_kwh, b4_aug.estimated) == (D("29"), False)


def test_bad_input_names_the_field_and_changes_nothing(world: World) -> None:
    from gridcare.billing.errors import BillingInputError

    with world.session() as session:
        with pytest.raises(BillingInputError) as info:
            runs.run_billing(session, SYSTEM, world.lake, "2024-13", "B01")
        assert str(info.value) == "period: must be a billing month YYYY-MM (e.g. 2024-07), got '2024-13'"
        session.rollback()
        assert session.scalar(select(func.count()).select_from(Bill)) == 0


def test_tariff_class_mismatch_and_missing_tariff_hold_the_bill(world: World) -> None:
    with transaction(world.database.sessions) as session:
        session.execute(update(Customer).where(Customer.id == 1).values(tariff_code=GC))
        session.execute(update(Customer).where(Customer.id == 2).values(tariff_code="NOPE"))
    with world.session() as session:
        runs.run_billing(session, SYSTEM, world.lake, "2024-07", "B01")
        session.commit()
        held = dict(
            session.execute(select(Bill.customer_id, Bill.anomalies).where(Bill.customer_id < 3)).all()
        )
    # customer 1 on a TOU tariff: its meter has no T1..T4 registers (missing) and the class differs
    assert held == {1: "missing,invalid", 2: "no_tariff"}
    assert RES  # the residential tariff stays in the book


# --- the vectorised path equals the engine ------------------------------------------------------

prices = st.decimals(min_value=0, max_value=2, places=4, allow_nan=False, allow_infinity=False)
kwh_e4 = st.integers(min_value=0, max_value=30_000_000)


@st.composite
def tariffs(draw: st.DrawFn) -> dict[str, Any]:
    tou = draw(st.booleans())
    residential = not tou and draw(st.booleans())
    tariff: dict[str, Any] = {"customer_class": "residential" if residential else "general_commercial"}
    if tou:
        summer = dict(SUMMER, prices_yuan_per_kwh={p: draw(prices) for p in SUMMER["prices_yuan_per_kwh"]})
        other = dict(
            NON_SUMMER, prices_yuan_per_kwh={p: draw(prices) for p in NON_SUMMER["prices_yuan_per_kwh"]}
        )
        tariff["energy"] = {"kind": "time_of_use", "seasons": [summer, other]}
    else:
        tariff["energy"] = {"kind": "flat", "price_yuan_per_kwh": draw(prices)}
    if residential and draw(st.booleans()):
        first = draw(st.integers(1, 400))
        second = first + draw(st.integers(1, 400))
        tariff["tiers"] = {
            "basis": "monthly",
            "bands": [
                {"up_to_kwh": first, "increment_yuan_per_kwh": draw(prices)},
                {"up_to_kwh": second, "increment_yuan_per_kwh": draw(prices)},
                {"up_to_kwh": None, "increment_yuan_per_kwh": draw(prices)},
            ],
        }
    tariff["surcharges"] = [
        {"name": f"附加{i} surcharge-{i}", "price_yuan_per_kwh": draw(st.decimals(0, D("0.1"), places=6))}
        for i in range(draw(st.integers(0, 2)))
    ]
    return tariff


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tariff_data=tariffs(),
    month=st.integers(1, 12),
    usage=st.lists(st.one_of(st.just(0), kwh_e4), min_size=4, max_size=4),
)
def test_vectorised_pricing_equals_the_engine(
    tariff_data: dict[str, Any], month: int, usage: list[int]
) -> None:
    tariff = validate_model(Tariff, tariff_data)
    start = date(2024, month, 1)
    end = date(2024, month, calendar.monthrange(2024, month)[1])
    table = vectorized.compile_tariff(tariff, start, end)
    assert table is not None
    buckets = {p: np.asarray([v], dtype=np.int64) for p, v in zip(PERIODS, usage, strict=True)}
    if not tariff.is_tou:
        buckets = {
            p: (np.asarray([sum(usage)]) if p is Period.FLAT else np.zeros(1, np.int64)) for p in PERIODS
        }
    assume(bool(vectorized.fits(table, buckets)[0]))
    priced = vectorized.price(table, buckets, np.zeros(1, dtype=np.int64))
    got = [
        (
            b.rate.item,
            Decimal(int(b.kwh_e4[0])).scaleb(-4),
            b.rate.price,
            Decimal(int(b.amount_fen[0])).scaleb(-2),
        )
        for b in priced.blocks
        if b.mask[0]
    ]
    if tariff.is_tou:
        energy = {p.value: Decimal(int(buckets[p][0])).scaleb(-4) for p in PERIODS}
    else:
        energy = {"total": Decimal(int(buckets[Period.FLAT][0])).scaleb(-4)}
    request = validate_model(
        QuoteRequest,
        {"tariff": tariff, "cycle": {"start": start, "end": end}, "usage": {"energy_kwh": energy}},
    )
    response, _ = compute(request)
    want = [(line.item, line.kwh, line.price, line.amount_yuan) for line in response.lines]
    assert got == want
    assert Decimal(int(priced.total_fen[0])).scaleb(-2) == response.total_yuan


def test_api_run_review_release_and_trace(world: World) -> None:
    from fastapi.testclient import TestClient

    from gridcare.api.app import create_app
    from tests.security.helpers import bearer, token_for

    manager = bearer(token_for(world.database, world.settings, world.accounts["mgr-a"]))
    analyst = bearer(token_for(world.database, world.settings, world.accounts["ana-a"]))
    with TestClient(create_app(world.settings, world.database)) as client:
        body = {"period": "2024-07", "billing_group": "B01"}
        assert client.post("/api/v1/billing/runs", json=body, headers=analyst).status_code == 403
        bad = client.post("/api/v1/billing/runs", json={**body, "period": "2024-7"}, headers=manager)
        assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "period"
        run = client.post("/api/v1/billing/runs", json=body, headers=manager)
        assert run.status_code == 201, run.text
        assert '"total_yuan": 10203.18' in run.text  # station A: customers 1, 2, 3 and 5
        run_id = run.json()["run_id"]
        again = client.post("/api/v1/billing/runs", json=body, headers=manager).json()
        assert (again["created"], again["already_billed"]) == (0, 4)
        bills = client.get("/api/v1/billing/bills", params={"period": "2024-07"}, headers=analyst).json()
        assert sorted(b["customer_no"] for b in bills) == [
            "0000000001",
            "0000000002",
            "0000000003",
            "0000000005",
        ]
        b1 = next(b for b in bills if b["customer_no"] == "0000000001")
        detail = client.get(f"/api/v1/billing/bills/{b1['id']}", headers=analyst)
        assert '"amount_yuan": 243.02' in detail.text
        assert detail.json()["readings"][1]["frame_ref"] == "f-201000000001-05060101-2024-08-01"
        released = client.post(
            f"/api/v1/billing/runs/{run_id}/release", json={"due_date": "2099-08-20"}, headers=manager
        )
        assert released.status_code == 200
        assert '"released": 4' in released.text and '"total_yuan": 10203.18' in released.text
        rebill = client.post(
            f"/api/v1/billing/bills/{b1['id']}/rebill", json={"reason": "复核"}, headers=manager
        )
        assert rebill.status_code == 201
        assert '"total_yuan": -269.52' in rebill.text
        twice = client.post(f"/api/v1/billing/bills/{b1['id']}/rebill", json={"reason": "x"}, headers=manager)
        assert twice.status_code == 409
        summary = client.get(f"/api/v1/billing/runs/{run_id}", headers=analyst).json()
        assert summary["bills"]["released"]["count"] == 4
        assert summary["bills"]["draft"]["count"] == 1  # the rebill of customer 1 (same readings: 269.52)


def test_cli_run_review_release(world: World) -> None:
    import json

    from typer.testing import CliRunner

    from gridcare.cli import app as cli_app

    runner = CliRunner()
    data = ["--data-dir", str(world.settings.data_dir)]
    ran = runner.invoke(cli_app, ["billing", "run", "--period", "2024-07", "--group", "B01", *data])
    assert ran.exit_code == 0, ran.output
    report = json.loads(ran.stdout)
    assert (report["created"], report["review"], report["anomalies"]) == (5, 1, {"estimated": 1})
    queue = json.loads(runner.invoke(cli_app, ["billing", "review", *data]).stdout)
    assert [b["customer_no"] for b in queue] == ["0000000004"]
    refused = runner.invoke(cli_app, ["billing", "accept", str(queue[0]["id"]), "--note", " ", *data])
    assert refused.exit_code == 2 and "错误 error: note: say what was checked" in refused.output
    ok = runner.invoke(cli_app, ["billing", "accept", str(queue[0]["id"]), "--note", "已核实", *data])
    assert ok.exit_code == 0, ok.output
    released = runner.invoke(
        cli_app, ["billing", "release", "--run", str(report["run_id"]), "--due-date", "2099-08-20", *data]
    )
    assert released.exit_code == 0, released.output
    assert '"released": 5' in released.stdout and '"total_yuan": 10219.03' in released.stdout
    denied = runner.invoke(
        cli_app, ["billing", "run", "--period", "2024-08", "--group", "B01", "--as", "ana-a", *data]
    )
    assert denied.exit_code == 3
