"""Accounts and sessions for tests: create users directly through the services (no HTTP round trip,
no one-time password to change) and open sessions without the cost of an Argon2 login."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gridcare.config import Settings
from gridcare.security import accounts, sessions
from gridcare.security.models import SessionChannel, User
from gridcare.security.principal import SYSTEM, Principal
from gridcare.security.roles import Role
from gridcare.storage.database import Database
from gridcare.storage.db import transaction

PASSWORD = "Tqx-7mLp-92vB"


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    password: str
    totp_secret: str | None


def make_staff(
    database: Database,
    settings: Settings,
    username: str,
    roles: Iterable[Role | str],
    org_code: str = "C01",
    *,
    ready: bool = True,
) -> Account:
    """A staff account; ``ready`` sets a known password and clears the first-login password change."""
    with transaction(database.sessions) as session:
        creds = accounts.create_staff(session, SYSTEM, username, roles, org_code, settings)
        return _finish(session, creds, ready)


def make_customer(database: Database, settings: Settings, username: str, customer_no: str) -> Account:
    with transaction(database.sessions) as session:
        creds = accounts.create_customer_account(session, SYSTEM, username, customer_no, settings)
        return _finish(session, creds, True)


def _finish(session: object, creds: accounts.NewCredentials, ready: bool) -> Account:
    from gridcare.security.passwords import hash_password

    user = creds.user
    password = creds.one_time_password
    if ready:
        user.password_hash = hash_password(PASSWORD)
        user.must_change_password = False
        password = PASSWORD
    return Account(user.id, user.username, password, user.totp_secret)


def token_for(
    database: Database, settings: Settings, account: Account, channel: SessionChannel = SessionChannel.API
) -> str:
    """Open a session for ``account`` and return its token."""
    with transaction(database.sessions) as session:
        user = session.get(User, account.id)
        assert user is not None
        token, _ = sessions.create_session(session, user, settings, channel, "testclient")
        return token


def principal_of(database: Database, settings: Settings, account: Account) -> Principal:
    with database.sessions() as session:
        user = session.get(User, account.id)
        assert user is not None
        return sessions.principal_for(session, user, settings, source="testclient")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
