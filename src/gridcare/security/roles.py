"""Roles, function-group permissions and the separation of the three administrator roles (三员分立).

Authorisation is roles x permissions x organisation scope: a role grants function groups (reading data,
remote control, tariff management ...); the organisation the account belongs to limits which objects
those functions reach (``Principal.org_paths``).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Role(StrEnum):
    SYSTEM_ADMIN = "system_admin"  # 系统管理员: accounts, system settings
    SECURITY_ADMIN = "security_admin"  # 安全管理员: accounts' roles, security policy, risk warnings
    AUDIT_ADMIN = "audit_admin"  # 审计管理员: reviews the audit trail, also of the other two
    OPERATOR = "operator"  # 业务操作员: archives, remote control requests
    ANALYST = "analyst"  # 分析员: reads data
    MANAGER = "manager"  # 业务主管: approves, releases bills, tariffs, personal data
    CUSTOMER = "customer"  # 客户 (self-service): only the linked customer account


class Permission(StrEnum):
    """Function groups (OSGP style): a route or service needs exactly one of these."""

    READ_DATA = "read_data"
    EDIT_ARCHIVES = "edit_archives"
    RELEASE_BILLS = "release_bills"
    COLLECT_PAYMENTS = "collect_payments"  # 收费: post payments and refunds, import bank files
    MANAGE_TARIFFS = "manage_tariffs"
    REMOTE_CONTROL = "remote_control"
    EXPORT_PERSONAL_DATA = "export_personal_data"
    VIEW_AUDIT = "view_audit"
    MANAGE_USERS = "manage_users"
    HANDLE_ALERTS = "handle_alerts"


ROLE_LABELS: dict[Role, str] = {
    Role.SYSTEM_ADMIN: "系统管理员 System administrator",
    Role.SECURITY_ADMIN: "安全管理员 Security administrator",
    Role.AUDIT_ADMIN: "审计管理员 Audit administrator",
    Role.OPERATOR: "业务操作员 Operator",
    Role.ANALYST: "分析员 Analyst",
    Role.MANAGER: "业务主管 Manager",
    Role.CUSTOMER: "客户 Customer",
}

P = Permission
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.SYSTEM_ADMIN: frozenset({P.MANAGE_USERS}),
    Role.SECURITY_ADMIN: frozenset({P.MANAGE_USERS, P.HANDLE_ALERTS}),
    Role.AUDIT_ADMIN: frozenset({P.VIEW_AUDIT, P.HANDLE_ALERTS}),
    Role.OPERATOR: frozenset({P.READ_DATA, P.EDIT_ARCHIVES, P.REMOTE_CONTROL, P.COLLECT_PAYMENTS}),
    Role.ANALYST: frozenset({P.READ_DATA}),
    Role.MANAGER: frozenset(
        {
            P.READ_DATA,
            P.RELEASE_BILLS,
            P.COLLECT_PAYMENTS,
            P.MANAGE_TARIFFS,
            P.REMOTE_CONTROL,
            P.EXPORT_PERSONAL_DATA,
        }
    ),
    Role.CUSTOMER: frozenset(),
}

ADMIN_ROLES: frozenset[Role] = frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN})
"""The three administrator roles: no account holds two of them, and each needs two-factor login."""


class RoleConflict(ValueError):
    """A combination of roles that the separation of duties forbids; the message says which and why."""


def parse_roles(values: Iterable[str]) -> frozenset[Role]:
    """Role names -> roles; an unknown name raises ValueError naming it."""
    roles = set()
    for value in values:
        try:
            roles.add(Role(value))
        except ValueError:
            known = ", ".join(r.value for r in Role)
            raise ValueError(f"role: unknown role {value!r} (known: {known})") from None
    return frozenset(roles)


def check_role_combination(roles: Iterable[Role]) -> frozenset[Role]:
    """Return the roles if an account may hold them together, else raise :class:`RoleConflict`.

    三员分立: at most one of the three administrator roles, and an administrator holds no business role;
    a customer account holds only the customer role; every account holds at least one role.
    """
    held = frozenset(roles)
    if not held:
        raise RoleConflict("roles: an account needs at least one role")
    admins = held & ADMIN_ROLES
    if len(admins) > 1:
        names = " + ".join(sorted(r.value for r in admins))
        raise RoleConflict(f"roles: {names} may not be held by one account (三员分立 separation of duties)")
    if admins and held - admins:
        raise RoleConflict("roles: an administrator account holds no business role (三员分立)")
    if Role.CUSTOMER in held and len(held) > 1:
        raise RoleConflict("roles: a customer account holds only the customer role")
    return held


def permissions_of(roles: Iterable[Role]) -> frozenset[Permission]:
    """Union of the permissions the roles grant."""
    granted: set[Permission] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS[Role(role)]
    return frozenset(granted)


def needs_totp(roles: Iterable[Role], required_for_all: bool) -> bool:
    """Two-factor login: always for administrator roles; for other staff when the policy says so.
    Customer accounts use the customer login path and are not covered by the staff policy."""
    held = frozenset(roles)
    if held & ADMIN_ROLES:
        return True
    return required_for_all and Role.CUSTOMER not in held
