"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import text

from gridcare import __version__
from gridcare.api.deps import DatabaseDep, SettingsDep
from gridcare.storage import migrate

router = APIRouter(tags=["health"])


@router.get("/health")
def health(db: DatabaseDep, settings: SettingsDep) -> dict[str, Any]:
    """Answers 200 when the database answers; reports the schema revision."""
    with db.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return {
        "status": "ok",
        "version": __version__,
        "profile": settings.profile,
        "database": db.engine.dialect.name,
        "schema_revision": migrate.current_revision(db.engine),
    }
