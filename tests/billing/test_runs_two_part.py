"""Billing runs of two-part (两部制) large industrial customers with their billing terms: 力调 from the
reactive register, the basic charge by maximum demand, 变损 from the loss table, a lighting sub-usage
deducted from the flat period; expected amounts computed by hand. Then a run over the demo company with
readings from the simulator (reactive energy and demand included) is idempotent."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from gridcare.archives.billing_terms import BillingTerms, SubUsage, TransformerLossRow
from gridcare.archives.demo import generate_demo
from gridcare.archives.models import Customer, CustomerClass, Meter, MeteringPoint, PointPurpose, VoltageLevel
from gridcare.billing import runs
from gridcare.billing.models import Bill, BillLine
from gridcare.mdm.schema import DI_FWD_DEMAND, DI_FWD_REACTIVE
from gridcare.security.principal import SYSTEM, Principal
from gridcare.simulator.bank import MeterBank
from gridcare.simulator.fleet import freeze_rows
from gridcare.simulator.specs import fleet_from_archive
from gridcare.storage.db import transaction
from gridcare.storage.lake import ReadingsLake, readings_table
from gridcare.timeutil import BEIJING
from tests.billing.test_runs import _meter, _point, _tou
from tests.billing.test_world import World, approve_tariffs, build_world, write_readings

D = Decimal
J1, A1 = date(2024, 7, 1), date(2024, 8, 1)
LI = "LI-TP-2024"
TOML = f"""
[[tariffs]]
code = "{LI}"
effective_from = 2024-01-01

[tariffs.tariff]
customer_class = "large_industrial"
basic_charge = {{ capacity_price_yuan_per_kva_month = 25, demand_price_yuan_per_kw_month = 38 }}
surcharges = [{{ name = "国家重大水利工程建设基金 water-works fund", price_yuan_per_kwh = 0.0196 }}]

[tariffs.tariff.energy]
kind = "time_of_use"

