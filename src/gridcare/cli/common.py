"""Options and helpers shared by the CLI command groups."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Coroutine
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console

from gridcare.config import ConfigError, Settings, load_settings
from gridcare.storage.database import Database, open_database

T = TypeVar("T")
console = Console()
err_console = Console(stderr=True)

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Data directory holding all state [env GRIDCARE_DATA_DIR, default ./data]."
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", help="TOML settings file [env GRIDCARE_CONFIG, default <data-dir>/gridcare.toml]."
    ),
]


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``message`` as an error and exit with ``code`` (2 = bad input)."""
    err_console.print(f"[bold red]错误 error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def fail_field(message: str, options: dict[str, str]) -> NoReturn:
    """``field: reason`` from a service -> ``--option: reason`` (the flag the user typed), exit 2."""
    head, sep, rest = message.partition(":")
    if sep and head in options:
        message = f"{options[head]}:{rest}"
    fail(message)


def plain(value: Any) -> Any:
    """``value`` with dates as ISO text, Decimals as exact text and NaN/inf as null, for JSON output."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def echo_json(value: Any) -> None:
    """Print ``value`` as indented JSON (Chinese kept as is)."""
    typer.echo(json.dumps(plain(value), ensure_ascii=False, indent=2))


def settings_from(data_dir: Path | None = None, config: Path | None = None, **flags: Any) -> Settings:
    """Settings for a command: flags over environment over file over defaults."""
    try:
        return load_settings(config_file=config, data_dir=data_dir, **flags)
    except ConfigError as exc:
        fail(str(exc))


def run_async(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` on uvloop where it is installed (faster sockets), else on asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def database_from(settings: Settings) -> Database:
    """The installation's database, migrated to the newest schema."""
    return open_database(settings)
