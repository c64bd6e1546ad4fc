"""Logging in and out, changing one's password and enrolling two factors.

Staff log in through :func:`login` with ``customer=False``, customers with ``customer=True``; an account
of the other kind fails like a wrong password. Every failure looks the same to the caller (no account
enumeration) but is audited with its reason. ``lockout_attempts`` failures lock the account for
``lockout_minutes``; a wrong or reused two-factor code counts as a failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from gridcare.config import Settings
from gridcare.security import audit, passwords, totp
from gridcare.security.accounts import find_user
from gridcare.security.models import AccountKind, AuthSession, SessionChannel, User, as_beijing
from gridcare.security.principal import Principal
from gridcare.security.roles import needs_totp
from gridcare.security.sessions import (
    CHANGE_PASSWORD,
    create_session,
    principal_for,
    revoke,
    revoke_user_sessions,
    roles_of,
)
from gridcare.timeutil import now_beijing, to_beijing

LOGIN_FAILED_MESSAGE = "用户名、密码或动态码错误，或账户已锁定 — invalid credentials or account locked"


class LoginFailed(Exception):
    """Login refused. ``reason`` is for the audit trail only; callers show :data:`LOGIN_FAILED_MESSAGE`."""

    def __init__(self, reason: str) -> None:
        super().__init__(LOGIN_FAILED_MESSAGE)
        self.reason = reason


@dataclass(frozen=True)
class LoginResult:
    token: str
    session: AuthSession
    principal: Principal
    user: User


def _fail(
    session: Session, user: User | None, username: str, reason: str, source: str, now: datetime
) -> None:
    """Audit a failure (committed even though the login fails) and raise."""
    actor: Principal | str = username
    if user is not None:
        actor = Principal(
            username=user.username, org_paths=(), user_id=user.id, org_id=_org_of(session, user)
        )
    audit.record(
        session,
        actor,
        "auth.login",
        f"user {username}"[:200],
        audit.FAILURE,
        source,
        {"reason": reason},
        now=now,
    )
    session.commit()
    raise LoginFailed(reason)


def _org_of(session: Session, user: User) -> int | None:
    if user.kind == AccountKind.STAFF:
        return user.org_id
    from gridcare.archives.models import Customer

    customer = session.get(Customer, user.customer_id)
    return customer.org_id if customer else None


def _count_failure(session: Session, user: User, settings: Settings, source: str, now: datetime) -> None:
    user.failed_attempts += 1
    if user.failed_attempts >= settings.lockout_attempts:
        user.failed_attempts = 0
        user.locked_until = now + timedelta(minutes=settings.lockout_minutes)
        audit.record(
            session,
            Principal(username=user.username, org_paths=(), user_id=user.id, org_id=_org_of(session, user)),
            "auth.lockout",
            f"user {user.username}",
            audit.SUCCESS,
            source,
            {"minutes": settings.lockout_minutes, "attempts": settings.lockout_attempts},
            now=now,
        )


def login(
    session: Session,
    settings: Settings,
    username: str,
    password: str,
    totp_code: str | None = None,
    *,
    customer: bool = False,
    channel: SessionChannel = SessionChannel.API,
    source: str = "",
    now: datetime | None = None,
) -> LoginResult:
    """Check the credentials and open a session; commits (also when it fails, for the audit trail).

    The session's principal may have ``pending`` actions (change the one-time or expired password,
    enrol two factors): until they are done it reaches only its own account.
    """
    now = to_beijing(now or now_beijing())
    username = (username or "").strip()[:64]
    user = find_user(session, username) if username else None
    wanted = AccountKind.CUSTOMER if customer else AccountKind.STAFF
    if user is None or user.kind != wanted:
        passwords.verify_password(None, password)  # same cost as a real check
        _fail(session, None, username, "unknown user" if user is None else "wrong login path", source, now)
    assert user is not None
    if user.disabled:
        passwords.verify_password(None, password)
        _fail(session, user, username, "disabled", source, now)
    if user.locked_until is not None and as_beijing(user.locked_until) > now:
        passwords.verify_password(None, password)
        _fail(session, user, username, "locked", source, now)
    if not passwords.verify_password(user.password_hash, password):
        _count_failure(session, user, settings, source, now)
        _fail(session, user, username, "wrong password", source, now)
    roles = roles_of(session, user.id)
    if user.totp_secret and user.totp_confirmed:
        step = totp.match_step(user.totp_secret, totp_code or "", now, user.totp_last_step)
        if step is None:
            reason = "missing two-factor code" if not totp_code else "wrong or reused two-factor code"
            _count_failure(session, user, settings, source, now)
            _fail(session, user, username, reason, source, now)
        user.totp_last_step = step
    user.failed_attempts, user.locked_until, user.last_login_at = 0, None, now
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    token, row = create_session(session, user, settings, channel, source, now)
    principal = principal_for(session, user, settings, session_id=row.id, source=source, now=now)
    audit.record(
        session,
        principal,
        "auth.login",
        f"user {user.username}",
        audit.SUCCESS,
        source,
        {
            "channel": channel.value,
            "two_factor": bool(user.totp_secret and user.totp_confirmed),
            "pending": sorted(principal.pending),
            "totp_required": needs_totp(roles, settings.totp_required_for_all),
        },
        now=now,
    )
    session.commit()
    return LoginResult(token=token, session=row, principal=principal, user=user)


def logout(session: Session, principal: Principal, now: datetime | None = None) -> None:
    """End the principal's session (the token stops working at once). The caller commits."""
    if principal.session_id is not None:
        revoke(session, principal.session_id, "logout", now)
    audit.record(session, principal, "auth.logout", f"user {principal.username}", now=now)


