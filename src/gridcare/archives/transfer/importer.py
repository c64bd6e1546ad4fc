"""Import an archive file: every row checked, then all rows written in one transaction or none.

A row whose key (``customer_no``, ``meter_address``, ``transformer_area_code``, or ``metering_point_code``
+ ``valid_from``) is already stored updates that object; any other row inserts a new one ("upsert").
An optional column left out of the file keeps the stored value on update and takes its default on insert;
an empty cell stores the default.
"""

from __future__ import annotations

from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from gridcare.archives.addresses import multiplier_of
from gridcare.archives.models import AreaKind, Customer, Meter, MeteringPoint, TransformerArea
from gridcare.archives.transfer.readers import UnreadableFile, parse_format, read_table
from gridcare.archives.transfer.records import ATTRIBUTES, Record, select_records
from gridcare.archives.transfer.report import WHOLE_FILE, ImportReport, RowError
from gridcare.archives.transfer.resolve import ID_ATTRIBUTE, REFERENCES, Resolver
from gridcare.archives.transfer.schemas import ArchiveKind, KindSpec, spec_of
from gridcare.archives.transfer.validate import (
    CellError,
    Header,
    ParsedRow,
    Period,
    check_header,
    describe_key,
    duplicate_keys,
    overlapping_periods,
    parse_row,
    row_rules,
)
from gridcare.security import audit
from gridcare.security.authz import require
from gridcare.security.principal import Principal
from gridcare.security.roles import Permission

Source = bytes | str | PathLike[str]

MODELS: dict[ArchiveKind, type[Any]] = {
    ArchiveKind.CUSTOMERS: Customer,
    ArchiveKind.METERS: Meter,
    ArchiveKind.TRANSFORMER_AREAS: TransformerArea,
    ArchiveKind.METERING_POINTS: MeteringPoint,
}


@dataclass
class _Planned:
    """A checked row: the stored object it updates (None = insert), its merged values and resolved ids."""

    row: ParsedRow
    record: Record | None
    values: dict[str, Any]
    ids: dict[str, int | None]


def import_archive(
    session_factory: sessionmaker[Session],
    kind: str,
    source: Source,
    fmt: str | None,
    principal: Principal,
) -> ImportReport:
    """Import ``source`` (a path, or the file's bytes) holding archives of ``kind`` as ``principal``.

    ``fmt`` is "csv" or "xlsx"; None takes it from the path's extension. Bad rows raise nothing: the report
    comes back with ``ok`` False, every problem listed, and nothing written. A successful import is
    audited ("archives.import") in the same transaction. Raises ValueError only for an unknown ``kind`` or
    format, PermissionDenied when ``principal`` lacks ``edit_archives`` (the caller's mistakes, not the
    file's).
    """
    require(principal, Permission.EDIT_ARCHIVES)
    spec = spec_of(kind)
    if isinstance(source, bytes):
        data, filename = source, None
    else:
        path = Path(source)
        data, filename = path.read_bytes(), path.name
    file_format = parse_format(fmt, filename)
    report = ImportReport(kind=spec.kind.value)
    try:
        table = read_table(data, file_format, sheet=spec.kind.value)
    except UnreadableFile as exc:
        report.errors = exc.errors
        return report
    report.rows = len(table.rows)
    header, errors = check_header(spec, table.header, table.rows)
    if errors:
        report.errors = errors
        return report
    rows: list[ParsedRow] = []
    for raw in table.rows:
        row, row_errors = parse_row(spec, header, raw)
        rows.append(row)
        errors.extend(row_errors)
    errors.extend(duplicate_keys(spec, rows))
    with session_factory() as session:
        plan = _check_against_database(session, spec, rows, principal, errors)
        if errors:
            report.errors = _ordered(errors, header)
            return report
        try:
            _apply(session, spec, plan, report)
            counts = {"rows": report.rows, "inserted": report.inserted, "updated": report.updated}
            detail = {"kind": spec.kind.value, **counts, "unchanged": report.unchanged}
            audit.record(session, principal, "archives.import", f"{spec.kind.value} file", detail=detail)
            session.commit()
        except DBAPIError as exc:
            session.rollback()
            report.inserted = report.updated = report.unchanged = 0
            reason = f"the database refused the rows, nothing was imported: {exc.orig}"
            report.errors = [RowError(WHOLE_FILE, "", reason)]
    return report


