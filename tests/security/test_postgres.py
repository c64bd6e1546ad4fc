"""The security layer on a real PostgreSQL 15 server: timestamps with time zone keep the audit chain
verifiable, the partial unique index enforces 三员分立, personal data is stored encrypted."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError

from gridcare.config import Settings, load_settings
from gridcare.security import audit, crypto, login, risk, totp
from gridcare.security.models import UserRole
from gridcare.storage import migrate
from gridcare.storage.database import Database, open_database
from gridcare.storage.db import make_engine, transaction
from gridcare.timeutil import now_beijing
from tests.security.helpers import PASSWORD, make_staff
from tests.support.archive import build_small_archive

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg(postgres_url: str, tmp_path: Path) -> Iterator[tuple[Settings, Database]]:
    """A fresh database in the test cluster, migrated, with the small archive."""
    name = f"sec_{uuid.uuid4().hex[:10]}"
    admin = make_engine(postgres_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = postgres_url.rsplit("/", 1)[0] + f"/{name}"
    settings = load_settings(environ={}, data_dir=tmp_path / "data", database_url=url)
    database = open_database(settings)
    crypto.bind_keyring(database.engine, settings.keyring_path)
    risk.configure(settings)
    with transaction(database.sessions) as session:
        build_small_archive(session)
    try:
        yield settings, database
    finally:
        database.dispose()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE {name}"))
        admin.dispose()


def test_security_on_postgres(pg: tuple[Settings, Database]) -> None:
    settings, database = pg
    assert database.engine.dialect.name == "postgresql"
    admin = make_staff(database, settings, "auditor", ["audit_admin"])
    assert admin.totp_secret is not None
    with database.sessions() as session:
        result = login.login(
            session,
            settings,
            "auditor",
            PASSWORD,
            totp.code_at(admin.totp_secret, now_beijing()),
            source="10.0.0.1",
        )
    assert result.principal.roles == {"audit_admin"}
    with database.sessions() as session:
        report = audit.verify(session)
    assert report.ok and report.head_seq == 2  # user.create, auth.login
    with database.engine.connect() as conn:
        phone = conn.execute(text("SELECT phone FROM customers WHERE id = 1")).scalar_one()
        assert "13812341234" not in phone and crypto.is_encrypted(phone)
        with pytest.raises(IntegrityError):
            conn.execute(insert(UserRole.__table__).values(user_id=admin.id, role="system_admin"))
        conn.rollback()
    with database.engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_records SET occurred_at = occurred_at + interval '1 second' WHERE seq = 1")
        )
    with database.sessions() as session:
        broken = audit.verify(session)
    assert (broken.ok, broken.first_bad_seq) == (False, 1)
    with pytest.raises(RuntimeError, match="encrypted personal data"):
        migrate.downgrade(database.engine, "0001")
