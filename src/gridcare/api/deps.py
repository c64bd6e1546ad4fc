"""FastAPI dependencies: database session and the acting principal, as ``Annotated`` aliases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from gridcare.config import Settings
from gridcare.security.principal import SYSTEM, Principal
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


def get_principal(request: Request) -> Principal:
    """The acting principal. Until accounts exist (security issue) the dev profile acts with full scope;
    every route already passes it to its service so the scope checks have one place to live."""
    principal: Principal = getattr(request.state, "principal", SYSTEM)
    return principal


SessionDep = Annotated[Session, Depends(get_session)]
DatabaseDep = Annotated[Database, Depends(get_database)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
