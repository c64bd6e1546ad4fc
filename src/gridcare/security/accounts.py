"""Accounts: creation with a one-time password, roles under the separation of duties, disabling,
unlocking and resets. There are no default accounts: the first administrator is made with
``gridcare admin create`` on the server.

Every change needs ``manage_users`` and a target inside the actor's organisation scope; the three
administrator roles are granted only by the platform itself (the CLI acting as ``SYSTEM``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gridcare.archives.models import Customer, Organisation
from gridcare.config import Settings
from gridcare.security import audit, totp
from gridcare.security.authz import NotInScope, PermissionDenied, require, require_in_scope
from gridcare.security.models import AccountKind, User, UserRole
from gridcare.security.passwords import generate_password, hash_password
from gridcare.security.principal import Principal
from gridcare.security.roles import ADMIN_ROLES, Permission, Role, check_role_combination, needs_totp
from gridcare.security.sessions import revoke_user_sessions, roles_of
from gridcare.timeutil import now_beijing, to_beijing

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{2,63}$")


class AccountError(ValueError):
    """Bad input for an account change; the message names the field and the reason."""


@dataclass(frozen=True)
class NewCredentials:
    """What the new account holder receives once: a one-time password (to be changed at first login)
    and, for two-factor accounts, the ``otpauth://`` URI to load into an authenticator app."""

    user: User
    one_time_password: str
    totp_uri: str | None


def check_username(username: str) -> str:
    if not USERNAME.match(username):
        raise AccountError(
            "username: 3-64 characters, letters, digits and _ . @ - (starting with a letter or digit)"
        )
    return username


def _org_path(session: Session, org_id: int | None) -> str | None:
    if org_id is None:
        return None
    return session.scalar(select(Organisation.path).where(Organisation.id == org_id))


def user_org_path(session: Session, user: User) -> str | None:
    """The organisation path an account belongs to (a customer account: its customer's)."""
    if user.kind == AccountKind.CUSTOMER:
        org_id = session.scalar(select(Customer.org_id).where(Customer.id == user.customer_id))
        return _org_path(session, org_id)
    return _org_path(session, user.org_id)


def _check_actor(actor: Principal) -> None:
    require(actor, Permission.MANAGE_USERS)


def _check_grant(actor: Principal, roles: Iterable[Role]) -> None:
    if set(roles) & ADMIN_ROLES and not actor.can("*"):
        raise PermissionDenied(
            "manage_users", "administrator roles are granted only with `gridcare admin` on the server"
        )


def get_user(session: Session, actor: Principal, user_id: int) -> User:
    """An account inside the actor's scope (needs manage_users); NotInScope otherwise."""
    _check_actor(actor)
    user = session.get(User, user_id)
    if user is None:
        raise NotInScope(f"user {user_id}")
    require_in_scope(actor, user_org_path(session, user), f"user {user_id}")
    return user


def list_users(
    session: Session, actor: Principal, page: int = 1, page_size: int = 50
) -> tuple[Sequence[User], int]:
    """Accounts in the actor's scope, by username."""
    from gridcare.archives.scope import scoped

    _check_actor(actor)
    stmt = select(User).order_by(User.username)
    if not actor.sees_everything:
        customer_orgs = select(Customer.id).where(scoped(Customer.org_id, actor))
        stmt = stmt.where(
            (User.kind == AccountKind.STAFF) & scoped(User.org_id, actor)  # type: ignore[arg-type]
            | (User.kind == AccountKind.CUSTOMER) & User.customer_id.in_(customer_orgs)
        )
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    page_size = max(1, min(page_size, 500))
    return session.scalars(stmt.limit(page_size).offset((max(page, 1) - 1) * page_size)).all(), total


def _new_user(
    session: Session,
    actor: Principal,
    username: str,
    kind: AccountKind,
    roles: frozenset[Role],
    settings: Settings,
    *,
    org_id: int | None,
    customer_id: int | None,
    display_name: str,
    now: datetime,
) -> NewCredentials:
    check_username(username)
    if session.scalar(select(User.id).where(func.lower(User.username) == username.lower())) is not None:
        raise AccountError(f"username: {username!r} is taken")
    password = generate_password()
    user = User(
        username=username,
        display_name=display_name[:100],
        kind=kind,
        org_id=org_id,
        customer_id=customer_id,
        password_hash=hash_password(password),
        password_changed_at=now,
        must_change_password=True,
        totp_confirmed=False,
        failed_attempts=0,
        disabled=False,
        created_at=now,
        created_by=actor.username,
    )
    uri = None
    if needs_totp(roles, settings.totp_required_for_all):
        secret = totp.new_secret()
        user.totp_secret, user.totp_confirmed = secret, True
        uri = totp.provisioning_uri(secret, username)
    session.add(user)
    session.flush()
    session.add_all(UserRole(user_id=user.id, role=r) for r in sorted(roles))
    session.flush()
    audit.record(
        session,
        actor,
        "user.create",
        f"user {username}",
        detail={"roles": sorted(r.value for r in roles), "kind": kind.value, "org_id": org_id},
        now=now,
    )
    return NewCredentials(user=user, one_time_password=password, totp_uri=uri)


