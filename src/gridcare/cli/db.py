"""`gridcare db`: create and migrate the database."""

from __future__ import annotations

import typer

from gridcare.cli.common import ConfigOption, DataDirOption, console, fail, settings_from
from gridcare.storage import migrate
from gridcare.storage.db import make_engine

app = typer.Typer(help="数据库 Database schema: upgrade, downgrade, show the revision.", no_args_is_help=True)


@app.command()
def upgrade(data_dir: DataDirOption = None, config: ConfigOption = None, revision: str = "head") -> None:
    """Migrate the database up to REVISION (default: the newest)."""
    settings = settings_from(data_dir, config)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.db_url)
    migrate.upgrade(engine, revision)
    console.print(f"database at revision [bold]{migrate.current_revision(engine)}[/]")


@app.command()
def downgrade(revision: str, data_dir: DataDirOption = None, config: ConfigOption = None) -> None:
    """Migrate the database down to REVISION ("base" removes every table)."""
    settings = settings_from(data_dir, config)
    engine = make_engine(settings.db_url)
    try:
        migrate.downgrade(engine, revision)
    except migrate.DowngradeRefused as exc:
        fail(f"revision: {exc}")
    console.print(f"database at revision [bold]{migrate.current_revision(engine) or 'base'}[/]")


@app.command()
def current(data_dir: DataDirOption = None, config: ConfigOption = None) -> None:
    """Show the database revision and the newest one this version ships."""
    settings = settings_from(data_dir, config)
    engine = make_engine(settings.db_url)
    console.print(
        f"current: {migrate.current_revision(engine) or 'none'}  head: {migrate.head_revision(engine)}"
    )
