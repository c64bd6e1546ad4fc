"""Export the archives a principal may see, in the file format the importer reads back unchanged.

CSV: UTF-8 with a byte-order mark (so that Excel shows Chinese text), comma-separated, CRLF line ends.
.xlsx: one sheet named after the kind; text cells stay text (leading zeros kept, never a formula),
dates are date cells, whole numbers and capacities are numbers.
Rows are ordered by key, so the same archive always gives the same file. Personal data (ID number,
phone, address) is exported only to a principal holding ``export_personal_data``, and audited.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session

from gridcare.archives.transfer.readers import Format, parse_format
from gridcare.archives.transfer.records import select_records
from gridcare.archives.transfer.schemas import CellType, ColumnSpec, KindSpec, spec_of
from gridcare.security import audit
from gridcare.security.authz import require
from gridcare.security.principal import Principal
from gridcare.security.roles import Permission

CONTENT_TYPES: dict[Format, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class ExportTable:
    """What an export writes: the kind, the columns the principal may read, one row per object."""

    spec: KindSpec
    columns: tuple[ColumnSpec, ...]
    rows: list[list[Any]]


def export_columns(spec: KindSpec, principal: Principal) -> tuple[ColumnSpec, ...]:
    """Every column, but personal data (ID number, phone, address) only for a principal holding
    ``export_personal_data``. Without them a file still imports: a column left out keeps stored values."""
    if principal.can(Permission.EXPORT_PERSONAL_DATA):
        return spec.columns
    return tuple(c for c in spec.columns if not c.personal)


def export_table(session: Session, kind: str, principal: Principal) -> ExportTable:
    """Every ``kind`` object ``principal`` may see (``read_data`` needed), ordered by key.

    When the table carries personal data an audit record "personal.export" is added to ``session``'s
    transaction: the caller commits it.
    """
    require(principal, Permission.READ_DATA)
    spec = spec_of(kind)
    columns = export_columns(spec, principal)
    records = select_records(session, spec.kind, principal=principal)
    records.sort(key=lambda r: tuple(r.values[k] for k in spec.key))
    rows = [[r.values[c.name] for c in columns] for r in records]
    personal = [c.name for c in columns if c.personal]
    if personal:
        detail = {"kind": spec.kind.value, "rows": len(rows), "fields": personal}
        audit.record(session, principal, "personal.export", f"{spec.kind.value} file", detail=detail)
    return ExportTable(spec, columns, rows)


def export_archive(session: Session, kind: str, fmt: str, principal: Principal) -> bytes:
    """The file (CSV or .xlsx bytes) of every ``kind`` object in ``principal``'s organisation scope.
    The caller commits ``session`` (it may hold the audit record of a personal-data export)."""
    return write_table(export_table(session, kind, principal), parse_format(fmt))


def write_table(table: ExportTable, fmt: Format) -> bytes:
    return write_csv(table) if fmt == "csv" else write_xlsx(table)


def cell_text(value: Any, places: int = 2) -> str:
    """A value as written in a CSV cell."""
    if value is None:
        return ""
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, Decimal):
        return f"{value:.{places}f}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def write_csv(table: ExportTable) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.name for c in table.columns])
    places = [c.places for c in table.columns]
    for row in table.rows:
        writer.writerow([cell_text(v, p) for v, p in zip(row, places, strict=True)])
    return out.getvalue().encode("utf-8-sig")


def write_xlsx(table: ExportTable) -> bytes:
    workbook = Workbook(write_only=True)
    ws = workbook.create_sheet(table.spec.kind.value)
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for index, column in enumerate(table.columns, start=1):
        ws.column_dimensions[get_column_letter(index)].width = max(12, len(column.name) + 2)
        cell = WriteOnlyCell(ws, value=column.name)
        cell.font = bold
        header.append(cell)
    ws.append(header)
    for row in table.rows:
        ws.append([_xlsx_cell(ws, column, value) for column, value in zip(table.columns, row, strict=True)])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _xlsx_cell(ws: Any, column: ColumnSpec, value: Any) -> Any:
    if value is None or column.cell_type is CellType.INTEGER:
        return value
    if column.cell_type is CellType.DATE or column.cell_type is CellType.DECIMAL:
        cell = WriteOnlyCell(ws, value=value)
        cell.number_format = "yyyy-mm-dd" if column.cell_type is CellType.DATE else "0." + "0" * column.places
        return cell
    written = cell_text(value)
    if not written.startswith("="):
        return written  # a str cell stays text: leading zeros are kept
    cell = WriteOnlyCell(ws, value=written)
    cell.data_type = "s"  # never a formula
    return cell
