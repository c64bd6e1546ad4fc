"""Import and export on a real PostgreSQL 15 server: exact round trip, all-or-nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url, text

from gridcare.archives.transfer import ArchiveKind, import_archive
from gridcare.config import load_settings
from gridcare.security.crypto import bind_keyring
from gridcare.security.principal import SYSTEM
from gridcare.storage.database import Database, open_database
from gridcare.storage.db import make_engine, transaction
from tests.archives.fixtures.transfer_archive import build_archive, build_devices, build_topology, snapshot

pytestmark = pytest.mark.postgres


@pytest.fixture
def fresh(postgres_url: str, tmp_path: Path) -> Iterator[tuple[Database, Database]]:
    """Two new, empty databases on the test server (dropped afterwards), sharing one keyring."""
    admin = make_engine(postgres_url).execution_options(isolation_level="AUTOCOMMIT")
    names = [f"transfer_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    databases: list[Database] = []
    try:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        for name in names:
            url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
            settings = load_settings(environ={}, data_dir=tmp_path, database_url=url)
            db = open_database(settings)
            bind_keyring(db.engine, settings.keyring_path)
            databases.append(db)
        yield databases[0], databases[1]
    finally:
        for db in databases:
            db.dispose()
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def test_round_trip_and_all_or_nothing_on_postgres(fresh: tuple[Database, Database]) -> None:
    source, target = fresh
    with transaction(source.sessions) as session:
        build_archive(session)
    with transaction(target.sessions) as session:
        build_topology(session, first_id=50)
    files = snapshot(source.sessions)
    order = [
        ArchiveKind.TRANSFORMER_AREAS,
        ArchiveKind.CUSTOMERS,
        ArchiveKind.METERS,
        ArchiveKind.METERING_POINTS,
    ]
    for kind in order:
        report = import_archive(target.sessions, kind, files[kind.value], "csv", SYSTEM)
        assert report.errors == []
        if kind is ArchiveKind.TRANSFORMER_AREAS:
            with transaction(target.sessions) as session:
                build_devices(session)
    assert snapshot(target.sessions) == files
    bad = files["customers"] + "0000000099,新户,S010101,residential,220V,1.234,RES,,,,,,\r\n".encode()
    report = import_archive(target.sessions, "customers", bad, "csv", SYSTEM)
    assert [(e.line, e.column, e.reason) for e in report.errors] == [
        (9, "contracted_capacity_kva", "at most 2 decimal places, got 1.234")
    ]
    assert snapshot(target.sessions) == files