def _ordered(errors: list[RowError], header: Header) -> list[RowError]:
    """By line, then by the column's place in the file (problems not tied to a column last)."""
    return sorted(errors, key=lambda e: (e.line, header.positions.get(e.column, header.width)))


def _merge(spec: KindSpec, row: ParsedRow, record: Record | None) -> dict[str, Any]:
    """What the row would store: stored values (update) or defaults (insert), overlaid by the file's cells
    (an empty cell = the default); a bad cell is None so that later checks skip it."""
    values = dict(record.values) if record else {c.name: c.default for c in spec.columns}
    for name, value in row.values.items():
        values[name] = spec.by_name[name].default if value is None else value
    for name in row.bad:
        values[name] = None
    if spec.kind is ArchiveKind.METERS:
        # the multiplier always follows CT x PT; a value in the file is only checked against them
        values["multiplier"] = row.values.get("multiplier")
    return values


def _check_against_database(
    session: Session, spec: KindSpec, rows: list[ParsedRow], principal: Principal, errors: list[RowError]
) -> list[_Planned]:
    """Scope, references, rules on the merged values and (metering points) overlapping periods."""
    first_keys = {row.values[spec.key[0]] for row in rows if row.key(spec) is not None}
    stored = select_records(session, spec.kind, keys=first_keys)
    by_key = {tuple(r.values[k] for k in spec.key): r for r in stored}
    plan: list[_Planned] = []
    for row in rows:
        key = row.key(spec)
        record = by_key.get(key) if key is not None else None
        if record is not None and not principal.in_scope(record.org_path):
            reason = f"{describe_key(spec, key or ())} belongs to an organisation outside your scope"
            errors.append(RowError(row.line, spec.key[0], reason))
        values = _merge(spec, row, record)
        errors.extend(
            RowError(row.line, column, reason) for column, reason in row_rules(spec.kind, values, row.bad)
        )
        plan.append(_Planned(row, record, values, {}))
    resolver = Resolver(session, principal, spec.kind, (p.values for p in plan))
    for p in plan:
        for column in REFERENCES[spec.kind]:
            value = p.values.get(column)
            if value is None:
                p.ids[ID_ATTRIBUTE[column]] = None
                continue
            if (
                column in ("terminal_address", "meter_box_code")
                and p.values.get("transformer_area_code") is None
            ):
                continue  # the row's 台区 is bad; membership cannot be checked
            try:
                p.ids[ID_ATTRIBUTE[column]] = resolver.resolve(column, value, p.values)
            except CellError as exc:
                errors.append(RowError(p.row.line, column, str(exc)))
    if spec.kind is ArchiveKind.METERING_POINTS:
        errors.extend(_overlaps(spec, plan, stored))
    return plan


def _overlaps(spec: KindSpec, plan: list[_Planned], stored: list[Record]) -> list[RowError]:
    periods: list[Period] = []
    in_file: set[tuple[Any, ...]] = set()
    for p in plan:
        key = p.row.key(spec)
        if key is None or key in in_file or "valid_to" in p.row.bad:
            continue  # unusable, or a duplicate already reported
        in_file.add(key)
        periods.append(Period(key[0], key[1], p.values["valid_to"], p.row.line))
    for r in stored:
        if (r.values["metering_point_code"], r.values["valid_from"]) not in in_file:
            periods.append(
                Period(r.values["metering_point_code"], r.values["valid_from"], r.values["valid_to"], None)
            )
    return overlapping_periods(periods)


def _apply(session: Session, spec: KindSpec, plan: list[_Planned], report: ImportReport) -> None:
    model = MODELS[spec.kind]
    for p in plan:
        values = dict(p.values)
        if spec.kind is ArchiveKind.METERS:
            values["multiplier"] = multiplier_of(values["ct_ratio"], values["pt_ratio"])
        attrs = {attr: values[column] for column, attr in ATTRIBUTES[spec.kind].items()}
        if spec.kind is ArchiveKind.TRANSFORMER_AREAS and isinstance(attrs["kind"], AreaKind):
            attrs["kind"] = attrs["kind"].value  # a plain text column: store the value, not the member
        attrs.update(p.ids)
        if p.record is None:
            session.add(model(**attrs))
            report.inserted += 1
        elif values == p.record.values:
            report.unchanged += 1
        else:
            for attr, value in attrs.items():
                setattr(p.record.obj, attr, value)
            report.updated += 1
    session.flush()
