"""Feeder head meters (线路关口表) collected by the master station over real loopback TCP: the archive says
which terminal reads the head meter at which Pn, the simulator places it there, the daily F161 collection
and the re-reads at login include it, the lake holds its freezes equal to the simulator's ground truth,
the collection KPI counts it under its feeder's organisation, and MDM line loss then has the feeder's
purchased energy."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pyarrow.compute as pc
import pytest
from sqlalchemy import select

from gridcare.acquisition import kpi, store
from gridcare.acquisition.directory import Directory
from gridcare.acquisition.models import FeederMeterCollection, PointStatus
from gridcare.acquisition.station import MasterStation, StationSettings
from gridcare.archives.asset_models import FeederMeter
from gridcare.archives.models import Feeder, Meter, MeterStatus, MeterType, Organisation, Terminal
from gridcare.archives.provision import provision_fleet
from gridcare.cli.simulate import archive_fleet
from gridcare.config import Settings
from gridcare.mdm import tasks
from gridcare.mdm.schema import DI_FWD_ACTIVE, DI_FWD_ACTIVE_TARIFFS
from gridcare.mdm.store import MdmLake
from gridcare.security.principal import SYSTEM
from gridcare.simulator.bank import MeterBank
from gridcare.simulator.fleet import BankMeters, build_terminals, freeze_rows
from gridcare.simulator.specs import build_fleet
from gridcare.simulator.terminal import Ledger
from gridcare.storage.database import Database
from gridcare.storage.frames import FrameArchive
from gridcare.storage.lake import ReadingsLake
from gridcare.timeutil import BEIJING

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=BEIJING)
TODAY = NOW.date()
HEAD = "330199990001"
HEAD_PN = 10  # DA group 2 (Pn 9..16), apart from the terminal's other points
SEED = 31


def _station(settings: Settings, db: Database) -> MasterStation:
    return MasterStation(
        db,
        ReadingsLake(settings.lake_dir),
        FrameArchive(settings.lake_dir),
        StationSettings(reread_interval_s=3600, status_interval_s=3600, flush_interval_s=3600),
        clock=lambda: NOW,
    )


async def _until(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def _add_head_meter(database: Database, terminal: tuple[str, int]) -> int:
    """A CT/PT head meter of the simulation's feeder, read by ``terminal`` at Pn ``HEAD_PN``; its row id."""
    with database.sessions() as session, session.begin():
        feeder = session.scalars(select(Feeder).where(Feeder.code == "SIM-F1")).one()
        terminal_id = session.scalar(
            select(Terminal.id).where(
                Terminal.area_code == terminal[0], Terminal.terminal_number == terminal[1]
            )
        )
        meter = Meter(
            address=HEAD,
            meter_type=MeterType.THREE_PHASE_CT,
            phases=3,
            rated_voltage="3x57.7/100V",
            rated_current="1.5(6)A",
            accuracy_class="0.2S",
            ct_ratio="100/5",
            pt_ratio="10000/100",
            multiplier=2000,
            manufacturer="仿真 simulated",
            install_date=date(2026, 9, 1),
            status=MeterStatus.INSTALLED,
            org_id=feeder.org_id,
        )
        session.add(meter)
        session.flush()
        row = FeederMeter(
            feeder_id=feeder.id,
            meter_id=meter.id,
            valid_from=date(2026, 9, 1),
            terminal_id=terminal_id,
            point_number=HEAD_PN,
        )
        session.add(row)
        session.flush()
        return row.id


def _stored(settings: Settings, day: date, meter: str) -> dict[str, Any]:
    freeze = datetime(day.year, day.month, day.day, tzinfo=BEIJING)
    return {
        r["di"]: r["value"]
        for r in ReadingsLake(settings.lake_dir).current(day, day).to_pylist()
        if r["meter"] == meter and r["freeze_time"] == freeze
    }