[[tariffs.tariff.energy.seasons]]
name = "全年"
months = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
prices_yuan_per_kwh = {{ sharp = 1.0719, peak = 0.8932, flat = 0.5359, valley = 0.2786 }}
hours = {{ sharp = [{{ start_hour = 10, end_hour = 11 }}], peak = [{{ start_hour = 8, end_hour = 10 }}, \
{{ start_hour = 11, end_hour = 24 }}], flat = [{{ start_hour = 0, end_hour = 4 }}], \
valley = [{{ start_hour = 4, end_hour = 8 }}] }}
"""


def _customer(cid: int, capacity: str) -> Customer:
    return Customer(
        id=cid,
        customer_no=f"00000000{cid:02d}",
        name=f"机械厂{cid}",
        customer_class=CustomerClass.LARGE_INDUSTRIAL,
        voltage_level=VoltageLevel.KV10,
        contracted_capacity_kva=D(capacity),
        billing_group="B01",
        tariff_code=LI,
        org_id=3,
    )


@pytest.fixture
def world(settings: Any, database: Any) -> World:
    """Customer 5: 315 kVA, 高供低计 on a 200/5 CT (x40), PF standard 0.90, capacity basis, loss by the
    table, 300 kWh lighting at the general commercial tariff. Customer 6: 1000 kVA, 高供高计 x6000,
    PF 0.90, basic charge by demand with 500 kW contracted."""
    world = build_world(settings, database)
    approve_tariffs(world, TOML, "toml")
    with transaction(database.sessions) as session:
        session.add_all([_meter(5, "201000000005", 40), _meter(6, "201000000006", 6000)])
        session.add_all([_customer(5, "315.00"), _customer(6, "1000.00")])
        session.flush()
        session.add_all([_point("MP0005", 5, 5, date(2020, 1, 1)), _point("MP0006", 6, 6, date(2020, 1, 1))])
        session.add(TransformerLossRow(capacity_kva=D("315"), active_kwh=D("400"), reactive_kvarh=D("800")))
        session.add_all(
            [
                BillingTerms(
                    customer_id=5,
                    pf_standard=D("0.90"),
                    basic_charge_basis="capacity",
                    transformer_loss="table",
                ),
                BillingTerms(
                    customer_id=6,
                    pf_standard=D("0.90"),
                    basic_charge_basis="demand",
                    contracted_demand_kw=D("500"),
                    transformer_loss="none",
                ),
                SubUsage(
                    customer_id=5,
                    seq=0,
                    name="照明 lighting",
                    method="fixed_quantity",
                    kwh=D("300"),
                    tariff_code="GC-TOU-2024",
                ),
            ]
        )
    return world


def _readings(world: World, *, reactive_6: bool = True) -> None:
    rows = [
        *_tou("201000000005", J1, ("1000", "10", "300", "400", "290")),
        *_tou("201000000005", A1, ("1100", "20", "330", "430", "320")),
        ("201000000005", DI_FWD_REACTIVE, J1, "500"),
        ("201000000005", DI_FWD_REACTIVE, A1, "530"),
        *_tou("201000000006", J1, ("200", "0", "0", "0", "0")),
        *_tou("201000000006", A1, ("200.5", "0.05", "0.15", "0.15", "0.15")),
        ("201000000006", DI_FWD_DEMAND, J1, "0.1200"),  # June's maximum: not this cycle's
        ("201000000006", DI_FWD_DEMAND, A1, "0.0900"),
    ]
    if reactive_6:
        rows += [("201000000006", DI_FWD_REACTIVE, J1, "10"), ("201000000006", DI_FWD_REACTIVE, A1, "10.25")]
    write_readings(world.lake, rows)


def _run(world: World, principal: Principal = SYSTEM) -> runs.RunReport:
    with world.session() as session:
        report = runs.run_billing(session, principal, world.lake, "2024-07", "B01", customer_ids=[5, 6])
        session.commit()
    return report


def _bill(world: World, cid: int) -> tuple[Bill, list[tuple[str, str, Decimal | None, int]]]:
    with world.session() as session:
        bill = session.scalars(select(Bill).where(Bill.customer_id == cid)).one()
        lines = session.scalars(select(BillLine).where(BillLine.bill_id == bill.id).order_by(BillLine.seq))
        return bill, [(r.category, r.item, r.kwh, r.amount_fen) for r in lines]


def test_pf_adjustment_loss_and_sub_usage_on_a_200_5_ct(world: World) -> None:
    _readings(world)
    report = _run(world)
    assert (report.created, report.held, report.engine) == (2, 0, 2)
    bill, lines = _bill(world, 5)
    # metered 100 x 40 = 4000 kWh (sharp 400, peak 1200, valley 1200, flat = total - others = 1200);
    # loss 400 kWh pro rata -> 440 / 1320 / 1320 / 1320; lighting 300 kWh out of flat -> flat 1020;
    # reactive 30 x 40 + 800 loss = 2000 kvarh; PF = 4400 / sqrt(4400^2 + 2000^2) = 0.9104 -> 0.91: -0.15 %
    assert lines == [
        ("energy", "电度电费-尖 energy-sharp", D("440"), 47164),  # 440 x 1.0719 = 471.636
        ("energy", "电度电费-峰 energy-peak", D("1320"), 117902),  # 1179.024
        ("energy", "电度电费-平 energy-flat", D("1020"), 54662),  # 546.618
        ("energy", "电度电费-谷 energy-valley", D("1320"), 36775),  # 367.752
        ("sub", "定量定比 sub-usage: 照明 lighting", D("300"), 16665),  # 300 x (0.5359 + 0.0196)
        ("basic", "基本电费-容量 basic-capacity: 315 kVA", None, 787500),
        # base 10606.68 x -0.15 % = -15.91002
        ("pf", "力调电费 power-factor adjustment: PF 0.91 / standard 0.90, -0.15%", None, -1591),
        ("surcharge", "国家重大水利工程建设基金 water-works fund", D("4100"), 8036),  # 4100 x 0.0196
    ]
    assert bill.total_fen == 1067113
    assert bill.energy_kwh == D("4400")
    det = json.loads(bill.determinants)
    assert det["reactive_kvarh"] == 2000
    assert (det["power_factor"], det["pf_adjustment_pct"], det["pf_standard"]) == (0.91, -0.15, 0.9)
    assert det["loss"] == [{"first": "2024-07-01", "last": "2024-07-31", "capacity_kva": 315, "kwh": 400}]
    assert det["sub_usages"] == [{"name": "照明 lighting", "kwh": 300, "price": 0.5555}]
    used = {(r[0], r[2]) for r in json.loads(bill.readings)}
    assert ("start", DI_FWD_REACTIVE) in used and ("end", DI_FWD_REACTIVE) in used


def test_basic_charge_by_maximum_demand_with_excess(world: World) -> None:
    _readings(world)
    _run(world)
    bill, lines = _bill(world, 6)
    # 0.5 x 6000 = 3000 kWh; reactive 0.25 x 6000 = 1500 kvarh: PF 0.894 -> 0.89: +0.5 %;
    # demand 0.09 x 6000 = 540 kW > 105 % of 500: billed 540 kW, 15 kW above the limit charged again
    assert lines == [
        ("energy", "电度电费-尖 energy-sharp", D("300"), 32157),
        ("energy", "电度电费-峰 energy-peak", D("900"), 80388),
        ("energy", "电度电费-平 energy-flat", D("900"), 48231),
        ("energy", "电度电费-谷 energy-valley", D("900"), 25074),
        ("basic", "基本电费-需量 basic-demand: 540 kW", None, 2052000),
        ("basic", "需量超限加收 demand-excess: 15 kW above 105% of 500 kW", None, 57000),
        ("pf", "力调电费 power-factor adjustment: PF 0.89 / standard 0.90, +0.5%", None, 11474),  # 22948.50
        ("surcharge", "国家重大水利工程建设基金 water-works fund", D("3000"), 5880),
    ]
    assert bill.total_fen == 2312204
    det = json.loads(bill.determinants)
    assert (det["max_demand_kw"], det["basic_charge_basis"], det["contracted_demand_kw"]) == (
        540,
        "demand",
        500,
    )
    demand = [r for r in json.loads(bill.readings) if r[2] == DI_FWD_DEMAND]
    assert [(r[0], r[4]) for r in demand] == [("end", 0.09)]  # only the end freeze: the month's maximum


def test_missing_reactive_register_holds_the_bill_and_names_it(world: World) -> None:
    _readings(world, reactive_6=False)
    report = _run(world)
    assert report.held == 1
    bill, lines = _bill(world, 6)
    assert lines == [] and bill.total_fen == 0 and "missing" in bill.anomalies
    errors = json.loads(bill.determinants)["errors"]
    assert any(DI_FWD_REACTIVE in e and "start" in e for e in errors)


def test_run_is_idempotent_and_terms_survive_a_second_pass(world: World) -> None:
    _readings(world)
    first = _run(world)
    again = _run(world)
    assert (first.created, again.created, again.already_billed) == (2, 0, 2)


# --- the demo company, readings from the simulator ------------------------------------------------

BENCH_TOML = __import__("bench.billing", fromlist=["TARIFFS"]).TARIFFS


def _rows(session: Any, model: Any) -> list[dict[str, Any]]:
    table = model.__table__
    return [dict(r._mapping) for r in session.execute(select(table))]


def test_demo_run_with_simulated_reactive_and_demand_is_idempotent(settings: Any, database: Any) -> None:
    generate_demo(database.sessions, 400, 5)
    maker = Principal(username="maker", permissions=frozenset({"*"}))
    checker = Principal(username="checker", permissions=frozenset({"*"}))
    from gridcare.billing import tariff_store

    with database.sessions() as session:
        req = tariff_store.request_change(session, maker, BENCH_TOML, "toml", "demo tariffs")
        tariff_store.approve_change(session, checker, req.id)
        session.commit()
        fleet = fleet_from_archive(
            _rows(session, Meter),
            _rows(session, MeteringPoint),
            _rows(session, __import__("gridcare.archives.models", fromlist=["Terminal"]).Terminal),
            _rows(session, Customer),
            seed=5,
        )
        terms = session.execute(
            select(Meter.address, BillingTerms.basic_charge_basis)
            .join(MeteringPoint, MeteringPoint.meter_id == Meter.id)
            .join(BillingTerms, BillingTerms.customer_id == MeteringPoint.customer_id)
            .where(MeteringPoint.purpose == PointPurpose.BILLING)
        ).all()
        li = session.scalar(
            select(Customer.id).where(Customer.customer_class == CustomerClass.LARGE_INDUSTRIAL)
        )
        assert li is not None
    extra = {address for address, _ in terms}
    assert extra, "the demo gives large industrial customers billing terms"
    bank = MeterBank.from_fleet(fleet, datetime(2024, 4, 30, tzinfo=BEIJING), seed=5, curve_days=0)
    bank.advance_to(datetime(2024, 6, 1, 0, 30, tzinfo=BEIJING))
    lake = ReadingsLake(settings.lake_dir)
    for day in (date(2024, 5, 1), date(2024, 6, 1)):
        lake.append(readings_table(freeze_rows(bank, day, extra)))
    lake.flush()
    with database.sessions() as session:
        first = runs.run_groups(session, SYSTEM, lake, "2024-05", None)
        session.commit()
    with database.sessions() as session:
        again = runs.run_groups(session, SYSTEM, lake, "2024-05", None)
        session.commit()
        li_bills = session.scalars(
            select(Bill).where(Bill.customer_class == CustomerClass.LARGE_INDUSTRIAL.value)
        ).all()
        pf_lines = session.scalar(select(BillLine.id).where(BillLine.category == "pf").limit(1))
    assert first.created == 400
    assert first.held == first.anomalies.get("no_meter", 0)  # the demo has customers without a meter
    assert "invalid" not in first.anomalies and "missing" not in first.anomalies
    assert (again.created, again.already_billed) == (0, first.created)
    assert li_bills and all(b.total_fen > 0 for b in li_bills)
    assert pf_lines is not None
    for bill in li_bills:
        det = json.loads(bill.determinants)
        assert det["power_factor"] is not None and 0.80 <= det["power_factor"] <= 0.98
        assert det["reactive_kvarh"] > 0
