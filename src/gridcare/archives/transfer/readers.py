"""Read an archive file (CSV or .xlsx) into a header and numbered rows of raw cell values.

Line numbers are the file's: the header is line 1, the first data row line 2. A CSV record whose quoted
cell holds line breaks is numbered by the line it starts on; an .xlsx row by its sheet row number.
Rows whose cells are all empty are skipped (they keep their numbers, the next row is not renumbered).
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from typing import Literal

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from gridcare.archives.transfer.report import HEADER_LINE, WHOLE_FILE, RowError

Format = Literal["csv", "xlsx"]
FORMATS: tuple[Format, ...] = ("csv", "xlsx")


class UnreadableFile(ValueError):
    """The file cannot be read as a table at all; ``errors`` say where and why."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("; ".join(e.reason for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class RawRow:
    line: int
    cells: tuple[object, ...]


@dataclass
class Table:
    """``header`` as written (stripped); ``rows`` without the header and without blank rows."""

    header: list[str]
    rows: list[RawRow] = field(default_factory=list)


def parse_format(fmt: str | None, filename: str | None = None) -> Format:
    """The format named by ``fmt``, else by the file name's extension; ValueError when neither says."""
    name = (fmt or "").strip().lower().lstrip(".")
    if not name and filename and "." in filename:
        name = filename.rsplit(".", 1)[1].lower()
    for known in FORMATS:
        if name == known:
            return known
    if not name:
        raise ValueError("format: cannot tell the format from the file name; give csv or xlsx")
    raise ValueError(f"format: unknown format {name!r}; expected csv or xlsx")


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _table(lines: list[tuple[int, tuple[object, ...]]]) -> Table:
    rows = [RawRow(n, cells) for n, cells in lines if not all(_blank(c) for c in cells)]
    if not rows:
        raise UnreadableFile([RowError(HEADER_LINE, "", "the file is empty; line 1 must be the header")])
    if rows[0].line != HEADER_LINE:
        raise UnreadableFile([RowError(HEADER_LINE, "", "the first line must be the header of column names")])
    header = [str(c).strip() if c is not None else "" for c in rows[0].cells]
    return Table(header=header, rows=rows[1:])


def read_csv(data: bytes) -> Table:
    """A UTF-8 CSV file (a leading byte-order mark is allowed), comma-separated, "-quoted."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        reason = (
            f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x}); "
            "save it as 'CSV UTF-8' (GBK and other encodings are not read)"
        )
        raise UnreadableFile([RowError(line, "", reason)]) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    lines: list[tuple[int, tuple[object, ...]]] = []
    start = 1
    try:
        for record in reader:
            lines.append((start, tuple(record)))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise UnreadableFile([RowError(start, "", f"not valid CSV: {exc}")]) from None
    return _table(lines)


def read_xlsx(data: bytes, sheet: str | None = None) -> Table:
    """The sheet called ``sheet`` if the workbook has one, else its first sheet; cached formula values."""
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as exc:
        reason = f"not an Excel .xlsx workbook ({exc.__class__.__name__})"
        raise UnreadableFile([RowError(WHOLE_FILE, "", reason)]) from None
    try:
        ws = workbook[sheet] if sheet and sheet in workbook.sheetnames else workbook.worksheets[0]
        if not isinstance(ws, ReadOnlyWorksheet):
            raise UnreadableFile([RowError(WHOLE_FILE, "", "the first sheet is a chart, not a table")])
        ws.reset_dimensions()  # some writers record a wrong sheet size; read every row there is
        rows = ws.iter_rows(min_row=1, values_only=True)  # missing rows come back empty: numbers hold
        return _table([(n, tuple(cells)) for n, cells in enumerate(rows, start=1)])
    finally:
        workbook.close()


def read_table(data: bytes, fmt: Format, sheet: str | None = None) -> Table:
    if fmt == "csv":
        return read_csv(data)
    return read_xlsx(data, sheet)
