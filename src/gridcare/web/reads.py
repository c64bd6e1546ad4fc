"""Read models of the console lists and detail pages: the rows a table shows, joined for display.

Every function takes objects the caller already fetched within scope (a page of customers, one 台区, one
terminal) or a principal and filters by :func:`~gridcare.archives.scope.scoped`; none widens the scope.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gridcare.acquisition.models import DeviceJob, TerminalStatus
from gridcare.archives.models import (
    Customer,
    Meter,
    MeteringPoint,
    Organisation,
    PointPurpose,
    Terminal,
    TransformerArea,
)
from gridcare.archives.queries import Page, paginate
from gridcare.archives.scope import scoped
from gridcare.security.principal import Principal


def org_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(
        session.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))).all()
    )


@dataclass(frozen=True)
class CustomerRow:
    customer: Customer
    org: str
    meters: list[str]
    area_code: str
    area_name: str


def customer_rows(session: Session, customers: Sequence[Customer]) -> list[CustomerRow]:
    """Customers of one page with their current meters and 台区."""
    ids = [c.id for c in customers]
    points: dict[int, list[tuple[str, str, str]]] = {}
    if ids:
        stmt = (
            select(MeteringPoint.customer_id, Meter.address, TransformerArea.code, TransformerArea.name)
            .join(Meter, Meter.id == MeteringPoint.meter_id)
            .join(TransformerArea, TransformerArea.id == MeteringPoint.transformer_area_id)
            .where(MeteringPoint.customer_id.in_(ids), MeteringPoint.valid_to.is_(None))
            .order_by(Meter.address)
        )
        for cid, address, code, name in session.execute(stmt):
            if cid is not None:
                points.setdefault(cid, []).append((address, code, name))
    names = org_names(session, {c.org_id for c in customers})
    rows = []
    for c in customers:
        mine = points.get(c.id, [])
        rows.append(
            CustomerRow(
                customer=c,
                org=names.get(c.org_id, ""),
                meters=[m for m, _, _ in mine],
                area_code=mine[0][1] if mine else "",
                area_name=mine[0][2] if mine else "",
            )
        )
    return rows


def area_customer_counts(session: Session, area_ids: Sequence[int]) -> dict[int, int]:
    """Customers (current billing points) per 台区."""
    if not area_ids:
        return {}
    stmt = (
        select(MeteringPoint.transformer_area_id, func.count(func.distinct(MeteringPoint.customer_id)))
        .where(
            MeteringPoint.transformer_area_id.in_(area_ids),
            MeteringPoint.valid_to.is_(None),
            MeteringPoint.purpose == PointPurpose.BILLING,
        )
        .group_by(MeteringPoint.transformer_area_id)
    )
    return {area: int(n) for area, n in session.execute(stmt)}


def supply_meter(session: Session, area_id: int) -> Meter | None:
    """The 台区's current supply (总表) meter."""
    return session.scalar(
        select(Meter)
        .join(MeteringPoint, MeteringPoint.meter_id == Meter.id)
        .where(
            MeteringPoint.transformer_area_id == area_id,
            MeteringPoint.valid_to.is_(None),
            MeteringPoint.purpose == PointPurpose.SUPPLY,
        )
    )


@dataclass(frozen=True)
class PointRow:
    point: MeteringPoint
    meter: Meter
    area: TransformerArea
    terminal: Terminal | None
    customer: Customer | None


def _point_rows(session: Session, *where: Any, limit: int | None = None, offset: int = 0) -> list[PointRow]:
    stmt = (
        select(MeteringPoint, Meter, TransformerArea, Terminal, Customer)
        .join(Meter, Meter.id == MeteringPoint.meter_id)
        .join(TransformerArea, TransformerArea.id == MeteringPoint.transformer_area_id)
        .outerjoin(Terminal, Terminal.id == MeteringPoint.terminal_id)
        .outerjoin(Customer, Customer.id == MeteringPoint.customer_id)
        .where(*where)
        .order_by(
            MeteringPoint.valid_to.is_not(None), MeteringPoint.point_number, MeteringPoint.valid_from.desc()
        )
        .limit(limit)
        .offset(offset)
    )
    return [PointRow(p, m, a, t, c) for p, m, a, t, c in session.execute(stmt)]


