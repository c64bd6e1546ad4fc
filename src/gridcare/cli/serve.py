"""`gridcare serve`: run the API and console."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from gridcare.api.app import create_app
from gridcare.cli.common import ConfigOption, DataDirOption, console, settings_from

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
