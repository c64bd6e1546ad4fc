"""Authorisation checks that services call: function-group permission and organisation scope.

A missing permission raises :class:`PermissionDenied` (HTTP 403, audited by the API); an object outside
the principal's organisation scope is reported as not found (HTTP 404), exactly like a missing one, so
that no one can probe for objects of other units (no IDOR).
"""

from __future__ import annotations

from gridcare.security.principal import Principal


class PermissionDenied(PermissionError):
    """The principal lacks the permission (function group) the action needs."""

    def __init__(self, permission: str, message: str | None = None) -> None:
        super().__init__(message or f"permission {str(permission)!r} required")  # the value, not the enum
        self.permission = permission


class PendingAction(PermissionError):
    """The account must change its password or enrol two factors before doing anything else."""

    def __init__(self, pending: frozenset[str]) -> None:
        super().__init__("account action required first: " + ", ".join(sorted(pending)))
        self.pending = pending


class NotInScope(LookupError):
    """Not found, or outside the principal's organisation scope (the two are not told apart)."""


def require(principal: Principal, permission: str) -> Principal:
    """Return ``principal`` when it holds ``permission`` and has nothing pending, else raise."""
    if principal.pending:
        raise PendingAction(principal.pending)
    if not principal.can(permission):
        raise PermissionDenied(permission)
    return principal


def require_in_scope(principal: Principal, org_path: str | None, what: str) -> None:
    """Raise :class:`NotInScope` unless an object of the organisation at ``org_path`` is visible.
    Objects without an organisation are visible only to principals that see the whole tree."""
    if principal.sees_everything:
        return
    if org_path is None or not principal.in_scope(org_path):
        raise NotInScope(what)
