"""What every self-service page shares: the page dependency (a customer session, the owner's 户), the
frame (``my/base.html``: the customer's name, navigation, language, logout), labels and error pages.

The security middleware sends a visitor without a session to /my/login (and one that must change the
password to /my/login/password). :func:`my_page` then refuses a staff session with a 403 page, audited
like every refusal of the console; the customer's own data is reached only through :class:`Owner`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from gridcare import __version__
from gridcare.api.deps import get_session
from gridcare.security import audit
from gridcare.security.principal import Principal
from gridcare.timeutil import now_beijing
from gridcare.web.i18n import ENUM_LABELS, LABELS, lang_of
from gridcare.web.my.account import Owner, owner_of
from gridcare.web.my.labels import MY_ENUMS, MY_LABELS
from gridcare.web.pages import templates

MY = "/my"
NAV = (
    ("nav_overview", MY),
    ("nav_bills", f"{MY}/bills"),
    ("nav_payments", f"{MY}/payments"),
    ("nav_usage", f"{MY}/usage"),
)


class PortalError(Exception):
    """Answered with the self-service error page: ``status`` and the labels of its title and hint."""

    def __init__(self, status: int, title_key: str, hint_key: str) -> None:
        super().__init__(title_key)
        self.status, self.title_key, self.hint_key = status, title_key, hint_key


def not_found() -> PortalError:
    return PortalError(404, "not_found", "not_found_hint")


def _pair(key: str, lang: str, *tables: dict[str, tuple[str, str]]) -> str | None:
    for table in tables:
        if key in table:
            zh, en = table[key]
            return en if lang == "en" else zh
    return None


@dataclass
class MyUi:
    """The frame of a self-service page and the label helpers of its language."""

    lang: str
    path: str
    csrf_token: str
    query: dict[str, str] = field(default_factory=dict)
    principal: Principal | None = None
    customer_no: str = ""
    customer_name: str = ""

    def t(self, key: str) -> str:
        found = _pair(key, self.lang, MY_LABELS, LABELS)
        return key if found is None else found

    def e(self, value: object) -> str:
        """Label of a code ("overdue" -> "已逾期"); unknown codes show as they are."""
        key = str(getattr(value, "value", value))
        found = _pair(key, self.lang, MY_ENUMS, ENUM_LABELS)
        return key if found is None else found

    def pick(self, text: str) -> str:
        """The half of a "中文 English" text in this language ("电度电费 energy" -> "电度电费")."""
        zh, _, en = text.partition(" ")
        return (en or zh) if self.lang == "en" else zh

    def price(self, value: Decimal | None) -> str:
        """A unit price [yuan/kWh] exactly, with at least two decimals (0.3 -> "0.30", 0.5283 -> "0.5283")."""
        if value is None:
            return "—"
        return f"{value:.2f}" if value == value.quantize(Decimal("0.01")) else f"{value.normalize():f}"

    @property
    def nav(self) -> list[tuple[str, str, bool]]:
        """(label, url, active) of the navigation; a bill's page belongs to the bills."""
        items = []
        for key, url in NAV:
            active = self.path == url or (url != MY and self.path.startswith(url + "/"))
            items.append((self.t(key), url, active))
        return items

    def lang_switch_url(self) -> str:
        other = "en" if self.lang == "zh" else "zh"
        query = {k: v for k, v in self.query.items() if k != "lang"}
        target = self.path + ("?" + urlencode(query) if query else "")
        return f"/lang/{other}?" + urlencode({"next": target})


def build_ui(request: Request, owner: Owner | None = None) -> MyUi:
    ui = MyUi(
        lang=lang_of(request),
        path=request.url.path,
        csrf_token=getattr(request.state, "csrf_token", ""),
        query=dict(request.query_params),
        principal=getattr(request.state, "principal", None),
    )
    if owner is not None:
        ui.customer_no, ui.customer_name = owner.customer.customer_no, owner.customer.name
    return ui


def render(request: Request, name: str, ui: MyUi, status: int = 200, **context: Any) -> HTMLResponse:
    context.update(ui=ui, version=__version__, settings=request.app.state.settings, now=now_beijing())
    return templates.TemplateResponse(request, name, context, status_code=status)


@dataclass
class MyCtx:
    """A self-service request: its database session, the frame and the owner (the customer's own 户)."""

    request: Request
    session: Session
    ui: MyUi
    owner: Owner

    def render(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return render(self.request, name, self.ui, status, **context)


def _refuse(session: Session, principal: Principal, request: Request) -> None:
    """Audit a staff session's request for a customer page (as the console audits its refusals)."""
    where = f"{request.method} {request.url.path}"[:200]
    detail = {"reason": "customer self-service pages: customer accounts only"}
    audit.record(session, principal, "authz.denied", where, audit.DENIED, detail=detail)
    session.commit()


def _owner(request: Request, session: Session) -> Owner | None:
    """The owner of the session; None (after auditing the refusal) for a staff session."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:  # the middleware redirects first; kept for safety
        return None
    owner = owner_of(session, principal)
    if owner is None:
        _refuse(session, principal, request)
    return owner


def my_page(request: Request, session: Annotated[Session, Depends(get_session)]) -> MyCtx:
    """Dependency of a self-service page: a customer session (else the 403 page, audited)."""
    owner = _owner(request, session)
    if owner is None:
        raise PortalError(403, "forbidden", "forbidden_hint")
    return MyCtx(request, session, build_ui(request, owner), owner)


def my_data(request: Request, session: Annotated[Session, Depends(get_session)]) -> MyCtx:
    """Dependency of a self-service JSON route: like :func:`my_page`, refusals as JSON 403."""
    owner = _owner(request, session)
    if owner is None:
        raise HTTPException(403, detail="customer accounts only 仅限客户账号")
    return MyCtx(request, session, build_ui(request, owner), owner)


MyPage = Annotated[MyCtx, Depends(my_page)]
MyData = Annotated[MyCtx, Depends(my_data)]


def _error_page(request: Request, exc: PortalError) -> HTMLResponse:
    ui = build_ui(request)
    context = {"status_code": exc.status, "title_key": exc.title_key, "hint_key": exc.hint_key}
    return render(request, "my/error.html", ui, exc.status, **context)


async def _portal_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PortalError)
    from anyio import to_thread

    return await to_thread.run_sync(_error_page, request, exc)


def install(app: FastAPI) -> None:
    app.add_exception_handler(PortalError, _portal_error)
