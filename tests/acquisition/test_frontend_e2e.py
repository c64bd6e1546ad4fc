"""The master station and simulated terminals over real loopback TCP: login, heartbeat, a day of
collection with confirmation after durability, a re-read, refused unknown terminals, corrupt frames."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from gridcare.acquisition import store
from gridcare.acquisition.events import list_events
from gridcare.acquisition.station import MasterStation, StationSettings
from gridcare.config import Settings
from gridcare.protocols import gdw1376
from gridcare.protocols.gdw1376.model import Address
from gridcare.security.models import RiskCounter
from gridcare.security.principal import SYSTEM
from gridcare.simulator.terminal import Ledger, SimTerminal
from gridcare.storage.database import Database
from gridcare.storage.db import transaction
from gridcare.storage.frames import FrameArchive
from gridcare.storage.lake import ReadingsLake
from gridcare.timeutil import BEIJING
from tests.support.archive import build_small_archive

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=BEIJING)
TODAY = NOW.date()


class FixedMeters:
    """Registers that grow 10 kWh a day from 1000 kWh on 2026-11-01; T1..T4 = 10/20/30/40 %."""

    def __init__(self, silent: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.silent = silent

    def daily_frozen(self, meter: str, freeze_day: date) -> list[Decimal | None] | None:
        if meter in self.silent:
            return None
        total = Decimal(1000 + 10 * (freeze_day - date(2026, 11, 1)).days) + Decimal(int(meter[-1])) / 100
        parts = [(total * p / 100).quantize(Decimal("0.01")) for p in (10, 20, 30)]
        return [total, *parts, total - sum(parts)]

    def forward(self, meter: str, frame: bytes, now: datetime) -> bytes | None:
        return None


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


@pytest.fixture
def archive(database: Database) -> Database:
    with transaction(database.sessions) as session:
        build_small_archive(session)
    return database


def _station(settings: Settings, db: Database) -> MasterStation:
    lake = ReadingsLake(settings.lake_dir)
    return MasterStation(
        db,
        lake,
        FrameArchive(settings.lake_dir),
        StationSettings(reread_interval_s=3600, status_interval_s=0.2, flush_interval_s=3600),
        clock=lambda: NOW,
    )


def _terminal(number: int, points: dict[int, str], ledger: Ledger, meters: FixedMeters) -> SimTerminal:
    return SimTerminal("3301", number, points, meters, lambda: NOW, ledger, heartbeat_s=0.2)


async def _until(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def test_login_collect_confirm_reread(settings: Settings, archive: Database) -> None:
    out = io.StringIO()
    ledger = Ledger(out)
    meters = FixedMeters(silent={"201000000002"})

    async def scenario() -> None:
        station = _station(settings, archive)
        port = await station.start("127.0.0.1", 0)
        stop = asyncio.Event()
        t1 = _terminal(1, {1: "201000000001", 2: "201000000002", 3: "201000000003"}, ledger, meters)
        t2 = _terminal(2, {4: "201000000004"}, ledger, meters)
        t2.record_event(
            {"erc": 14, "power_off_time": "2026-11-22 23:10", "power_on_time": "2026-11-23 06:40"}
        )
        tasks = [asyncio.create_task(t.run("127.0.0.1", port, stop)) for t in (t1, t2)]
        await _until(lambda: len(station.frontend.sessions) == 2)
        # catch-up on login: today's freeze and the last 3 days, 4 days x 3 answering points x 5 values
        await _until(lambda: ledger.lines == 4 * 3 * 5)
        await _until(
            lambda: all(
                s.last_heartbeat and s.last_heartbeat == NOW for s in station.frontend.sessions.values()
            )
        )
        await _until(lambda: station.events.pointers.get("3301-00002") == 1)
        assert await station.events.read_all() == 0  # read again: nothing new, nothing stored twice
        meters.silent.clear()  # the silent meter answers again: a re-read fills its gap
        outcomes = await station.collect_missing(TODAY)
        assert [(o.metering_point_id, o.ok) for o in outcomes] == [(2, True)]
        await _until(lambda: ledger.lines == 4 * 3 * 5 + 5)
        stop.set()
        await asyncio.gather(*tasks)
        await station.stop()

    run(scenario())
    lake = ReadingsLake(settings.lake_dir)
    current = lake.current(TODAY, TODAY).to_pylist()
    got = {(r["meter"], r["di"]): r["value"] for r in current}
    assert got[("201000000001", "05060101")] == Decimal("1220.0100")  # 22 days after 2026-11-01
    assert got[("201000000001", "05060101.1")] == Decimal("122.0000")
    assert len(current) == 4 * 5
    # every ledger line (what the station confirmed) is in the lake
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    stored = {(r["meter"], r["di"], r["freeze_time"].isoformat()) for r in lake.current().to_pylist()}
    assert {(x["meter"], x["di"], x["freeze_time"]) for x in lines} <= stored
    with archive.sessions() as session:
        stored = list_events(session, SYSTEM)
    assert [(e["terminal"], e["erc"], e["occurred_at"]) for e in stored] == [
        ("3301-00002", 14, "2026-11-22T23:10:00+08:00")
    ]
    missing = store.points_missing(archive, TODAY)
    assert missing == set()
    # collection outcomes: meter 2 failed on the older days with "invalid data"
    assert store.points_missing(archive, TODAY - timedelta(days=1)) == {2}


def test_unknown_terminal_is_refused_and_corrupt_frames_do_not_stop_the_session(
    settings: Settings, archive: Database
) -> None:
    async def scenario() -> tuple[int, int, int]:
        station = _station(settings, archive)
        port = await station.start("127.0.0.1", 0)
        stop = asyncio.Event()
        stranger = SimTerminal("9999", 7, {}, FixedMeters(), lambda: NOW, Ledger(None), heartbeat_s=0.2)
        task = asyncio.create_task(stranger.run("127.0.0.1", port, stop))
        await _until(lambda: station.frontend.counters.refused >= 1)
        stop.set()
        await task
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        here = Address("3301", 2)
        login = gdw1376.build_login(here)
        writer.write(b"\x68\x31\x00\x32\x00\x68garbage" + login)
        await _until(lambda: "3301-00002" in station.frontend.sessions)
        bad = bytearray(gdw1376.build_heartbeat(here))
        bad[-2] ^= 0xFF  # checksum broken
        writer.write(bytes(bad))
        await _until(lambda: station.frontend.counters.malformed_frames >= 1)
        writer.write(gdw1376.build_heartbeat(here))
        await _until(lambda: station.frontend.sessions["3301-00002"].last_heartbeat is not None)
        await asyncio.to_thread(station._write_status)  # what the status loop does every few seconds
        writer.close()
        await station.stop()
        return (
            station.frontend.counters.refused,
            station.frontend.counters.malformed_frames,
            len(station.frontend.sessions),
        )

    refused, malformed, sessions = run(scenario())
    assert refused >= 1  # the stranger keeps trying; each login is refused and the connection closed
    assert (malformed, sessions) == (1, 0)
    with archive.sessions() as session:
        counters = session.scalars(select(RiskCounter)).all()
    assert [(c.key, c.count) for c in counters] == [("frames:3301-00002", 1)]  # fed to the risk rules
    frames = FrameArchive(settings.lake_dir).raw().to_pylist()
    assert any(f["error_code"] == "bad_checksum" for f in frames)
    assert any(f["terminal"] is None and f["remote"] for f in frames)
