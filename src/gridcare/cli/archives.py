"""`gridcare archives`: import and export customers, meters, 台区 and metering points (CSV / Excel)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy import select

from gridcare.archives.models import Organisation
from gridcare.archives.transfer import (
    ArchiveKind,
    ImportReport,
    export_table,
    import_archive,
    parse_format,
    write_table,
)
from gridcare.cli.common import ConfigOption, DataDirOption, console, database_from, fail, settings_from
from gridcare.security.principal import SYSTEM, Principal
from gridcare.storage.database import Database

app = typer.Typer(
    help="档案导入导出 Archives: import/export customers, meters, 台区, metering points (CSV, .xlsx).",
    no_args_is_help=True,
)

KindArgument = Annotated[ArchiveKind, typer.Argument(help="What the file holds.", show_default=False)]
FormatOption = Annotated[
    str | None, typer.Option("--format", "-f", help="csv or xlsx (default: from the file name, else csv).")
]
OrgOption = Annotated[
    str | None,
    typer.Option(
        "--org", help="Act for organisation CODE: only its subtree is read or written (default: all)."
    ),
]


def _principal(database: Database, org_code: str | None) -> Principal:
    if org_code is None:
        return SYSTEM
    with database.sessions() as session:
        path = session.scalar(select(Organisation.path).where(Organisation.code == org_code))
    if path is None:
        fail(f"--org: unknown organisation code {org_code!r}")
    # the operator at the server's console: every function group, limited to the organisation's subtree
    return Principal(username=f"cli:{org_code}", org_paths=(path,), permissions=SYSTEM.permissions)


PIPED_WIDTH = 240


def print_errors(report: ImportReport) -> None:
    """Every problem as a table: line, column, reason."""
    table = Table(title=f"{len(report.bad_lines)} 行有误 bad line(s), {len(report.errors)} 个问题 problem(s)")
    table.add_column("行 line", justify="right")
    table.add_column("列 column")
    table.add_column("原因 reason", overflow="fold")
    for error in report.errors:
        # Text, not markup: a cell value such as "[red]" in a reason must print as written
        table.add_row(str(error.line), Text(error.column or "—"), Text(error.reason))
    # piped into a file or another program: one line per problem, not wrapped at 80 columns
    out = console if console.is_terminal else Console(file=console.file, width=PIPED_WIDTH, highlight=False)
    out.print(table)


@app.command("import")
def import_(
    kind: KindArgument,
    file: Annotated[Path, typer.Argument(help="The CSV or .xlsx file.", show_default=False)],
    fmt: FormatOption = None,
    org: OrgOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Import FILE: new keys are inserted, stored keys updated. One bad row and nothing is imported
    (exit code 2, every bad row listed)."""
    settings = settings_from(data_dir, config)
    try:
        file_format = parse_format(fmt, file.name)
    except ValueError as exc:
        fail(str(exc))
    if not file.is_file():
        fail(f"{file}: no such file")
    database = database_from(settings)
    try:
        report = import_archive(database.sessions, kind, file, file_format, _principal(database, org))
    finally:
        database.dispose()
    if not report.ok:
        print_errors(report)
        fail(f"nothing was imported (未导入任何数据): {file}")
    console.print(
        f"已导入 imported {report.rows} {kind.value} row(s): {report.inserted} 新增 inserted, "
        f"{report.updated} 更新 updated, {report.unchanged} 未变 unchanged",
        soft_wrap=True,
    )


@app.command("export")
def export(
    kind: KindArgument,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="File to write (default: CSV to stdout).")
    ] = None,
    fmt: FormatOption = None,
    org: OrgOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Export every KIND object in scope, ordered by key, in the format `import` reads back."""
    settings = settings_from(data_dir, config)
    try:
        file_format = parse_format(fmt or (None if out else "csv"), out.name if out else None)
    except ValueError as exc:
        fail(str(exc))
    if out is None and file_format == "xlsx":
        fail("--out: an .xlsx workbook must be written to a file")
    database = database_from(settings)
    try:
        principal = _principal(database, org)
        with database.sessions() as session:
            table = export_table(session, kind, principal)
            session.commit()  # the audit record of a personal-data export
    finally:
        database.dispose()
    data = write_table(table, file_format)
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    out.write_bytes(data)
    console.print(f"已导出 exported {len(table.rows)} {kind.value} row(s) to {out}", soft_wrap=True)
