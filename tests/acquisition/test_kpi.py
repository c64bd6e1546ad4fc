"""Collection KPIs over hand-made outcomes on the small two-station archive (4 points, 2 terminals)."""

from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import update
from typer.testing import CliRunner

from gridcare.acquisition import kpi
from gridcare.acquisition.models import (
    FailureReason,
    PointCollection,
    PointStatus,
    RegisterCollection,
    TerminalStatus,
)
from gridcare.archives.models import MeteringPoint
from gridcare.cli import app
from gridcare.config import Settings
from gridcare.security.principal import SYSTEM, Principal
from gridcare.storage.database import Database
from gridcare.storage.db import transaction
from gridcare.timeutil import BEIJING
from tests.support.archive import build_small_archive

DAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=BEIJING)


def _outcome(mp: int, ok: bool, reason: FailureReason | None = None) -> PointCollection:
    status = PointStatus.OK if ok else PointStatus.FAILED
    return PointCollection(
        metering_point_id=mp, business_date=DAY, status=status, reason=reason, updated_at=NOW
    )


def test_rates_reasons_and_scope(database: Database) -> None:
    with transaction(database.sessions) as session:
        build_small_archive(session)
        session.add_all([_outcome(1, True), _outcome(2, False, FailureReason.NO_REPLY), _outcome(3, True)])
        # point 4 (station B) was never tried
        session.add(TerminalStatus(terminal_id=1, online=True, malformed_frames=0))
    with database.sessions() as session:
        overall = kpi.overall_rate(session, DAY, SYSTEM)
        assert (overall.due, overall.collected, overall.rate_pct) == (4, 2, 50.0)
        by_org = {
            r.key: (r.due, r.collected) for r in kpi.success_rates(session, DAY, SYSTEM, "organisation")
        }
        assert by_org == {"S010101": (3, 2), "S010102": (1, 0)}
        by_terminal = [r.key for r in kpi.success_rates(session, DAY, SYSTEM, "terminal")]
        assert by_terminal == ["3301-00002", "3301-00001"]  # worst first
        reasons = kpi.reason_counts(session, DAY, SYSTEM)
        assert reasons == {"no_reply": 1, "not_attempted": 1}
        assert [f["meter"] for f in kpi.failures(session, DAY, SYSTEM)] == ["201000000002", "201000000004"]
        online = kpi.terminal_online_rate(session, SYSTEM)
        assert (online.due, online.collected) == (2, 1)
        station_a = Principal("a", org_paths=("/1/2/3/",))
        assert kpi.overall_rate(session, DAY, station_a).due == 3
        assert kpi.reason_counts(session, DAY, station_a) == {"no_reply": 1}
        trend = kpi.trend(session, DAY, SYSTEM, days=2)
        assert [(t["date"], t["collected"]) for t in trend] == [("2026-11-22", 0), ("2026-11-23", 2)]


def test_a_point_counts_for_the_days_it_served(database: Database) -> None:
    """A day's rate does not change when a point is closed later (换表, removal): point 1 closed the next
    day still counts on DAY; closed on DAY (valid_to exclusive) it does not."""
    with transaction(database.sessions) as session:
        build_small_archive(session)
        session.add_all([_outcome(1, True), _outcome(2, False, FailureReason.NO_REPLY), _outcome(3, True)])
    with transaction(database.sessions) as session:
        session.execute(
            update(MeteringPoint).where(MeteringPoint.id == 1).values(valid_to=date(2026, 11, 24))
        )
    with database.sessions() as session:
        overall = kpi.overall_rate(session, DAY, SYSTEM)
        assert (overall.due, overall.collected) == (4, 2)
    with transaction(database.sessions) as session:
        session.execute(update(MeteringPoint).where(MeteringPoint.id == 1).values(valid_to=DAY))
    with database.sessions() as session:
        overall = kpi.overall_rate(session, DAY, SYSTEM)
        assert (overall.due, overall.collected) == (3, 1)
        assert kpi.overall_rate(session, date(2026, 11, 22), SYSTEM).due == 4


def test_collectable_rate_leaves_out_offline_terminals() -> None:
    overall = kpi.Rate("all", "all", 2015, 1606)
    rate = kpi.collectable_rate(overall, {"terminal_offline": 405, "invalid_data": 4})
    assert (rate.due, rate.collected, rate.rate_pct) == (1610, 1606, 99.75)


def test_collection_report_from_the_cli_has_the_extra_registers(
    settings: Settings, database: Database
) -> None:
    with transaction(database.sessions) as session:
        build_small_archive(session)
        session.add_all(
            [_outcome(1, True), _outcome(2, True), _outcome(3, False, FailureReason.TERMINAL_OFFLINE)]
        )
        session.add_all(
            [
                RegisterCollection(
                    metering_point_id=1,
                    business_date=DAY,
                    di="05060301",
                    status=PointStatus.OK,
                    updated_at=NOW,
                ),
                RegisterCollection(
                    metering_point_id=1,
                    business_date=DAY,
                    di="05060901",
                    status=PointStatus.FAILED,
                    reason=FailureReason.NO_REPLY,
                    updated_at=NOW,
                ),
            ]
        )
    args = ["kpi", "collection", "--date", DAY.isoformat(), "--data-dir", str(settings.data_dir)]
    out = CliRunner().invoke(app, [*args, "--json"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    assert (report["overall"]["due"], report["overall"]["collected"]) == (4, 2)
    assert report["failure_reasons"] == {"terminal_offline": 1, "not_attempted": 1}
    assert report["extra_registers"] == {"05060301": {"ok": 1}, "05060901": {"no_reply": 1}}
    table = CliRunner().invoke(app, args)
    assert table.exit_code == 0 and "50.00%" in table.output and "05060901" in table.output
