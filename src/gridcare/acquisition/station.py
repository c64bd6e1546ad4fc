"""The master station process: front-end, scheduled collection and re-reads, device jobs, persistence.

Schedule (Beijing time): the daily freeze taken at 00:00 is collected from 00:05; every
``reread_interval_s`` the points still missing for the last ``reread_days`` freezes are read again (补抄),
and so are the extra registers (reactive, maximum demand) still missing for points of customers with
billing terms (the meter holds the N-th last freeze at DL/T 645 DI0 = N = days back + 1);
a terminal that logs in is read at once for what it still owes. Outcomes and the session table are
written to the database; write-ahead readings move to Parquet every ``flush_interval_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from gridcare.acquisition import store
from gridcare.acquisition.channel import Priority
from gridcare.acquisition.collection import Collector, PointOutcome
from gridcare.acquisition.directory import Directory
from gridcare.acquisition.events import EventReader
from gridcare.acquisition.frontend import FrontEnd
from gridcare.acquisition.ingest import Ingestor
from gridcare.acquisition.jobs import JobRunner
from gridcare.acquisition.models import JobKind
from gridcare.config import Settings
from gridcare.security import risk
from gridcare.storage.database import Database, open_database
from gridcare.storage.frames import FrameArchive
from gridcare.storage.lake import ReadingsLake
from gridcare.timeutil import now_beijing

log = logging.getLogger("gridcare.station")


@dataclass(frozen=True)
class StationSettings:
    collect_after: time = time(0, 5)  # the daily run starts at 00:05 Beijing time
    reread_days: int = 3  # 补抄 window: freezes of the last N days
    reread_interval_s: float = 600.0
    status_interval_s: float = 5.0
    flush_interval_s: float = 30.0
    idle_timeout_s: float = 300.0
    clock_check_interval_s: float = 86400.0


class MasterStation:
    """Wires the front-end to the archives, the lake and the database."""

    def __init__(
        self,
        db: Database,
        lake: ReadingsLake,
        frames: FrameArchive,
        settings: StationSettings | None = None,
        clock: Callable[[], datetime] = now_beijing,
    ) -> None:
        self.db = db
        self.settings = settings or StationSettings()
        self.clock = clock
        self.directory = Directory(db.sessions)
        self.ingestor = Ingestor(lake, frames)
        self.frontend = FrontEnd(self.directory, self.ingestor, self.settings.idle_timeout_s, clock)
        self.frontend.on_login = self._on_login
        self.collector = Collector(self.frontend)
        self.jobs = JobRunner(self.frontend, db)
        self.events = EventReader(self.frontend, db)
        self._tasks: list[asyncio.Task[Any]] = []
        self._collecting: set[str] = set()
        self._malformed_reported: dict[str, tuple[int, int]] = {}  # terminal -> (session id, count)

    async def start(self, host: str, port: int) -> int:
        """Take the write-ahead files (one writer per data directory), replay them, load the archives and
        listen; returns the port. Raises WalLocked when another process holds the data directory."""
        self.ingestor.lake.wal.lock()
        self.ingestor.frames.wal.lock()
        moved = await asyncio.to_thread(self._flush)
        if moved:
            log.info("replayed %d write-ahead rows into the lake", moved)
        await asyncio.to_thread(self.directory.load)
        self.ingestor.start()
        bound = await self.frontend.start(host, port)
        loops = (self._collection_loop, self._status_loop, self._flush_loop, self.jobs.poll, self._clock_loop)
        for loop in loops:
            self._tasks.append(asyncio.create_task(self._forever(loop)))
        log.info(
            "master station listening on %s:%d (%d terminals in the archives)",
            host,
            bound,
            len(self.directory.terminals),
        )
        return bound

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.frontend.stop()
        await self.ingestor.stop()
        await asyncio.to_thread(self._flush)
        await asyncio.to_thread(self._write_status)

    # -- collection ---------------------------------------------------------------------------
    def due_freeze_days(self) -> list[date]:
        """Freeze days whose collection is due now: the last ``reread_days``, today once 00:05 passed."""
        now = self.clock()
        today = now.date()
        days = [today - timedelta(days=i) for i in range(1, self.settings.reread_days + 1)]
        if now.time() >= self.settings.collect_after:
            days.insert(0, today)
        return days

    async def collect_missing(self, freeze_day: date, only_terminal: str | None = None) -> list[PointOutcome]:
        """Read the points still missing for ``freeze_day`` (on one terminal if given; feeder head meters
        included), and the extra registers (reactive, maximum demand) still missing for the points that
        need them; record outcomes."""
        missing = await asyncio.to_thread(store.points_missing, self.db, freeze_day)
        due = await asyncio.to_thread(store.due_points, self.db, freeze_day)
        done = await asyncio.to_thread(store.registers_done, self.db, freeze_day)
        heads = await asyncio.to_thread(store.feeder_meters_missing, self.db, freeze_day)
        wanted: dict[str, set[int]] = {}
        registers: dict[str, dict[int, tuple[str, ...]]] = {}
        for terminal in self.directory.terminals.values():
            if only_terminal is not None and terminal.key != only_terminal:
                continue
            pns = {
                pn
                for pn, p in terminal.points.items()
                if (
                    p.metering_point_id in missing
                    if p.feeder_meter_id is None
                    else p.feeder_meter_id in heads
                )
            }
            extra = {
                pn: dis
                for pn, p in terminal.points.items()
                if p.metering_point_id in due
                and (dis := tuple(di for di in p.registers if (p.metering_point_id, di) not in done))
            }
            if pns:
                wanted[terminal.key] = pns
            if extra:
                registers[terminal.key] = extra
        if not wanted and not registers:
            return []
        priority = Priority.BULK if freeze_day == self.clock().date() else Priority.REREAD
        outcomes = await self.collector.collect_day(freeze_day, wanted, priority, registers)
        await asyncio.to_thread(store.record_outcomes, self.db, freeze_day, outcomes)
        return outcomes

    async def collect_due(self) -> None:
        for day in self.due_freeze_days():
            await self.collect_missing(day)

    def _on_login(self, terminal_key: str) -> None:
        if terminal_key in self._collecting:
            return
        self._collecting.add(terminal_key)

        async def catch_up() -> None:
            try:
                for day in self.due_freeze_days():
                    await self.collect_missing(day, only_terminal=terminal_key)
                await self.events.read_terminal(terminal_key)  # e.g. the power-off it just came back from
            finally:
                self._collecting.discard(terminal_key)

        self._tasks.append(asyncio.create_task(catch_up()))

    # -- loops -----------------------------------------------------------------------------------
    async def _forever(self, body: Callable[[], Coroutine[Any, Any, None]]) -> None:
        while True:
            try:
                await body()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background task %s failed; retrying", body.__name__)
                await asyncio.sleep(5)

    async def _clock_loop(self) -> None:
        """Once a day, every terminal's clock is checked and set when off by more than 5 s."""
        await asyncio.sleep(30)
        ids = [t.terminal_id for t in self.directory.terminals.values()]
        for terminal_id in ids:
            await asyncio.to_thread(
                store.create_job,
                self.db,
                kind=JobKind.CLOCK_SYNC,
                terminal_id=terminal_id,
                priority=2,
                params={},
                requested_by="system:clock-check",
            )
        log.info("queued the daily clock check of %d terminals", len(ids))
        await asyncio.sleep(self.settings.clock_check_interval_s)

    async def _collection_loop(self) -> None:
        await asyncio.sleep(1)
        await self.collect_due()
        stored = await self.events.read_all()
        if stored:
            log.info("stored %d new terminal events", stored)
        await asyncio.sleep(self.settings.reread_interval_s)

    async def _status_loop(self) -> None:
        await asyncio.to_thread(self._write_status)
        await asyncio.sleep(self.settings.status_interval_s)

    async def _flush_loop(self) -> None:
        await asyncio.sleep(self.settings.flush_interval_s)
        await asyncio.to_thread(self._flush)

    def _flush(self) -> int:
        return self.ingestor.lake.flush() + self.ingestor.frames.flush()

    def _report_malformed(self) -> None:
        """Feed new undecodable frames per terminal to the risk rules (a flood raises an alert)."""
        for session in list(self.frontend.sessions.values()):
            key = session.terminal.key
            seen_in, seen = self._malformed_reported.get(key, (0, 0))
            new = session.malformed_frames - (seen if seen_in == id(session) else 0)
            if new > 0:
                with self.db.sessions() as db_session, db_session.begin():
                    risk.record_malformed_frames(db_session, key, new, org_id=session.terminal.org_id)
                self._malformed_reported[key] = (id(session), session.malformed_frames)

    def _write_status(self) -> None:
        self._report_malformed()
        rows = [
            store.StatusRow(
                s.terminal.terminal_id,
                True,
                s.remote,
                s.connected_since,
                s.last_heartbeat,
                s.last_seen,
                s.malformed_frames,
            )
            for s in list(self.frontend.sessions.values())
        ]
        ids = [t.terminal_id for t in self.directory.terminals.values()]
        store.write_status(self.db, rows, ids)

    async def run_forever(self) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.Event().wait()


def open_station(settings: Settings) -> MasterStation:
    """A master station on the installation's database and lake, per ``settings``."""
    db = open_database(settings)
    risk.configure(settings)
    station_settings = StationSettings(
        reread_days=settings.reread_days,
        reread_interval_s=settings.reread_interval_s,
        idle_timeout_s=settings.terminal_idle_timeout_s,
    )
    return MasterStation(
        db, ReadingsLake(settings.lake_dir), FrameArchive(settings.lake_dir), station_settings
    )
