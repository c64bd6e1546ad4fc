"""Read services over the archives: paged, filtered, always within the principal's organisation scope."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from gridcare.archives.models import (
    AreaKind,
    Customer,
    CustomerClass,
    Meter,
    MeteringPoint,
    Organisation,
    Terminal,
    TransformerArea,
)
from gridcare.archives.scope import org_ids_in_scope, scoped, subtree
from gridcare.security.principal import Principal

T = TypeVar("T")
MAX_PAGE_SIZE = 500


class NotFound(LookupError):
    """The object does not exist or is outside the principal's scope (the two are not told apart)."""


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    total: int
    page: int
    page_size: int


@dataclass(frozen=True)
class ArchiveFilter:
    """Common filters of archive lists. ``org_id`` includes the whole subtree below it; ``area_kind``
    (public 公变 / dedicated 专变) applies to 台区 lists."""

    org_id: int | None = None
    transformer_area_id: int | None = None
    customer_class: CustomerClass | None = None
    q: str | None = None
    area_kind: AreaKind | None = None


def paginate(session: Session, stmt: Select[Any], page: int, page_size: int) -> Page[Any]:
    """Run ``stmt`` for one page (1-based) and count the whole result."""
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    page = max(page, 1)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    items = session.scalars(stmt.limit(page_size).offset((page - 1) * page_size)).all()
    return Page(items=items, total=total, page=page, page_size=page_size)


def _org_path(session: Session, org_id: int) -> str:
    path = session.scalar(select(Organisation.path).where(Organisation.id == org_id))
    if path is None:
        raise NotFound(f"organisation {org_id}")
    return path


def _current_points() -> Select[Any]:
    return select(MeteringPoint).where(MeteringPoint.valid_to.is_(None))


def list_organisations(session: Session, principal: Principal) -> Sequence[Organisation]:
    """Every organisation in scope, parents before children."""
    stmt = select(Organisation).order_by(Organisation.path)
    clause = org_ids_in_scope(principal)
    if clause is not None:
        stmt = stmt.where(clause)
    return session.scalars(stmt).all()


def list_customers(
    session: Session, principal: Principal, flt: ArchiveFilter, page: int = 1, page_size: int = 50
) -> Page[Customer]:
    """Customers in scope. ``q`` matches a 户号 prefix, a name fragment or a meter address prefix."""
    stmt = select(Customer).where(scoped(Customer.org_id, principal)).order_by(Customer.customer_no)
    if flt.org_id is not None:
        stmt = stmt.where(subtree(Customer.org_id, _org_path(session, flt.org_id)))
    if flt.customer_class is not None:
        stmt = stmt.where(Customer.customer_class == flt.customer_class)
    if flt.transformer_area_id is not None:
        in_area = _current_points().where(MeteringPoint.transformer_area_id == flt.transformer_area_id)
        stmt = stmt.where(Customer.id.in_(in_area.with_only_columns(MeteringPoint.customer_id)))
    if flt.q:
        by_meter = (
            select(MeteringPoint.customer_id)
            .join(Meter, Meter.id == MeteringPoint.meter_id)
            .where(Meter.address.startswith(flt.q))
        )
        stmt = stmt.where(
            or_(
                Customer.customer_no.startswith(flt.q),
                Customer.name.contains(flt.q),
                Customer.id.in_(by_meter),
            )
        )
    return paginate(session, stmt, page, page_size)


def get_customer(session: Session, principal: Principal, customer_no: str) -> Customer:
    customer = session.scalar(
        select(Customer).where(Customer.customer_no == customer_no, scoped(Customer.org_id, principal))
    )
    if customer is None:
        raise NotFound(f"customer {customer_no}")
    return customer


def list_meters(
    session: Session, principal: Principal, flt: ArchiveFilter, page: int = 1, page_size: int = 50
) -> Page[Meter]:
    """Meters in scope; ``q`` matches an address prefix."""
    stmt = select(Meter).where(scoped(Meter.org_id, principal)).order_by(Meter.address)
    if flt.org_id is not None:
        stmt = stmt.where(subtree(Meter.org_id, _org_path(session, flt.org_id)))
    if flt.transformer_area_id is not None:
        in_area = _current_points().where(MeteringPoint.transformer_area_id == flt.transformer_area_id)
        stmt = stmt.where(Meter.id.in_(in_area.with_only_columns(MeteringPoint.meter_id)))
    if flt.customer_class is not None:
        of_class = (
            select(MeteringPoint.meter_id)
            .join(Customer, Customer.id == MeteringPoint.customer_id)
            .where(MeteringPoint.valid_to.is_(None), Customer.customer_class == flt.customer_class)
        )
        stmt = stmt.where(Meter.id.in_(of_class))
    if flt.q:
        stmt = stmt.where(Meter.address.startswith(flt.q))
    return paginate(session, stmt, page, page_size)


