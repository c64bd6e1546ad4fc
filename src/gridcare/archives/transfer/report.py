"""What an import reports: counts on success, every bad row (line, column, reason) on failure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

WHOLE_FILE = 0
"""Line number of errors about the file as a whole (not a workbook, refused by the database)."""

HEADER_LINE = 1


@dataclass(frozen=True, order=True)
class RowError:
    """One problem: the file's line (header = 1, first data row = 2; for .xlsx the sheet row number),
    the column's header name ("" when the problem is not about one column) and the reason."""

    line: int
    column: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "reason": self.reason}


@dataclass
class ImportReport:
    """Result of :func:`gridcare.archives.transfer.import_archive`.

    ``ok`` is False when anything was wrong; then nothing was written and ``errors`` lists every problem,
    ordered by line and by the column's place in the file. On success ``rows`` = ``inserted`` +
    ``updated`` + ``unchanged`` (rows whose key was stored with exactly the same values).
    """

    kind: str
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def bad_lines(self) -> list[int]:
        """The distinct lines with at least one error, in order."""
        return sorted({e.line for e in self.errors})

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "ok": self.ok,
            "rows": self.rows,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": [e.as_dict() for e in self.errors],
        }
