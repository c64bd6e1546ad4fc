"""The console frame around every page: top bar (user, role, language, logout), organisation tree, navigation.

:func:`build_ui` makes the :class:`Ui` a template needs. Pages of this package build it in their route
(:func:`gridcare.web.console.console_page`); templates of other rooms that extend ``base.html`` get it from
the ``console_ui(request)`` template global, so they need not pass anything.

The tree lists only the organisations in the account's scope. Selecting a unit adds ``org_id`` to the page's
query; :func:`narrow` turns that into a principal whose scope is that subtree, so every scoped service
(archives, KPIs, MDM results, alerts) filters by it without knowing about the tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from gridcare.archives.models import Organisation
from gridcare.archives.queries import list_organisations
from gridcare.security.models import User
from gridcare.security.principal import Principal
from gridcare.security.roles import ROLE_LABELS, Permission, Role
from gridcare.web.i18n import enum_label, label, lang_of

LIST_PAGES = (
    "/areas",
    "/customers",
    "/terminals",
    "/alerts",
    "/billing",
    "/audit",
    "/users",
    "/mdm/quality",
    "/mdm/lineloss",
)
"""Pages whose detail pages ("/customers/0001") send the tree back to the list ("/customers")."""

NAV: tuple[tuple[str, str, str], ...] = (
    ("home", "/", Permission.READ_DATA),
    ("areas", "/areas", Permission.READ_DATA),
    ("customers", "/customers", Permission.READ_DATA),
    ("terminals", "/terminals", Permission.READ_DATA),
    ("quality", "/mdm/quality", Permission.READ_DATA),
    ("lineloss", "/mdm/lineloss", Permission.READ_DATA),
    ("billing", "/billing", Permission.READ_DATA),
    ("alerts", "/alerts", Permission.HANDLE_ALERTS),
    ("audit", "/audit", Permission.VIEW_AUDIT),
    ("users", "/users", Permission.MANAGE_USERS),
)
"""(label key, path, permission): a link shows only to accounts holding the permission."""


@dataclass(frozen=True)
class OrgNode:
    id: int
    code: str
    name: str
    depth: int
    selected: bool
    url: str


@dataclass(frozen=True)
class NavItem:
    key: str
    title: str
    url: str
    active: bool


@dataclass
class Ui:
    """What ``base.html`` shows around a page, and the label helpers of the page's language."""

    lang: str
    path: str
    csrf_token: str
    principal: Principal | None = None
    user_name: str = ""
    role_label: str = ""
    home_org: str = ""
    orgs: list[OrgNode] = field(default_factory=list)
    org: Organisation | None = None
    nav: list[NavItem] = field(default_factory=list)
    query: dict[str, str] = field(default_factory=dict)

    def t(self, key: str) -> str:
        return label(key, self.lang)

    def e(self, value: object) -> str:
        """Label of an enum value ("residential" -> "居民生活")."""
        return enum_label(value, self.lang)

    def pick(self, text: str) -> str:
        """The half of a "中文 English" label in this language ("高损 high loss" -> "高损" / "high loss")."""
        zh, _, en = text.partition(" ")
        return (en or zh) if self.lang == "en" else zh

    def bi(self, key: str) -> str:
        """Chinese label with the English one after it, for headings in the Chinese console."""
        return label(key, "zh") if self.lang == "en" else label(key, "en")

    @property
    def org_id(self) -> int | None:
        return self.org.id if self.org is not None else None

    def url(self, path: str, **params: Any) -> str:
        """``path`` with ``params`` (None values dropped) and the selected organisation."""
        query = {k: str(v) for k, v in params.items() if v is not None and v != ""}
        if self.org is not None and "org_id" not in params:
            query["org_id"] = str(self.org.id)
        return path + ("?" + urlencode(query) if query else "")

    def here(self, **params: Any) -> str:
        """This page with some query parameters changed (None removes one); used by pagers and filters."""
        query = dict(self.query)
        for key, value in params.items():
            if value is None or value == "":
                query.pop(key, None)
            else:
                query[key] = str(value)
        return self.path + ("?" + urlencode(query) if query else "")

    def all_units_url(self) -> str:
        """The tree's "all units" entry: this list page without ``org_id``."""
        base = tree_base(self.path)
        keep = _keep(self.query) if base == self.path else {}
        return base + ("?" + urlencode(keep) if keep else "")

    def lang_switch_url(self) -> str:
        other = "en" if self.lang == "zh" else "zh"
        target = self.here(lang=None)
        return f"/lang/{other}?" + urlencode({"next": target})


def role_label(roles: frozenset[str], lang: str) -> str:
    names = []
    for role in sorted(roles):
        try:
            text = ROLE_LABELS[Role(role)]
        except ValueError:
            names.append(role)
            continue
        zh, _, en = text.partition(" ")
        names.append(en if lang == "en" else zh)
    return (", " if lang == "en" else "、").join(names)


def tree_base(path: str) -> str:
    """The page the organisation tree links to from ``path``: the list page it belongs to, else the page."""
    for page in sorted(LIST_PAGES, key=len, reverse=True):
        if path == page or path.startswith(page + "/"):
            return page
    return path if path == "/" else "/"


def narrow(principal: Principal, org: Organisation | None) -> Principal:
    """``principal`` limited to the subtree of ``org`` (which must be in its scope)."""
    if org is None:
        return principal
    if principal.sees_everything and org.parent_id is None:
        return principal
    return replace(principal, org_paths=(org.path,))


def _keep(query: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in query.items() if k not in ("org_id", "page")}


def _org_id(request: Request) -> int | None:
    raw = request.query_params.get("org_id", "")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 2**63 else None


def build_ui(request: Request, session: Session | None = None) -> Ui:
    """The frame of the page answering ``request`` (queries the organisations in scope)."""
    lang = lang_of(request)
    path = request.url.path
    query = {k: v for k, v in request.query_params.items() if k != "lang"}
    ui = Ui(lang=lang, path=path, csrf_token=getattr(request.state, "csrf_token", ""), query=query)
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None or principal.pending:  # the login pages: no frame until the account is ready
        return ui
    ui.principal = principal
    ui.role_label = role_label(principal.roles, lang)
    if session is None:
        with request.app.state.database.sessions() as own:
            _fill(ui, own, principal, request)
    else:
        _fill(ui, session, principal, request)
    return ui


def _fill(ui: Ui, session: Session, principal: Principal, request: Request) -> None:
    name = ""
    if principal.user_id is not None:
        name = session.scalar(select(User.display_name).where(User.id == principal.user_id)) or ""
    ui.user_name = name or principal.username
    orgs = list(list_organisations(session, principal)) if principal.org_paths else []
    wanted = _org_id(request)
    ui.org = next((o for o in orgs if o.id == wanted), None)
    top = min((o.path.count("/") for o in orgs), default=0)
    base = tree_base(ui.path)
    keep = _keep(ui.query) if base == ui.path else {}
    for o in orgs:
        if o.id == principal.org_id:
            ui.home_org = o.name
        params = {**keep, "org_id": str(o.id)}
        ui.orgs.append(
            OrgNode(
                id=o.id,
                code=o.code,
                name=o.name,
                depth=o.path.count("/") - top,
                selected=ui.org is not None and o.id == ui.org.id,
                url=base + "?" + urlencode(params),
            )
        )
    for key, href, permission in NAV:
        if principal.can(permission):
            active = ui.path == href if href == "/" else ui.path == href or ui.path.startswith(href + "/")
            ui.nav.append(NavItem(key, label(key, ui.lang), ui.url(href), active))