def get_meter(session: Session, principal: Principal, address: str) -> Meter:
    meter = session.scalar(select(Meter).where(Meter.address == address, scoped(Meter.org_id, principal)))
    if meter is None:
        raise NotFound(f"meter {address}")
    return meter


def list_transformer_areas(
    session: Session, principal: Principal, flt: ArchiveFilter, page: int = 1, page_size: int = 50
) -> Page[TransformerArea]:
    """台区 in scope; ``q`` matches a code prefix or a name fragment; ``area_kind`` keeps one kind."""
    stmt = (
        select(TransformerArea)
        .where(scoped(TransformerArea.org_id, principal))
        .order_by(TransformerArea.code)
    )
    if flt.org_id is not None:
        stmt = stmt.where(subtree(TransformerArea.org_id, _org_path(session, flt.org_id)))
    if flt.q:
        stmt = stmt.where(or_(TransformerArea.code.startswith(flt.q), TransformerArea.name.contains(flt.q)))
    if flt.area_kind is not None:
        stmt = stmt.where(TransformerArea.kind == flt.area_kind.value)
    return paginate(session, stmt, page, page_size)


def get_transformer_area(session: Session, principal: Principal, code: str) -> TransformerArea:
    area = session.scalar(
        select(TransformerArea).where(TransformerArea.code == code, scoped(TransformerArea.org_id, principal))
    )
    if area is None:
        raise NotFound(f"transformer area {code}")
    return area


def list_terminals(
    session: Session, principal: Principal, flt: ArchiveFilter, page: int = 1, page_size: int = 50
) -> Page[Terminal]:
    stmt = (
        select(Terminal)
        .where(scoped(Terminal.org_id, principal))
        .order_by(Terminal.area_code, Terminal.terminal_number)
    )
    if flt.org_id is not None:
        stmt = stmt.where(subtree(Terminal.org_id, _org_path(session, flt.org_id)))
    if flt.transformer_area_id is not None:
        stmt = stmt.where(Terminal.transformer_area_id == flt.transformer_area_id)
    if flt.q:
        stmt = stmt.where(Terminal.area_code.startswith(flt.q[:4]))
    return paginate(session, stmt, page, page_size)


def list_metering_points(
    session: Session,
    principal: Principal,
    flt: ArchiveFilter,
    customer_id: int | None = None,
    meter_id: int | None = None,
    current_only: bool = True,
    page: int = 1,
    page_size: int = 50,
) -> Page[MeteringPoint]:
    """Metering points whose 台区 is in scope, newest first within a code (history when not current_only)."""
    area_ids = select(TransformerArea.id).where(scoped(TransformerArea.org_id, principal))
    stmt = (
        select(MeteringPoint)
        .where(MeteringPoint.transformer_area_id.in_(area_ids))
        .order_by(MeteringPoint.code, MeteringPoint.valid_from.desc())
    )
    if current_only:
        stmt = stmt.where(MeteringPoint.valid_to.is_(None))
    if flt.transformer_area_id is not None:
        stmt = stmt.where(MeteringPoint.transformer_area_id == flt.transformer_area_id)
    if customer_id is not None:
        stmt = stmt.where(MeteringPoint.customer_id == customer_id)
    if meter_id is not None:
        stmt = stmt.where(MeteringPoint.meter_id == meter_id)
    return paginate(session, stmt, page, page_size)


def archive_counts(session: Session, principal: Principal) -> dict[str, int]:
    """Counts shown on the home page."""

    def count(model: Any) -> int:
        return (
            session.scalar(select(func.count()).select_from(model).where(scoped(model.org_id, principal)))
            or 0
        )

    return {
        "organisations": len(list_organisations(session, principal)),
        "transformer_areas": count(TransformerArea),
        "customers": count(Customer),
        "meters": count(Meter),
        "terminals": count(Terminal),
    }
