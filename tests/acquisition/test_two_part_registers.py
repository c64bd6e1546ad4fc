"""Reactive energy and maximum demand of two-part tariff customers, collected with the daily freeze over
real loopback TCP: DL/T 645 reads of the meter's last freezes forwarded by a simulated terminal (AFN10
F1), stored through the write-ahead file, checked against the simulator's ground truth; customers
without billing terms get no extra request; a freeze time of another day is not stored."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from gridcare.acquisition import kpi, store
from gridcare.acquisition.models import FailureReason, PointStatus, RegisterCollection
from gridcare.acquisition.station import MasterStation, StationSettings
from gridcare.archives.billing_terms import BillingTerms
from gridcare.archives.models import MeteringPoint
from gridcare.archives.provision import provision_fleet
from gridcare.config import Settings
from gridcare.mdm.schema import DI_FWD_ACTIVE, DI_FWD_DEMAND, DI_FWD_DEMAND_TIME, DI_FWD_REACTIVE
from gridcare.protocols import dlt645
from gridcare.security.principal import SYSTEM
from gridcare.simulator.bank import MeterBank
from gridcare.simulator.fleet import BankMeters, build_terminals, freeze_rows
from gridcare.simulator.specs import build_fleet
from gridcare.simulator.terminal import Ledger, SimTerminal
from gridcare.storage.database import Database
from gridcare.storage.frames import FrameArchive
from gridcare.storage.lake import ReadingsLake
from gridcare.timeutil import BEIJING

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=BEIJING)
TODAY = NOW.date()
EXTRA = (DI_FWD_REACTIVE, DI_FWD_DEMAND, DI_FWD_DEMAND_TIME)


class CountingMeters(BankMeters):
    """The bank's meters, noting which meter each forwarded DL/T 645 read was for."""

    def __init__(self, bank: MeterBank, clock: Callable[[], datetime]) -> None:
        super().__init__(bank, clock)
        self.reads: list[tuple[str, str]] = []

    def forward(self, meter: str, frame: bytes, now: datetime) -> bytes | None:
        request = dlt645.decode_frame(frame, allow_trailing=True)
        self.reads.append((meter, request.di or ""))
        return super().forward(meter, frame, now)


def _station(settings: Settings, db: Database) -> MasterStation:
    return MasterStation(
        db,
        ReadingsLake(settings.lake_dir),
        FrameArchive(settings.lake_dir),
        StationSettings(reread_interval_s=3600, status_interval_s=3600, flush_interval_s=3600),
        clock=lambda: NOW,
    )


def _give_terms(db: Database, meter: str) -> int:
    """Billing terms (力调 0.90, basic charge by demand) for the customer of ``meter``; its point id."""
    with db.sessions() as session, session.begin():
        point = session.scalars(select(MeteringPoint).where(MeteringPoint.code == f"SIM-{meter}")).one()
        assert point.customer_id is not None
        session.add(
            BillingTerms(
                customer_id=point.customer_id,
                pf_standard=Decimal("0.90"),
                basic_charge_basis="demand",
                contracted_demand_kw=Decimal("400"),
                transformer_loss="none",
            )
        )
        return point.id


