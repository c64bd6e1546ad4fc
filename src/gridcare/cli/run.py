"""`gridcare run`: everything `make run` starts, on the embedded defaults.

One process, one event loop: the API and console (uvicorn), the master-station front-end, and a simulated
fleet matched to the archives (with the default fault rates; the injected faults are written to
``<data_dir>/simulator/ground_truth.jsonl``). On an empty database it first creates the demo utility and
a demo login whose one-time password is printed once. VEE and line loss run by themselves as each day's
freeze is collected (:mod:`gridcare.mdm.daily`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Annotated

import typer
import uvicorn
from sqlalchemy import func, select

from gridcare.acquisition.station import MasterStation, StationSettings
from gridcare.api.app import create_app
from gridcare.archives.demo import generate_demo
from gridcare.archives.models import Customer, Organisation
from gridcare.billing.demo_tariffs import load_demo_tariffs
from gridcare.billing.schedule import BillingSchedule
from gridcare.cli.common import (
    ConfigOption,
    DataDirOption,
    console,
    database_from,
    fail,
    run_async,
    settings_from,
)
from gridcare.cli.serve import HostOption, PortOption
from gridcare.cli.simulate import archive_fleet
from gridcare.config import Settings
from gridcare.mdm.daily import DailyProcessing
from gridcare.security import accounts, risk
from gridcare.security.models import User
from gridcare.security.principal import SYSTEM
from gridcare.simulator.bank import MeterBank
from gridcare.simulator.clock import SimClock
from gridcare.simulator.faults import FaultPlan, FaultRates, plan_faults, write_ground_truth
from gridcare.simulator.fleet import BankMeters, build_terminals, run_fleet
from gridcare.simulator.specs import TerminalSpec
from gridcare.simulator.terminal import Ledger
from gridcare.storage.database import Database
from gridcare.storage.frames import FrameArchive
from gridcare.storage.lake import ReadingsLake
from gridcare.storage.wal import WalLocked
from gridcare.timeutil import now_beijing

FLEET_HISTORY_DAYS = 7  # days of daily freezes the simulated meters hold when the platform starts
DEMO_USER = "demo"
MDM_PASS_S = 45.0
"""Seconds between daily VEE / line-loss passes: longer than the station's 30 s flush to Parquet."""
BILLING_PASS_S = 60.0
"""Seconds between checks of the billing schedule (each pass runs once when due)."""


def _ensure_demo(settings: Settings, database: Database) -> str | None:
    """Create the demo utility and a demo login on an empty database; returns the one-time password."""
    with database.sessions() as session:
        customers = session.scalar(select(func.count()).select_from(Customer)) or 0
        users = session.scalar(select(func.count()).select_from(User)) or 0
    if customers == 0 and settings.demo_customers > 0:
        console.print(
            f"空数据库：正在生成示例供电公司 (empty database: creating the demo utility, "
            f"{settings.demo_customers} customers, seed {settings.demo_seed}) ..."
        )
        summary = generate_demo(database.sessions, settings.demo_customers, settings.demo_seed)
        with database.sessions() as session:
            tariffs = load_demo_tariffs(session)
            session.commit()
        console.print(f"示例数据已生成 demo ready: {summary.counts}, {len(tariffs)} tariff versions")
    if users:
        return None
    with database.sessions() as session, session.begin():
        root = session.scalar(
            select(Organisation.code).where(Organisation.parent_id.is_(None)).order_by(Organisation.id)
        )
        if root is None:
            return None
        creds = accounts.create_staff(
            session, SYSTEM, DEMO_USER, ["manager"], root, settings, "示例管理员 demo manager"
        )
        return creds.one_time_password


def replay_clock(replay_days: int, speed: float) -> Callable[[], datetime]:
    """Beijing time that starts ``replay_days`` ago, runs ``speed`` times faster than the wall clock
    and, once it has caught up, goes on as the real time."""
    if replay_days <= 0:
        return now_beijing
    sim = SimClock(now_beijing() - timedelta(days=replay_days), speed)
    return lambda: min(sim.now(), now_beijing())


