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

from gridcare.archives import meter_assets
from gridcare.archives.models import MeteringPoint, Terminal, TransformerArea
from gridcare.config import load_settings
from gridcare.storage import migrate
from gridcare.storage.database import Database, open_database
from gridcare.storage.db import make_engine, transaction
from gridcare.storage.models import Base
from tests.mdm.assets_world import NEW, NOW, REPLACED_AT
from tests.mdm.test_assets_feeder_meters import OPERATOR_COUNTY, build_head_world, replace_head
from tests.mdm.test_tasks_world import C1
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


# --- 0010: replacements of feeder head meters on feeder_meters rows -----------------------------------------


def _replacement_kinds(engine: Engine) -> list[tuple[str, bool]]:
    """(point_code, on a metering point) of each replacement."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT point_code, old_point_id FROM meter_replacements ORDER BY point_code")
        )
        return [(code, point is not None) for code, point in rows]


def _head_replacements_down_and_up(database: Database) -> None:
    """At head: a customer replacement (MP0001) and a head-meter one (F101). Down to 0009 is refused while
    the head-meter row exists (the older schema cannot hold it); once it is deleted the downgrade runs and
    the other row stays with its point ids NOT NULL; up to 0010 the feeder_meters columns come back and a
    replacement on both kinds or on none is refused."""
    engine = database.engine
    assert migrate.current_revision(engine) == migrate.head_revision(engine)
    build_head_world(database)
    with transaction(database.sessions) as session:
        meter_assets.replace_meter(
            session, OPERATOR_COUNTY, old_address=C1, new_address=NEW, replaced_at=REPLACED_AT,
            old_final_kwh="1012.00", new_initial_kwh="0.50", reason="换表", now=NOW,
        )  # fmt: skip
        replace_head(session)
    assert _replacement_kinds(engine) == [("F101", False), ("MP0001", True)]

    with pytest.raises(migrate.DowngradeRefused, match="1 replacement"):  # no record dropped silently
        migrate.downgrade(engine, "0009")
    assert migrate.current_revision(engine) == migrate.head_revision(engine)
    assert _replacement_kinds(engine) == [("F101", False), ("MP0001", True)]
    with engine.begin() as conn:  # what the operator does after exporting the record
        conn.execute(text("DELETE FROM meter_replacements WHERE point_code = 'F101'"))
    migrate.downgrade(engine, "0009")
    assert migrate.current_revision(engine) == "0009"
    columns = {c["name"]: c for c in inspect(engine).get_columns("meter_replacements")}
    assert "old_feeder_meter_id" not in columns and "new_feeder_meter_id" not in columns
    assert not columns["old_point_id"]["nullable"] and not columns["new_point_id"]["nullable"]
    assert _replacement_kinds(engine) == [("MP0001", True)]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM feeder_meters")).scalar() == 2

    migrate.upgrade(engine, "0010")
    assert migrate.current_revision(engine) == "0010"
    columns = {c["name"]: c for c in inspect(engine).get_columns("meter_replacements")}
    assert columns["old_point_id"]["nullable"] and columns["new_feeder_meter_id"]["nullable"]
    checks = {c["name"] for c in inspect(engine).get_check_constraints("meter_replacements")}
    assert {
        "ck_meter_replacements_point_or_feeder_meter",
        "ck_meter_replacements_different_meters",
        "ck_meter_replacements_readings_not_negative",
        "ck_meter_replacements_multipliers_positive",
    } <= checks
    assert _replacement_kinds(engine) == [("MP0001", True)]
    insert = (
        "INSERT INTO meter_replacements (point_code, old_point_id, new_point_id, old_feeder_meter_id, "
        "new_feeder_meter_id, old_meter_id, new_meter_id, replaced_at, old_final_kwh, new_initial_kwh, "
        "old_multiplier, new_multiplier, who, why, recorded_at) VALUES ('X', {points}, {heads}, 99, 98, "
        "'2024-06-11 14:00:00+08:00', 1, 0, 40, 60, 't', 't', '2024-07-05 09:00:00+08:00')"
    )
    with engine.connect() as conn:
        old_fm, new_fm = conn.execute(text("SELECT id FROM feeder_meters ORDER BY id")).scalars().all()
        point = conn.execute(text("SELECT MIN(id) FROM metering_points")).scalar()
    for points, heads in ((f"{point}, {point}", f"{old_fm}, {new_fm}"), ("NULL, NULL", "NULL, NULL"),
                          ("NULL, NULL", f"{old_fm}, NULL")):  # fmt: skip
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text(insert.format(points=points, heads=heads)))
    with engine.begin() as conn:
        conn.execute(text(insert.format(points="NULL, NULL", heads=f"{old_fm}, {new_fm}")))
    assert _replacement_kinds(engine) == [("MP0001", True), ("X", False)]
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision(engine)


def test_0010_head_replacements_down_and_up_on_sqlite_with_rows(database: Database) -> None:
    _head_replacements_down_and_up(database)
    with database.engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_key_check")).all() == []


@pytest.mark.postgres
def test_0010_head_replacements_down_and_up_on_postgres_with_rows(pg_database: Database) -> None:
    assert pg_database.engine.dialect.name == "postgresql"
    _head_replacements_down_and_up(pg_database)
