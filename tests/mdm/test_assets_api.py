"""Metering-asset API and CLI: changes with edit_archives (audited), errors naming the field, scope (404),
due / overdue lists; loss-cause hints in the 台区 detail of the API and the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from gridcare.api.app import create_app
from gridcare.cli import app as cli_app
from gridcare.config import Settings
from gridcare.mdm import tasks
from gridcare.security.models import AuditRecord
from gridcare.storage.database import Database
from tests.mdm.assets_world import NEW, SPARE_B, build_assets_world
from tests.mdm.test_tasks_world import C1, C2, C3, C4, SUPPLY_A, actual_rows, day, write_actuals
from tests.security.helpers import make_staff, token_for

runner = CliRunner()
REPLACEMENT = {
    "new_meter": NEW,
    "replaced_at": "2024-06-03T10:00:00+08:00",
    "old_final_kwh": "1012.00",
    "new_initial_kwh": "0.50",
    "reason": "故障换表 faulty display",
}


@dataclass
class Api:
    client: TestClient
    database: Database
    tokens: dict[str, str]

    def call(self, who: str, method: str, url: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        return self.client.request(method, url, headers=headers, **kwargs)


@pytest.fixture
def api(settings: Settings, database: Database) -> Iterator[Api]:
    build_assets_world(database)
    accounts = {
        "operator_a": make_staff(database, settings, "operator-a", ["operator"], "S010101"),
        "analyst_a": make_staff(database, settings, "analyst-a", ["analyst"], "S010101"),
        "company": make_staff(database, settings, "analyst-c", ["analyst"], "C01"),
    }
    tokens = {k: token_for(database, settings, a) for k, a in accounts.items()}
    with TestClient(create_app(settings, database)) as client:
        yield Api(client, database, tokens)


def test_replacement_through_the_api_is_recorded_and_audited(api: Api) -> None:
    r = api.call("operator_a", "POST", f"/api/v1/meters/{C1}/replacements", json=REPLACEMENT)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["point_code"], body["old_final_kwh"], body["new_initial_kwh"], body["who"]) == (
        "MP0001",
        "1012.00",
        "0.50",
        "operator-a",
    )
    assert body["replaced_at"].startswith("2024-06-03T10:00:00")
    history = api.call("analyst_a", "GET", f"/api/v1/meters/{NEW}/history").json()
    assert [(e["kind"], e["from_status"], e["to_status"], e["effective_on"]) for e in history] == [
        ("replacement", "stock", "installed", "2024-06-03")
    ]
    assert history[0]["detail"]["old_final_kwh"] == "1012.00"
    with api.database.sessions() as session:
        audited = session.scalars(select(AuditRecord).where(AuditRecord.action == "meter.replace")).all()
    assert [(a.actor, a.object) for a in audited] == [("operator-a", f"meter {C1}")]
    # the same replacement again: the old meter is no longer installed
    again = api.call("operator_a", "POST", f"/api/v1/meters/{C1}/replacements", json=REPLACEMENT)
    assert again.status_code == 422
    assert again.json()["detail"].startswith("to_status: meter 201000000001 cannot go from removed")


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        (f"/api/v1/meters/{C1}/replacements", {**REPLACEMENT, "old_final_kwh": "-1"}, "old_final_kwh"),
        (f"/api/v1/meters/{C1}/replacements", {**REPLACEMENT, "new_initial_kwh": "0.555"}, "new_initial_kwh"),
        (f"/api/v1/meters/{C1}/replacements", {**REPLACEMENT, "replaced_at": "yesterday"}, "replaced_at"),
        (f"/api/v1/meters/{C2}/transitions", {"to_status": "removed", "reason": "x"}, "effective_on"),
        (
            f"/api/v1/meters/{SUPPLY_A}/multiplier-changes",
            {"effective_from": "2024-06-16", "reason": "x"},
            "ct_ratio",
        ),
        (f"/api/v1/meters/{SUPPLY_A}/verifications", {"verified_on": "2024-06-20", "reason": ""}, "reason"),
    ],
)
def test_schema_errors_name_the_field(api: Api, url: str, body: dict[str, Any], field: str) -> None:
    r = api.call("operator_a", "POST", url, json=body)
    assert r.status_code == 422
    assert [e["loc"][-1] for e in r.json()["detail"]] == [field]


@pytest.mark.parametrize(
    ("url", "body", "detail"),
    [
        (
            f"/api/v1/meters/{C1}/replacements",
            {**REPLACEMENT, "new_meter": C2},
            "new_meter: meter 201000000002 is",
        ),
        (
            f"/api/v1/meters/{C1}/replacements",
            {**REPLACEMENT, "new_meter": "1"},
            "new_meter: '1' is not a 12-digit",
        ),
        (
            f"/api/v1/meters/{C2}/transitions",
            {"to_status": "stock", "effective_on": "2024-06-20", "reason": "x"},
            "to_status: meter 201000000002 cannot go from installed (运行) to stock (库存)",
        ),
        (
            f"/api/v1/meters/{SUPPLY_A}/multiplier-changes",
            {"ct_ratio": "7/5", "effective_from": "2024-06-16", "reason": "x"},
            "ct_ratio: ratio 7/5 must be a positive whole multiple",
        ),
        (
            f"/api/v1/meters/{SUPPLY_A}/verifications",
            {"verified_on": "2999-01-01", "reason": "x"},
            "verified_on: 2999-01-01 is in the future",
        ),
    ],
)
def test_rule_errors_name_the_field_and_change_nothing(
    api: Api, url: str, body: dict[str, Any], detail: str
) -> None:
    r = api.call("operator_a", "POST", url, json=body)
    assert r.status_code == 422
    assert r.json()["detail"].startswith(detail)
    with api.database.sessions() as session:
        assert session.scalars(select(AuditRecord).where(AuditRecord.action.like("meter.%"))).all() == []


def test_scope_and_permissions(api: Api) -> None:
    assert (
        api.call("operator_a", "POST", f"/api/v1/meters/{C4}/replacements", json=REPLACEMENT).status_code
        == 404
    )
    spare_b = {**REPLACEMENT, "new_meter": SPARE_B}
    assert (
        api.call("operator_a", "POST", f"/api/v1/meters/{C1}/replacements", json=spare_b).status_code == 404
    )
    assert api.call("operator_a", "GET", f"/api/v1/meters/{C4}/history").status_code == 404
    assert (
        api.call("analyst_a", "POST", f"/api/v1/meters/{C1}/replacements", json=REPLACEMENT).status_code
        == 403
    )
    body = {"to_status": "removed", "effective_on": "2024-06-20", "reason": "x"}
    assert api.call("operator_a", "POST", f"/api/v1/meters/{C4}/transitions", json=body).status_code == 404


def test_due_and_overdue_lists_are_scoped(api: Api) -> None:
    as_of = {"as_of": "2024-07-01"}
    overdue = api.call("analyst_a", "GET", "/api/v1/meters/verification/overdue", params=as_of).json()
    assert [(i["address"], i["kind"], i["due_on"]) for i in overdue["items"]] == [
        (SUPPLY_A, "inspection", "2021-01-01")
    ]
    company = api.call(
        "company", "GET", "/api/v1/meters/verification/overdue", params={"org": "S010102"}
    ).json()
    assert [i["address"] for i in company["items"]] == ["201000000092"]
    assert (
        api.call(
            "analyst_a", "GET", "/api/v1/meters/verification/overdue", params={"org": "S010102"}
        ).status_code
        == 404
    )
    r = api.call("operator_a", "POST", f"/api/v1/meters/{SUPPLY_A}/verifications",
                 json={"verified_on": "2024-06-20", "reason": "现场检验 on-site"})  # fmt: skip
    assert r.status_code == 201, r.text
    due = api.call(
        "analyst_a", "GET", "/api/v1/meters/verification/due", params={"within_days": 400, **as_of}
    )
    assert [(i["address"], i["due_on"], i["days_left"]) for i in due.json()["items"]] == [
        (SUPPLY_A, "2025-06-20", 354)
    ]
    bad = api.call("analyst_a", "GET", "/api/v1/meters/verification/due", params={"within_days": -1})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "within_days"


def test_loss_cause_hints_in_the_area_detail_and_the_cli(api: Api, settings: Settings) -> None:
    """Day 9 (2024-06-10) is closed by the freeze of day 10, where C3 is missing and C2 went backwards: TQ-A
    is not computable that day and the hints name both (missing collection)."""
    write_actuals(settings, actual_rows(range(11)), flush=True)
    for i in (8, 9):
        tasks.compute_line_loss(settings, api.database, day(i))
    detail = api.call(
        "analyst_a", "GET", "/api/v1/mdm/lineloss/TQ-A", params={"day": "2024-06-10", "days": 7}
    )
    assert detail.status_code == 200, detail.text
    hints = detail.json()["hints"]
    assert [(h["hint"], h["meter"], h["customer_no"], h["score"]) for h in hints] == [
        ("missing_collection", C2, "0000000002", 1.0),  # its register went back at the freeze of day 10
        ("missing_collection", C3, "0000000003", 1.0),
    ]
    assert hints[0]["label"] == "采集缺数 missing collection"
    assert detail.json()["line_loss"]["status"] == "not_computable"
    out = runner.invoke(
        cli_app,
        ["lineloss", "show", "--tg", "TQ-A", "--date", "2024-06-10", "--days", "7", "--json",
         "--data-dir", str(settings.data_dir)],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    assert [h["meter"] for h in json.loads(out.output)["hints"]] == [C2, C3]
    table = runner.invoke(
        cli_app,
        ["lineloss", "show", "--tg", "TQ-A", "--date", "2024-06-10", "--data-dir", str(settings.data_dir)],
    )
    assert "线损异常原因提示" in table.output and "采集缺数" in table.output and C3 in table.output
    qualified = api.call(
        "analyst_a", "GET", "/api/v1/mdm/lineloss/TQ-A", params={"day": "2024-06-09", "days": 1}
    )
    assert qualified.json()["hints"] == []


def test_cli_meter_commands(api: Api, settings: Settings) -> None:
    data_dir = str(settings.data_dir)
    out = runner.invoke(
        cli_app,
        ["meter", "replace", "--meter", C1, "--new-meter", NEW, "--at", "2024-06-03 10:00", "--old-final",
         "1012", "--new-initial", "0.5", "--reason", "换表", "--operator", "zhang", "--json",
         "--data-dir", data_dir],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["point_code"] == "MP0001"
    bad = runner.invoke(
        cli_app,
        ["meter", "transition", "--meter", C1, "--to", "installed", "--date", "2024-06-04", "--reason", "x",
         "--data-dir", data_dir],
    )  # fmt: skip
    assert bad.exit_code == 2
    assert "--to: meter 201000000001 cannot go from removed" in bad.output
    scrap = runner.invoke(
        cli_app,
        ["meter", "transition", "--meter", C1, "--to", "scrapped", "--date", "2024-06-04", "--reason", "报废",
         "--data-dir", data_dir],
    )  # fmt: skip
    assert scrap.exit_code == 0, scrap.output
    ct = runner.invoke(
        cli_app,
        ["meter", "multiplier", "--meter", SUPPLY_A, "--ct", "150/5", "--from", "2024-06-16", "--reason",
         "增容", "--json", "--data-dir", data_dir],
    )  # fmt: skip
    assert ct.exit_code == 0, ct.output
    assert (json.loads(ct.output)["old_multiplier"], json.loads(ct.output)["new_multiplier"]) == (10, 30)
    history = runner.invoke(cli_app, ["meter", "history", "--meter", C1, "--json", "--data-dir", data_dir])
    kinds = [(e["kind"], e["to_status"]) for e in json.loads(history.output)["events"]]
    assert kinds == [("replacement", "removed"), ("transition", "scrapped")]
    overdue = runner.invoke(
        cli_app, ["meter", "overdue", "--org", "S010101", "--json", "--data-dir", data_dir]
    )
    assert [i["address"] for i in json.loads(overdue.output)["items"]] == [SUPPLY_A]
    due = runner.invoke(cli_app, ["meter", "due", "--within-days", "-3", "--data-dir", data_dir])
    assert due.exit_code == 2 and "--within-days: must not be negative" in due.output
    unknown = runner.invoke(cli_app, ["meter", "history", "--meter", "209999999999", "--data-dir", data_dir])
    assert unknown.exit_code == 2 and "--meter: 209999999999 is not in the meter archive" in unknown.output
    assert C2 and C4  # the other meters stay untouched
