"""Declarative base shared by every room's SQL models.

The naming convention gives every constraint a stable name, so Alembic migrations behave the same on
SQLite (batch mode) and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of all gridcare tables."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def personal(**kwargs: object) -> dict[str, object]:
    """Column ``info`` marking personal data (encrypted at rest and masked by the security layer)."""
    return {"personal_data": True, **kwargs}
