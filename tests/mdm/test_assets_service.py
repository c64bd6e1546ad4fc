"""Metering-asset services over the database and the lake: lifecycle with history and audit, replacement
on the same metering point with continuous energy in line loss, multiplier change splitting the month,
due / overdue lists by organisation, scope. Expected values are worked out in ``tests.mdm.assets_world``."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import pyarrow.compute as pc
import pytest
from sqlalchemy import select

from gridcare.archives import meter_assets
from gridcare.archives.asset_models import MeterAssetEvent, MeterReplacement
from gridcare.archives.models import Meter, MeteringPoint, MeterStatus
from gridcare.archives.queries import NotFound
from gridcare.config import Settings
from gridcare.mdm import tasks
from gridcare.mdm.assets import IllegalTransition, VerificationPolicy
from gridcare.mdm.schema import MdmInputError
from gridcare.mdm.store import KIND_LINELOSS, MdmLake
from gridcare.security.authz import PermissionDenied
from gridcare.security.models import AuditRecord
from gridcare.security.principal import SYSTEM, Principal
from gridcare.storage.database import Database
from gridcare.timeutil import BEIJING
from tests.mdm.assets_world import (
    HEAD,
    NEW,
    NOW,
    REPLACED_AT,
    SPARE_B,
    build_assets_world,
    day,
    write_month,
)
from tests.mdm.test_tasks_world import C1, C2, C3, C4, SUPPLY_A, SUPPLY_B

OPERATOR_A = Principal("op-a", org_paths=("/1/2/3/",), permissions=frozenset({"read_data", "edit_archives"}))
ANALYST_A = Principal("an-a", org_paths=("/1/2/3/",), permissions=frozenset({"read_data"}))


@pytest.fixture
def db(database: Database) -> Database:
    build_assets_world(database)
    return database


def _replace(session: object, **overrides: object) -> MeterReplacement:
    kwargs: dict[str, object] = {
        "old_address": C1,
        "new_address": NEW,
        "replaced_at": REPLACED_AT,
        "old_final_kwh": "1012.00",
        "new_initial_kwh": "0.50",
        "reason": "故障换表 faulty display",
        "now": NOW,
    }
    kwargs.update(overrides)
    return meter_assets.replace_meter(session, OPERATOR_A, **kwargs)  # type: ignore[arg-type]


# --- lifecycle ------------------------------------------------------------------------------------------
def test_removal_closes_the_point_and_is_recorded_with_who_when_why(db: Database) -> None:
    with db.sessions() as session:
        event = meter_assets.transition_meter(
            session,
            OPERATOR_A,
            C2,
            "removed",
            effective_on=date(2024, 7, 1),
            reason="销户 account closed",
            now=NOW,
        )
        session.commit()
        assert (event.from_status, event.to_status, event.who, event.why) == (
            "installed",
            "removed",
            "op-a",
            "销户 account closed",
        )
        meter = session.scalar(select(Meter).where(Meter.address == C2))
        assert meter is not None and meter.status == MeterStatus.REMOVED
        point = session.scalar(select(MeteringPoint).where(MeteringPoint.meter_id == meter.id))
        assert point is not None and point.valid_to == date(2024, 7, 1)
        meter_assets.transition_meter(
            session, OPERATOR_A, C2, "scrapped", effective_on=date(2024, 7, 2), reason="worn out", now=NOW
        )
        session.commit()
        history = meter_assets.meter_history(session, OPERATOR_A, C2)
        assert [(e.kind, e.from_status, e.to_status, e.effective_on) for e in history] == [
            ("transition", "installed", "removed", date(2024, 7, 1)),
            ("transition", "removed", "scrapped", date(2024, 7, 2)),
        ]
        assert json.loads(history[0].detail) == {"closed_points": ["MP0002"]}
        actions = session.scalars(select(AuditRecord.action).where(AuditRecord.action.like("meter.%"))).all()
        assert actions == ["meter.transition", "meter.transition"]


def test_illegal_transition_names_the_meter_and_changes_nothing(db: Database) -> None:
    with db.sessions() as session:
        with pytest.raises(
            IllegalTransition, match=r"^to_status: meter 201000000002 cannot go from installed"
        ):
            meter_assets.transition_meter(
                session, OPERATOR_A, C2, "stock", effective_on=date(2024, 7, 1), reason="x", now=NOW
            )
        session.rollback()
        assert session.scalar(select(Meter.status).where(Meter.address == C2)) == MeterStatus.INSTALLED
        assert session.scalars(select(MeterAssetEvent)).all() == []


def test_install_from_stock_needs_a_metering_point(db: Database) -> None:
    with (
        db.sessions() as session,
        pytest.raises(MdmInputError, match=r"^to_status: meter 201000000011 is on no"),
    ):
        meter_assets.transition_meter(
            session, OPERATOR_A, NEW, "installed", effective_on=date(2024, 7, 1), reason="x", now=NOW
        )


def test_removal_must_come_after_the_point_started(db: Database) -> None:
    with (
        db.sessions() as session,
        pytest.raises(MdmInputError, match=r"^effective_on: metering point MP0002"),
    ):
        meter_assets.transition_meter(
            session, OPERATOR_A, C2, "removed", effective_on=date(2020, 1, 1), reason="x", now=NOW
        )


def test_changes_need_edit_archives_and_scope(db: Database) -> None:
    with db.sessions() as session:
        with pytest.raises(PermissionDenied):
            meter_assets.transition_meter(
                session, ANALYST_A, C2, "removed", effective_on=date(2024, 7, 1), reason="x", now=NOW
            )
        with pytest.raises(NotFound):  # station B's meter is invisible to station A's operator
            meter_assets.transition_meter(
                session, OPERATOR_A, C4, "removed", effective_on=date(2024, 7, 1), reason="x", now=NOW
            )
        with pytest.raises(NotFound):
            _replace(session, new_address=SPARE_B)
        with pytest.raises(NotFound):
            meter_assets.meter_history(session, OPERATOR_A, C4)


# --- replacement ----------------------------------------------------------------------------------------
def test_replacement_closes_the_old_point_and_opens_the_new_one(db: Database) -> None:
    with db.sessions() as session:
        row = _replace(session)
        session.commit()
        assert (row.point_code, row.old_final_kwh, row.new_initial_kwh) == (
            "MP0001",
            Decimal("1012.00"),
            Decimal("0.50"),
        )
        assert (row.old_multiplier, row.new_multiplier, row.who) == (1, 1, "op-a")
        points = session.scalars(
            select(MeteringPoint).where(MeteringPoint.code == "MP0001").order_by(MeteringPoint.valid_from)
        ).all()
        assert [(p.meter_id, p.valid_from, p.valid_to, p.customer_id, p.point_number) for p in points] == [
            (1, date(2020, 1, 1), date(2024, 6, 3), 1, 1),
            (11, date(2024, 6, 3), None, 1, 1),
        ]
        status = dict(
            session.execute(select(Meter.address, Meter.status).where(Meter.address.in_([C1, NEW]))).all()
        )
        assert status == {C1: MeterStatus.REMOVED, NEW: MeterStatus.INSTALLED}
        assert session.scalar(select(Meter.install_date).where(Meter.address == NEW)) == date(2024, 6, 3)
        kinds = session.execute(select(MeterAssetEvent.meter_id, MeterAssetEvent.to_status)).all()
        assert sorted(kinds) == [(1, "removed"), (11, "installed")]
        table = meter_assets.replacements_table(session, date(2024, 6, 1), date(2024, 6, 30))
        assert table.select(
            ["old_meter", "new_meter", "old_final", "new_initial", "old_multiplier"]
        ).to_pylist() == [
            {
                "old_meter": C1,
                "new_meter": NEW,
                "old_final": 1012.0,
                "new_initial": 0.5,
                "old_multiplier": 1.0,
            }
        ]
        assert table["change_time"][0].as_py() == REPLACED_AT


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"old_final_kwh": "-1"}, r"^old_final_kwh: a register reading cannot be negative"),
        ({"new_initial_kwh": "0.505"}, r"^new_initial_kwh: registers show two decimals"),
        ({"new_initial_kwh": "abc"}, r"^new_initial_kwh: 'abc' is not a number"),
        (
            {"new_address": C2},
            r"^new_meter: meter 201000000002 is installed, a replacement installs a meter from",
        ),
        ({"new_address": C1}, r"^new_meter: must differ"),
        ({"new_address": "12345"}, r"^new_meter: '12345' is not a 12-digit meter address"),
        (
            {"replaced_at": datetime(2020, 1, 1, 9, tzinfo=BEIJING)},
            r"^replaced_at: metering point MP0001 holds",
        ),
        ({"replaced_at": datetime(2030, 1, 1, 9, tzinfo=BEIJING)}, r"^replaced_at: .* is in the future"),
        ({"reason": " "}, r"^reason: the reason for the change is required"),
    ],
)
def test_bad_replacements_name_the_field_and_change_nothing(
    db: Database, overrides: dict[str, object], message: str
) -> None:
    with db.sessions() as session:
        with pytest.raises(MdmInputError, match=message):
            _replace(session, **overrides)
        session.rollback()
        assert session.scalars(select(MeterReplacement)).all() == []
        assert session.scalar(select(Meter.status).where(Meter.address == NEW)) == MeterStatus.STOCK


def test_line_loss_on_the_replacement_day_is_continuous(settings: Settings, db: Database) -> None:
    """Day 2024-06-03: C1 measured 2 kWh until 10:00, the new meter 3 kWh after: TQ-A sold 5 + 3 + 10 = 18."""
    with db.sessions() as session:
        _replace(session)
        session.commit()
    write_month(settings)
    run = tasks.compute_line_loss(settings, db, day(2))
    assert run.by_status == {"qualified": 2}
    lake = MdmLake(settings.lake_dir)
    daily = lake.results(lake.lineloss, KIND_LINELOSS, day(2))
    assert daily is not None
    tq_a = daily.filter(pc.equal(daily["tg"], "TQ-A")).to_pylist()[0]
    assert (tq_a["supply_kwh"], tq_a["sold_kwh"], tq_a["loss_kwh"]) == (19.5, 18.0, 1.5)
    energy = lake.results(lake.energy, KIND_LINELOSS, day(2))
    assert energy is not None
    by_meter = {r["meter"]: r["energy_kwh"] for r in energy.to_pylist()}
    assert (by_meter[C1], by_meter[NEW]) == (2.0, 3.0)
    # the day after: only the new meter, 5 kWh
    tasks.compute_line_loss(settings, db, day(3))
    energy = lake.results(lake.energy, KIND_LINELOSS, day(3))
    assert energy is not None
    after = {r["meter"]: r["energy_kwh"] for r in energy.to_pylist()}
    assert after[NEW] == 5.0 and C1 not in after


def test_monthly_report_with_replacement_ct_change_and_feeder_head(settings: Settings, db: Database) -> None:
    """June: TQ-A supply 585 (CT x10 -> x30 on the 16th), sold 540 across the replacement; feeder F101
    purchased 780 (head meter) vs sold 660."""
    with db.sessions() as session:
        _replace(session)
        meter_assets.change_multiplier(
            session,
            OPERATOR_A,
            SUPPLY_A,
            effective_from=date(2024, 6, 16),
            ct_ratio="150/5",
            pt_ratio="1/1",
            reason="增容换CT larger CT",
            now=NOW,
        )
        session.commit()
    write_month(settings)
    with db.sessions() as session:
        report = tasks.line_loss_report(session, settings, SYSTEM, "2024-06")
    loss = {(r["level"], r["unit"]): r for r in report.loss.to_pylist()}
    tq_a = loss[("tg", "TQ-A")]
    assert (tq_a["supply_kwh"], tq_a["sold_kwh"], tq_a["loss_kwh"], tq_a["status"]) == (
        585.0,
        540.0,
        45.0,
        "qualified",
    )
    assert tq_a["loss_rate"] == pytest.approx(45 / 585)
    tq_b = loss[("tg", "TQ-B")]
    assert (tq_b["supply_kwh"], tq_b["sold_kwh"]) == (132.0, 120.0)
    bought = {(r["level"], r["unit"]): r for r in report.purchased.to_pylist()}
    feeder = bought[("feeder", "F101")]
    assert (feeder["purchased_kwh"], feeder["sold_kwh"], feeder["loss_kwh"], feeder["status"]) == (
        780.0,
        660.0,
        120.0,
        "high_loss",
    )
    assert feeder["loss_rate"] == pytest.approx(120 / 780)
    county = bought[("org", "C0101")]
    assert (county["purchased_kwh"], county["sold_kwh"], county["status"]) == (780.0, 660.0, "high_loss")
    assert bought[("org", "S010101")]["status"] == "not_computable"  # no head meter under a station


def test_without_the_multiplier_history_the_month_would_be_wrong(settings: Settings, db: Database) -> None:
    """Control: the same CT change written straight into the archive (no history) triples the first half."""
    with db.sessions() as session:
        _replace(session)
        meter = session.scalar(select(Meter).where(Meter.address == SUPPLY_A))
        assert meter is not None
        meter.ct_ratio, meter.multiplier = "150/5", 30
        session.commit()
    write_month(settings)
    with db.sessions() as session:
        report = tasks.line_loss_report(session, settings, SYSTEM, "2024-06")
    tq_a = next(r for r in report.loss.to_pylist() if r["unit"] == "TQ-A")
    assert tq_a["supply_kwh"] == 15 * 58.5 + 15 * 19.5


def test_multiplier_change_rules(db: Database) -> None:
    with db.sessions() as session:
        row = meter_assets.change_multiplier(
            session, OPERATOR_A, SUPPLY_A, effective_from=date(2024, 6, 16), ct_ratio="150/5", pt_ratio="1/1",
            reason="x", now=NOW,
        )  # fmt: skip
        assert (row.old_ct_ratio, row.old_multiplier, row.new_ct_ratio, row.new_multiplier) == (
            "50/5",
            10,
            "150/5",
            30,
        )
        session.commit()
        with pytest.raises(
            MdmInputError, match=r"^effective_from: must be after the meter's last multiplier change"
        ):
            meter_assets.change_multiplier(
                session, OPERATOR_A, SUPPLY_A, effective_from=date(2024, 6, 10), ct_ratio="200/5",
                pt_ratio="1/1", reason="x", now=NOW,
            )  # fmt: skip
        with pytest.raises(MdmInputError, match=r"^ct_ratio: ratio must look like 200/5"):
            meter_assets.change_multiplier(
                session, OPERATOR_A, SUPPLY_A, effective_from=date(2024, 7, 1), ct_ratio="x", pt_ratio="1/1",
                reason="x", now=NOW,
            )  # fmt: skip
        with pytest.raises(MdmInputError, match=r"^effective_from: 2024-08-01 is in the future"):
            meter_assets.change_multiplier(
                session, OPERATOR_A, SUPPLY_A, effective_from=date(2024, 8, 1), ct_ratio="200/5",
                pt_ratio="1/1", reason="x", now=NOW,
            )  # fmt: skip
        history = meter_assets.multiplier_history(session)
        assert history.to_pylist() == [
            {
                "meter": SUPPLY_A,
                "effective_from": date(2024, 6, 16),
                "old_multiplier": 10.0,
                "new_multiplier": 30.0,
            }
        ]


# --- verification ---------------------------------------------------------------------------------------
def test_overdue_and_due_lists_by_type_and_organisation(db: Database) -> None:
    policy = VerificationPolicy()
    today = date(2024, 7, 1)
    with db.sessions() as session:
        overdue = meter_assets.verification_list(session, SYSTEM, policy, today=today)
        # CT meters installed 2020-01-01 were due for inspection on 2021-01-01
        assert [(d.address, d.due_on, d.days_left, d.kind) for d in overdue] == [
            (SUPPLY_A, date(2021, 1, 1), -1277, "inspection"),
            (SUPPLY_B, date(2021, 1, 1), -1277, "inspection"),
            (HEAD, date(2021, 1, 1), -1277, "inspection"),
        ]
        station_a = meter_assets.verification_list(session, OPERATOR_A, policy, today=today)
        assert [d.address for d in station_a] == [SUPPLY_A]
        by_org = meter_assets.verification_list(session, SYSTEM, policy, today=today, org_code="S010102")
        assert [d.address for d in by_org] == [SUPPLY_B]
        with pytest.raises(NotFound):  # station B's code is not visible to station A
            meter_assets.verification_list(session, OPERATOR_A, policy, today=today, org_code="S010102")
        meter_assets.record_verification(
            session, OPERATOR_A, SUPPLY_A, verified_on=date(2024, 6, 20), reason="现场检验 on-site", now=NOW
        )
        session.commit()
        overdue = meter_assets.verification_list(session, OPERATOR_A, policy, today=today)
        assert overdue == []
        due = meter_assets.verification_list(session, OPERATOR_A, policy, today=today, within_days=365)
        assert [(d.address, d.due_on, d.days_left) for d in due] == [(SUPPLY_A, date(2025, 6, 20), 354)]
        # single-phase meters installed 2020-01-01 rotate on 2028-01-01
        late = meter_assets.verification_list(
            session, OPERATOR_A, policy, today=date(2027, 12, 15), within_days=30
        )
        assert [(d.address, d.days_left, d.kind) for d in late] == [
            (C1, 17, "rotation"),
            (C2, 17, "rotation"),
            (C3, 17, "rotation"),
        ]
        with pytest.raises(MdmInputError, match=r"^within_days: must be between 0 and 3660"):
            meter_assets.verification_list(session, SYSTEM, policy, today=today, within_days=-1)
        with pytest.raises(
            MdmInputError, match=r"^verified_on: 2024-06-01 is before the meter's last verification"
        ):
            meter_assets.record_verification(
                session, OPERATOR_A, SUPPLY_A, verified_on=date(2024, 6, 1), reason="x", now=NOW
            )


def test_migration_0005_down_and_up_on_sqlite(database: Database) -> None:
    from sqlalchemy import inspect

    from gridcare.storage import migrate

    engine = database.engine
    migrate.downgrade(engine, "0004")
    assert "meter_replacements" not in inspect(engine).get_table_names()
    assert "last_verified_on" not in {c["name"] for c in inspect(engine).get_columns("meters")}
    migrate.upgrade(engine, "0005")
    assert migrate.current_revision(engine) == "0005"
    assert {"meter_asset_events", "meter_replacements", "meter_multiplier_changes", "feeder_meters"} <= set(
        inspect(engine).get_table_names()
    )
    migrate.upgrade(engine)
