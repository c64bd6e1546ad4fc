"""`gridcare` command line: one Typer app, one module per command group."""

from __future__ import annotations

import typer

from gridcare import __version__
from gridcare.cli import db, readings, serve

app = typer.Typer(
    name="gridcare",
    help="gridcare — 营销、计量与用电信息采集平台 (marketing, metering and data acquisition).",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_show_locals=False,
)
app.add_typer(db.app, name="db")
app.add_typer(serve.app, name="serve")
app.add_typer(readings.app, name="readings")


@app.command()
def version() -> None:
    """Print the gridcare version."""
    typer.echo(__version__)


def main() -> None:
    """Console-script entry point."""
    app()
