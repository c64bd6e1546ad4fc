"""`gridcare` command line: one Typer app, one module per command group."""

from __future__ import annotations

import typer

from gridcare import __version__
from gridcare.cli import admin, archives, audit, bill, db, demo, device, frame, kpi, readings, serve, simulate
from gridcare.cli import billing_runs as billing_cli
from gridcare.cli import mdm as mdm_cli
from gridcare.cli import meter as meter_cli
from gridcare.cli import run as run_cmd

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
app.add_typer(admin.app, name="admin")
app.add_typer(audit.app, name="audit")
app.add_typer(frame.app, name="frame")
app.add_typer(demo.app, name="demo")
app.add_typer(archives.app, name="archives")
app.add_typer(bill.app, name="bill")
app.add_typer(kpi.app, name="kpi")
app.add_typer(device.app, name="device")
app.command("simulate")(simulate.simulate)
run_cmd.register(app)
billing_cli.register(app)
mdm_cli.register(app)
meter_cli.register(app)


@app.command()
def version() -> None:
    """Print the gridcare version."""
    typer.echo(__version__)


def main() -> None:
    """Console-script entry point."""
    app()
