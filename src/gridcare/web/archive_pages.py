"""Archive pages: 台区 list and detail, customer list and customer 360 (masked personal data only)."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse

from gridcare.acquisition import events
from gridcare.archives import queries
from gridcare.archives.models import AreaKind, CustomerClass, Feeder
from gridcare.archives.queries import ArchiveFilter, NotFound
from gridcare.mdm import results
from gridcare.security.masking import mask_address, mask_id_number, mask_phone
from gridcare.timeutil import today_beijing
from gridcare.web import dashboard, money, reads
from gridcare.web.console import PAGE_SIZE, READ_NOW_PERMISSION, PageCtx, ReadPage, not_found

router = APIRouter(include_in_schema=False)

SearchQ = Annotated[str | None, Query(max_length=64)]
PageQ = Annotated[int, Query(ge=1, le=1_000_000)]


def pages_of(page: queries.Page[Any]) -> int:
    return max(1, math.ceil(page.total / page.page_size))


def _latest_loss(page: PageCtx) -> tuple[str | None, dict[str, dict[str, Any]]]:
    """The latest line-loss day and its rows by 台区 code (empty before the first run)."""
    settings = page.request.app.state.settings
    day = dashboard.latest_line_loss_day(settings, today_beijing())
    if day is None:
        return None, {}
    ranking = results.line_loss_ranking(page.session, settings, page.principal, day)
    return day.isoformat(), {i["tg"]: i for i in ranking["items"]}


@router.get("/areas", response_class=HTMLResponse)
def area_list(
    page: ReadPage,
    q: SearchQ = None,
    kind: Annotated[str | None, Query(max_length=16)] = None,
    p: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    """台区 in scope, searchable by code or name, filtered by kind (公变 / 专变), with customers and the
    latest line loss (public 台区 only: a 专变 has none)."""
    try:
        area_kind = AreaKind(kind) if kind else None
    except ValueError:
        area_kind = None
    found = queries.list_transformer_areas(
        page.session,
        page.principal,
        ArchiveFilter(q=q or None, area_kind=area_kind),
        page=p,
        page_size=PAGE_SIZE,
    )
    counts = reads.area_customer_counts(page.session, [a.id for a in found.items])
    names = reads.org_names(page.session, {a.org_id for a in found.items})
    loss_day, losses = _latest_loss(page)
    return page.render(
        "areas.html",
        found=found,
        pages=pages_of(found),
        counts=counts,
        names=names,
        q=q or "",
        kind=area_kind.value if area_kind else "",
        kinds=[k.value for k in AreaKind],
        loss_day=loss_day,
        losses=losses,
    )


@router.get("/areas/{code}", response_class=HTMLResponse)
def area_detail(
    page: ReadPage,
    code: Annotated[str, Path(max_length=32)],
    p: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    """One 台区: capacity, feeder, supply meter, line loss of the latest computed day, its customers. A 专变
    has no 台区 line loss: the page says so instead of showing a chart."""
    session, settings = page.session, page.request.app.state.settings
    try:
        area = queries.get_transformer_area(session, page.principal, code)
    except NotFound:
        raise not_found(f"transformer area {code}") from None
    customers = queries.list_customers(
        session, page.principal, ArchiveFilter(transformer_area_id=area.id), page=p, page_size=PAGE_SIZE
    )
    dedicated = area.kind == AreaKind.DEDICATED
    day = None if dedicated else dashboard.latest_line_loss_day(settings, today_beijing())
    detail = results.tg_detail(session, settings, page.principal, code, day, 30) if day else None
    chart = None
    if detail and detail["curve"]:
        chart = {
            "dates": [c["day"].isoformat() for c in detail["curve"]],
            "rate_pct": [
                None if c["loss_rate"] is None else round(c["loss_rate"] * 100, 2) for c in detail["curve"]
            ],
        }
    return page.render(
        "area.html",
        area=area,
        feeder=session.get(Feeder, area.feeder_id),
        org=reads.organisation(session, area.org_id),
        supply=reads.supply_meter(session, area.id),
        customer_count=reads.area_customer_counts(session, [area.id]).get(area.id, 0),
        customers=reads.customer_rows(session, customers.items),
        found=customers,
        pages=pages_of(customers),
        loss_day=day.isoformat() if day else None,
        loss=detail["line_loss"] if detail else None,
        loss_chart=chart,
        statuses=results.STATUS_LABELS,
        dedicated=dedicated,
    )


@router.get("/customers", response_class=HTMLResponse)
def customer_list(
    page: ReadPage,
    q: SearchQ = None,
    customer_class: Annotated[str | None, Query(alias="class", max_length=32)] = None,
    p: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    """Customers in scope; search by 户号 or meter address (prefix) or a name fragment."""
    try:
        cls = CustomerClass(customer_class) if customer_class else None
    except ValueError:
        cls = None
    found = queries.list_customers(
        page.session,
        page.principal,
        ArchiveFilter(q=(q or "").strip() or None, customer_class=cls),
        page=p,
        page_size=PAGE_SIZE,
    )
    return page.render(
        "customers.html",
        found=found,
        rows=reads.customer_rows(page.session, found.items),
        pages=pages_of(found),
        q=q or "",
        customer_class=cls.value if cls else "",
        classes=[c.value for c in CustomerClass],
    )


@router.get("/customers/{customer_no}", response_class=HTMLResponse)
def customer_detail(page: ReadPage, customer_no: Annotated[str, Path(max_length=20)]) -> HTMLResponse:
    """Customer 360: masked archive, meters (on-demand read), daily consumption, bills, terminal events."""
    session = page.session
    try:
        customer = queries.get_customer(session, page.principal, customer_no)
    except NotFound:
        raise not_found(f"customer {customer_no}") from None
    points = reads.customer_points(session, customer.id)
    terminal_ids = sorted(
        {r.terminal.id for r in points if r.terminal is not None and r.point.valid_to is None}
    )
    terminal_events: list[dict[str, Any]] = []
    for terminal_id in terminal_ids:
        terminal_events.extend(events.list_events(session, page.principal, terminal_id, 20))
    terminal_events.sort(key=lambda e: e["occurred_at"], reverse=True)
    masked = {
        "id_number": mask_id_number(customer.id_number),
        "phone": mask_phone(customer.phone),
        "address": mask_address(customer.address),
    }
    yesterday = today_beijing() - timedelta(days=1)
    return page.render(
        "customer.html",
        customer=customer,
        org=reads.organisation(session, customer.org_id),
        masked=masked,
        points=points,
        terminal_events=terminal_events[:20],
        account=money.account(session, page.principal, customer.customer_no),
        can_read=page.account.can(READ_NOW_PERMISSION),
        energy_url=f"/api/v1/console/customers/{customer.customer_no}/daily-energy?days=30",
        energy_end=yesterday.isoformat(),
    )
