"""Migrations go up and down on SQLite and on a real PostgreSQL server, and match the models."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from gridcare.archives.models import MeteringPoint, Terminal, TransformerArea
from gridcare.config import load_settings
from gridcare.storage import migrate
from gridcare.storage.database import Database, open_database
from gridcare.storage.db import make_engine, transaction
from gridcare.storage.models import Base
from tests.support.archive import add_dedicated_area, add_supply_points, build_small_archive

ARCHIVE_TABLES = {
    "organisations",
    "substations",
    "feeders",
    "transformer_areas",
    "meter_boxes",
    "customers",
    "meters",
    "terminals",
    "metering_points",
}


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def _up_down_up(engine: Engine) -> None:
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision(engine)
    assert _tables(engine) >= ARCHIVE_TABLES
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"models and migrations differ: {diff}"
    migrate.downgrade(engine, "base")
    assert _tables(engine) == set()
    assert migrate.current_revision(engine) is None
    migrate.upgrade(engine)
    assert _tables(engine) >= ARCHIVE_TABLES


def test_sqlite_up_down_up(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    _up_down_up(engine)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


@pytest.mark.postgres
def test_postgres_up_down_up(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW server_version")).scalar().startswith("15")
        _up_down_up(engine)
        migrate.downgrade(engine, "base")
    finally:
        engine.dispose()


# --- 0009: the kind of a 台区 (public 公变 / dedicated 专变) on an archive holding rows --------------------


def _kinds(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT code, kind FROM transformer_areas ORDER BY code"))
        return {code: kind for code, kind in rows}


def _refuses_a_bad_kind(engine: Engine) -> None:
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("UPDATE transformer_areas SET kind = 'private' WHERE code = 'TQ-A'"))


def _area_kind_down_and_up(database: Database) -> None:
    """At head: the small archive with supply points and the 专变 ZB-A1 (terminals and metering points refer
    to the 台区, so SQLite's copy-and-rename of the table would fail with foreign keys on). Down to 0008 the
    column goes and every row stays; up to 0009 the existing 台区 become public, a new row defaults to
    public and a bad kind is refused."""
    engine = database.engine
    assert migrate.current_revision(engine) == migrate.head_revision(engine)
    with transaction(database.sessions) as session:
        build_small_archive(session)
        add_supply_points(session)
        add_dedicated_area(session)
    assert _kinds(engine) == {"TQ-A": "public", "TQ-B": "public", "ZB-A1": "dedicated"}
    _refuses_a_bad_kind(engine)

    def counts() -> tuple[int, int, int]:
        with database.sessions() as session:
            return tuple(  # type: ignore[return-value]
                session.scalar(select(func.count()).select_from(m))
                for m in (TransformerArea, Terminal, MeteringPoint)
            )

    assert counts() == (3, 3, 7)
    migrate.downgrade(engine, "0008")
    assert migrate.current_revision(engine) == "0008"
    assert "kind" not in {c["name"] for c in inspect(engine).get_columns("transformer_areas")}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM transformer_areas")).scalar() == 3
        assert conn.execute(text("SELECT COUNT(*) FROM metering_points")).scalar() == 7
    migrate.upgrade(engine, "0009")
    assert migrate.current_revision(engine) == "0009"
    assert _kinds(engine) == {"TQ-A": "public", "TQ-B": "public", "ZB-A1": "public"}
    checks = {c["name"]: c["sqltext"] for c in inspect(engine).get_check_constraints("transformer_areas")}
    assert "public" in checks["ck_transformer_areas_kind_allowed"]
    assert "dedicated" in checks["ck_transformer_areas_kind_allowed"]
    _refuses_a_bad_kind(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO transformer_areas (id, code, name, feeder_id, org_id, capacity_kva, address) "
                "VALUES (9, 'TQ-N', '新台区', 1, 3, 100, '')"
            )
        )
        conn.execute(text("UPDATE transformer_areas SET kind = 'dedicated' WHERE code = 'ZB-A1'"))
    assert _kinds(engine) == {"TQ-A": "public", "TQ-B": "public", "TQ-N": "public", "ZB-A1": "dedicated"}
    assert counts() == (4, 3, 7)
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision(engine)


def test_0009_area_kind_down_and_up_on_sqlite_with_rows(database: Database) -> None:
    _area_kind_down_and_up(database)
    with database.engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_key_check")).all() == []


@pytest.fixture
def pg_database(postgres_url: str, tmp_path: Path) -> Iterator[Database]:
    """A fresh database of its own on the test session's PostgreSQL server, migrated to head."""
    name = f"kinds_{uuid.uuid4().hex[:10]}"
    admin = make_engine(postgres_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = postgres_url.rsplit("/", 1)[0] + f"/{name}"
    database = open_database(load_settings(environ={}, data_dir=tmp_path / "data", database_url=url))
    try:
        yield database
    finally:
        database.dispose()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE {name}"))
        admin.dispose()


@pytest.mark.postgres
def test_0009_area_kind_down_and_up_on_postgres_with_rows(pg_database: Database) -> None:
    assert pg_database.engine.dialect.name == "postgresql"
    _area_kind_down_and_up(pg_database)
