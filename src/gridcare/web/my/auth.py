"""Customer login, first-login password change and logout of the self-service pages.

The customer login path of the security layer (:func:`gridcare.security.login.login` with
``customer=True``): a staff account fails there exactly like a wrong password, failures are audited with
their reason and count towards the lockout, attempts are rate-limited per address and account name, and
every failure shows the same message (no account enumeration). The session is the console's cookie
(HttpOnly, SameSite=Strict); the forms carry the CSRF token (checked by the security middleware).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gridcare.security import login as login_service
from gridcare.security.middleware import SecurityRuntime, client_address, session_cookie
from gridcare.security.models import SessionChannel
from gridcare.security.principal import Principal
from gridcare.security.sessions import CHANGE_PASSWORD
from gridcare.web.login import end_session
from gridcare.web.my.frame import MY, build_ui, render

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only a self-service page of this site ("/my..."), else the overview (no open redirect)."""
    from gridcare.web.login import _safe_next as same_site

    safe = same_site(target)
    mine = safe == MY or (safe.startswith(MY + "/") and not safe.startswith(MY + "/login"))
    return safe if mine else MY


def _page(request: Request, mode: str, status: int = 200, error: str = "", next_: str = MY) -> HTMLResponse:
    ui = build_ui(request)
    return render(request, "my/login.html", ui, status, mode=mode, error=error, next=_safe_next(next_))


def _is_customer(principal: Principal | None) -> bool:
    return principal is not None and principal.customer_no is not None


@router.get(f"{MY}/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = MY) -> Response:
    """The login form: account name and password."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if _is_customer(principal):
        assert principal is not None
        target = f"{MY}/login/password" if CHANGE_PASSWORD in principal.pending else _safe_next(next)
        return RedirectResponse(target, status_code=303)
    return _page(request, "login", next_=next)


@router.post(f"{MY}/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=500)] = MY,
) -> Response:
    runtime: SecurityRuntime = request.app.state.security
    client = client_address(request.scope)
    ui = build_ui(request)
    if not runtime.login_allowed(client, username):
        return _page(request, "login", 429, ui.t("login_throttled"), next)
    with runtime.database.sessions() as session:
        try:
            result = login_service.login(
                session,
                runtime.settings,
                username,
                password,
                None,
                customer=True,
                channel=SessionChannel.CONSOLE,
                source=client,
            )
        except login_service.LoginFailed:
            return _page(request, "login", 401, ui.t("login_failed"), next)
    pending = CHANGE_PASSWORD in result.principal.pending
    response = RedirectResponse(f"{MY}/login/password" if pending else _safe_next(next), status_code=303)
    response.headers.append("set-cookie", session_cookie(result.token, runtime.settings))
    return response


@router.get(f"{MY}/login/password", response_class=HTMLResponse)
def password_page(request: Request) -> Response:
    """Set a new password (first login with the one-time password, or an expired one)."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        return RedirectResponse(f"{MY}/login", status_code=303)
    if not _is_customer(principal):
        return RedirectResponse("/login/password", status_code=303)
    return _page(request, "password")


@router.post(f"{MY}/login/password", response_class=HTMLResponse)
def password_submit(
    request: Request,
    current_password: Annotated[str, Form(max_length=256)] = "",
    new_password: Annotated[str, Form(max_length=256)] = "",
    new_password_again: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None or not _is_customer(principal):
        return RedirectResponse(f"{MY}/login", status_code=303)
    ui = build_ui(request)
    if new_password != new_password_again:
        return _page(request, "password", 422, ui.t("passwords_differ"))
    runtime: SecurityRuntime = request.app.state.security
    with runtime.database.sessions() as session:
        try:
            login_service.change_password(
                session, runtime.settings, principal, current_password, new_password
            )
        except login_service.PasswordChangeFailed as exc:
            session.commit()  # keeps the audit record of a wrong current password
            return _page(request, "password", 422, f"{ui.t('password_not_changed')}{exc}")
        session.commit()
    return RedirectResponse(MY, status_code=303)


@router.post(f"{MY}/logout")
def logout(request: Request) -> Response:
    """End the session on the server and clear the cookie."""
    return end_session(request, f"{MY}/login")
