"""Device jobs end to end over loopback TCP, against simulated meters behind a simulated terminal:
remote trip with maker-checker confirmed by the relay state, on-demand read, terminal clock sync."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from gridcare.acquisition import service
from gridcare.acquisition.models import ClockCheck, DeviceJob, JobKind, JobState
from gridcare.acquisition.station import MasterStation, StationSettings
from gridcare.archives.provision import provision_fleet
from gridcare.config import Settings
from gridcare.security.principal import Principal
from gridcare.simulator.bank import MeterBank
from gridcare.simulator.fleet import BankMeters, build_terminals
from gridcare.simulator.specs import build_fleet
from gridcare.simulator.terminal import Ledger
from gridcare.storage.database import Database
from gridcare.storage.frames import FrameArchive
from gridcare.storage.lake import ReadingsLake
from gridcare.timeutil import BEIJING

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=BEIJING)
MAKER = Principal("operator-li", permissions=frozenset({"*"}))
CHECKER = Principal("operator-wang", permissions=frozenset({"*"}))


async def _final(db: Database, job_id: int, timeout: float = 20.0) -> DeviceJob:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        with db.sessions() as session:
            job = session.get(DeviceJob, job_id)
            assert job is not None
            if job.state in (JobState.CONFIRMED, JobState.FAILED, JobState.TIMED_OUT):
                return job
        assert asyncio.get_running_loop().time() < deadline, f"job {job_id} still {job.state}"
        await asyncio.sleep(0.1)


def test_remote_trip_read_and_clock_sync(settings: Settings, database: Database) -> None:
    fleet = build_fleet(1, 3, seed=5, start=date(2026, 11, 16))
    provision_fleet(database.sessions, fleet, date(2026, 11, 15))
    bank = MeterBank.from_fleet(fleet, NOW - timedelta(days=7), seed=5)
    meter = fleet[0].meters[1].address  # a customer meter (point 1 is the 台区 supply meter)
    sims = build_terminals(fleet, BankMeters(bank, lambda: NOW), lambda: NOW, Ledger(None), heartbeat_s=1)
    sims[0].clock_offset_s = 42.0  # the terminal's clock runs 42 s ahead

    async def scenario() -> dict[str, Any]:
        station = MasterStation(
            database,
            ReadingsLake(settings.lake_dir),
            FrameArchive(settings.lake_dir),
            StationSettings(reread_interval_s=3600, flush_interval_s=3600),
            clock=lambda: NOW,
        )
        station.jobs.poll_s = 0.05
        port = await station.start("127.0.0.1", 0)
        stop = asyncio.Event()
        task = asyncio.create_task(sims[0].run("127.0.0.1", port, stop))
        with database.sessions() as session:
            approval = service.request_remote_control(session, MAKER, meter, "trip", "欠费 arrears")
            trip = service.approve_remote_control(session, CHECKER, approval.id)
            read = service.request_job(session, MAKER, JobKind.ON_DEMAND_READ, meter_address=meter)
            clock = service.request_job(session, MAKER, JobKind.CLOCK_SYNC, terminal_address=fleet[0].address)
            ids = (trip.id, read.id, clock.id)
        done = {
            kind: await _final(database, job_id)
            for kind, job_id in zip(("trip", "read", "clock"), ids, strict=True)
        }
        stop.set()
        await task
        await station.stop()
        return {k: (j.state, j.result, j.error) for k, j in done.items()}

    out = asyncio.run(scenario())
    assert out["trip"][0] == JobState.CONFIRMED, out["trip"]
    assert out["trip"][1] == {"meter": meter, "command": "trip", "relay": "open"}
    assert not bank.instantaneous(bank.index_of(meter), NOW).relay_closed
    state, result, _ = out["read"]
    assert state == JobState.CONFIRMED
    total = next(v["value"] for v in result["values"] if v["name"] == "forward_active_total")
    assert Decimal(str(total)) == bank.registers(bank.index_of(meter)).forward_total
    state, result, _ = out["clock"]
    assert (state, result["action"], result["error_s"], result["flagged"]) == (
        JobState.CONFIRMED,
        "set",
        0,
        False,
    )
    assert sims[0].clock_offset_s == 0.0
    with database.sessions() as session:
        check = session.scalars(select(ClockCheck)).one()
        assert (check.error_s, check.action) == (0, "set")


def test_the_maker_cannot_approve_their_own_remote_control(settings: Settings, database: Database) -> None:
    import pytest

    from gridcare.security.approvals import SelfApproval

    fleet = build_fleet(1, 2, seed=6, start=date(2026, 11, 16))
    provision_fleet(database.sessions, fleet, date(2026, 11, 15))
    meter = fleet[0].meters[1].address
    with database.sessions() as session:
        approval = service.request_remote_control(session, MAKER, meter, "trip", "欠费 arrears")
        with pytest.raises(SelfApproval):
            service.approve_remote_control(session, MAKER, approval.id)
        session.rollback()
        assert session.scalars(select(DeviceJob)).all() == []
