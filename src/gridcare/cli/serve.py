"""`gridcare serve`: run the API and console."""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated

import typer
import uvicorn

from gridcare.acquisition.station import open_station
from gridcare.api.app import create_app
from gridcare.cli.common import ConfigOption, DataDirOption, console, fail, run_async, settings_from
from gridcare.config import Settings
from gridcare.storage.wal import WalLocked

app = typer.Typer(help="服务 Run the API and web console.", invoke_without_command=True)

HostOption = Annotated[str | None, typer.Option("--host", help="Address to listen on [default 127.0.0.1].")]
PortOption = Annotated[int | None, typer.Option("--port", help="Port to listen on [default 8000].")]


@app.callback()
def serve(
    ctx: typer.Context,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    host: HostOption = None,
    port: PortOption = None,
) -> None:
    """Start the API and the console (http://HOST:PORT); Ctrl-C stops it."""
    if ctx.invoked_subcommand is not None:
        return
    settings = settings_from(data_dir, config, host=host, port=port)
    web_app = create_app(settings)
    console.print(
        f"gridcare console: [bold]http://{settings.host}:{settings.port}/[/]  (Ctrl-C 停止 to stop)"
    )
    uvicorn.run(web_app, host=settings.host, port=settings.port, log_level=settings.log_level)


@app.command("frontend")
def frontend(
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    host: Annotated[
        str | None, typer.Option("--host", help="Address to listen on [default 127.0.0.1].")
    ] = None,
    port: Annotated[int | None, typer.Option("--port", help="TCP port for terminals [default 9100].")] = None,
) -> None:
    """Run the master-station front-end alone: terminals connect over TCP (Q/GDW 1376.1)."""
    settings = settings_from(data_dir, config, frontend_host=host, frontend_port=port)
    run_async(run_station(settings))


async def run_station(settings: Settings) -> None:
    """Start the master station on ``settings`` and serve until cancelled (Ctrl-C / SIGTERM)."""
    station = open_station(settings)
    try:
        bound = await station.start(settings.frontend_host, settings.frontend_port)
    except WalLocked as exc:
        fail(f"data directory {settings.data_dir} is in use by another gridcare process ({exc})")
    except OSError as exc:
        fail(f"--port: cannot listen on {settings.frontend_host}:{settings.frontend_port} ({exc.strerror})")
    console.print(
        f"采集前置机 front-end listening on [bold]{settings.frontend_host}:{bound}[/] (Ctrl-C 停止 to stop)"
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await station.stop()
        station.db.dispose()
        console.print("前置机已停止 front-end stopped")
