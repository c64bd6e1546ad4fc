"""Checks that need no database: the header, each cell's type and format, rules within one row,
duplicate keys within the file and overlapping metering-point periods."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from gridcare.archives.addresses import ratio_value
from gridcare.archives.models import MeterType, PointPurpose
from gridcare.archives.transfer.readers import RawRow
from gridcare.archives.transfer.report import HEADER_LINE, RowError
from gridcare.archives.transfer.schemas import ArchiveKind, CellType, ColumnSpec, KindSpec

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
INTEGER = re.compile(r"^[+-]?\d+$")
NUMBER_HINT = " (the cell holds a number: format the column as text to keep leading zeros)"


class CellError(ValueError):
    """A cell's value is not acceptable; the message is the reason."""


# --- header ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Header:
    """Where each known column sits in the file's rows; ``width`` counts the header's cells."""

    positions: dict[str, int]
    width: int

    def present(self, name: str) -> bool:
        return name in self.positions


def check_header(
    spec: KindSpec, header: Sequence[str], rows: Sequence[RawRow]
) -> tuple[Header, list[RowError]]:
    """Map header names (case and surrounding blanks ignored) to positions; report unknown, repeated
    and missing required columns, and data under a column with no name (all on line 1)."""
    errors: list[RowError] = []
    positions: dict[str, int] = {}
    for index, written in enumerate(header):
        name = written.strip().lower()
        if not name:
            if any(index < len(r.cells) and not _blank(r.cells[index]) for r in rows):
                errors.append(RowError(HEADER_LINE, f"#{index + 1}", "cells below a column with no name"))
            continue
        if name not in spec.by_name:
            errors.append(RowError(HEADER_LINE, written, _unknown_column(spec, name, header)))
        elif name in positions:
            first = positions[name] + 1
            errors.append(
                RowError(HEADER_LINE, written, f"column appears twice (columns {first} and {index + 1})")
            )
        else:
            positions[name] = index
    for name in spec.required:
        if name not in positions:
            errors.append(RowError(HEADER_LINE, name, "required column is missing from the header"))
    return Header(positions, len(header)), errors


def _unknown_column(spec: KindSpec, name: str, header: Sequence[str]) -> str:
    if len(header) == 1 and (";" in name or "\t" in name):
        return "unknown column: columns must be separated by commas"
    close = difflib.get_close_matches(name, spec.names, n=1)
    if close:
        return f"unknown column (did you mean {close[0]}?)"
    return f"unknown column; the {spec.kind.value} columns are: {', '.join(spec.names)}"


# --- cells ----------------------------------------------------------------------------------------


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _as_text(raw: object) -> str:
    if isinstance(raw, bool):
        raise CellError(f"expected text, got the logical value {raw}")
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    if isinstance(raw, datetime | date):
        raise CellError("expected text, got a date")
    return str(raw).strip()


def _parse_date(raw: object) -> date:
    if isinstance(raw, datetime):
        if raw.time() != datetime.min.time():
            raise CellError(f"expected a date without a time, got {raw.isoformat(sep=' ')}")
        return raw.date()
    if isinstance(raw, date):
        return raw
    value = _as_text(raw)
    if not ISO_DATE.match(value):
        raise CellError(f"expected a date as YYYY-MM-DD, got {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CellError(f"{value} is not a calendar date") from None


def _parse_integer(col: ColumnSpec, raw: object) -> int:
    if isinstance(raw, bool):
        raise CellError(f"expected a whole number, got the logical value {raw}")
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, float) and raw.is_integer():
        value = int(raw)
    else:
        written = _as_text(raw)
        if not INTEGER.match(written):
            raise CellError(f"expected a whole number, got {written!r}")
        value = int(written)
    _check_range(col, value)
    return value


def _parse_decimal(col: ColumnSpec, raw: object) -> Decimal:
    if isinstance(raw, bool | datetime | date):
        raise CellError(f"expected a number, got {raw!r}")
    written = repr(raw) if isinstance(raw, float) else _as_text(raw)
    try:
        value = Decimal(written)
    except InvalidOperation:
        raise CellError(f"expected a number, got {written!r}") from None
    if not value.is_finite():
        raise CellError(f"expected a number, got {written!r}")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -col.places:
        raise CellError(f"at most {col.places} decimal places, got {written}")
    _check_range(col, value)
    return value.quantize(Decimal(1).scaleb(-col.places))


