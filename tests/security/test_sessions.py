"""Server-side sessions: hashed tokens, idle timeout, absolute lifetime and revocation."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, text

from gridcare.config import Settings
from gridcare.security import accounts, login, sessions
from gridcare.security.models import AuthSession, User
from gridcare.security.principal import SYSTEM
from gridcare.storage.database import Database
from gridcare.timeutil import BEIJING
from tests.security.helpers import PASSWORD, bearer, make_staff

T0 = datetime(2026, 3, 2, 10, 0, 0, tzinfo=BEIJING)


def _open(db: Database, settings: Settings, username: str, now: datetime = T0) -> str:
    with db.sessions() as session:
        user = session.scalar(select(User).where(User.username == username))
        assert user is not None
        token, _ = sessions.create_session(session, user, settings, now=now)
        session.commit()
        return token


def _resolve(db: Database, settings: Settings, token: str, now: datetime) -> str | None:
    with db.sessions() as session:
        principal = sessions.resolve(session, token, settings, now=now)
        session.commit()
        return principal.username if principal else None


def test_only_the_token_hash_is_stored(settings: Settings, archive: Database) -> None:
    make_staff(archive, settings, "analyst1", ["analyst"])
    token = _open(archive, settings, "analyst1")
    with archive.engine.connect() as conn:
        stored = conn.execute(text("SELECT token_hash FROM auth_sessions")).scalar_one()
    assert token not in stored
    assert stored == sessions.hash_token(token)
    assert _resolve(archive, settings, token, T0) == "analyst1"
    assert _resolve(archive, settings, stored, T0) is None  # the stored hash is not a token


def test_idle_timeout(settings: Settings, archive: Database) -> None:
    make_staff(archive, settings, "analyst1", ["analyst"])
    token = _open(archive, settings, "analyst1")
    idle = timedelta(minutes=settings.idle_timeout_minutes)
    assert _resolve(archive, settings, token, T0 + idle - timedelta(minutes=1)) == "analyst1"
    # activity moved last_seen on, so another almost-idle period is fine
    assert _resolve(archive, settings, token, T0 + 2 * idle - timedelta(minutes=2)) == "analyst1"
    assert _resolve(archive, settings, token, T0 + 3 * idle) is None
    # once ended it stays ended
    assert _resolve(archive, settings, token, T0 + 3 * idle) is None
    with archive.sessions() as session:
        assert session.scalar(select(AuthSession.revoked_reason)) == "idle"


def test_absolute_lifetime(settings: Settings, archive: Database) -> None:
    make_staff(archive, settings, "analyst1", ["analyst"])
    token = _open(archive, settings, "analyst1")
    step = timedelta(minutes=settings.idle_timeout_minutes - 1)
    at = T0
    lifetime_end = T0 + timedelta(hours=settings.session_lifetime_hours)
    while at + step < lifetime_end:
        at += step
        assert _resolve(archive, settings, token, at) == "analyst1"
    assert _resolve(archive, settings, token, lifetime_end) is None
    with archive.sessions() as session:
        assert session.scalar(select(AuthSession.revoked_reason)) == "expired"


def test_logout_revokes_on_the_server(settings: Settings, archive: Database, client: TestClient) -> None:
    make_staff(archive, settings, "analyst1", ["analyst"])
    r = client.post("/api/v1/auth/login", json={"username": "analyst1", "password": PASSWORD})
    assert r.status_code == 200
    token = r.json()["token"]
    assert client.get("/api/v1/auth/me", headers=bearer(token)).json()["username"] == "analyst1"
    assert client.post("/api/v1/auth/logout", headers=bearer(token)).status_code == 204
    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401
    assert client.get("/api/v1/customers", headers=bearer(token)).status_code == 401


def test_disabling_an_account_revokes_its_sessions(settings: Settings, archive: Database) -> None:
    account = make_staff(archive, settings, "analyst1", ["analyst"])
    tokens = [_open(archive, settings, "analyst1") for _ in range(2)]
    with archive.sessions() as session:
        accounts.set_disabled(session, SYSTEM, account.id, True)
        session.commit()
    assert [_resolve(archive, settings, t, T0) for t in tokens] == [None, None]
    with archive.sessions() as session:
        assert set(session.scalars(select(AuthSession.revoked_reason))) == {"disabled"}
        accounts.set_disabled(session, SYSTEM, account.id, False)
        session.commit()
    assert [_resolve(archive, settings, t, T0) for t in tokens] == [None, None]  # enabling does not revive


def test_password_change_ends_the_other_sessions(settings: Settings, archive: Database) -> None:
    make_staff(archive, settings, "analyst1", ["analyst"])
    other = _open(archive, settings, "analyst1")
    with archive.sessions() as session:
        current = login.login(session, settings, "analyst1", PASSWORD, now=T0)
        login.change_password(session, settings, current.principal, PASSWORD, "Zr8#plm-Qw2x", now=T0)
        session.commit()
    assert _resolve(archive, settings, other, T0) is None
    assert _resolve(archive, settings, current.token, T0) == "analyst1"
