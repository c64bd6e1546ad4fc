"""Migrations go up and down on SQLite and on a real PostgreSQL server, and match the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from gridcare.storage import migrate
from gridcare.storage.db import make_engine
from gridcare.storage.models import Base

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
