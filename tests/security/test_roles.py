"""Roles x permissions, and the separation of the three administrator roles (三员分立) in the service
and in the database."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from gridcare.config import Settings
from gridcare.security import accounts
from gridcare.security.authz import PermissionDenied
from gridcare.security.models import UserRole
from gridcare.security.principal import SYSTEM
from gridcare.security.roles import (
    ADMIN_ROLES,
    ROLE_PERMISSIONS,
    Permission,
    Role,
    RoleConflict,
    check_role_combination,
    needs_totp,
    permissions_of,
)
from gridcare.storage.database import Database
from tests.security.helpers import make_staff, principal_of


@pytest.mark.parametrize(
    "roles",
    [
        {Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN},
        {Role.SYSTEM_ADMIN, Role.AUDIT_ADMIN},
        {Role.SECURITY_ADMIN, Role.AUDIT_ADMIN},
        {Role.AUDIT_ADMIN, Role.OPERATOR},
        {Role.CUSTOMER, Role.ANALYST},
        set(),
    ],
)
def test_forbidden_combinations(roles: set[Role]) -> None:
    with pytest.raises(RoleConflict):
        check_role_combination(roles)


def test_allowed_combinations_and_permissions() -> None:
    assert check_role_combination({Role.OPERATOR, Role.ANALYST}) == {Role.OPERATOR, Role.ANALYST}
    assert permissions_of({Role.OPERATOR, Role.ANALYST}) == {
        Permission.READ_DATA,
        Permission.EDIT_ARCHIVES,
        Permission.REMOTE_CONTROL,
        Permission.COLLECT_PAYMENTS,  # a counter cashier (收费员) posts payments without releasing bills
    }
    assert Permission.RELEASE_BILLS not in permissions_of({Role.OPERATOR})
    assert permissions_of({Role.AUDIT_ADMIN}) == {Permission.VIEW_AUDIT, Permission.HANDLE_ALERTS}
    assert permissions_of({Role.CUSTOMER}) == frozenset()
    # no administrator reads business data, and only the auditor reads the audit trail
    for role in ADMIN_ROLES:
        assert Permission.READ_DATA not in ROLE_PERMISSIONS[role]
    assert {r for r, p in ROLE_PERMISSIONS.items() if Permission.VIEW_AUDIT in p} == {Role.AUDIT_ADMIN}
    assert needs_totp({Role.AUDIT_ADMIN}, False)
    assert not needs_totp({Role.OPERATOR}, False)
    assert needs_totp({Role.OPERATOR}, True)
    assert not needs_totp({Role.CUSTOMER}, True)


def test_service_refuses_a_second_admin_role(settings: Settings, archive: Database) -> None:
    admin = make_staff(archive, settings, "sysadmin", ["system_admin"])
    with archive.sessions() as session:
        with pytest.raises(RoleConflict, match="三员分立"):
            accounts.set_roles(session, SYSTEM, admin.id, ["system_admin", "audit_admin"])
        with pytest.raises(RoleConflict):
            accounts.create_staff(session, SYSTEM, "both", ["security_admin", "audit_admin"], "C01", settings)


def test_database_refuses_a_second_admin_role(settings: Settings, archive: Database) -> None:
    admin = make_staff(archive, settings, "sysadmin", ["system_admin"])
    with archive.engine.connect() as conn:
        with pytest.raises(IntegrityError):
            conn.execute(insert(UserRole.__table__).values(user_id=admin.id, role="audit_admin"))
        conn.rollback()
        # business roles are not caught by the index (the service refuses those)
        conn.execute(insert(UserRole.__table__).values(user_id=admin.id, role="analyst"))
        conn.rollback()


def test_admin_roles_only_from_the_server(settings: Settings, archive: Database) -> None:
    sec = principal_of(archive, settings, make_staff(archive, settings, "secadmin", ["security_admin"]))
    analyst = make_staff(archive, settings, "analyst1", ["analyst"])
    with archive.sessions() as session:
        with pytest.raises(PermissionDenied, match="gridcare admin"):
            accounts.create_staff(session, sec, "sys2", ["system_admin"], "C01", settings)
        with pytest.raises(PermissionDenied):
            accounts.set_roles(session, sec, analyst.id, ["audit_admin"])
        with pytest.raises(PermissionDenied, match="own roles"):
            accounts.set_roles(session, sec, sec.user_id or 0, ["security_admin"])
        user = accounts.set_roles(session, sec, analyst.id, ["analyst", "operator"])
        session.commit()
        assert set(session.scalars(select(UserRole.role).where(UserRole.user_id == user.id))) == {
            Role.ANALYST,
            Role.OPERATOR,
        }


def test_user_management_is_scoped(settings: Settings, archive: Database) -> None:
    """A station's security admin sees and changes only the station's accounts."""
    station_admin = principal_of(
        archive, settings, make_staff(archive, settings, "sec-a", ["security_admin"], "S010101")
    )
    mine = make_staff(archive, settings, "op-a", ["operator"], "S010101")
    theirs = make_staff(archive, settings, "op-b", ["operator"], "S010102")
    with archive.sessions() as session:
        users, total = accounts.list_users(session, station_admin)
        assert [u.username for u in users] == ["op-a", "sec-a"] and total == 2
        assert accounts.get_user(session, station_admin, mine.id).username == "op-a"
        with pytest.raises(LookupError):
            accounts.get_user(session, station_admin, theirs.id)
        with pytest.raises(accounts.AccountError, match="org"):
            accounts.create_staff(session, station_admin, "op-b2", ["operator"], "S010102", settings)
        analyst = principal_of(archive, settings, make_staff(archive, settings, "ana", ["analyst"]))
        with pytest.raises(PermissionDenied):
            accounts.list_users(session, analyst)