def customer_points(session: Session, customer_id: int) -> list[PointRow]:
    """The customer's metering points, current first, then the history."""
    return _point_rows(session, MeteringPoint.customer_id == customer_id)


def terminal_points(session: Session, terminal_id: int, page: int = 1, page_size: int = 50) -> Page[PointRow]:
    """Current metering points read through the terminal, by Pn, one page."""
    where = (MeteringPoint.terminal_id == terminal_id, MeteringPoint.valid_to.is_(None))
    total = session.scalar(select(func.count()).select_from(MeteringPoint).where(*where)) or 0
    items = _point_rows(session, *where, limit=page_size, offset=(page - 1) * page_size)
    return Page(items=items, total=total, page=page, page_size=page_size)


@dataclass(frozen=True)
class TerminalRow:
    terminal: Terminal
    status: TerminalStatus | None
    area_code: str
    org: str

    @property
    def online(self) -> bool:
        return bool(self.status and self.status.online)


def terminal_rows(
    session: Session,
    principal: Principal,
    q: str | None = None,
    online: bool | None = None,
    page: int = 1,
    page_size: int = 50,
) -> Page[TerminalRow]:
    """Terminals in scope with their session state; ``q`` matches an address prefix ("3301", "3301-0001")."""
    stmt = (
        select(Terminal)
        .outerjoin(TerminalStatus, TerminalStatus.terminal_id == Terminal.id)
        .where(scoped(Terminal.org_id, principal))
        .order_by(Terminal.area_code, Terminal.terminal_number)
    )
    if q:
        area, _, number = q.partition("-")
        stmt = stmt.where(Terminal.area_code.startswith(area[:4]))
        if number.isdigit():
            # "3301-0001" matches terminal numbers whose 5-digit form starts with "0001"
            width = 5 - len(number[:5])
            low = int(number[:5]) * 10**width
            stmt = stmt.where(Terminal.terminal_number >= low, Terminal.terminal_number < low + 10**width)
    if online is True:
        stmt = stmt.where(TerminalStatus.online.is_(True))
    elif online is False:
        stmt = stmt.where((TerminalStatus.online.is_(False)) | (TerminalStatus.terminal_id.is_(None)))
    result = paginate(session, stmt, page, page_size)
    terminals: Sequence[Terminal] = result.items
    ids = [t.id for t in terminals]
    statuses = (
        {
            s.terminal_id: s
            for s in session.scalars(select(TerminalStatus).where(TerminalStatus.terminal_id.in_(ids)))
        }
        if ids
        else {}
    )
    area_ids = {t.transformer_area_id for t in terminals if t.transformer_area_id is not None}
    codes = (
        dict(
            session.execute(
                select(TransformerArea.id, TransformerArea.code).where(TransformerArea.id.in_(area_ids))
            ).all()
        )
        if area_ids
        else {}
    )
    names = org_names(session, {t.org_id for t in terminals})
    rows = [
        TerminalRow(
            t,
            statuses.get(t.id),
            codes.get(t.transformer_area_id, "") if t.transformer_area_id else "",
            names.get(t.org_id, ""),
        )
        for t in terminals
    ]
    return Page(items=rows, total=result.total, page=result.page, page_size=result.page_size)


def terminal_status(session: Session, terminal_id: int) -> TerminalStatus | None:
    return session.get(TerminalStatus, terminal_id)


def recent_jobs(session: Session, terminal_id: int, limit: int = 20) -> Sequence[DeviceJob]:
    return session.scalars(
        select(DeviceJob)
        .where(DeviceJob.terminal_id == terminal_id)
        .order_by(DeviceJob.id.desc())
        .limit(limit)
    ).all()


def area_of(session: Session, area_id: int | None) -> TransformerArea | None:
    return session.get(TransformerArea, area_id) if area_id is not None else None


def organisation(session: Session, org_id: int) -> Organisation | None:
    return session.get(Organisation, org_id)