class PasswordChangeFailed(ValueError):
    """The current password is wrong or the new one breaks the policy (the message says which)."""


def change_password(
    session: Session,
    settings: Settings,
    principal: Principal,
    current_password: str,
    new_password: str,
    now: datetime | None = None,
) -> None:
    """Change one's own password; other sessions of the account end. The caller commits."""
    now = to_beijing(now or now_beijing())
    user = session.get(User, principal.user_id)
    if user is None:
        raise PasswordChangeFailed("account not found")
    if not passwords.verify_password(user.password_hash, current_password):
        audit.record(
            session,
            principal,
            "auth.password_change",
            f"user {user.username}",
            audit.FAILURE,
            detail={"reason": "wrong current password"},
            now=now,
        )
        raise PasswordChangeFailed("current_password: wrong password")
    try:
        passwords.check_password(new_password, user.username)
    except passwords.PasswordRejected as exc:
        raise PasswordChangeFailed(str(exc)) from exc
    if passwords.verify_password(user.password_hash, new_password):
        raise PasswordChangeFailed("new_password: must differ from the current password")
    user.password_hash = passwords.hash_password(new_password)
    user.password_changed_at = now
    user.must_change_password = False
    revoke_user_sessions(session, user.id, "password_changed", keep=principal.session_id, now=now)
    audit.record(session, principal, "auth.password_change", f"user {user.username}", now=now)


def start_totp_enrolment(session: Session, principal: Principal) -> str:
    """Give an account without a confirmed second factor a new secret; returns its otpauth:// URI.
    The factor counts only after :func:`confirm_totp_enrolment`."""
    user = session.get(User, principal.user_id)
    if user is None:
        raise ValueError("account not found")
    if user.totp_secret and user.totp_confirmed:
        raise ValueError("totp: two-factor login is already set up; an administrator can reset it")
    secret = totp.new_secret()
    user.totp_secret, user.totp_confirmed, user.totp_last_step = secret, False, None
    audit.record(session, principal, "auth.totp_enrol", f"user {user.username}", detail={"step": "start"})
    return totp.provisioning_uri(secret, user.username)


def confirm_totp_enrolment(
    session: Session, principal: Principal, code: str, now: datetime | None = None
) -> None:
    """Confirm the new secret with a code from the authenticator."""
    now = to_beijing(now or now_beijing())
    user = session.get(User, principal.user_id)
    if user is None or not user.totp_secret or user.totp_confirmed:
        raise ValueError("totp: no enrolment in progress")
    step = totp.match_step(user.totp_secret, code, now, user.totp_last_step)
    if step is None:
        raise ValueError("code: wrong two-factor code")
    user.totp_confirmed, user.totp_last_step = True, step
    audit.record(
        session, principal, "auth.totp_enrol", f"user {user.username}", detail={"step": "confirm"}, now=now
    )


__all__ = [
    "CHANGE_PASSWORD",
    "LOGIN_FAILED_MESSAGE",
    "LoginFailed",
    "LoginResult",
    "PasswordChangeFailed",
    "change_password",
    "confirm_totp_enrolment",
    "login",
    "logout",
    "start_totp_enrolment",
]
