"""What every console page shares: the page dependency (login, permission, organisation from the tree),
rendering with the frame, HTML error pages, and the language switch.

Console pages are not API routes: the security middleware already sends a visitor without a session to
/login; :func:`console_page` then checks the page's function group (a refusal is audited like an API one and
answered with a 403 page) and resolves the organisation selected in the tree (one outside the scope is a 404).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from gridcare import __version__
from gridcare.api.deps import get_session
from gridcare.security import audit
from gridcare.security.principal import Principal
from gridcare.security.roles import Permission
from gridcare.web.i18n import LANG_COOKIE, LANGS
from gridcare.web.layout import Ui, build_ui, narrow
from gridcare.web.pages import templates

PAGE_SIZE = 50
READ_NOW_PERMISSION = Permission.READ_DATA
"""Function group of an on-demand read (召测), as :func:`gridcare.acquisition.service.request_job` checks it;
the 召测 buttons show only to accounts holding it."""
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600


class ConsoleError(Exception):
    """Answered with the error page: ``status`` and the labels of its title and hint."""

    def __init__(self, status: int, title_key: str, hint_key: str, detail: str = "") -> None:
        super().__init__(detail or title_key)
        self.status = status
        self.title_key = title_key
        self.hint_key = hint_key
        self.detail = detail


def not_found(what: str) -> ConsoleError:
    return ConsoleError(404, "not_found", "not_found_hint", what)


@dataclass
class PageCtx:
    """A console request: its database session, the frame, and the principal narrowed to the unit
    selected in the organisation tree (``account`` is the unnarrowed one)."""

    request: Request
    session: Session
    ui: Ui
    principal: Principal
    account: Principal

    def render(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return render(self.request, name, self.ui, status, **context)


def render(request: Request, name: str, ui: Ui, status: int = 200, **context: Any) -> HTMLResponse:
    context.update(ui=ui, version=__version__, settings=request.app.state.settings)
    return templates.TemplateResponse(request, name, context, status_code=status)


def _audit_denied(session: Session, principal: Principal, request: Request, permission: str) -> None:
    where = f"{request.method} {request.url.path}"[:200]
    audit.record(
        session, principal, "authz.denied", where, audit.DENIED, detail={"reason": f"needs {permission}"}
    )
    session.commit()


def console_page(permission: Permission = Permission.READ_DATA) -> Callable[..., PageCtx]:
    """A dependency for a console page that needs ``permission``."""

    def dependency(request: Request, session: Annotated[Session, Depends(get_session)]) -> PageCtx:
        principal: Principal | None = getattr(request.state, "principal", None)
        if principal is None:  # the middleware redirects first; kept for safety
            raise ConsoleError(403, "forbidden", "forbidden_hint")
        if not principal.can(permission):
            _audit_denied(session, principal, request, permission.value)
            hint = "forbidden_customer_hint" if principal.customer_no else "forbidden_hint"
            raise ConsoleError(403, "forbidden", hint, f"needs {permission.value}")
        ui = build_ui(request, session)
        if request.query_params.get("org_id") and ui.org is None:
            raise not_found(f"organisation {request.query_params.get('org_id')}")
        return PageCtx(request, session, ui, narrow(principal, ui.org), principal)

    dependency.__name__ = f"console_page_{permission.value}"
    return dependency


ReadPage = Annotated[PageCtx, Depends(console_page(Permission.READ_DATA))]
AlertsPage = Annotated[PageCtx, Depends(console_page(Permission.HANDLE_ALERTS))]
AuditPage = Annotated[PageCtx, Depends(console_page(Permission.VIEW_AUDIT))]
UsersPage = Annotated[PageCtx, Depends(console_page(Permission.MANAGE_USERS))]


def _error_page(request: Request, status: int, title_key: str, hint_key: str, detail: str) -> HTMLResponse:
    ui = build_ui(request)
    return render(
        request,
        "error.html",
        ui,
        status,
        status_code=status,
        title_key=title_key,
        hint_key=hint_key,
        detail=detail,
    )


async def _console_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ConsoleError)
    from anyio import to_thread

    return await to_thread.run_sync(_error_page, request, exc.status, exc.title_key, exc.hint_key, exc.detail)


async def _validation_error(request: Request, exc: Exception) -> Response:
    """Bad query parameters: the API keeps FastAPI's 422 JSON; a console page shows an error page."""
    assert isinstance(exc, RequestValidationError)
    if request.url.path.startswith("/api/"):
        return await request_validation_exception_handler(request, exc)
    from anyio import to_thread

    fields = ", ".join(".".join(str(p) for p in e.get("loc", ())[1:]) for e in exc.errors())
    return await to_thread.run_sync(_error_page, request, 422, "bad_request", "bad_request_hint", f"{fields}")


def install(app: FastAPI) -> None:
    """Error pages of the console and the language switch."""
    app.add_exception_handler(ConsoleError, _console_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_api_route("/lang/{code}", set_language, methods=["GET"], include_in_schema=False)


def set_language(request: Request, code: str, next: str = "/") -> Response:
    """Remember the console language (``lang`` cookie) and go back to the page."""
    from gridcare.web.login import _safe_next

    response = RedirectResponse(_safe_next(next), status_code=303)
    if code in LANGS:
        secure = "; Secure" if request.app.state.settings.tls_enabled else ""
        response.headers.append(
            "set-cookie",
            f"{LANG_COOKIE}={code}; Path=/; Max-Age={LANG_COOKIE_MAX_AGE}; SameSite=Strict{secure}",
        )
    return response
