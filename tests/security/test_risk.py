"""Risk warnings: the rules fire at their thresholds, repeats fold into one open alert, a person
acknowledges it through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from gridcare.config import Settings
from gridcare.security import audit, login, risk
from gridcare.security.models import Alert
from gridcare.security.principal import Principal
from gridcare.storage.database import Database
from gridcare.timeutil import BEIJING
from tests.security.helpers import PASSWORD, bearer, make_staff, principal_of, token_for
from tests.support.archive import STATION_A

DAY = datetime(2026, 3, 2, 14, 0, tzinfo=BEIJING)
NIGHT = datetime(2026, 3, 2, 23, 30, tzinfo=BEIJING)


def _alerts(db: Database) -> list[tuple[str, str, int]]:
    with db.sessions() as session:
        return [(a.rule, a.subject, a.count) for a in session.scalars(select(Alert).order_by(Alert.id))]


def _try(db: Database, settings: Settings, username: str, password: str, source: str, now: datetime) -> bool:
    with db.sessions() as session:
        try:
            login.login(session, settings, username, password, source=source, now=now)
        except login.LoginFailed:
            return False
        return True


def test_night_rule() -> None:
    assert risk.is_night(NIGHT)
    assert risk.is_night(datetime(2026, 3, 2, 5, 59, tzinfo=BEIJING))
    assert not risk.is_night(datetime(2026, 3, 2, 6, 0, tzinfo=BEIJING))
    assert not risk.is_night(DAY)
    assert risk.is_night(datetime(2026, 3, 2, 15, 30, tzinfo=UTC))  # 23:30 in Beijing


def test_repeated_login_failures(settings: Settings, archive: Database) -> None:
    make_staff(archive, settings, "op1", ["operator"], "S010101")
    for i in range(settings.alert_login_failures - 1):
        assert not _try(archive, settings, "op1", "wrong-password!", "10.0.0.9", DAY + timedelta(seconds=i))
    assert _alerts(archive) == []
    assert not _try(archive, settings, "op1", "wrong-password!", "10.0.0.9", DAY + timedelta(minutes=1))
    assert _alerts(archive) == [("login_failures", "user:op1", 1)]
    with archive.sessions() as session:
        assert session.scalar(select(Alert.org_id)) == STATION_A


def test_password_spraying_from_one_address(settings: Settings, archive: Database) -> None:
    for i in range(settings.alert_login_failures):
        _try(archive, settings, f"guess{i}", "wrong-password!", "203.0.113.5", DAY)
    assert _alerts(archive) == [("login_failures", "addr:203.0.113.5", 1)]


def test_night_login_from_a_new_address(settings: Settings, archive: Database) -> None:
    make_staff(archive, settings, "op1", ["operator"], "S010101")
    assert _try(archive, settings, "op1", PASSWORD, "10.0.0.1", DAY)
    assert _try(archive, settings, "op1", PASSWORD, "10.0.0.1", NIGHT)  # known address: quiet
    assert _alerts(archive) == []
    assert _try(
        archive, settings, "op1", PASSWORD, "10.0.0.2", DAY + timedelta(hours=1)
    )  # new, by day: quiet
    assert _alerts(archive) == []
    assert _try(archive, settings, "op1", PASSWORD, "10.0.0.3", NIGHT + timedelta(minutes=5))
    assert _alerts(archive) == [("night_new_address", "user:op1@10.0.0.3", 1)]


def test_bulk_personal_data_and_remote_control(settings: Settings, archive: Database) -> None:
    manager = principal_of(archive, settings, make_staff(archive, settings, "mgr", ["manager"], "S010101"))
    threshold = settings.alert_personal_data_views
    with archive.sessions() as session:
        for i in range(threshold - 1):
            audit.record(session, manager, "personal.view", f"customer {i}", now=DAY)
        assert _alerts_in(session) == []
        audit.record(session, manager, "personal.export", "customers of S010101", now=DAY)
        assert _alerts_in(session) == [("personal_data_bulk", "user:mgr", 1)]
        audit.record(session, manager, "personal.view", "customer x", now=DAY)
        assert _alerts_in(session) == [("personal_data_bulk", "user:mgr", 2)]  # folded into the open alert
        for i in range(settings.alert_remote_commands):
            audit.record(session, manager, "remote.trip", f"meter {i}", now=DAY)
        assert ("remote_control_burst", "user:mgr", 1) in _alerts_in(session)
        session.commit()


def _alerts_in(session) -> list[tuple[str, str, int]]:  # type: ignore[no-untyped-def]
    return [(a.rule, a.subject, a.count) for a in session.scalars(select(Alert).order_by(Alert.id))]


def test_window_limits_the_counts(settings: Settings, archive: Database) -> None:
    manager = Principal(username="mgr", org_paths=("/1/2/3/",))
    with archive.sessions() as session:
        for i in range(settings.alert_remote_commands - 1):
            audit.record(session, manager, "remote.close", f"meter {i}", now=DAY)
        later = DAY + timedelta(minutes=settings.alert_window_minutes + 1)
        audit.record(session, manager, "remote.close", "meter z", now=later)
        assert _alerts_in(session) == []


def test_malformed_frames_flood(settings: Settings, archive: Database) -> None:
    with archive.sessions() as session:
        assert risk.record_malformed_frames(session, "3301-00001", 60, org_id=STATION_A, now=DAY) is None
        alert = risk.record_malformed_frames(session, "3301-00001", 40, org_id=STATION_A, now=DAY)
        assert alert is not None and alert.rule == "malformed_frames"
        assert "100 malformed frames" in alert.message
        # another window starts from zero
        later = DAY + timedelta(minutes=settings.alert_window_minutes)
        assert risk.record_malformed_frames(session, "3301-00002", 99, now=later) is None
        assert risk.raise_alert(session, "custom", "terminal:x", "m").count == 1


def test_alerts_api_list_and_acknowledge(settings: Settings, archive: Database, client: TestClient) -> None:
    with archive.sessions() as session:
        risk.record_malformed_frames(session, "3301-00001", 500, org_id=STATION_A, now=DAY)
        session.commit()
    auditor = token_for(archive, settings, make_staff(archive, settings, "auditor", ["audit_admin"]))
    listed = client.get("/api/v1/alerts", params={"open_only": True}, headers=bearer(auditor)).json()
    assert listed["total"] == 1
    alert_id = listed["items"][0]["id"]
    assert listed["items"][0]["rule"] == "malformed_frames"
    r = client.post(
        f"/api/v1/alerts/{alert_id}/ack", json={"note": "terminal replaced"}, headers=bearer(auditor)
    )
    assert r.status_code == 200
    assert (r.json()["acknowledged_by"], r.json()["ack_note"]) == ("auditor", "terminal replaced")
    again = client.post(f"/api/v1/alerts/{alert_id}/ack", headers=bearer(auditor))
    assert again.status_code == 409
    assert (
        client.get("/api/v1/alerts", params={"open_only": True}, headers=bearer(auditor)).json()["total"] == 0
    )
    analyst = token_for(archive, settings, make_staff(archive, settings, "analyst1", ["analyst"]))
    assert client.get("/api/v1/alerts", headers=bearer(analyst)).status_code == 403


@pytest.mark.parametrize("threshold", [2, 3])
def test_thresholds_come_from_the_settings(settings: Settings, archive: Database, threshold: int) -> None:
    risk.configure(settings.model_copy(update={"alert_remote_commands": threshold}))
    try:
        with archive.sessions() as session:
            for i in range(threshold - 1):
                audit.record(session, Principal("op", ("/",)), "remote.trip", f"meter {i}", now=DAY)
            assert _alerts_in(session) == []
            audit.record(session, Principal("op", ("/",)), "remote.trip", "meter z", now=DAY)
            assert [a[0] for a in _alerts_in(session)] == ["remote_control_burst"]
    finally:
        risk.configure(settings)
