"""Console login, first-login password change and logout (Chinese first, English second).

Forms carry the CSRF token (double submit, checked by the security middleware); the session lives in the
``gridcare_session`` cookie (HttpOnly, SameSite=Strict, Secure under TLS).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select

from gridcare import __version__
from gridcare.security import login as login_service
from gridcare.security.middleware import SecurityRuntime, clear_session_cookie, client_address, session_cookie
from gridcare.security.models import SessionChannel, User
from gridcare.security.principal import Principal
from gridcare.security.roles import Permission
from gridcare.security.sessions import CHANGE_PASSWORD
from gridcare.web.pages import templates

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only same-site paths ("/..."), never another host (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    return parts.path + (f"?{parts.query}" if parts.query else "") if not parts.netloc else "/"


def _landing(principal: Principal, target: str | None) -> str:
    """Where a login lands: ``target``, except that an administrator without read_data (who may not open
    the dashboard) lands on the first console page their role opens (alerts, audit)."""
    from gridcare.web.layout import NAV

    safe = _safe_next(target)
    if safe != "/" or principal.can(Permission.READ_DATA):
        return safe
    return next((path for _, path, needed in NAV if principal.can(needed)), "/")


def _page(
    request: Request,
    mode: str,
    status: int = 200,
    error: str | None = None,
    next_: str = "/",
    extra: dict[str, str] | None = None,
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "login.html",
        {
            "mode": mode,
            "error": error,
            "next": _safe_next(next_),
            "csrf_token": request.state.csrf_token,
            "version": __version__,
            "settings": request.app.state.settings,
            "principal": getattr(request.state, "principal", None),
            **(extra or {}),
        },
        status_code=status,
    )


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> Response:
    """The login form: username, password, two-factor code."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is not None and CHANGE_PASSWORD in principal.pending:
        return RedirectResponse("/login/password", status_code=303)
    runtime: SecurityRuntime = request.app.state.security
    with runtime.database.sessions() as session:
        no_accounts = session.scalar(select(func.count()).select_from(User)) == 0
    return _page(request, "login", next_=next, extra={"no_accounts": "yes" if no_accounts else ""})


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    totp_code: Annotated[str, Form(max_length=10)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    runtime: SecurityRuntime = request.app.state.security
    client = client_address(request.scope)
    if not runtime.login_allowed(client, username):
        return _page(
            request, "login", 429, "登录尝试过于频繁，请稍后再试 — too many attempts, wait a minute", next
        )
    with runtime.database.sessions() as session:
        try:
            result = login_service.login(
                session,
                runtime.settings,
                username,
                password,
                totp_code or None,
                channel=SessionChannel.CONSOLE,
                source=client,
            )
        except login_service.LoginFailed:
            return _page(request, "login", 401, login_service.LOGIN_FAILED_MESSAGE, next)
    pending = CHANGE_PASSWORD in result.principal.pending
    target = "/login/password" if pending else _landing(result.principal, next)
    response = RedirectResponse(target, status_code=303)
    response.headers.append("set-cookie", session_cookie(result.token, runtime.settings))
    return response


@router.get("/login/password", response_class=HTMLResponse)
def password_page(request: Request) -> Response:
    """Set a new password (first login with the one-time password, or an expired one)."""
    if getattr(request.state, "principal", None) is None:
        return RedirectResponse("/login", status_code=303)
    return _page(request, "password")


@router.post("/login/password", response_class=HTMLResponse)
def password_submit(
    request: Request,
    current_password: Annotated[str, Form(max_length=256)] = "",
    new_password: Annotated[str, Form(max_length=256)] = "",
    new_password_again: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    if new_password != new_password_again:
        return _page(request, "password", 422, "两次输入的新密码不一致 — the new passwords differ")
    runtime: SecurityRuntime = request.app.state.security
    with runtime.database.sessions() as session:
        try:
            login_service.change_password(
                session, runtime.settings, principal, current_password, new_password
            )
        except login_service.PasswordChangeFailed as exc:
            session.commit()
            return _page(request, "password", 422, f"密码未修改 — password not changed: {exc}")
        session.commit()
    return RedirectResponse("/", status_code=303)


@router.get("/login/totp", response_class=HTMLResponse)
def totp_page(request: Request) -> Response:
    """Two-factor enrolment when the policy requires it and the account has no factor yet."""
    if getattr(request.state, "principal", None) is None:
        return RedirectResponse("/login", status_code=303)
    return _page(request, "totp")


@router.post("/login/totp", response_class=HTMLResponse)
def totp_submit(request: Request, code: Annotated[str, Form(max_length=10)] = "") -> Response:
    """Without a code: make a new secret and show its otpauth:// URI; with a code: confirm it."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    runtime: SecurityRuntime = request.app.state.security
    with runtime.database.sessions() as session:
        try:
            if not code:
                uri = login_service.start_totp_enrolment(session, principal)
                session.commit()
                return _page(request, "totp", extra={"otpauth_uri": uri})
            login_service.confirm_totp_enrolment(session, principal, code)
        except ValueError as exc:
            return _page(request, "totp", 422, f"动态码未设置 — two-factor not set up: {exc}")
        session.commit()
    return RedirectResponse("/", status_code=303)


def end_session(request: Request, then: str) -> Response:
    """End the request's session on the server, clear the cookie and go to ``then``."""
    runtime: SecurityRuntime = request.app.state.security
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is not None:
        with runtime.database.sessions() as session:
            login_service.logout(session, principal)
            session.commit()
    response = RedirectResponse(then, status_code=303)
    response.headers.append("set-cookie", clear_session_cookie(runtime.settings))
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    """End the console session on the server and clear the cookie."""
    return end_session(request, "/login")