def _check_range(col: ColumnSpec, value: int | Decimal) -> None:
    if col.minimum is not None and value < col.minimum:
        if col.minimum == 0:
            raise CellError(f"must not be negative, got {value}")
        raise CellError(f"must be at least {col.minimum}, got {value}")
    if col.maximum is not None and value > col.maximum:
        raise CellError(f"must be at most {col.maximum}, got {value}")


def _parse_enum(col: ColumnSpec, raw: object) -> object:
    assert col.enum is not None
    written = _as_text(raw)
    value = col.aliases.get(written, written)
    for member in col.enum:
        if member.value == value:
            return member
    allowed = ", ".join([*(str(m.value) for m in col.enum), *col.aliases])
    raise CellError(f"unknown value {written!r}; expected one of: {allowed}")


def _parse_text(col: ColumnSpec, raw: object) -> str:
    value = _as_text(raw)
    if col.max_length is not None and len(value) > col.max_length:
        raise CellError(f"longer than {col.max_length} characters ({len(value)})")
    if col.check is not None:
        try:
            col.check(value)
        except ValueError as exc:
            hint = NUMBER_HINT if isinstance(raw, int | float) else ""
            raise CellError(f"{exc}{hint}") from None
    return value


def parse_cell(col: ColumnSpec, raw: object) -> Any:
    """The cell's typed value, or None when it is empty; CellError with the reason when it is bad.
    A CSV cell is text; an .xlsx cell may already be a number or a date."""
    if _blank(raw):
        if col.required:
            raise CellError("required value is missing")
        return None
    if col.cell_type is CellType.TEXT:
        return _parse_text(col, raw)
    if col.cell_type is CellType.INTEGER:
        return _parse_integer(col, raw)
    if col.cell_type is CellType.DECIMAL:
        return _parse_decimal(col, raw)
    if col.cell_type is CellType.DATE:
        return _parse_date(raw)
    return _parse_enum(col, raw)


# --- rows -----------------------------------------------------------------------------------------


@dataclass
class ParsedRow:
    """A data row: ``values`` holds the columns present in the file (None = empty cell) with typed values;
    ``bad`` the columns whose cell failed, so later checks do not pile on."""

    line: int
    values: dict[str, Any]
    bad: set[str]

    def key(self, spec: KindSpec) -> tuple[Any, ...] | None:
        if any(k in self.bad or self.values.get(k) is None for k in spec.key):
            return None
        return tuple(self.values[k] for k in spec.key)


def parse_row(spec: KindSpec, header: Header, raw: RawRow) -> tuple[ParsedRow, list[RowError]]:
    errors: list[RowError] = []
    row = ParsedRow(raw.line, {}, set())
    width = len(raw.cells)
    extra = [i for i, c in enumerate(raw.cells) if i >= header.width and not _blank(c)]
    for name, index in header.positions.items():
        cell = raw.cells[index] if index < width else None
        try:
            row.values[name] = parse_cell(spec.by_name[name], cell)
        except CellError as exc:
            row.bad.add(name)
            errors.append(RowError(raw.line, name, str(exc)))
    if extra:
        errors.append(RowError(raw.line, f"#{extra[0] + 1}", "a cell beyond the last header column"))
    return row, errors


# --- rules within one row (on the merged values an insert or update would store) -------------------


def row_rules(kind: ArchiveKind, values: dict[str, Any], bad: set[str]) -> list[tuple[str, str]]:
    """(column, reason) for each rule the row breaks. ``values`` has every column of the kind."""
    if kind is ArchiveKind.METERS:
        return _meter_rules(values, bad)
    if kind is ArchiveKind.METERING_POINTS:
        return _point_rules(values, bad)
    return []


