"""Metering assets on a real PostgreSQL 15 server: migration 0005 up and down, then a replacement and a
multiplier change through the services, read back (timestamps with time zone, numerics, constraints)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from gridcare.archives import meter_assets
from gridcare.archives.asset_models import MeterReplacement
from gridcare.archives.models import MeteringPoint
from gridcare.config import Settings, load_settings
from gridcare.storage import migrate
from gridcare.storage.database import Database, open_database
from gridcare.storage.db import make_engine
from tests.mdm.assets_world import NEW, NOW, REPLACED_AT, build_assets_world
from tests.mdm.test_assets_service import OPERATOR_A
from tests.mdm.test_tasks_world import C1, SUPPLY_A

pytestmark = pytest.mark.postgres
ASSET_TABLES = {"meter_asset_events", "meter_replacements", "meter_multiplier_changes", "feeder_meters"}


@pytest.fixture
def pg(postgres_url: str, tmp_path: Path) -> Iterator[tuple[Settings, Database]]:
    name = f"assets_{uuid.uuid4().hex[:10]}"
    admin = make_engine(postgres_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = postgres_url.rsplit("/", 1)[0] + f"/{name}"
    settings = load_settings(environ={}, data_dir=tmp_path / "data", database_url=url)
    database = open_database(settings)
    try:
        yield settings, database
    finally:
        database.dispose()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE {name}"))
        admin.dispose()


def test_migration_0005_and_a_replacement_on_postgres(pg: tuple[Settings, Database]) -> None:
    _, database = pg
    engine = database.engine
    assert engine.dialect.name == "postgresql"
    assert set(inspect(engine).get_table_names()) >= ASSET_TABLES
    migrate.downgrade(engine, "0004")
    assert migrate.current_revision(engine) == "0004"
    assert not ASSET_TABLES & set(inspect(engine).get_table_names())
    assert "last_verified_on" not in {c["name"] for c in inspect(engine).get_columns("meters")}
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision(engine)
    assert "last_verified_on" in {c["name"] for c in inspect(engine).get_columns("meters")}

    build_assets_world(database)
    with database.sessions() as session:
        meter_assets.replace_meter(
            session,
            OPERATOR_A,
            old_address=C1,
            new_address=NEW,
            replaced_at=REPLACED_AT,
            old_final_kwh=Decimal("1012.00"),
            new_initial_kwh=Decimal("0.50"),
            reason="pg",
            now=NOW,
        )
        meter_assets.change_multiplier(
            session, OPERATOR_A, SUPPLY_A, effective_from=date(2024, 6, 16), ct_ratio="150/5", pt_ratio="1/1",
            reason="pg", now=NOW,
        )  # fmt: skip
        session.commit()
    with database.sessions() as session:
        row = session.scalars(select(MeterReplacement)).one()
        assert (row.old_final_kwh, row.new_initial_kwh, row.replaced_at) == (
            Decimal("1012.00"),
            Decimal("0.50"),
            REPLACED_AT,
        )
        periods = session.execute(
            select(MeteringPoint.meter_id, MeteringPoint.valid_from, MeteringPoint.valid_to)
            .where(MeteringPoint.code == "MP0001")
            .order_by(MeteringPoint.valid_from)
        ).all()
        assert [tuple(p) for p in periods] == [
            (1, date(2020, 1, 1), date(2024, 6, 3)),
            (11, date(2024, 6, 3), None),
        ]
        table = meter_assets.replacements_table(session, date(2024, 6, 3), date(2024, 6, 3))
        assert table.select(["old_meter", "new_meter", "old_final", "new_initial"]).to_pylist() == [
            {"old_meter": C1, "new_meter": NEW, "old_final": 1012.0, "new_initial": 0.5}
        ]
        assert meter_assets.multiplier_history(session).num_rows == 1
    with database.sessions() as session, pytest.raises(IntegrityError):  # the CHECK holds on the server
        session.execute(text("UPDATE meter_replacements SET old_final_kwh = -1"))
        session.flush()
