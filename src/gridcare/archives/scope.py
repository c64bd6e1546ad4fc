"""Organisation scope as SQL: restrict any archive query to the principal's subtrees."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute

from gridcare.archives.models import Organisation
from gridcare.security.principal import Principal

OrgColumn = ColumnElement[int] | InstrumentedAttribute[int]
"""A column holding an organisation id."""


def org_ids_in_scope(principal: Principal) -> ColumnElement[bool] | None:
    """A WHERE clause on ``Organisation`` rows in scope, or None when the principal sees everything."""
    if principal.sees_everything:
        return None
    return or_(*(Organisation.path.startswith(p) for p in principal.org_paths))


def scoped(org_id_column: OrgColumn, principal: Principal) -> ColumnElement[bool]:
    """``org_id_column IN (organisations in scope)``; TRUE when the principal sees everything."""
    clause = org_ids_in_scope(principal)
    if clause is None:
        return true()
    return org_id_column.in_(select(Organisation.id).where(clause))


def subtree(org_id_column: OrgColumn, org_path: str) -> ColumnElement[bool]:
    """``org_id_column`` belongs to the organisation at ``org_path`` or any unit below it."""
    return org_id_column.in_(select(Organisation.id).where(Organisation.path.startswith(org_path)))
