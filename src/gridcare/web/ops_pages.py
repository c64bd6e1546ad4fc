"""Master-station pages: terminals with their session state, one terminal with its meters (on-demand read,
召测), its recent jobs and its events. The read button queues ``on_demand_read`` through the device-jobs API
(``POST /api/v1/devices/jobs``) and polls the job until it is done (``static/console.js``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse

from gridcare.acquisition import events, service
from gridcare.archives.queries import NotFound
from gridcare.web import reads
from gridcare.web.archive_pages import PageQ, SearchQ, pages_of
from gridcare.web.console import PAGE_SIZE, READ_NOW_PERMISSION, ReadPage, not_found

router = APIRouter(include_in_schema=False)


@router.get("/terminals", response_class=HTMLResponse)
def terminal_list(
    page: ReadPage,
    q: SearchQ = None,
    state: Annotated[str | None, Query(pattern="^(online|offline)?$")] = None,
    p: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    """Terminals in scope: online state, last heartbeat, connected since; filter by state and address."""
    online = {"online": True, "offline": False}.get(state or "")
    found = reads.terminal_rows(page.session, page.principal, (q or "").strip() or None, online, p, PAGE_SIZE)
    return page.render("terminals.html", found=found, pages=pages_of(found), q=q or "", state=state or "")


@router.get("/terminals/{address}", response_class=HTMLResponse)
def terminal_detail(
    page: ReadPage,
    address: Annotated[str, Path(max_length=16)],
    p: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    """One terminal: state, meters read through it (召测 buttons), recent jobs and events."""
    session = page.session
    try:
        terminal = service.terminal_by_address(session, page.principal, address)
    except (NotFound, service.JobRequestError):
        raise not_found(f"terminal {address}") from None
    found = reads.terminal_points(session, terminal.id, p, PAGE_SIZE)
    return page.render(
        "terminal.html",
        terminal=terminal,
        state=reads.terminal_status(session, terminal.id),
        can_read=page.account.can(READ_NOW_PERMISSION),
        area=reads.area_of(session, terminal.transformer_area_id),
        org=reads.organisation(session, terminal.org_id),
        found=found,
        points=found.items,
        pages=pages_of(found),
        jobs=reads.recent_jobs(session, terminal.id),
        terminal_events=events.list_events(session, page.principal, terminal.id, 50),
    )


__all__ = ["PageQ", "router"]