def run(
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    host: HostOption = None,
    port: PortOption = None,
    replay_days: Annotated[
        int,
        typer.Option("--replay-days", min=0, max=60, help="start the fleet this many days ago and replay"),
    ] = 0,
    speed: Annotated[
        float, typer.Option("--speed", min=1.0, help="simulated seconds per wall second while replaying")
    ] = 1440.0,
) -> None:
    """Initialise the data directory and database if empty (demo utility and a demo login), then run the
    API, the console, the front-end and a simulated fleet until Ctrl-C.

    With --replay-days N the fleet and the front-end start N days ago on an accelerated clock (--speed
    1440: a day a minute) and go on in real time once they catch up, so a month of collection, clock
    drift and faults fills the console in half an hour."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = settings_from(data_dir, config, host=host, port=port)
    database = database_from(settings)
    risk.configure(settings)
    password = _ensure_demo(settings, database)
    console.print(f"数据目录 data directory: {settings.data_dir}")
    console.print(f"控制台 console: [bold]http://{settings.host}:{settings.port}/[/]   API: /api/v1/docs")
    if password:
        console.print(
            f"登录 log in: user [bold]{DEMO_USER}[/] one-time password [bold]{password}[/] "
            "(首次登录需修改密码 you set a new one at first login; shown only now)"
        )
    else:
        console.print(f"登录 log in with your account (e.g. {DEMO_USER}); more: gridcare admin create --help")
    console.print("按 Ctrl-C 停止 (press Ctrl-C to stop)")
    clock = replay_clock(replay_days, speed)
    if replay_days:
        console.print(
            f"回放 replaying {replay_days} days at {speed:g}x (时钟 clock starts {clock():%Y-%m-%d %H:%M})"
        )
    run_async(_serve_all(settings, database, clock, speed if replay_days else 1.0))
    database.dispose()
    console.print("已停止 stopped")


async def _serve_all(
    settings: Settings, database: Database, clock: Callable[[], datetime], speed: float
) -> None:
    lake = ReadingsLake(settings.lake_dir)
    station = MasterStation(
        database,
        lake,
        FrameArchive(settings.lake_dir),
        StationSettings(
            reread_days=settings.reread_days,
            reread_interval_s=max(2.0, settings.reread_interval_s / speed),
            idle_timeout_s=settings.terminal_idle_timeout_s,
        ),
        clock=clock,
    )
    try:
        fe_port = await station.start(settings.frontend_host, settings.frontend_port)
    except WalLocked as exc:
        fail(f"data directory {settings.data_dir} is in use by another gridcare process ({exc})")
    except OSError as exc:
        where = f"{settings.frontend_host}:{settings.frontend_port}"
        fail(f"frontend_port: cannot listen on {where} ({exc.strerror})")
    console.print(f"采集前置机 front-end: {settings.frontend_host}:{fe_port}")
    stop = asyncio.Event()
    fleet_task = asyncio.create_task(_fleet(settings, database, fe_port, stop, clock))
    # VEE and line loss of each freeze day once collected (and again after re-reads), so the console's
    # data-quality and line-loss pages fill by themselves; monthly billing and daily prepaid passes
    daily = DailyProcessing(settings, database, lookback_days=settings.reread_days)
    billing = BillingSchedule(settings, database, lake)
    jobs = [
        asyncio.create_task(_every(MDM_PASS_S, "daily VEE / line-loss pass", daily.run_once, stop, clock)),
        asyncio.create_task(_every(BILLING_PASS_S, "scheduled billing pass", billing.run_once, stop, clock)),
    ]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, database),
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
        )
    )
    try:
        await server.serve()
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(fleet_task, 10)
        for job in jobs:
            job.cancel()
            with contextlib.suppress(BaseException):
                await job
        await station.stop()


async def _every(
    seconds: float,
    what: str,
    job: Callable[[datetime], object],
    stop: asyncio.Event,
    clock: Callable[[], datetime],
) -> None:
    """``job(now)`` in a worker thread every ``seconds`` until ``stop``; a failed pass is logged and retried
    at the next one: it must not stop the platform."""
    while not stop.is_set():
        try:
            await asyncio.to_thread(job, clock())
        except Exception:
            logging.getLogger("gridcare.run").exception("%s failed", what)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)


async def _fleet(
    settings: Settings, database: Database, port: int, stop: asyncio.Event, clock: Callable[[], datetime]
) -> None:
    """The demo archives' terminals and meters, simulated, connecting to the front-end."""
    fleet = await asyncio.to_thread(archive_fleet, database, settings.demo_seed)
    if not fleet:
        return
    now = clock()
    start = datetime(now.year, now.month, now.day, tzinfo=now.tzinfo) - timedelta(days=FLEET_HISTORY_DAYS)
    plan = demo_fault_plan(fleet, start, now, now_beijing(), settings.demo_seed)
    truth = settings.data_dir / "simulator" / "ground_truth.jsonl"
    truth.parent.mkdir(parents=True, exist_ok=True)
    write_ground_truth(truth, plan)
    bank = MeterBank.from_fleet(fleet, start, seed=settings.demo_seed, faults=plan)
    await asyncio.to_thread(bank.advance_to, clock())
    terminals = build_terminals(
        fleet, BankMeters(bank, clock), clock, Ledger(None), plan, 60.0, settings.demo_seed
    )
    console.print(
        f"仿真终端 simulated fleet: {len(terminals)} terminals, {sum(len(t.meters) for t in fleet)} meters "
        f"(faults: {truth})"
    )
    await run_fleet(terminals, "127.0.0.1", port, stop)


TRANSPORT_KINDS = ("terminal_offline", "dropped_replies", "corrupted_bytes", "slow_replies")
METER_KINDS = (
    "clock_drift",
    "meter_stopped",
    "reversed_energy",
    "meter_replacement",
    "register_rollover",
    "theft_scaled",
    "theft_intermittent",
    "theft_night_bypass",
    "terminal_clock_drift",
)


def demo_fault_plan(
    fleet: Sequence[TerminalSpec], history_start: datetime, now: datetime, real_now: datetime, seed: int
) -> FaultPlan:
    """Meter faults (stopped, reversed, replaced, theft, clock drift) across the meters' history and the
    next month; channel faults (offline, dropped, corrupted, slow) around now, so that a demo shows
    them among today's collection failures within minutes."""
    meter_rates = replace(FaultRates(), **dict.fromkeys(TRANSPORT_KINDS, 0.0))  # type: ignore[arg-type]
    transport_rates = replace(FaultRates(), **dict.fromkeys(METER_KINDS, 0.0))  # type: ignore[arg-type]
    transport_rates = replace(transport_rates, terminal_offline=0.1, offline_hours=(2.0, 12.0))
    meter = plan_faults(fleet, history_start, real_now + timedelta(days=30), rates=meter_rates, seed=seed)
    transport = plan_faults(
        fleet, now - timedelta(hours=2), real_now + timedelta(hours=2), rates=transport_rates, seed=seed + 1
    )
    faults = [replace(f, fault_id=i) for i, f in enumerate([*meter.faults, *transport.faults], start=1)]
    return FaultPlan(faults)


def register(app: typer.Typer) -> None:
    app.command("run")(run)