async def _until(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def test_reactive_and_demand_collected_for_two_part_customers_only(
    settings: Settings, database: Database
) -> None:
    fleet = build_fleet(1, 3, seed=21, start=date(2026, 11, 1), class_mix={"large_industrial": 1.0})
    provision_fleet(database.sessions, fleet, date(2026, 10, 1))
    two_part, plain = fleet[0].meters[1].address, fleet[0].meters[2].address
    point_id = _give_terms(database, two_part)
    bank = MeterBank.from_fleet(fleet, NOW - timedelta(days=10), seed=21)
    meters = CountingMeters(bank, lambda: NOW)
    sims = build_terminals(fleet, meters, lambda: NOW, Ledger(None), heartbeat_s=1)
    days = [TODAY - timedelta(days=k) for k in range(4)]  # today's freeze and the 3 days of 补抄

    async def scenario() -> list[Any]:
        station = _station(settings, database)
        port = await station.start("127.0.0.1", 0)
        stop = asyncio.Event()
        task = asyncio.create_task(sims[0].run("127.0.0.1", port, stop))
        await _until(lambda: len(station.frontend.sessions) == 1)
        outcomes = await station.collector.collect_day(TODAY)
        await asyncio.to_thread(store.record_outcomes, database, TODAY, outcomes)
        # the catch-up at login reads what the last 3 days still miss, the extra registers included
        await _until(
            lambda: all(
                {(point_id, DI_FWD_REACTIVE), (point_id, DI_FWD_DEMAND)} <= store.registers_done(database, d)
                for d in days
            )
        )
        await _until(lambda: not station._collecting)
        stop.set()
        await task
        await station.stop()
        return outcomes

    outcomes = asyncio.run(scenario())
    daily = [(o.metering_point_id, o.ok, o.di) for o in outcomes if o.daily]
    extra = [(o.metering_point_id, o.ok, o.di) for o in outcomes if not o.daily]
    assert len(daily) == 4 and all(ok and di == DI_FWD_ACTIVE for _, ok, di in daily)
    assert extra == [(point_id, True, DI_FWD_REACTIVE), (point_id, True, DI_FWD_DEMAND)]

    lake = ReadingsLake(settings.lake_dir)
    for day in days:
        stored = {
            (r["meter"], r["di"]): r["value"]
            for r in lake.current(day, day).to_pylist()
            if r["freeze_time"] == datetime(day.year, day.month, day.day, tzinfo=BEIJING)
        }
        truth = {(r["meter"], r["di"]): r["value"] for r in freeze_rows(bank, day, {two_part})}
        want = {k: v for k, v in truth.items() if k[1] in EXTRA}
        assert {k for k in want if k[1] != DI_FWD_DEMAND_TIME} == {
            (two_part, DI_FWD_REACTIVE),
            (two_part, DI_FWD_DEMAND),
        }
        assert {k: v for k, v in stored.items() if k[1] in EXTRA} == want, day
        assert stored[(two_part, DI_FWD_DEMAND)] > 0 and (two_part, DI_FWD_DEMAND_TIME) in stored
        assert stored[(plain, DI_FWD_ACTIVE)] == truth[(plain, DI_FWD_ACTIVE)]

    # the freeze's N: today's is the last (01), three days back the 4th last (04); freeze time checked
    reads = {di for meter, di in meters.reads if meter == two_part}
    assert {"05060001", "05060301", "05060901", "05060004", "05060304", "05060904"} <= reads
    assert {meter for meter, _ in meters.reads} == {two_part}  # nothing extra for the others
    with database.sessions() as session:
        rows = session.scalars(select(RegisterCollection)).all()
        assert {(r.metering_point_id, r.di, r.status) for r in rows} == {
            (point_id, di, PointStatus.OK) for di in (DI_FWD_REACTIVE, DI_FWD_DEMAND)
        }
        assert {r.business_date for r in rows} == set(days)
        overall = kpi.overall_rate(session, TODAY, SYSTEM)  # points, not registers
        assert (overall.due, overall.collected) == (4, 4)
        assert kpi.register_counts(session, TODAY, SYSTEM) == {
            DI_FWD_REACTIVE: {"ok": 1},
            DI_FWD_DEMAND: {"ok": 1},
        }


class HeldFreezes:
    """A meter that holds daily freezes of the given days (newest first) and answers DL/T 645 reads of
    050600NN / 050603NN / 050609NN; F161 answers for every day."""

    def __init__(self, held: list[date]) -> None:
        self.held = held
        self.reads: list[str] = []

    def daily_frozen(self, meter: str, freeze_day: date) -> list[Decimal | None] | None:
        return [Decimal("100.00"), Decimal("10.00"), Decimal("20.00"), Decimal("30.00"), Decimal("40.00")]

    def forward(self, meter: str, frame: bytes, now: datetime) -> bytes | None:
        request = dlt645.decode_frame(frame, allow_trailing=True)
        di = request.di or ""
        self.reads.append(di)
        n = int(di[6:], 16)
        if not 1 <= n <= len(self.held):
            return dlt645.build_abnormal_reply(meter, 0x11, 0x02)
        day = self.held[n - 1]
        if di.startswith("050600"):
            return dlt645.build_read_reply(meter, di, [f"{day.isoformat()} 00:00"])
        if di.startswith("050603"):
            return dlt645.build_read_reply(meter, di, [Decimal(f"5{day.day:02d}.25")])
        demand: list[Decimal | int | str | None] = [Decimal("12.3456"), f"{day.isoformat()} 10:15"]
        return dlt645.build_read_reply(meter, di, demand)


def _fake_world(settings: Settings, database: Database, held: list[date]) -> tuple[HeldFreezes, str, int]:
    fleet = build_fleet(1, 1, seed=22, start=date(2026, 11, 1), class_mix={"large_industrial": 1.0})
    provision_fleet(database.sessions, fleet, date(2026, 10, 1))
    meter = fleet[0].meters[1].address
    return HeldFreezes(held), meter, _give_terms(database, meter)


def _collect(settings: Settings, database: Database, meters: HeldFreezes, meter: str, day: date) -> list[Any]:
    async def scenario() -> list[Any]:
        station = _station(settings, database)
        station.frontend.on_login = None  # no catch-up at login and no scheduled run: only the read below

        async def nothing() -> None:
            return None

        station.collect_due = nothing  # type: ignore[method-assign]
        port = await station.start("127.0.0.1", 0)
        stop = asyncio.Event()
        sim = SimTerminal("3301", 1, {2: meter}, meters, lambda: NOW, Ledger(None), heartbeat_s=1)
        task = asyncio.create_task(sim.run("127.0.0.1", port, stop))
        await _until(lambda: len(station.frontend.sessions) == 1)
        outcomes = await station.collector.collect_day(day, {"3301-00001": {2}})
        stop.set()
        await task
        await station.stop()
        return outcomes

    return asyncio.run(scenario())


def test_a_meter_ahead_holds_the_day_one_freeze_further(settings: Settings, database: Database) -> None:
    yesterday = TODAY - timedelta(days=1)
    # clock ahead: it has frozen tomorrow already, so yesterday is its 3rd last freeze, not its 2nd
    meters, meter, _ = _fake_world(settings, database, [TODAY + timedelta(days=1), TODAY, yesterday])
    outcomes = _collect(settings, database, meters, meter, yesterday)
    assert [(o.di, o.ok) for o in outcomes if not o.daily] == [(DI_FWD_REACTIVE, True), (DI_FWD_DEMAND, True)]
    assert meters.reads == ["05060002", "05060003", "05060303", "05060903", "05060003"]
    stored = {
        r["di"]: r["value"] for r in ReadingsLake(settings.lake_dir).current().to_pylist() if r["di"] in EXTRA
    }
    assert stored == {
        DI_FWD_REACTIVE: Decimal(f"5{yesterday.day:02d}.25"),
        DI_FWD_DEMAND: Decimal("12.3456"),
        DI_FWD_DEMAND_TIME: Decimal(yesterday.strftime("%Y%m%d") + "1015"),
    }


def test_a_freeze_of_another_day_is_not_stored_and_the_reason_is_kept(
    settings: Settings, database: Database
) -> None:
    # the meter skipped today's freeze (its clock jumped): its last freeze is yesterday's
    meters, meter, point_id = _fake_world(
        settings, database, [TODAY - timedelta(days=1), TODAY - timedelta(days=2)]
    )
    outcomes = _collect(settings, database, meters, meter, TODAY)
    extra = [o for o in outcomes if not o.daily]
    assert [(o.di, o.ok, o.reason) for o in extra] == [
        (DI_FWD_REACTIVE, False, FailureReason.INVALID_DATA),
        (DI_FWD_DEMAND, False, FailureReason.INVALID_DATA),
    ]
    assert "no freeze of" in extra[0].detail and str(TODAY) in extra[0].detail
    assert not any(di.startswith(("050603", "050609")) for di in meters.reads)
    lake = ReadingsLake(settings.lake_dir).current().to_pylist()
    assert {r["di"] for r in lake} == {DI_FWD_ACTIVE, "05060101.1", "05060101.2", "05060101.3", "05060101.4"}
    store.record_outcomes(database, TODAY, outcomes)
    with database.sessions() as session:
        row = session.get(RegisterCollection, (point_id, TODAY, DI_FWD_REACTIVE))
        assert (
            row is not None
            and row.reason == FailureReason.INVALID_DATA
            and "no freeze of" in (row.detail or "")
        )
        assert kpi.overall_rate(session, TODAY, SYSTEM).collected == 1  # the daily reading still counts
        assert kpi.register_counts(session, TODAY, SYSTEM)[DI_FWD_DEMAND] == {"invalid_data": 1}
