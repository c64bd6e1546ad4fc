"""FastAPI dependencies: database session and the acting principal, as ``Annotated`` aliases.

Every API route is either public (no principal dependency: health, login) or depends on one of:

- ``CurrentPrincipal`` (:func:`get_principal`): a logged-in account holding ``read_data`` — the baseline
  of every business route; services then check their own function group (``release_bills``,
  ``remote_control`` ...) with :func:`gridcare.security.authz.require` and scope their queries;
- ``Requires(Permission.X)``: a logged-in account holding permission X (admin and audit routes);
- ``AccountPrincipal``: any logged-in account, even one that must first change its password (its own
  account pages only).

No login -> 401; a missing permission -> 403 (audited); an object outside the organisation scope -> 404.
:func:`route_requirement` tells which applies to a route (used by the route x role test matrix).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cache
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Query, Request
from sqlalchemy.orm import Session

from gridcare.config import Settings
from gridcare.security.authz import require
from gridcare.security.principal import Principal
from gridcare.security.roles import Permission
from gridcare.storage.database import Database


def get_database(request: Request) -> Database:
    db: Database = request.app.state.database
    return db


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(db: Annotated[Database, Depends(get_database)]) -> Iterator[Session]:
    """One session per request; the route's service decides when to commit."""
    with db.sessions() as session:
        yield session


def get_account_principal(request: Request) -> Principal:
    """The logged-in account (set by the security middleware from the session token), else 401."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        raise HTTPException(
            status_code=401,
            detail="not logged in 未登录",
            headers={"WWW-Authenticate": 'Bearer realm="gridcare"'},
        )
    return principal


ACCOUNT_ONLY = "account"
"""Requirement of routes open to any logged-in account (see :func:`route_requirement`)."""

_REQUIREMENTS: dict[Callable[..., Any], str] = {get_account_principal: ACCOUNT_ONLY}


@cache
def requires(permission: Permission) -> Callable[[Request], Principal]:
    """A dependency: the logged-in principal, which must hold ``permission`` (else 403, audited)."""

    def dependency(request: Request) -> Principal:
        return require(get_account_principal(request), permission)

    dependency.__name__ = f"requires_{permission.value}"
    _REQUIREMENTS[dependency] = permission.value
    return dependency


def get_principal(request: Request) -> Principal:
    """The acting principal of a business route: logged in and holding ``read_data``."""
    return require(get_account_principal(request), Permission.READ_DATA)


_REQUIREMENTS[get_principal] = Permission.READ_DATA.value


def Requires(permission: Permission) -> Any:
    """``principal: Annotated[Principal, Requires(Permission.VIEW_AUDIT)]``."""
    return Depends(requires(permission))


def route_requirement(route: Any) -> set[str] | None:
    """What a route needs: None when public, else the set of permissions its dependencies require
    (:data:`ACCOUNT_ONLY` for "any logged-in account")."""
    found: set[str] = set()

    def walk(dependant: Any) -> None:
        for dep in dependant.dependencies:
            if dep.call in _REQUIREMENTS:
                found.add(_REQUIREMENTS[dep.call])
            walk(dep)

    walk(route.dependant)
    if not found:
        return None
    if len(found) > 1:
        found.discard(ACCOUNT_ONLY)
    return found


SessionDep = Annotated[Session, Depends(get_session)]
DatabaseDep = Annotated[Database, Depends(get_database)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
AccountPrincipal = Annotated[Principal, Depends(get_account_principal)]


MAX_ID = 2**63 - 1  # database integer keys are signed 64-bit
ObjectId = Annotated[int, Path(ge=1, le=MAX_ID, description="object id")]
"""A path parameter naming a row by its integer id (out-of-range ids are a 422, not a database error)."""
MAX_PAGE = 1_000_000
PageNo = Annotated[int, Query(ge=1, le=MAX_PAGE, description="1-based page number")]
"""A page number of a paged list."""
