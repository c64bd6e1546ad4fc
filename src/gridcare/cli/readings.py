"""`gridcare readings`: the readings lake from the command line."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from gridcare.cli.common import ConfigOption, DataDirOption, console, settings_from
from gridcare.storage.lake import ReadingsLake

app = typer.Typer(help="抄表数据 Readings lake: export and inspect.", no_args_is_help=True)


@app.command("export")
def export(
    out: Annotated[
        Path, typer.Option("--out", help="Parquet file to write (meter, di, freeze_time, value).")
    ],
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    start: Annotated[
        date | None, typer.Option("--from", formats=["%Y-%m-%d"], help="first freeze day")
    ] = None,
    end: Annotated[date | None, typer.Option("--to", formats=["%Y-%m-%d"], help="last freeze day")] = None,
) -> None:
    """Export the current readings: one row per (meter, di, freeze_time), its latest valid value."""
    settings = settings_from(data_dir, config)
    rows = ReadingsLake(settings.lake_dir).export(out, start, end)
    console.print(f"已导出 exported {rows} readings to {out}")


@app.command("days")
def days(data_dir: DataDirOption = None, config: ConfigOption = None) -> None:
    """List the freeze days held in Parquet."""
    settings = settings_from(data_dir, config)
    for day in ReadingsLake(settings.lake_dir).days():
        console.print(day.isoformat())
