"""Server-side login sessions: random tokens (only their SHA-256 is stored), idle timeout, absolute
lifetime, revocation on logout, password change and account disabling."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from gridcare.archives.models import Customer, Organisation
from gridcare.config import Settings
from gridcare.security.models import AccountKind, AuthSession, SessionChannel, User, UserRole, as_beijing
from gridcare.security.principal import Principal
from gridcare.security.roles import Role, needs_totp, permissions_of
from gridcare.timeutil import now_beijing, to_beijing

CHANGE_PASSWORD = "change_password"
ENROL_TOTP = "enrol_totp"
LAST_SEEN_GRANULARITY = timedelta(seconds=30)
"""``last_seen_at`` is written at most this often (fewer writes; idle timeouts are minutes)."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def roles_of(session: Session, user_id: int) -> frozenset[Role]:
    return frozenset(session.scalars(select(UserRole.role).where(UserRole.user_id == user_id)))


def password_expired(user: User, settings: Settings, now: datetime) -> bool:
    if settings.password_max_age_days is None:
        return False
    return as_beijing(user.password_changed_at) + timedelta(days=settings.password_max_age_days) <= now


def principal_for(
    session: Session,
    user: User,
    settings: Settings,
    *,
    session_id: int | None = None,
    source: str | None = None,
    now: datetime | None = None,
) -> Principal:
    """The principal an account acts as: permissions from its roles, scope from its organisation.

    A user of a root organisation (no parent) sees the whole tree ("/"); a customer account sees no
    organisation, only its own customer number.
    """
    now = to_beijing(now or now_beijing())
    roles = roles_of(session, user.id)
    customer_no = None
    if user.kind == AccountKind.CUSTOMER:
        customer = session.get(Customer, user.customer_id)
        org_paths: tuple[str, ...] = ()
        org_id = customer.org_id if customer else None
        customer_no = customer.customer_no if customer else None
    else:
        org = session.get(Organisation, user.org_id)
        org_id = user.org_id
        org_paths = ("/",) if org is not None and org.parent_id is None else ((org.path,) if org else ())
    pending = set()
    if user.must_change_password or password_expired(user, settings, now):
        pending.add(CHANGE_PASSWORD)
    if needs_totp(roles, settings.totp_required_for_all) and not user.totp_confirmed:
        pending.add(ENROL_TOTP)
    return Principal(
        username=user.username,
        org_paths=org_paths,
        permissions=frozenset(p.value for p in permissions_of(roles)),
        user_id=user.id,
        roles=frozenset(r.value for r in roles),
        org_id=org_id,
        customer_no=customer_no,
        session_id=session_id,
        pending=frozenset(pending),
        source_address=source,
    )


def create_session(
    session: Session,
    user: User,
    settings: Settings,
    channel: SessionChannel = SessionChannel.API,
    source: str = "",
    now: datetime | None = None,
) -> tuple[str, AuthSession]:
    """Open a session for ``user``; returns the token (shown once, never stored) and the row."""
    now = to_beijing(now or now_beijing())
    token = secrets.token_urlsafe(32)
    row = AuthSession(
        token_hash=hash_token(token),
        user_id=user.id,
        channel=channel,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_lifetime_hours),
        source_address=source[:64],
    )
    session.add(row)
    session.flush()
    return token, row


def resolve(
    session: Session,
    token: str,
    settings: Settings,
    *,
    source: str | None = None,
    now: datetime | None = None,
) -> Principal | None:
    """The principal of a valid session token, or None. An idle or expired session, or one of a disabled
    account, is revoked on the spot. The caller commits (``last_seen_at`` moves on)."""
    if not token:
        return None
    now = to_beijing(now or now_beijing())
    row = session.scalar(select(AuthSession).where(AuthSession.token_hash == hash_token(token)))
    if row is None or row.revoked_at is not None:
        return None
    user = session.get(User, row.user_id)
    reason = None
    if user is None or user.disabled:
        reason = "disabled"
    elif as_beijing(row.expires_at) <= now:
        reason = "expired"
    elif as_beijing(row.last_seen_at) + timedelta(minutes=settings.idle_timeout_minutes) <= now:
        reason = "idle"
    if reason is not None or user is None:
        row.revoked_at, row.revoked_reason = now, reason
        return None
    if now - as_beijing(row.last_seen_at) >= LAST_SEEN_GRANULARITY:
        row.last_seen_at = now
    principal = principal_for(session, user, settings, session_id=row.id, source=source, now=now)
    return replace(principal, source_address=source)


def revoke(session: Session, session_id: int, reason: str, now: datetime | None = None) -> None:
    """End one session (logout)."""
    session.execute(
        update(AuthSession)
        .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=to_beijing(now or now_beijing()), revoked_reason=reason)
    )


def revoke_user_sessions(
    session: Session, user_id: int, reason: str, *, keep: int | None = None, now: datetime | None = None
) -> int:
    """End every open session of an account (disabled, password changed); ``keep`` spares one."""
    stmt = update(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
    if keep is not None:
        stmt = stmt.where(AuthSession.id != keep)
    values = stmt.values(revoked_at=to_beijing(now or now_beijing()), revoked_reason=reason)
    return int(cast(CursorResult[Any], session.execute(values)).rowcount or 0)