def _meter_rules(values: dict[str, Any], bad: set[str]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    meter_type, phases = values.get("meter_type"), values.get("phases")
    if not {"meter_type", "phases"} & bad and meter_type is not None and phases is not None:
        expected = 1 if meter_type is MeterType.SINGLE_PHASE else 3
        if phases != expected:
            problems.append(("phases", f"a {meter_type.value} meter has {expected} phase(s), got {phases}"))
    ratios: dict[str, int] = {}
    for column in ("ct_ratio", "pt_ratio"):
        written = values.get(column)
        if isinstance(written, str):
            try:
                ratios[column] = ratio_value(written)
            except ValueError as exc:  # a stored value kept by an update
                problems.append((column, str(exc)))
    multiplier = values.get("multiplier")
    if multiplier is not None and len(ratios) == 2:
        ct, pt = ratios["ct_ratio"], ratios["pt_ratio"]
        if multiplier != ct * pt:
            reason = (
                f"multiplier {multiplier} does not match CT {values['ct_ratio']} × PT {values['pt_ratio']}"
                f" = {ct} × {pt} = {ct * pt}"
            )
            problems.append(("multiplier", reason))
    return problems


def _point_rules(values: dict[str, Any], bad: set[str]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    start, end = values.get("valid_from"), values.get("valid_to")
    if not {"valid_from", "valid_to"} & bad and start is not None and end is not None and end <= start:
        problems.append(("valid_to", f"valid_to {end} must be after valid_from {start}"))
    purpose, customer_no = values.get("purpose"), values.get("customer_no")
    if not {"purpose", "customer_no"} & bad:
        if purpose is PointPurpose.BILLING and customer_no is None:
            problems.append(("customer_no", "a billing metering point needs the customer_no it bills"))
        if purpose is PointPurpose.SUPPLY and customer_no is not None:
            problems.append(
                ("customer_no", "a supply (台区总表) metering point has no customer; leave it empty")
            )
    if (
        values.get("point_number") is not None
        and values.get("terminal_address") is None
        and not bad
        & {
            "terminal_address",
            "point_number",
        }
    ):
        problems.append(("point_number", "a point_number needs the terminal_address it is numbered in"))
    return problems


# --- across rows ----------------------------------------------------------------------------------


def describe_key(spec: KindSpec, key: tuple[Any, ...]) -> str:
    if spec.kind is ArchiveKind.METERING_POINTS:
        return f"metering point {key[0]} from {key[1]}"
    return f"{spec.key[0]} {key[0]}"


def duplicate_keys(spec: KindSpec, rows: Iterable[ParsedRow]) -> list[RowError]:
    """A key seen before in the file is an error on the later row, naming the first line."""
    first: dict[tuple[Any, ...], int] = {}
    errors: list[RowError] = []
    for row in rows:
        key = row.key(spec)
        if key is None:
            continue
        if key in first:
            reason = f"duplicate {describe_key(spec, key)}: already on line {first[key]}"
            errors.append(RowError(row.line, spec.key[0], reason))
        else:
            first[key] = row.line
    return errors


@dataclass(frozen=True)
class Period:
    """A metering point's validity [start, end) (end None = open); ``line`` None = stored in the database."""

    code: str
    start: date
    end: date | None
    line: int | None

    def __str__(self) -> str:
        return f"{self.start}..{self.end or '(open)'}"

    def where(self) -> str:
        return f"on line {self.line}" if self.line is not None else "in the database"


def overlapping_periods(periods: Iterable[Period]) -> list[RowError]:
    """Periods of one code must not overlap (so at most one is open). Each overlap is reported on a file
    row: the later-starting one if it is from the file, else the earlier one; overlaps between two stored
    periods are not the file's doing and are not reported."""
    by_code: dict[str, list[Period]] = {}
    for p in periods:
        by_code.setdefault(p.code, []).append(p)
    errors: list[RowError] = []
    for code, group in by_code.items():
        group.sort(key=lambda p: (p.start, p.line is not None, p.line or 0))
        reach: Period | None = None  # the period reaching furthest so far
        for p in group:
            if reach is not None and (reach.end is None or reach.end > p.start):
                culprit, other = (p, reach) if p.line is not None else (reach, p)
                if culprit.line is not None:
                    reason = f"period {culprit} overlaps {code} {other} {other.where()}"
                    errors.append(RowError(culprit.line, "valid_from", reason))
            if reach is None or (reach.end is not None and (p.end is None or p.end > reach.end)):
                reach = p
    return errors
