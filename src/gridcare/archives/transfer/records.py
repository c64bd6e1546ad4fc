"""Archive objects as file rows: every column of a kind with typed values, references as business keys.

The exporter writes these rows; the importer reads the stored rows of the keys in a file, to update them
and to check what a row would change.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from gridcare.archives.models import (
    Customer,
    Feeder,
    Meter,
    MeterBox,
    MeteringPoint,
    Organisation,
    Terminal,
    TransformerArea,
)
from gridcare.archives.scope import scoped
from gridcare.archives.transfer.schemas import ArchiveKind, format_terminal_address
from gridcare.security.principal import Principal

CHUNK = 500
"""Keys per ``IN (...)`` query."""

AnySelect = Select[*tuple[Any, ...]]
KeyColumn = ColumnElement[Any] | InstrumentedAttribute[Any]

ATTRIBUTES: dict[ArchiveKind, dict[str, str]] = {
    ArchiveKind.CUSTOMERS: {
        name: name
        for name in (
            "customer_no",
            "name",
            "customer_class",
            "voltage_level",
            "contracted_capacity_kva",
            "tariff_code",
            "billing_group",
            "status",
            "opened_on",
            "id_number",
            "phone",
            "address",
        )
    },
    ArchiveKind.METERS: {
        "meter_address": "address",
        **{
            name: name
            for name in (
                "meter_type",
                "phases",
                "rated_voltage",
                "rated_current",
                "accuracy_class",
                "ct_ratio",
                "pt_ratio",
                "multiplier",
                "manufacturer",
                "batch",
                "install_date",
                "status",
                "protocol",
            )
        },
    },
    ArchiveKind.TRANSFORMER_AREAS: {
        "transformer_area_code": "code",
        "name": "name",
        "capacity_kva": "capacity_kva",
        "address": "address",
        "kind": "kind",
    },
    ArchiveKind.METERING_POINTS: {
        "metering_point_code": "code",
        "purpose": "purpose",
        "point_number": "point_number",
        "valid_from": "valid_from",
        "valid_to": "valid_to",
    },
}
"""File column -> model attribute, for the columns stored as they are (references are resolved apart)."""


@dataclass
class Record:
    """A stored object, the materialised path of the organisation that owns it (for metering points,
    their 台区's) and its row: every column of the kind."""

    obj: Any
    org_path: str
    values: dict[str, Any]


def chunks(keys: Collection[Any]) -> Iterator[list[Any]]:
    ordered = sorted(keys)
    for i in range(0, len(ordered), CHUNK):
        yield ordered[i : i + CHUNK]


def _statement(kind: ArchiveKind) -> tuple[AnySelect, KeyColumn, KeyColumn]:
    """(select, key column to filter on, organisation-id column to scope by)."""
    stmt: AnySelect
    if kind is ArchiveKind.CUSTOMERS:
        stmt = select(Customer, Organisation.code, Organisation.path).join(
            Organisation, Organisation.id == Customer.org_id
        )
        return stmt.order_by(Customer.customer_no), Customer.customer_no, Customer.org_id
    if kind is ArchiveKind.METERS:
        stmt = select(Meter, Organisation.code, Organisation.path).join(
            Organisation, Organisation.id == Meter.org_id
        )
        return stmt.order_by(Meter.address), Meter.address, Meter.org_id
    if kind is ArchiveKind.TRANSFORMER_AREAS:
        stmt = (
            select(TransformerArea, Organisation.code, Organisation.path, Feeder.code)
            .join(Organisation, Organisation.id == TransformerArea.org_id)
            .join(Feeder, Feeder.id == TransformerArea.feeder_id)
        )
        return stmt.order_by(TransformerArea.code), TransformerArea.code, TransformerArea.org_id
    stmt = (
        select(
            MeteringPoint,
            Organisation.path,
            Customer.customer_no,
            Meter.address,
            TransformerArea.code,
            Terminal.area_code,
            Terminal.terminal_number,
            MeterBox.code,
        )
        .join(TransformerArea, TransformerArea.id == MeteringPoint.transformer_area_id)
        .join(Organisation, Organisation.id == TransformerArea.org_id)
        .join(Meter, Meter.id == MeteringPoint.meter_id)
        .outerjoin(Customer, Customer.id == MeteringPoint.customer_id)
        .outerjoin(Terminal, Terminal.id == MeteringPoint.terminal_id)
        .outerjoin(MeterBox, MeterBox.id == MeteringPoint.meter_box_id)
    )
    order = stmt.order_by(MeteringPoint.code, MeteringPoint.valid_from)
    return order, MeteringPoint.code, TransformerArea.org_id


def _record(kind: ArchiveKind, row: Sequence[Any]) -> Record:
    obj = row[0]
    values = {column: getattr(obj, attr) for column, attr in ATTRIBUTES[kind].items()}
    if kind is ArchiveKind.METERING_POINTS:
        _, path, customer_no, meter_address, area_code, term_area, term_number, box_code = row
        values["customer_no"] = customer_no
        values["meter_address"] = meter_address
        values["transformer_area_code"] = area_code
        values["terminal_address"] = (
            format_terminal_address(term_area, term_number) if term_area is not None else None
        )
        values["meter_box_code"] = box_code
        return Record(obj, path, values)
    values["org_code"] = row[1]
    if kind is ArchiveKind.TRANSFORMER_AREAS:
        values["feeder_code"] = row[3]
    return Record(obj, row[2], values)


def select_records(
    session: Session,
    kind: ArchiveKind,
    principal: Principal | None = None,
    keys: Collection[str] | None = None,
) -> list[Record]:
    """Stored objects ordered by key: those ``principal`` may see (everything when None), only those whose
    first key column is in ``keys`` when given (for metering points: every period of those codes)."""
    stmt, key_column, org_column = _statement(kind)
    if principal is not None:
        stmt = stmt.where(scoped(org_column, principal))
    if keys is None:
        return [_record(kind, row) for row in session.execute(stmt)]
    records: list[Record] = []
    for chunk in chunks(keys):
        records.extend(_record(kind, row) for row in session.execute(stmt.where(key_column.in_(chunk))))
    return records