def create_staff(
    session: Session,
    actor: Principal,
    username: str,
    roles: Iterable[Role | str],
    org_code: str,
    settings: Settings,
    display_name: str = "",
    now: datetime | None = None,
) -> NewCredentials:
    """Create an internal account in organisation ``org_code``. The caller commits."""
    _check_actor(actor)
    held = check_role_combination(Role(r) for r in roles)
    if Role.CUSTOMER in held:
        raise AccountError("roles: customer accounts are created with create_customer_account")
    _check_grant(actor, held)
    org = session.scalar(select(Organisation).where(Organisation.code == org_code))
    if org is None:
        raise AccountError(f"org: no organisation with code {org_code!r}")
    try:
        require_in_scope(actor, org.path, f"organisation {org_code}")
    except NotInScope:
        raise AccountError(f"org: no organisation with code {org_code!r}") from None
    return _new_user(
        session,
        actor,
        username,
        AccountKind.STAFF,
        held,
        settings,
        org_id=org.id,
        customer_id=None,
        display_name=display_name,
        now=to_beijing(now or now_beijing()),
    )


def create_customer_account(
    session: Session,
    actor: Principal,
    username: str,
    customer_no: str,
    settings: Settings,
    now: datetime | None = None,
) -> NewCredentials:
    """Create the self-service account of customer ``customer_no`` (one per customer)."""
    _check_actor(actor)
    customer = session.scalar(select(Customer).where(Customer.customer_no == customer_no))
    path = _org_path(session, customer.org_id) if customer else None
    if customer is None or not (actor.sees_everything or (path and actor.in_scope(path))):
        raise AccountError(f"customer_no: no customer {customer_no!r}")
    if session.scalar(select(User.id).where(User.customer_id == customer.id)) is not None:
        raise AccountError(f"customer_no: customer {customer_no} already has an account")
    return _new_user(
        session,
        actor,
        username,
        AccountKind.CUSTOMER,
        frozenset({Role.CUSTOMER}),
        settings,
        org_id=None,
        customer_id=customer.id,
        display_name=customer.name,
        now=to_beijing(now or now_beijing()),
    )


def set_roles(session: Session, actor: Principal, user_id: int, roles: Iterable[Role | str]) -> User:
    """Replace an account's roles (the separation of duties is checked; not one's own account)."""
    user = get_user(session, actor, user_id)
    if user.id == actor.user_id:
        raise PermissionDenied("manage_users", "an account may not change its own roles")
    held = check_role_combination(Role(r) for r in roles)
    current = roles_of(session, user.id)
    if (Role.CUSTOMER in held) != (user.kind == AccountKind.CUSTOMER):
        raise AccountError("roles: the customer role belongs to customer accounts only")
    _check_grant(actor, (held - current) | (current - held))
    for row in session.scalars(select(UserRole).where(UserRole.user_id == user.id)):
        if row.role not in held:
            session.delete(row)
    session.flush()
    session.add_all(UserRole(user_id=user.id, role=r) for r in sorted(held - current))
    session.flush()
    audit.record(
        session, actor, "user.roles", f"user {user.username}", detail={"roles": sorted(r.value for r in held)}
    )
    return user


def set_disabled(session: Session, actor: Principal, user_id: int, disabled: bool) -> User:
    """Disable an account (its sessions end at once) or enable it again."""
    user = get_user(session, actor, user_id)
    if user.id == actor.user_id:
        raise PermissionDenied("manage_users", "an account may not disable or enable itself")
    user.disabled = disabled
    if disabled:
        revoke_user_sessions(session, user.id, "disabled")
    else:
        user.failed_attempts, user.locked_until = 0, None
    audit.record(session, actor, "user.disable" if disabled else "user.enable", f"user {user.username}")
    return user


def unlock(session: Session, actor: Principal, user_id: int) -> User:
    """Lift a lockout before it runs out."""
    user = get_user(session, actor, user_id)
    user.failed_attempts, user.locked_until = 0, None
    audit.record(session, actor, "user.unlock", f"user {user.username}")
    return user


def reset_password(session: Session, actor: Principal, user_id: int) -> str:
    """Give the account a new one-time password (returned once) and end its sessions."""
    user = get_user(session, actor, user_id)
    if user.id == actor.user_id:
        raise PermissionDenied("manage_users", "change your own password with your current one")
    password = generate_password()
    user.password_hash = hash_password(password)
    user.password_changed_at = now_beijing()
    user.must_change_password = True
    user.failed_attempts, user.locked_until = 0, None
    revoke_user_sessions(session, user.id, "password_reset")
    audit.record(session, actor, "user.reset_password", f"user {user.username}")
    return password


def reset_totp(session: Session, actor: Principal, user_id: int) -> str:
    """Give the account a new TOTP secret (returns its otpauth:// URI) and end its sessions."""
    user = get_user(session, actor, user_id)
    if user.id == actor.user_id:
        raise PermissionDenied("manage_users", "an account may not reset its own second factor")
    secret = totp.new_secret()
    user.totp_secret, user.totp_confirmed, user.totp_last_step = secret, True, None
    revoke_user_sessions(session, user.id, "totp_reset")
    audit.record(session, actor, "user.reset_totp", f"user {user.username}")
    return totp.provisioning_uri(secret, user.username)


def find_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.username) == username.lower()))
