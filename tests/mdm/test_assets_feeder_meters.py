"""Feeder head meters (线路关口表) in the metering-asset lifecycle: replacement (换表) on the
``feeder_meters`` row with continuous purchased energy in sold vs purchased, removal closing the row so
the master station no longer expects the meter, errors naming the field and changing nothing; CLI and
API unchanged for the user.

World: :mod:`tests.mdm.assets_world` with its head meter 201000000099 of feeder F101 made a CT 200/5 meter
(x40) read by terminal 1 at Pn 9, and a stock head meter 201000000098 with CT 300/5 (x60).

June 2024 by hand (registers at the 00:00 freezes, day offset i: 0 = 06-01 .. 30 = 07-01):

- old head (x40): 5000.00 + 0.65 i up to i = 10 (06-11, 5006.50): 0.65 x 40 = 26 kWh a day for 06-01..06-10
  = 260.00 kWh;
- replaced at 2024-06-11 14:00: old final 5006.85 (0.35 x 40 = 14.00 kWh), new initial 12.00, the new
  meter's freeze of 06-12 is 12.20 (0.20 x 60 = 12.00 kWh): the change day 26.00 kWh;
- new head (x60): 12.20 + 0.50 (i - 11) from i = 11, 21.70 at 07-01: 9.50 x 60 = 570.00 kWh for 06-12..06-30.

Purchased = (5006.85 - 5000.00) x 40 + (21.70 - 12.00) x 60 = 274.00 + 582.00 = 856.00 kWh. Sold is the
customer meters' 660.00 (C1 replaced on 06-03 as in the asset world); loss 196.00 kWh, 22.90 % (high loss).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gridcare.acquisition import kpi, store
from gridcare.api.app import create_app
from gridcare.archives import meter_assets
from gridcare.archives.asset_models import FeederMeter, MeterAssetEvent, MeterReplacement
from gridcare.archives.models import Meter, MeteringPoint, MeterStatus, MeterType
from gridcare.cli import app as cli_app
from gridcare.config import Settings
from gridcare.mdm import tasks
from gridcare.mdm.schema import MdmInputError
from gridcare.security.models import AuditRecord
from gridcare.security.principal import SYSTEM, Principal
from gridcare.storage.database import Database
from gridcare.storage.db import transaction
from gridcare.timeutil import BEIJING, day_start
from tests.mdm.assets_world import HEAD, NEW, NOW, REPLACED_AT, build_assets_world, day, month_rows
from tests.mdm.test_tasks_world import C1, C2, write_actuals
from tests.security.helpers import make_staff, token_for
from tests.support.archive import COUNTY

HEAD_NEW = "201000000098"
"""Stock head meter, CT 300/5 (x60)."""
HEAD_PN = 9
HEAD_CHANGE = datetime(2024, 6, 11, 14, 0, tzinfo=BEIJING)
HEAD_CHANGE_DAY = 10  # day offset of 2024-06-11
OPERATOR_COUNTY = Principal(
    "op-county", org_paths=("/1/2/",), permissions=frozenset({"read_data", "edit_archives"})
)


def build_head_world(database: Database) -> None:
    """The asset world with a x40 head meter on terminal 1 / Pn 9 and a x60 stock head meter."""
    build_assets_world(database)
    with transaction(database.sessions) as session:
        head = session.scalar(select(Meter).where(Meter.address == HEAD))
        assert head is not None
        head.ct_ratio, head.multiplier = "200/5", 40
        row = session.scalar(select(FeederMeter).where(FeederMeter.meter_id == head.id))
        assert row is not None
        row.terminal_id, row.point_number = 1, HEAD_PN
        session.add(
            Meter(
                id=98,
                address=HEAD_NEW,
                meter_type=MeterType.THREE_PHASE_CT,
                phases=3,
                rated_voltage="3x57.7/100V",
                rated_current="1.5(6)A",
                ct_ratio="300/5",
                multiplier=60,
                org_id=COUNTY,
                status=MeterStatus.STOCK,
            )
        )


def replace_head(
    session: Session, principal: Principal = OPERATOR_COUNTY, **overrides: Any
) -> MeterReplacement:
    kwargs: dict[str, Any] = {
        "old_address": HEAD,
        "new_address": HEAD_NEW,
        "replaced_at": HEAD_CHANGE,
        "old_final_kwh": "5006.85",
        "new_initial_kwh": "12.00",
        "reason": "关口表故障 faulty head meter",
        "now": NOW,
    }
    kwargs.update(overrides)
    return meter_assets.replace_meter(session, principal, **kwargs)


def head_register(meter: str, i: int) -> Decimal | None:
    if meter == HEAD:
        value = 5000.00 + 0.65 * i if i <= HEAD_CHANGE_DAY else None
    else:
        value = None if i <= HEAD_CHANGE_DAY else 12.20 + 0.50 * (i - HEAD_CHANGE_DAY - 1)
    return None if value is None else Decimal(str(round(value, 2))).quantize(Decimal("0.01"))


def head_month_rows() -> list[dict[str, Any]]:
    """The asset world's June readings with the head meters' replaced by the ones above."""
    rows = [r for r in month_rows() if r["meter"] != HEAD]
    for i in range(31):
        for meter in (HEAD, HEAD_NEW):
            value = head_register(meter, i)
            if value is not None:
                rows.append(
                    {"meter": meter, "di": "05060101", "freeze_time": day_start(day(i)), "value": value}
                )
    return rows


@pytest.fixture
def db(database: Database) -> Database:
    build_head_world(database)
    return database


def _counts(session: Session) -> tuple[int, ...]:
    return tuple(
        session.scalar(select(func.count()).select_from(m)) or 0
        for m in (FeederMeter, MeteringPoint, MeterReplacement, MeterAssetEvent, AuditRecord)
    )


def _heads(session: Session) -> list[tuple[str, date, date | None, int | None, int | None]]:
    return [
        (address, row.valid_from, row.valid_to, row.terminal_id, row.point_number)
        for row, address in session.execute(
            select(FeederMeter, Meter.address)
            .join(Meter, Meter.id == FeederMeter.meter_id)
            .order_by(FeederMeter.id)
        )
    ]


def _status(session: Session, address: str) -> MeterStatus:
    status = session.scalar(select(Meter.status).where(Meter.address == address))
    assert status is not None
    return status


# --- replacement ------------------------------------------------------------------------------------------
def test_head_replacement_moves_the_feeder_row_and_records_both_registers(db: Database) -> None:
    with db.sessions() as session:
        row = replace_head(session)
        session.commit()
        assert (row.point_code, row.old_point_id, row.new_point_id) == ("F101", None, None)
        assert (row.old_final_kwh, row.new_initial_kwh, row.old_multiplier, row.new_multiplier) == (
            Decimal("5006.85"),
            Decimal("12.00"),
            40,
            60,
        )
        assert _heads(session) == [
            (HEAD, date(2020, 1, 1), date(2024, 6, 11), 1, HEAD_PN),
            (HEAD_NEW, date(2024, 6, 11), None, 1, HEAD_PN),
        ]
        old_row, new_row = session.scalars(select(FeederMeter).order_by(FeederMeter.id)).all()
        assert (row.old_feeder_meter_id, row.new_feeder_meter_id) == (old_row.id, new_row.id)
        assert (_status(session, HEAD), _status(session, HEAD_NEW)) == (
            MeterStatus.REMOVED,
            MeterStatus.INSTALLED,
        )
        new = session.scalar(select(Meter).where(Meter.address == HEAD_NEW))
        assert new is not None and (new.install_date, new.org_id) == (date(2024, 6, 11), COUNTY)
        history = meter_assets.meter_history(session, OPERATOR_COUNTY, HEAD_NEW)
        assert [(e.kind, e.from_status, e.to_status, e.effective_on) for e in history] == [
            ("replacement", "stock", "installed", date(2024, 6, 11))
        ]
        detail = json.loads(history[0].detail)
        assert (detail["feeder"], detail["old_final_kwh"], detail["new_multiplier"]) == (
            "F101",
            "5006.85",
            60,
        )
        audited = session.scalars(select(AuditRecord).where(AuditRecord.action == "meter.replace")).all()
        assert [(a.actor, a.object) for a in audited] == [("op-county", f"meter {HEAD}")]
        # the station reads the new meter at the same terminal and Pn from the change day
        assert store.due_feeder_meters(db, date(2024, 6, 20)) == {new_row.id}
        assert [(f["feeder"], f["meter"]) for f in kpi.failures(session, date(2024, 6, 20), SYSTEM)
                if f["metering_point"] is None] == [("F101", HEAD_NEW)]  # fmt: skip


def test_customer_replacement_still_on_metering_points(db: Database) -> None:
    with db.sessions() as session:
        row = meter_assets.replace_meter(
            session, OPERATOR_COUNTY, old_address=C1, new_address=NEW, replaced_at=REPLACED_AT,
            old_final_kwh="1012.00", new_initial_kwh="0.50", reason="换表", now=NOW,
        )  # fmt: skip
        session.commit()
        assert row.point_code == "MP0001"
        assert row.old_point_id is not None and row.new_point_id is not None
        assert (row.old_feeder_meter_id, row.new_feeder_meter_id) == (None, None)


def test_purchased_energy_across_a_head_replacement_is_the_hand_figure(
    settings: Settings, db: Database
) -> None:
    with db.sessions() as session:
        meter_assets.replace_meter(
            session, OPERATOR_COUNTY, old_address=C1, new_address=NEW, replaced_at=REPLACED_AT,
            old_final_kwh="1012.00", new_initial_kwh="0.50", reason="换表", now=NOW,
        )  # fmt: skip
        replace_head(session)
        session.commit()
    write_actuals(settings, head_month_rows(), flush=True)
    with db.sessions() as session:
        report = tasks.line_loss_report(session, settings, SYSTEM, "2024-06")
    bought = {(r["level"], r["unit"]): r for r in report.purchased.to_pylist()}
    feeder = bought[("feeder", "F101")]
    assert feeder["purchased_kwh"] == pytest.approx(856.00, abs=0.005)
    assert feeder["sold_kwh"] == pytest.approx(660.00, abs=0.005)
    assert feeder["loss_kwh"] == pytest.approx(196.00, abs=0.005)
    assert feeder["loss_rate"] == pytest.approx(196 / 856)
    assert feeder["status"] == "high_loss"
    county = bought[("org", "C0101")]
    assert county["purchased_kwh"] == pytest.approx(856.00, abs=0.005)


def test_without_the_replacement_record_the_change_day_is_lost(settings: Settings, db: Database) -> None:
    """Control: the same head rows without the replacement readings leave the change day unknown (neither
    meter has both freezes of that day), so purchased cannot be computed."""
    with db.sessions() as session:
        meter_assets.replace_meter(
            session, OPERATOR_COUNTY, old_address=C1, new_address=NEW, replaced_at=REPLACED_AT,
            old_final_kwh="1012.00", new_initial_kwh="0.50", reason="换表", now=NOW,
        )  # fmt: skip
        replace_head(session)
        session.execute(MeterReplacement.__table__.delete().where(MeterReplacement.point_code == "F101"))
        session.commit()
    write_actuals(settings, head_month_rows(), flush=True)
    with db.sessions() as session:
        report = tasks.line_loss_report(session, settings, SYSTEM, "2024-06")
    feeder = {(r["level"], r["unit"]): r for r in report.purchased.to_pylist()}[("feeder", "F101")]
    assert (feeder["purchased_kwh"], feeder["status"], feeder["missing_points"]) == (
        None,
        "not_computable",
        1,
    )


def test_head_replacement_on_or_before_the_row_start_names_the_field_and_changes_nothing(
    db: Database,
) -> None:
    with db.sessions() as session:
        before = _counts(session)
        heads = _heads(session)
        with pytest.raises(
            MdmInputError,
            match=r"^replaced_at: meter 201000000099 is the head meter of feeder F101 from 2020-01-01; "
            r"a replacement must be on a later day, not 2020-01-01",
        ):
            replace_head(session, replaced_at=datetime(2020, 1, 1, 15, 0, tzinfo=BEIJING))
        session.rollback()
        assert _counts(session) == before
        assert _heads(session) == heads
        assert (_status(session, HEAD), _status(session, HEAD_NEW)) == (
            MeterStatus.INSTALLED,
            MeterStatus.STOCK,
        )


def test_head_replacement_with_a_meter_not_in_stock_names_the_field_and_changes_nothing(db: Database) -> None:
    with db.sessions() as session:
        before = _counts(session)
        heads = _heads(session)
        with pytest.raises(MdmInputError, match=r"^new_meter: meter 201000000002 is installed"):
            replace_head(session, new_address=C2)
        session.rollback()
        assert _counts(session) == before
        assert _heads(session) == heads
        assert _status(session, HEAD) == MeterStatus.INSTALLED


# --- removal ------------------------------------------------------------------------------------------------
def test_removing_a_head_meter_closes_its_row_and_the_station_stops_expecting_it(db: Database) -> None:
    after = date(2024, 7, 2)
    with db.sessions() as session:
        (row_id,) = store.due_feeder_meters(db, after)
        due_before = kpi.overall_rate(session, after, SYSTEM).due
        assert [f["meter"] for f in kpi.failures(session, after, SYSTEM) if f["metering_point"] is None] == [
            HEAD
        ]
        event = meter_assets.transition_meter(
            session, OPERATOR_COUNTY, HEAD, "removed", effective_on=date(2024, 7, 1),
            reason="线路改造 feeder rebuilt", now=NOW,
        )  # fmt: skip
        session.commit()
        assert json.loads(event.detail) == {"closed_points": [], "closed_feeder_rows": ["F101"]}
        assert _heads(session) == [(HEAD, date(2020, 1, 1), date(2024, 7, 1), 1, HEAD_PN)]
        assert _status(session, HEAD) == MeterStatus.REMOVED
        audit = session.scalars(select(AuditRecord).where(AuditRecord.action == "meter.transition")).one()
        assert json.loads(audit.detail)["closed_feeder_rows"] == ["F101"]
        assert store.due_feeder_meters(db, after) == set()
        assert store.feeder_meters_missing(db, after) == set()
        assert kpi.overall_rate(session, after, SYSTEM).due == due_before - 1
        assert [f for f in kpi.failures(session, after, SYSTEM) if f["metering_point"] is None] == []
        # sold vs purchased: the current archive has no head meter for F101 any more
        archive = tasks.meter_archive(session)
        assert "feeder" not in archive["role"].to_pylist()
        assert row_id not in store.due_feeder_meters(db, after)


def test_removing_a_head_meter_on_its_row_start_names_the_field_and_changes_nothing(db: Database) -> None:
    with db.sessions() as session:
        replace_head(session)
        session.commit()
        before = _counts(session)
        heads = _heads(session)
        with pytest.raises(
            MdmInputError,
            match=r"^effective_on: meter 201000000098 is the head meter of feeder F101 from 2024-06-11; "
            r"it can be closed only after that, not on 2024-06-11",
        ):
            meter_assets.transition_meter(
                session, OPERATOR_COUNTY, HEAD_NEW, "removed", effective_on=date(2024, 6, 11), reason="x",
                now=NOW,
            )  # fmt: skip
        session.rollback()
        assert _counts(session) == before
        assert _heads(session) == heads
        assert _status(session, HEAD_NEW) == MeterStatus.INSTALLED


# --- CLI and API -------------------------------------------------------------------------------------------
def test_cli_replaces_a_head_meter_with_the_same_arguments(settings: Settings, db: Database) -> None:
    out = CliRunner().invoke(
        cli_app,
        ["meter", "replace", "--meter", HEAD, "--new-meter", HEAD_NEW, "--at", "2024-06-11 14:00",
         "--old-final", "5006.85", "--new-initial", "12", "--reason", "换关口表", "--operator", "zhang",
         "--json", "--data-dir", str(settings.data_dir)],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    body = json.loads(out.output)
    assert (body["point_code"], body["old_multiplier"], body["new_multiplier"]) == ("F101", 40, 60)
    bad = CliRunner().invoke(
        cli_app,
        ["meter", "transition", "--meter", HEAD_NEW, "--to", "removed", "--date", "2024-06-11",
         "--reason", "x", "--data-dir", str(settings.data_dir)],
    )  # fmt: skip
    assert bad.exit_code == 2
    assert "--date: meter 201000000098 is the head meter of feeder F101" in " ".join(bad.output.split())
    with db.sessions() as session:
        assert _heads(session)[-1] == (HEAD_NEW, date(2024, 6, 11), None, 1, HEAD_PN)


def test_api_replaces_a_head_meter_and_refuses_a_bad_one(settings: Settings, db: Database) -> None:
    staff = make_staff(db, settings, "operator-c", ["operator"], "C0101")
    headers = {"Authorization": f"Bearer {token_for(db, settings, staff)}"}
    body = {
        "new_meter": HEAD_NEW,
        "replaced_at": "2020-01-01T15:00:00+08:00",
        "old_final_kwh": "5006.85",
        "new_initial_kwh": "12.00",
        "reason": "换关口表",
    }
    with TestClient(create_app(settings, db)) as client:
        url = f"/api/v1/meters/{HEAD}/replacements"
        bad = client.post(url, json=body, headers=headers)
        assert bad.status_code == 422, bad.text
        assert "replaced_at: meter 201000000099 is the head meter of feeder F101" in bad.text
        with db.sessions() as session:
            assert session.scalar(select(func.count()).select_from(FeederMeter)) == 1
        ok = client.post(url, json={**body, "replaced_at": "2024-06-11T14:00:00+08:00"}, headers=headers)
        assert ok.status_code == 201, ok.text
        assert (ok.json()["point_code"], ok.json()["new_multiplier"]) == ("F101", 60)
    with db.sessions() as session:
        assert [h[0] for h in _heads(session)] == [HEAD, HEAD_NEW]
