"""Who is acting, and which part of the organisation tree they may see.

Every service call takes a :class:`Principal`. A logged-in account becomes a principal through
:mod:`gridcare.security.sessions` (roles -> permissions, organisation -> ``org_paths``); the shape (an
organisation scope on every query) is fixed here so that no query is written without it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Principal:
    """An acting user. ``org_paths`` are the organisation subtrees (materialised paths, "/1/4/") in scope;
    "/" means the whole company; an empty tuple means no organisation (a customer account, which sees
    only its own ``customer_no``).

    ``pending`` lists what the account must do before it may use anything but its own account pages:
    ``"change_password"`` (one-time or expired password) and ``"enrol_totp"`` (two factors required but
    not set up yet).
    """

    username: str
    org_paths: tuple[str, ...] = ("/",)
    permissions: frozenset[str] = field(default_factory=frozenset)
    user_id: int | None = None
    roles: frozenset[str] = field(default_factory=frozenset)
    org_id: int | None = None
    customer_no: str | None = None
    session_id: int | None = None
    pending: frozenset[str] = field(default_factory=frozenset)
    source_address: str | None = None

    @property
    def sees_everything(self) -> bool:
        return "/" in self.org_paths

    def can(self, permission: str) -> bool:
        return "*" in self.permissions or permission in self.permissions

    def in_scope(self, org_path: str) -> bool:
        """True when an object of the organisation at ``org_path`` is visible to this principal."""
        return any(org_path.startswith(p) for p in self.org_paths)


SYSTEM = Principal(username="system", org_paths=("/",), permissions=frozenset({"*"}))
"""The platform itself (schedulers, CLI run by the operator on the server)."""
