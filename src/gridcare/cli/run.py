"""`gridcare run`: everything `make run` starts, on the embedded defaults."""

from __future__ import annotations

import typer
import uvicorn
from sqlalchemy import func, select

from gridcare.api.app import create_app
from gridcare.archives.demo import generate_demo
from gridcare.archives.models import Customer
from gridcare.cli.common import ConfigOption, DataDirOption, console, database_from, settings_from
from gridcare.cli.serve import HostOption, PortOption


def run(
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    host: HostOption = None,
    port: PortOption = None,
) -> None:
    """Initialise the data directory and database if empty, create the demo utility, then serve the
    API and console until Ctrl-C."""
    settings = settings_from(data_dir, config, host=host, port=port)
    database = database_from(settings)
    with database.sessions() as session:
        customers = session.scalar(select(func.count()).select_from(Customer)) or 0
    if customers == 0 and settings.demo_customers > 0:
        console.print(
            f"空数据库：正在生成示例供电公司 (empty database: creating the demo utility, "
            f"{settings.demo_customers} customers, seed {settings.demo_seed}) ..."
        )
        summary = generate_demo(database.sessions, settings.demo_customers, settings.demo_seed)
        console.print(f"示例数据已生成 demo ready: {summary.counts}")
    console.print(f"数据目录 data directory: {settings.data_dir}")
    console.print(f"控制台 console: [bold]http://{settings.host}:{settings.port}/[/]   API: /api/v1/docs")
    console.print("按 Ctrl-C 停止 (press Ctrl-C to stop)")
    web_app = create_app(settings, database)
    uvicorn.run(web_app, host=settings.host, port=settings.port, log_level=settings.log_level)
    database.dispose()
    console.print("已停止 stopped")


def register(app: typer.Typer) -> None:
    app.command("run")(run)