def test_feeder_head_meter_is_collected_counted_and_gives_the_feeder_purchased_energy(
    settings: Settings, database: Database
) -> None:
    plan = build_fleet(2, 3, seed=SEED, start=date(2026, 10, 1))
    provision_fleet(database.sessions, plan, date(2026, 9, 1))
    head_id = _add_head_meter(database, (plan[0].area_code, plan[0].terminal_number))

    # the simulator takes the head meter's place from the archive (single source of truth)
    fleet = archive_fleet(database, SEED)
    placed = [(t.address, m.point_number) for t in fleet for m in t.meters if m.feeder_head]
    assert placed == [(plan[0].address, HEAD_PN)]
    directory = Directory(database.sessions)
    directory.load()
    point = directory.find(plan[0].area_code, plan[0].terminal_number).points[HEAD_PN]  # type: ignore[union-attr]
    assert (point.metering_point_id, point.feeder_meter_id, point.meter_address) == (None, head_id, HEAD)
    assert point.registers == ()  # the daily freeze only: no two-part registers for a head meter

    bank = MeterBank.from_fleet(fleet, datetime(2026, 10, 30, tzinfo=BEIJING), seed=SEED, curve_days=0)
    meters = BankMeters(bank, lambda: NOW)
    sims = build_terminals(fleet, meters, lambda: NOW, Ledger(None), heartbeat_s=1)
    reread = [TODAY - timedelta(days=k) for k in range(4)]  # today's freeze and the 3 days of 补抄
    month_start = date(2026, 11, 1)

    async def scenario() -> list[Any]:
        station = _station(settings, database)
        port = await station.start("127.0.0.1", 0)
        stop = asyncio.Event()
        tasks_ = [asyncio.create_task(sim.run("127.0.0.1", port, stop)) for sim in sims]
        await _until(lambda: len(station.frontend.sessions) == len(sims))
        # the catch-up at login reads what the last 3 days miss, the head meter included
        await _until(lambda: all(not store.feeder_meters_missing(database, d) for d in reread))
        await _until(lambda: not station._collecting)
        outcomes = await station.collector.collect_day(month_start)  # the month's first freeze
        await asyncio.to_thread(store.record_outcomes, database, month_start, outcomes)
        stop.set()
        await asyncio.gather(*tasks_)
        await station.stop()
        return outcomes

    outcomes = asyncio.run(scenario())
    heads = [o for o in outcomes if o.feeder_meter_id is not None]
    assert [(o.feeder_meter_id, o.metering_point_id, o.ok, o.daily) for o in heads] == [
        (head_id, None, True, True)
    ]
    assert all(o.ok for o in outcomes) and all(
        o.metering_point_id is not None for o in outcomes if o not in heads
    )

    for day in [*reread, month_start]:
        truth = {r["di"]: r["value"] for r in freeze_rows(bank, day) if r["meter"] == HEAD}
        assert set(truth) == {DI_FWD_ACTIVE, *DI_FWD_ACTIVE_TARIFFS}
        assert _stored(settings, day, HEAD) == truth, day

    with database.sessions() as session:
        rows = session.scalars(select(FeederMeterCollection)).all()
        assert {(r.feeder_meter_id, r.business_date, r.status) for r in rows} == {
            (head_id, d, PointStatus.OK) for d in [*reread, month_start]
        }
        customer_points = sum(len(t.meters) for t in plan)
        overall = kpi.overall_rate(session, TODAY, SYSTEM)
        assert (overall.due, overall.collected) == (customer_points + 1, customer_points + 1)
        by_area = {r.key: r for r in kpi.success_rates(session, TODAY, SYSTEM, "transformer_area")}
        assert (by_area["SIM-F1"].due, by_area["SIM-F1"].name) == (1, "仿真线路 线路关口")
        assert sum(r.due for r in by_area.values()) == overall.due
        by_org = kpi.success_rates(session, TODAY, SYSTEM, "organisation")
        assert [(r.key, r.due) for r in by_org] == [("SIM", customer_points + 1)]
        by_terminal = {r.key: r.due for r in kpi.success_rates(session, TODAY, SYSTEM, "terminal")}
        assert by_terminal[plan[0].address] == len(plan[0].meters) + 1
        assert kpi.failures(session, TODAY, SYSTEM) == [] and kpi.reason_counts(session, TODAY, SYSTEM) == {}
        # a day nobody collected: the head meter is due and "not attempted", under its feeder
        before = date(2026, 11, 15)
        failed = [f for f in kpi.failures(session, before, SYSTEM) if f["meter"] == HEAD]
        assert failed == [
            {
                "metering_point": None,
                "feeder": "SIM-F1",
                "meter": HEAD,
                "transformer_area": None,
                "terminal": plan[0].address,
                "reason": "not_attempted",
                "attempts": 0,
            }
        ]
        assert kpi.reason_counts(session, before, SYSTEM) == {"not_attempted": customer_points + 1}
        org = session.scalars(select(Organisation).where(Organisation.code == "SIM")).one()
        assert org.id

    # daily: the head meter's energy of 30 Nov (freezes of 30 Nov and 1 Dec), primary side
    run = tasks.compute_line_loss(settings, database, TODAY - timedelta(days=1), now=NOW)
    assert run.meters == customer_points + 1
    energy = MdmLake(settings.lake_dir).energy.raw()
    head_energy = energy.filter(pc.equal(energy["meter"], HEAD)).to_pylist()
    a = bank.frozen_record(bank.addresses.index(HEAD), TODAY - timedelta(days=1))
    b = bank.frozen_record(bank.addresses.index(HEAD), TODAY)
    assert a is not None and b is not None
    want = float(b.registers.forward_total - a.registers.forward_total) * 2000
    assert [(r["role"], r["energy_kwh"]) for r in head_energy] == [("feeder", pytest.approx(want))]
    assert want > 0

    # monthly: purchased energy of the feeder from its head meter's freezes of 1 Nov and 1 Dec
    with database.sessions() as session:
        report = tasks.line_loss_report(session, settings, SYSTEM, "2026-11")
    feeder = [r for r in report.purchased.to_pylist() if r["level"] == "feeder" and r["unit"] == "SIM-F1"]
    a = bank.frozen_record(bank.addresses.index(HEAD), month_start)
    assert a is not None
    purchased = float(b.registers.forward_total - a.registers.forward_total) * 2000
    assert len(feeder) == 1 and feeder[0]["purchased_kwh"] == pytest.approx(purchased)
    assert feeder[0]["status"] == "ok" and feeder[0]["sold_kwh"] > 0
