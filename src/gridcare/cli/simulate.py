"""`gridcare simulate`: a fleet of simulated terminals and meters that connects to the front-end."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import select

from gridcare.archives.asset_models import FeederMeter
from gridcare.archives.models import Customer, Meter, MeteringPoint, Terminal, TransformerArea
from gridcare.archives.provision import provision_fleet
from gridcare.cli.common import (
    ConfigOption,
    DataDirOption,
    console,
    database_from,
    fail,
    run_async,
    settings_from,
)
from gridcare.simulator.bank import MeterBank
from gridcare.simulator.faults import FaultRates, plan_faults, write_ground_truth
from gridcare.simulator.fleet import BankMeters, build_terminals, run_fleet
from gridcare.simulator.specs import TerminalSpec, build_fleet, fleet_from_archive
from gridcare.simulator.terminal import Ledger
from gridcare.storage.database import Database
from gridcare.timeutil import now_beijing


def _rows(session: Any, model: Any) -> list[dict[str, Any]]:
    cols = [c.name for c in model.__table__.columns]
    return [dict(zip(cols, row, strict=True)) for row in session.execute(select(*model.__table__.columns))]


def archive_fleet(db: Database, seed: int) -> list[TerminalSpec]:
    """Every terminal of the archives with its current metering points, and the current feeder head meters
    (线路关口表), each on a terminal of its feeder (:func:`fleet_from_archive`)."""
    with db.sessions() as session:
        return fleet_from_archive(
            _rows(session, Meter),
            _rows(session, MeteringPoint),
            _rows(session, Terminal),
            _rows(session, Customer),
            seed=seed,
            transformer_areas=_rows(session, TransformerArea),
            feeder_meters=_rows(session, FeederMeter),
        )


def simulate(
    port: Annotated[int | None, typer.Option("--port", help="front-end TCP port [9100]")] = None,
    host: Annotated[str | None, typer.Option("--host", help="front-end address [127.0.0.1]")] = None,
    terminals: Annotated[int, typer.Option("--terminals", min=1, max=65535, help="terminals to invent")] = 10,
    meters_per_terminal: Annotated[int, typer.Option("--meters-per-terminal", min=1, max=2040)] = 20,
    days: Annotated[
        int, typer.Option("--days", min=1, max=62, help="days of daily freezes the meters hold")
    ] = 3,
    ledger: Annotated[
        Path | None, typer.Option("--ledger", help="JSON lines of every confirmed reading")
    ] = None,
    from_archives: Annotated[
        bool,
        typer.Option("--from-archives", help="simulate the terminals of the archives instead of inventing"),
    ] = False,
    seed: Annotated[int, typer.Option(help="seed of the fleet, loads and faults")] = 1,
    faults: Annotated[str, typer.Option(help="fault rates: none or default")] = "none",
    ground_truth: Annotated[
        Path | None, typer.Option(help="write the injected faults here (JSON lines)")
    ] = None,
    heartbeat_s: Annotated[float, typer.Option(help="seconds between heartbeats")] = 60.0,
    duration_s: Annotated[
        float, typer.Option("--duration", help="stop after this many seconds (0: never)")
    ] = 0,
    idle_exit_s: Annotated[
        float,
        typer.Option("--idle-exit", help="stop once no request came for this long after readings (0: never)"),
    ] = 30.0,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Connect simulated terminals (Q/GDW 1376.1) with their meters to the front-end and answer it.

    An invented fleet is registered in the archives of the data directory first, so the front-end serving
    that data directory accepts it. Each reading the front-end confirms is written to --ledger.
    """
    if faults not in ("none", "default"):
        fail(f"--faults: expected none or default, got {faults!r}")
    settings = settings_from(data_dir, config, frontend_host=host, frontend_port=port)
    db = database_from(settings)
    now = now_beijing()
    start = datetime(now.year, now.month, now.day, tzinfo=now.tzinfo) - timedelta(days=days)
    if from_archives:
        fleet = archive_fleet(db, seed)
        if not fleet:
            fail(f"no terminals in the archives of {settings.data_dir}: run `gridcare demo init` first")
    else:
        fleet = build_fleet(terminals, meters_per_terminal, seed, start.date())
        provision_fleet(db.sessions, fleet, start.date() - timedelta(days=1))
    db.dispose()
    meter_count = sum(len(t.meters) for t in fleet)
    console.print(f"仿真 simulating {len(fleet)} terminals, {meter_count} meters, {days} days of freezes ...")
    plan = None
    if faults == "default":
        plan = plan_faults(fleet, start, now + timedelta(days=1), rates=FaultRates(), seed=seed)
        if ground_truth:
            write_ground_truth(ground_truth, plan)
    bank = MeterBank.from_fleet(fleet, start, seed=seed, faults=plan)
    bank.advance_to(now_beijing())
    out = ledger.open("a", encoding="utf-8") if ledger else None
    book = Ledger(out)
    sims = build_terminals(fleet, BankMeters(bank, now_beijing), now_beijing, book, plan, heartbeat_s, seed)
    try:
        run_async(_run(sims, settings.frontend_host, settings.frontend_port, book, duration_s, idle_exit_s))
    finally:
        if out:
            out.close()
    console.print(f"已确认 confirmed readings: {book.lines}")


async def _run(
    sims: list[Any], host: str, port: int, book: Ledger, duration_s: float, idle_exit_s: float
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    began = time.monotonic()

    async def watch() -> None:
        while not stop.is_set():
            await asyncio.sleep(0.5)
            now = time.monotonic()
            last = max((s.last_request for s in sims), default=0.0)
            if duration_s and now - began >= duration_s:
                stop.set()
            if idle_exit_s and book.lines and last and now - last >= idle_exit_s:
                stop.set()

    watcher = asyncio.create_task(watch())
    console.print(f"连接前置机 connecting to {host}:{port} (Ctrl-C 停止 to stop)")
    await run_fleet(sims, host, port, stop)
    watcher.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watcher
