"""Who is acting, and which part of the organisation tree they may see.

Every service call takes a :class:`Principal`. The security issue fills in real accounts, roles and
permissions; the shape (an organisation scope on every query) is fixed here so that no query is written
without it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Principal:
    """An acting user. ``org_paths`` are the organisation subtrees (materialised paths, "/1/4/") in scope;
    "/" means the whole company."""

    username: str
    org_paths: tuple[str, ...] = ("/",)
    permissions: frozenset[str] = field(default_factory=frozenset)

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
