"""MDM tasks end to end: archive from the database, readings from the lake, results back to the lake.

The world (``tests.mdm.test_tasks_world``) is a two-station archive with hand-made registers; every expected
value below is worked out by hand from its table.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pyarrow.compute as pc
import pytest
from sqlalchemy import select

from gridcare.archives.queries import NotFound
from gridcare.config import Settings
from gridcare.mdm import latest_valid, results, tasks
from gridcare.mdm.schema import MdmInputError
from gridcare.mdm.store import KIND_LINELOSS, KIND_VEE, MdmLake
from gridcare.security.authz import PermissionDenied
from gridcare.security.models import AuditRecord
from gridcare.security.principal import SYSTEM, Principal
from gridcare.storage.database import Database
from gridcare.timeutil import BEIJING, day_start
from tests.mdm.test_tasks_world import (
    C1,
    C2,
    C3,
    C4,
    LATE_ACTUAL_C3,
    SUPPLY_A,
    SUPPLY_B,
    actual_rows,
    build_world,
    day,
    write_actuals,
)

STATION_A_USER = Principal("station-a", org_paths=("/1/2/3/",), permissions=frozenset({"read_data"}))
STATION_B_USER = Principal("station-b", org_paths=("/1/2/4/",), permissions=frozenset({"read_data"}))
OPERATOR_A = Principal(
    "op-a", org_paths=("/1/2/3/",), permissions=frozenset({"read_data", "edit_archives"}), user_id=None
)
RUN1 = datetime(2024, 6, 11, 6, 0, tzinfo=BEIJING)
RUN2 = datetime(2024, 6, 12, 6, 0, tzinfo=BEIJING)


@pytest.fixture
def world(settings: Settings, database: Database) -> tuple[Settings, Database]:
    """The archive, and actual readings of the freezes of days 0..10 (2024-06-01..06-11) in Parquet."""
    build_world(database)
    write_actuals(settings, actual_rows(range(11)), flush=True)
    return settings, database


def _readings(settings: Settings, meter: str, i: int) -> list[dict[str, object]]:
    rows = MdmLake(settings.lake_dir).read_readings(
        day(i),
        day(i),
        meters=[meter],
        columns=("meter", "freeze_time", "value", "version", "source", "method"),
    )
    return sorted(rows.to_pylist(), key=lambda r: (r["version"], r["source"]))


def test_meter_archive_from_the_database(world: tuple[Settings, Database]) -> None:
    _, database = world
    with database.sessions() as session:
        archive = tasks.meter_archive(session).to_pylist()
    by_meter = {r["meter"]: r for r in archive}
    assert sorted(by_meter) == [C1, C2, C3, C4, SUPPLY_A, SUPPLY_B]
    assert by_meter[SUPPLY_A] | {} == {
        "meter": SUPPLY_A,
        "multiplier": 10.0,
        "customer_class": None,
        "capacity_kva": 400.0,
        "forward_only": None,
        "tg": "TQ-A",
        "role": "supply",
        "rollover_kwh": None,
        "feeder": "F101",
        "org": "S010101",
        "terminal": "3301-00001",
        "tg_kind": "public",
        "customer_no": None,
        "org_path": "/1/2/3/",
    }
    assert (by_meter[C3]["role"], by_meter[C3]["customer_class"], by_meter[C3]["capacity_kva"]) == (
        "customer",
        "general_commercial",
        8.0,
    )
    assert (by_meter[C4]["tg"], by_meter[C4]["org"], by_meter[C4]["terminal"]) == (
        "TQ-B",
        "S010102",
        "3301-00002",
    )
    with database.sessions() as session:  # points not yet valid are left out
        assert tasks.meter_archive(session, on=datetime(2019, 12, 31).date()).num_rows == 0


def test_vee_flags_the_decrease_and_the_gaps_and_estimates_them(world: tuple[Settings, Database]) -> None:
    settings, database = world
    run = tasks.run_vee_task(settings, database, day(10), now=RUN1)
    assert (run.meters, run.readings, run.flags, run.estimates) == (6, 64, 6, 2)
    # constant hand-made consumption: C1 and both supply meters are flat lines (C2 dropped, C3/C4 missing)
    assert run.by_rule == {"FLAT_LINE": 3, "MISSING": 2, "REG_DECREASE": 1}
    assert run.by_severity == {"error": 3, "warning": 3}
    assert run.estimates_by_method == {"same_day_last_week": 2}

    lake = MdmLake(settings.lake_dir)
    flags = lake.results(lake.vee, KIND_VEE, day(10))
    assert flags is not None
    decrease = flags.filter(pc.equal(flags["rule"], "REG_DECREASE")).to_pylist()
    assert [
        (f["meter"], f["observed"], f["threshold"], f["version"], f["tg"], f["org"]) for f in decrease
    ] == [(C2, 100.0, 527.0, 1, "TQ-A", "S010101")]
    missing = flags.filter(pc.equal(flags["rule"], "MISSING"))
    assert sorted(missing["meter"].to_pylist()) == [C3, C4]

    # estimates are new versions in the readings lake: register of day 9 + the advance of a week before
    assert _readings(settings, C3, 10) == [
        {
            "meter": C3,
            "freeze_time": day_start(day(10)),
            "value": 2100.0,
            "version": 1,
            "source": "estimated",
            "method": "same_day_last_week",
        }
    ]
    assert [r["value"] for r in _readings(settings, C4, 10)] == [340.0]

    # a re-run writes no estimate twice and its flags replace the first run's
    again = tasks.run_vee_task(settings, database, day(10), now=RUN2)
    assert (again.estimates, again.flags, again.readings) == (0, 6, 66)
    latest = lake.results(lake.vee, KIND_VEE, day(10))
    assert latest is not None and latest.num_rows == 6
    assert lake.latest_run(KIND_VEE, day(10))["run_at"] == RUN2  # type: ignore[index]


def test_a_later_actual_wins_over_the_estimates(world: tuple[Settings, Database]) -> None:
    settings, database = world
    tasks.run_vee_task(settings, database, day(10), now=RUN1)
    write_actuals(settings, actual_rows([11]))  # C3 reads 2120.00 at day 11: 30 kWh in two days
    run = tasks.run_vee_task(settings, database, day(11), now=RUN2)
    # day 10 of C3 is now between two actuals: re-estimated by interpolation as version 2; C4's interpolation
    # equals its first estimate (340.00), so C4 gets no new version
    assert run.estimates_by_method == {"linear_interpolation": 1}
    assert [(r["version"], r["source"], r["method"], r["value"]) for r in _readings(settings, C3, 10)] == [
        (1, "estimated", "same_day_last_week", 2100.0),
        (2, "estimated", "linear_interpolation", 2105.0),
    ]
    write_actuals(
        settings,
        [{"meter": C3, "di": "05060101", "freeze_time": day_start(day(10)), "value": LATE_ACTUAL_C3}],
    )
    with database.sessions() as session:
        history = tasks.reading_versions(
            session, settings, SYSTEM, C3, first=day(10), last=day(10)
        ).to_pylist()
    assert [(h["version"], h["source"], h["value"], h["effective"]) for h in history] == [
        (1, "actual", 2105.0, True),
        (1, "estimated", 2100.0, False),
        (2, "estimated", 2105.0, False),
    ]
    readings = MdmLake(settings.lake_dir).read_readings(day(10), day(10), meters=[C3])
    assert latest_valid(readings).select(["source", "value"]).to_pylist() == [
        {"source": "actual", "value": 2105.0}
    ]
    # a gap that has an actual now is no longer estimated
    assert tasks.run_vee_task(settings, database, day(11), now=RUN2).estimates == 0


def test_edit_is_a_new_audited_version_that_vee_then_uses(world: tuple[Settings, Database]) -> None:
    settings, database = world
    tasks.run_vee_task(settings, database, day(10), now=RUN1)
    with database.sessions() as session:
        row = tasks.edit_reading(
            session,
            settings,
            OPERATOR_A,
            meter=C2,
            di="05060101",
            freeze_time=day(10),
            value=530.0,
            reason="display photo shows 530.00",
            when=RUN2,
        )
        session.commit()
    assert (row["version"], row["value"], row["value_before"], row["who"]) == (2, 530.0, 100.0, "op-a")
    with database.sessions() as session:
        versions = tasks.reading_versions(
            session, settings, SYSTEM, C2, first=day(10), last=day(10)
        ).to_pylist()
        record = session.scalars(select(AuditRecord).where(AuditRecord.action == "mdm.reading_edit")).one()
    assert [
        (v["version"], v["source"], v["value"], v["who"], v["why"], v["effective"]) for v in versions
    ] == [
        (1, "actual", 100.0, None, None, False),
        (2, "edited", 530.0, "op-a", "display photo shows 530.00", True),
    ]
    assert versions[1]["method"] == "manual_edit"
    assert versions[1]["recorded_at"] == RUN2
    assert (record.actor, record.object, record.result) == ("op-a", f"meter {C2}", "success")
    assert '"value_before":100.0' in record.detail and '"version":2' in record.detail

    rerun = tasks.run_vee_task(settings, database, day(10), now=RUN2)
    assert "REG_DECREASE" not in rerun.by_rule
    with database.sessions() as session:
        summary = results.quality_summary(session, settings, SYSTEM, day(10))
    counts = {r["rule"]: r["count"] for r in summary["rules"]}
    assert (counts["REG_DECREASE"], counts["MISSING"], summary["flags"]) == (0, 2, 6)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"meter": "20100000000X"}, "meter"),
        ({"di": "04000101"}, "di"),
        ({"freeze_time": datetime(2024, 6, 11, 1, 0)}, "freeze_time"),
        ({"value": -1.0}, "value"),
        ({"value": float("nan")}, "value"),
        ({"reason": "  "}, "reason"),
    ],
)
def test_bad_edit_names_the_field_and_changes_nothing(
    world: tuple[Settings, Database], change: dict[str, object], field: str
) -> None:
    settings, database = world
    args: dict[str, object] = {
        "meter": C2,
        "di": "05060101",
        "freeze_time": day(10),
        "value": 530.0,
        "reason": "fix",
        **change,
    }
    with database.sessions() as session, pytest.raises(MdmInputError, match=rf"^{field}:"):
        tasks.edit_reading(session, settings, OPERATOR_A, **args)  # type: ignore[arg-type]
    assert [r["version"] for r in _readings(settings, C2, 10)] == [1]
    with database.sessions() as session:
        assert (
            session.scalars(select(AuditRecord).where(AuditRecord.action == "mdm.reading_edit")).all() == []
        )


def test_edit_outside_scope_or_without_permission_is_refused(world: tuple[Settings, Database]) -> None:
    settings, database = world
    args = {"meter": C4, "di": "05060101", "freeze_time": day(10), "value": 340.0, "reason": "fill"}
    with database.sessions() as session:
        with pytest.raises(NotFound):
            tasks.edit_reading(session, settings, OPERATOR_A, **args)  # type: ignore[arg-type]
        with pytest.raises(PermissionDenied):
            tasks.edit_reading(session, settings, STATION_B_USER, **args)  # type: ignore[arg-type]
    assert _readings(settings, C4, 10) == []


def test_daily_line_loss_of_hand_computed_areas(world: tuple[Settings, Database]) -> None:
    settings, database = world
    run = tasks.compute_line_loss(settings, database, day(5))
    assert (run.tgs, run.meters, run.by_status) == (2, 6, {"qualified": 2})
    lake = MdmLake(settings.lake_dir)
    table = lake.results(lake.lineloss, KIND_LINELOSS, day(5))
    assert table is not None
    rows = {r["tg"]: r for r in table.to_pylist()}
    # TQ-A: supply 1.95 x 10 = 19.5 kWh, sold 5 + 3 + 10 = 18 kWh; TQ-B: supply 4.4, sold 4
    a, b = rows["TQ-A"], rows["TQ-B"]
    assert (a["supply_kwh"], a["sold_kwh"], a["loss_kwh"], a["status"], a["customers"]) == (
        19.5,
        18.0,
        1.5,
        "qualified",
        3,
    )
    assert a["loss_rate"] == pytest.approx(1.5 / 19.5)
    assert (a["feeder"], a["org"], a["missing_points"]) == ("F101", "S010101", 0)
    assert (b["supply_kwh"], b["sold_kwh"], b["loss_kwh"], b["org"]) == (4.4, 4.0, 0.4, "S010102")
    assert b["loss_rate"] == pytest.approx(0.4 / 4.4)
    energy = lake.results(lake.energy, KIND_LINELOSS, day(5))
    assert energy is not None
    assert {r["meter"]: r["energy_kwh"] for r in energy.to_pylist()} == {
        C1: 5.0,
        C2: 3.0,
        C3: 10.0,
        C4: 4.0,
        SUPPLY_A: 19.5,
        SUPPLY_B: 4.4,
    }


def test_line_loss_counts_missing_points(world: tuple[Settings, Database]) -> None:
    settings, database = world
    tasks.compute_line_loss(settings, database, day(9))  # closed by the freeze of day 10
    with database.sessions() as session:
        ranking = results.line_loss_ranking(session, settings, SYSTEM, day(9))
    got = [
        (i["tg"], i["status"], i["reason"], i["missing_points"], i["supply_kwh"]) for i in ranking["items"]
    ]
    # TQ-A: C2's register dropped (no advance) and C3 is missing; TQ-B: C4 is missing
    assert got == [
        ("TQ-A", "not_computable", "customers_missing", 2, 19.5),
        ("TQ-B", "not_computable", "customers_missing", 1, 4.4),
    ]
    assert ranking["by_status"]["not_computable"] == 2


def test_monthly_report_per_area_feeder_and_organisation(world: tuple[Settings, Database]) -> None:
    settings, database = world
    write_actuals(settings, actual_rows(range(11, 31)))  # up to the freeze of 2024-07-01
    with database.sessions() as session:
        report = tasks.line_loss_report(session, settings, SYSTEM, "2024-06")
        scoped = tasks.line_loss_report(session, settings, STATION_A_USER, "2024-06")
    got = {
        (r["level"], r["unit"]): (r["supply_kwh"], r["sold_kwh"], r["loss_kwh"], r["status"], r["tg_total"])
        for r in report.loss.to_pylist()
    }
    # June: TQ-A supply 30 x 19.5 = 585, sold 150 + 90 + 310 = 550; TQ-B supply 132, sold 120
    assert got == {
        ("tg", "TQ-A"): (585.0, 550.0, 35.0, "qualified", 1),
        ("tg", "TQ-B"): (132.0, 120.0, 12.0, "qualified", 1),
        ("feeder", "F101"): (717.0, 670.0, 47.0, "qualified", 2),
        ("org", "C01"): (717.0, 670.0, 47.0, "qualified", 2),
        ("org", "C0101"): (717.0, 670.0, 47.0, "qualified", 2),
        ("org", "S010101"): (585.0, 550.0, 35.0, "qualified", 1),
        ("org", "S010102"): (132.0, 120.0, 12.0, "qualified", 1),
    }
    # no feeder head meters in the archive: purchased energy cannot be computed
    assert set(report.purchased["status"].to_pylist()) == {"not_computable"}
    assert report.purchased.num_rows == 5
    # a station user gets its own 台区 and organisation only; the feeder covers its 台区 only
    scoped_got = {(r["level"], r["unit"]): (r["supply_kwh"], r["tg_total"]) for r in scoped.loss.to_pylist()}
    assert scoped_got == {
        ("tg", "TQ-A"): (585.0, 1),
        ("feeder", "F101"): (585.0, 1),
        ("org", "S010101"): (585.0, 1),
    }
    with pytest.raises(MdmInputError, match=r"^month:"):
        tasks.line_loss_report(session, settings, SYSTEM, "2024-13")


def test_results_are_scoped_to_the_organisation(world: tuple[Settings, Database]) -> None:
    settings, database = world
    tasks.run_vee_task(settings, database, day(10), now=RUN1)
    tasks.compute_line_loss(settings, database, day(5))
    with database.sessions() as session:
        a_flags = results.quality_flags(session, settings, STATION_A_USER, day(10), rule="MISSING")
        b_summary = results.quality_summary(session, settings, STATION_B_USER, day(10))
        a_ranking = results.line_loss_ranking(session, settings, STATION_A_USER, day(5))
        b_detail = results.tg_detail(session, settings, STATION_B_USER, "TQ-B", day(5))
        with pytest.raises(NotFound):
            results.tg_detail(session, settings, STATION_A_USER, "TQ-B", day(5))
    assert [f["meter"] for f in a_flags["items"]] == [C3]
    assert (b_summary["flags"], b_summary["by_severity"]["error"]) == (2, 1)  # C4 missing, SUPPLY_B flat
    assert [i["tg"] for i in a_ranking["items"]] == ["TQ-A"]
    assert [(m["meter"], m["role"], m["energy_kwh"], m["customer_no"]) for m in b_detail["meters"]] == [
        (SUPPLY_B, "supply", 4.4, None),
        (C4, "customer", 4.0, "0000000004"),
    ]
    assert [(p["day"], p["supply_kwh"]) for p in b_detail["curve"]] == [(day(5), 4.4)]


def test_days_without_a_run_have_no_results(world: tuple[Settings, Database]) -> None:
    settings, database = world
    with database.sessions() as session:
        summary = results.quality_summary(session, settings, SYSTEM, day(3))
        ranking = results.line_loss_ranking(session, settings, SYSTEM, day(3))
    assert (summary["run"], summary["flags"], ranking["run"], ranking["items"]) == (None, 0, None, [])


def test_written_values_keep_two_decimals_in_the_lake(world: tuple[Settings, Database]) -> None:
    settings, database = world
    with database.sessions() as session:
        tasks.edit_reading(
            session,
            settings,
            SYSTEM,
            meter=C1,
            di="05060101",
            freeze_time=day(10),
            value=1234.56,
            reason="decimal check",
        )
        session.commit()
    raw = MdmLake(settings.lake_dir).readings.raw(day(10), day(10))
    edited = raw.filter(pc.equal(raw["source"], "edited")).to_pylist()
    assert [(r["meter"], r["value"], r["version"]) for r in edited] == [(C1, Decimal("1234.5600"), 2)]


def test_tariff_registers_are_checked_on_the_validated_freeze(world: tuple[Settings, Database]) -> None:
    settings, database = world
    tariffs = [Decimal(v) for v in ("100.00", "300.00", "400.00", "200.00")]  # sum 1000 != total 1050
    write_actuals(
        settings,
        [
            {"meter": C1, "di": f"05060101.{k + 1}", "freeze_time": day_start(day(i)), "value": v}
            for i in (9, 10)
            for k, v in enumerate(tariffs)
        ],
    )
    run = tasks.run_vee_task(settings, database, day(10), now=RUN1)
    # the day's four tariff registers are read (64 + 4 rows); those of day 9 are history VEE does not need
    assert (run.readings, run.by_rule.get("TARIFF_SUM")) == (68, 1)
    lake = MdmLake(settings.lake_dir)
    flags = lake.results(lake.vee, KIND_VEE, day(10))
    assert flags is not None
    tariff = flags.filter(pc.equal(flags["rule"], "TARIFF_SUM")).to_pylist()
    assert [(f["meter"], f["observed"]) for f in tariff] == [(C1, -50.0)]  # T1..T4 - total [kWh]
