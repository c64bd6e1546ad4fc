"""Pages of the administrators: risk alerts (handle_alerts: list, acknowledge), the audit trail
(view_audit: search, verify the hash chain) and accounts (manage_users: list, disable, enable, unlock).
Other accounts get the 403 page, and the refusal is audited."""

from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gridcare.api.deps import ObjectId
from gridcare.archives.queries import Page
from gridcare.security import accounts, audit, risk
from gridcare.security.authz import NotInScope, PermissionDenied
from gridcare.security.models import as_beijing
from gridcare.security.sessions import roles_of
from gridcare.timeutil import now_beijing
from gridcare.web import reads
from gridcare.web.archive_pages import pages_of
from gridcare.web.console import PAGE_SIZE, AlertsPage, AuditPage, UsersPage, not_found
from gridcare.web.layout import role_label

router = APIRouter(include_in_schema=False)


@router.get("/alerts", response_class=HTMLResponse)
def alert_list(
    page: AlertsPage,
    state: Annotated[str, Query(pattern="^(open|all)$")] = "open",
    p: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1,
    acked: Annotated[int | None, Query(ge=1)] = None,
    already: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    """Alerts in scope, latest first; open ones by default."""
    items, total = risk.list_alerts(
        page.session, page.principal, open_only=state == "open", page=p, page_size=PAGE_SIZE
    )
    found = Page(items=items, total=total, page=p, page_size=PAGE_SIZE)
    names = reads.org_names(page.session, {a.org_id for a in items if a.org_id is not None})
    return page.render(
        "alerts.html",
        found=found,
        pages=pages_of(found),
        state=state,
        names=names,
        details={a.id: json.loads(a.detail or "{}") for a in items},
        acked=acked,
        already=already,
    )


@router.post("/alerts/{alert_id}/ack")
def acknowledge(
    page: AlertsPage,
    alert_id: ObjectId,
    note: Annotated[str, Form(max_length=255)] = "",
    state: Annotated[str, Form(pattern="^(open|all)$")] = "open",
) -> Response:
    """Acknowledge an alert (audited), then back to the list."""
    target = page.ui.url("/alerts", state=state)
    try:
        risk.acknowledge(page.session, page.account, alert_id, note.strip())
    except NotInScope:
        raise not_found(f"alert {alert_id}") from None
    except risk.AlreadyAcknowledged:
        return RedirectResponse(f"{target}&already={alert_id}", status_code=303)
    page.session.commit()
    return RedirectResponse(f"{target}&acked={alert_id}", status_code=303)


@router.get("/audit", response_class=HTMLResponse)
def audit_list(
    page: AuditPage,
    action: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    result: Annotated[str | None, Query(pattern="^(success|failure|denied)?$")] = None,
    verify: Annotated[bool, Query()] = False,
    p: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    """Audit records in scope, newest first, with an on-demand check of the hash chain."""
    items, total = audit.list_records(
        page.session,
        page.principal,
        action=action or None,
        actor=actor or None,
        result=result or None,
        page=p,
        page_size=PAGE_SIZE,
    )
    found = Page(items=items, total=total, page=p, page_size=PAGE_SIZE)
    return page.render(
        "audit.html",
        found=found,
        pages=pages_of(found),
        action=action or "",
        actor=actor or "",
        result=result or "",
        report=audit.verify(page.session) if verify else None,
    )


USER_ACTIONS = ("disable", "enable", "unlock")


@router.get("/users", response_class=HTMLResponse)
def user_list(
    page: UsersPage,
    p: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1,
    done: Annotated[str | None, Query(max_length=64)] = None,
    refused: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    """Accounts in scope with their roles, two-factor state, lock and last login."""
    items, total = accounts.list_users(page.session, page.principal, p, PAGE_SIZE)
    now = now_beijing()
    found = Page(items=items, total=total, page=p, page_size=PAGE_SIZE)
    return page.render(
        "users.html",
        found=found,
        pages=pages_of(found),
        roles={u.id: role_label(frozenset(roles_of(page.session, u.id)), page.ui.lang) for u in items},
        names=reads.org_names(page.session, {u.org_id for u in items if u.org_id is not None}),
        locked={u.id for u in items if u.locked_until is not None and as_beijing(u.locked_until) > now},
        done=done,
        refused=refused,
    )


@router.post("/users/{user_id}/{action}")
def user_action(
    page: UsersPage, user_id: ObjectId, action: Annotated[str, Path(pattern="^(disable|enable|unlock)$")]
) -> Response:
    """Disable (ends the account's sessions), enable or unlock an account (audited), then back to the list."""
    target = page.ui.url("/users")
    sep = "&" if "?" in target else "?"
    try:
        if action == "unlock":
            user = accounts.unlock(page.session, page.account, user_id)
        else:
            user = accounts.set_disabled(page.session, page.account, user_id, action == "disable")
    except NotInScope:
        raise not_found(f"user {user_id}") from None
    except PermissionDenied as exc:
        return RedirectResponse(f"{target}{sep}{urlencode({'refused': str(exc)[:200]})}", status_code=303)
    page.session.commit()
    return RedirectResponse(f"{target}{sep}{urlencode({'done': user.username})}", status_code=303)
