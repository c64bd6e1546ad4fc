"""`gridcare audit`: verify the hash chain of the audit trail and prune it after the retention period."""

from __future__ import annotations

from typing import Annotated

import typer

from gridcare.cli.admin import cli_principal, open_secured
from gridcare.cli.common import ConfigOption, DataDirOption, console, err_console, fail, settings_from
from gridcare.security import audit

app = typer.Typer(help="审计 Audit trail: verify the hash chain, prune old records.", no_args_is_help=True)


@app.command()
def verify(data_dir: DataDirOption = None, config: ConfigOption = None) -> None:
    """Check every record from the anchor to the head; exit 1 at the first changed, inserted or deleted
    record, naming its sequence number and why."""
    settings = settings_from(data_dir, config)
    database = open_secured(settings)
    try:
        with database.sessions() as session:
            report = audit.verify(session)
    finally:
        database.dispose()
    if not report.ok:
        err_console.print(
            f"[bold red]审计链校验失败 audit chain BROKEN[/] at record {report.first_bad_seq}: "
            f"{report.reason}",
            highlight=False,
        )
        raise typer.Exit(1)
    console.print(
        f"审计链完整 audit chain OK: {report.checked} records "
        f"({report.anchor_seq + 1}..{report.head_seq}), head {report.head_hash}",
        highlight=False,
    )


@app.command()
def prune(
    days: Annotated[
        int | None,
        typer.Option("--days", help="Keep this many days (at least 180) [default audit_retention_days]."),
    ] = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Remove records older than the retention period; the chain stays verifiable from an anchor."""
    settings = settings_from(data_dir, config)
    keep = settings.audit_retention_days if days is None else days
    database = open_secured(settings)
    try:
        with database.sessions() as session:
            try:
                report = audit.prune(session, keep, actor=cli_principal())
            except ValueError as exc:
                fail(str(exc))
            except audit.AuditChainBroken as exc:
                fail(f"{exc}; not pruned", code=1)
            session.commit()
    finally:
        database.dispose()
    console.print(
        f"已清理 pruned {report.removed} records older than {keep} days; "
        f"anchor at record {report.anchor_seq}",
        highlight=False,
    )
