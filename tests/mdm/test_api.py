"""MDM API and console pages: data quality, line-loss ranking and drill-down, reading edits; scope."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from gridcare.api.app import create_app
from gridcare.config import Settings
from gridcare.mdm import tasks
from gridcare.security.models import AuditRecord
from gridcare.storage.database import Database
from tests.mdm.test_tasks_world import C2, C3, C4, SUPPLY_A, actual_rows, build_world, day, write_actuals
from tests.security.helpers import make_staff, token_for

QUALITY_DAY, LOSS_DAY = "2024-06-11", "2024-06-06"


@dataclass
class Api:
    client: TestClient
    database: Database
    tokens: dict[str, str]

    def get(self, who: str, url: str, **params: Any) -> Any:
        r = self.client.get(url, params=params, headers={"Authorization": f"Bearer {self.tokens[who]}"})
        assert r.status_code == 200, r.text
        return r.json()

    def status(self, who: str, method: str, url: str, **kwargs: Any) -> int:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        return self.client.request(method, url, headers=headers, **kwargs).status_code


@pytest.fixture
def api(settings: Settings, database: Database) -> Iterator[Api]:
    build_world(database)
    write_actuals(settings, actual_rows(range(11)), flush=True)
    tasks.run_vee_task(settings, database, day(10))
    tasks.compute_line_loss(settings, database, day(5))
    tasks.compute_line_loss(settings, database, day(9))
    accounts = {
        "company": make_staff(database, settings, "analyst-c", ["analyst"], "C01"),
        "station_a": make_staff(database, settings, "analyst-a", ["analyst"], "S010101"),
        "station_b": make_staff(database, settings, "analyst-b", ["analyst"], "S010102"),
        "operator_a": make_staff(database, settings, "operator-a", ["operator"], "S010101"),
    }
    tokens = {k: token_for(database, settings, a) for k, a in accounts.items()}
    with TestClient(create_app(settings, database)) as client:
        yield Api(client, database, tokens)


def test_quality_counts_per_rule_and_severity_in_scope(api: Api) -> None:
    whole = api.get("company", "/api/v1/mdm/quality", day=QUALITY_DAY)
    counts = {r["rule"]: r["count"] for r in whole["rules"]}
    assert (counts["MISSING"], counts["REG_DECREASE"], counts["FLAT_LINE"], counts["SPIKE"]) == (2, 1, 3, 0)
    assert whole["by_severity"] == {"error": 3, "warning": 3, "info": 0}
    assert (whole["flags"], whole["meters_flagged"], whole["run"]["estimates"]) == (6, 6, 2)
    station_a = api.get("station_a", "/api/v1/mdm/quality", day=QUALITY_DAY)
    counts_a = {r["rule"]: r["count"] for r in station_a["rules"]}
    assert (counts_a["MISSING"], counts_a["REG_DECREASE"], station_a["flags"]) == (1, 1, 4)
    empty = api.get("company", "/api/v1/mdm/quality", day="2024-06-05")
    assert (empty["run"], empty["flags"]) == (None, 0)


def test_failing_readings_are_paged_and_scoped(api: Api) -> None:
    first = api.get("company", "/api/v1/mdm/quality/flags", day=QUALITY_DAY, page_size=2)
    assert (first["total"], first["page"]) == (6, 1)
    assert [(f["rule"], f["meter"]) for f in first["items"]] == [("MISSING", C3), ("MISSING", C4)]
    second = api.get("company", "/api/v1/mdm/quality/flags", day=QUALITY_DAY, page_size=2, page=2)
    assert (second["items"][0]["rule"], second["items"][0]["meter"]) == ("REG_DECREASE", C2)
    b = api.get("station_b", "/api/v1/mdm/quality/flags", day=QUALITY_DAY, rule="MISSING")
    assert [f["meter"] for f in b["items"]] == [C4]
    bad = api.client.get(
        "/api/v1/mdm/quality/flags",
        params={"day": QUALITY_DAY, "rule": "NOPE"},
        headers={"Authorization": f"Bearer {api.tokens['company']}"},
    )
    assert bad.status_code == 422 and bad.json()["detail"].startswith("rule: unknown rule 'NOPE'")


def test_line_loss_ranking_worst_first_and_scoped(api: Api) -> None:
    day9 = api.get("company", "/api/v1/mdm/lineloss", day="2024-06-10")
    assert [(i["tg"], i["status"], i["missing_points"]) for i in day9["items"]] == [
        ("TQ-A", "not_computable", 2),
        ("TQ-B", "not_computable", 1),
    ]
    day5 = api.get("company", "/api/v1/mdm/lineloss", day=LOSS_DAY)
    # both qualified: the higher rate first (TQ-B 9.09 % > TQ-A 7.69 %)
    assert [(i["tg"], i["name"], i["status_label"]) for i in day5["items"]] == [
        ("TQ-B", "河口1号台区", "合格 qualified"),
        ("TQ-A", "城关1号台区", "合格 qualified"),
    ]
    only_b = api.get("station_b", "/api/v1/mdm/lineloss", day=LOSS_DAY)
    assert [i["tg"] for i in only_b["items"]] == ["TQ-B"]
    assert only_b["by_status"]["qualified"] == 1


def test_area_drill_down_and_its_scope(api: Api) -> None:
    detail = api.get("station_a", "/api/v1/mdm/lineloss/TQ-A", day=LOSS_DAY, days=7)
    assert (detail["tg"], detail["capacity_kva"], detail["line_loss"]["loss_kwh"]) == ("TQ-A", 400, 1.5)
    assert [(p["day"], p["supply_kwh"], p["sold_kwh"]) for p in detail["curve"]] == [
        ("2024-06-06", 19.5, 18.0)
    ]
    assert (detail["meters"][0]["meter"], detail["meters"][0]["energy_kwh"]) == (SUPPLY_A, 19.5)
    assert len(detail["meters"]) == 4
    assert api.status("station_a", "GET", "/api/v1/mdm/lineloss/TQ-B", params={"day": LOSS_DAY}) == 404
    assert api.status("station_a", "GET", "/api/v1/mdm/lineloss/NOPE", params={"day": LOSS_DAY}) == 404


def test_monthly_report_and_versions(api: Api) -> None:
    report = api.get("station_a", "/api/v1/mdm/lineloss/report", month="2024-06")
    assert sorted((r["level"], r["unit"]) for r in report["line_loss"]) == [
        ("feeder", "F101"),
        ("org", "S010101"),
        ("tg", "TQ-A"),
    ]
    assert api.status("station_a", "GET", "/api/v1/mdm/lineloss/report", params={"month": "2024-6"}) == 422
    versions = api.get(
        "station_a", f"/api/v1/mdm/readings/{C3}/versions", **{"from": "2024-06-11", "to": "2024-06-11"}
    )
    assert [(v["version"], v["source"], v["method"], v["effective"]) for v in versions] == [
        (1, "estimated", "same_day_last_week", True)
    ]
    assert api.status("station_a", "GET", f"/api/v1/mdm/readings/{C4}/versions") == 404
    none = api.get(
        "station_b", f"/api/v1/mdm/readings/{C4}/versions", **{"from": "2024-06-20", "to": "2024-06-21"}
    )
    assert none == []


def test_edit_needs_permission_scope_and_a_reason_and_is_audited(api: Api) -> None:
    body = {
        "meter": C2,
        "di": "05060101",
        "freeze_time": "2024-06-11T00:00:00+08:00",
        "value": 530,
        "reason": "photo",
    }
    url = "/api/v1/mdm/readings/edits"
    assert api.status("station_a", "POST", url, json=body) == 403
    assert api.status("operator_a", "POST", url, json={**body, "meter": C4}) == 404
    assert api.status("operator_a", "POST", url, json={**body, "reason": ""}) == 422
    bad_time = api.client.post(
        url,
        json={**body, "freeze_time": "2024-06-11T01:00:00+08:00"},
        headers={"Authorization": f"Bearer {api.tokens['operator_a']}"},
    )
    assert bad_time.status_code == 422 and bad_time.json()["detail"].startswith("freeze_time:")
    with api.database.sessions() as session:
        assert (
            session.scalars(select(AuditRecord).where(AuditRecord.action == "mdm.reading_edit")).all() == []
        )
    ok = api.client.post(url, json=body, headers={"Authorization": f"Bearer {api.tokens['operator_a']}"})
    assert ok.status_code == 201, ok.text
    row = ok.json()
    assert (row["version"], row["value"], row["value_before"], row["who"], row["source"]) == (
        2,
        530.0,
        100.0,
        "operator-a",
        "edited",
    )
    with api.database.sessions() as session:
        record = session.scalars(select(AuditRecord).where(AuditRecord.action == "mdm.reading_edit")).one()
    assert (record.actor, record.object) == ("operator-a", f"meter {C2}")
    versions = api.get(
        "operator_a", f"/api/v1/mdm/readings/{C2}/versions", **{"from": "2024-06-11", "to": "2024-06-11"}
    )
    assert [(v["version"], v["source"], v["effective"]) for v in versions] == [
        (1, "actual", False),
        (2, "edited", True),
    ]


def _page(api: Api, who: str, url: str) -> tuple[int, str]:
    api.client.cookies.set("gridcare_session", api.tokens[who])
    r = api.client.get(url, follow_redirects=False)
    api.client.cookies.clear()
    return r.status_code, r.text


def test_console_pages_render_in_scope_without_inline_scripts(api: Api) -> None:
    status, html = _page(api, "company", f"/mdm/quality?day={QUALITY_DAY}")
    assert status == 200
    assert re.search(r'id="mdm-flags">6<', html) and re.search(r'id="mdm-errors">3<', html)
    assert C4 in html and "示值倒走" in html
    status, html = _page(api, "station_a", f"/mdm/quality?day={QUALITY_DAY}&rule=MISSING")
    assert status == 200 and C3 in html and C4 not in html
    status, html = _page(api, "station_a", f"/mdm/lineloss?day={LOSS_DAY}")
    assert status == 200 and 'href="/mdm/lineloss/TQ-A?day=2024-06-06"' in html and "TQ-B" not in html
    assert re.search(r'id="mdm-status-qualified">1<', html)
    status, html = _page(api, "station_a", f"/mdm/lineloss/TQ-A?day={LOSS_DAY}")
    assert status == 200 and "城关1号台区" in html and "7.69%" in html and SUPPLY_A in html
    assert _page(api, "station_a", f"/mdm/lineloss/TQ-B?day={LOSS_DAY}")[0] == 404
    status, html = _page(api, "company", "/mdm/quality?day=2024-06-05")
    assert status == 200 and 'id="mdm-no-run"' in html
    _, html = _page(api, "company", f"/mdm/lineloss/TQ-A?day={LOSS_DAY}")
    assert not re.search(r"<script(?![^>]*\b(src|type=\"application/json\"))", html)  # CSP: no inline code
    assert api.client.get("/mdm/quality", follow_redirects=False).status_code == 303  # not logged in
