"""Tariffs as data: documents in JSON and TOML, versions by date, maker-checker changes, audit, API, CLI."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from gridcare.api.app import create_app
from gridcare.billing import tariff_store
from gridcare.billing.errors import BillingInputError
from gridcare.billing.models import TariffVersion
from gridcare.billing.tariff import Period
from gridcare.cli import app as cli_app
from gridcare.security.approvals import SelfApproval
from gridcare.security.authz import PermissionDenied
from gridcare.security.models import ApprovalRequest, AuditRecord
from tests.billing.test_world import GC, RES, TARIFFS_TOML, World, approve_tariffs, build_world
from tests.security.helpers import bearer, make_staff, token_for

D = Decimal

RES_2025_JSON = json.dumps(
    {
        "tariffs": [
            {
                "code": RES,
                "effective_from": "2024-07-15",
                "tariff": {
                    "customer_class": "residential",
                    "energy": {"kind": "flat", "price_yuan_per_kwh": 0.5583},
                },
            }
        ]
    }
)


@pytest.fixture
def world(settings, database) -> World:
    return build_world(settings, database, tariffs=False)


def test_toml_document_parses_exact_decimals_and_round_trips() -> None:
    document = tariff_store.parse_document(TARIFFS_TOML, "toml")
    res, gc = document.tariffs
    assert (res.code, res.effective_from) == (RES, date(2024, 1, 1))
    assert res.tariff.energy.price_yuan_per_kwh == D("0.5283")
    assert res.tariff.tiers is not None
    assert [b.increment_yuan_per_kwh for b in res.tariff.tiers.bands] == [0, D("0.05"), D("0.30")]
    assert gc.tariff.energy.seasons[0].prices_yuan_per_kwh[Period.SHARP] == D("1.0719")
    assert gc.tariff.surcharges[0].price_yuan_per_kwh == D("0.0196")
    for fmt in ("toml", "json"):
        text = tariff_store.document_text(document, fmt)
        again = tariff_store.parse_document(text, fmt)
        assert [e.tariff for e in again.tariffs] == [
            e.tariff.model_copy(update={"code": e.code}) for e in document.tariffs
        ]
    assert "price_yuan_per_kwh = 0.5283" in tariff_store.document_text(document, "toml")
    assert '"price_yuan_per_kwh": 0.5283' in tariff_store.document_text(document, "json")


@pytest.mark.parametrize(
    ("text", "fmt", "field", "reason_part"),
    [
        (TARIFFS_TOML.replace("price_yuan_per_kwh = 0.5283", 'price_yuan_per_kwh = "0.5283"'), "toml",
         "tariffs[0].tariff.energy.price_yuan_per_kwh", "must be a JSON number"),
        (TARIFFS_TOML.replace('code = "GC-TOU-2024"', 'code = "RES-TIER-2024"'), "toml",
         "tariffs[1].effective_from", "already tariffs[0]"),
        (TARIFFS_TOML.replace("{ start_hour = 10, end_hour = 11 }]", "{ start_hour = 9, end_hour = 11 }]"),
         "toml", "tariffs[1].tariff.energy.seasons[0].hours.peak[0]", "hour 9:00 is already in period sharp"),
        ("tariffs = [", "toml", "(body)", "invalid TOML"),
        ('{"tariffs": []}', "json", "tariffs", "at least 1 item"),
    ],
)  # fmt: skip
def test_bad_document_names_the_field_and_files_nothing(
    world: World, text: str, fmt: str, field: str, reason_part: str
) -> None:
    with world.session() as session:
        with pytest.raises(BillingInputError) as info:
            tariff_store.request_change(session, world.manager_a, text, fmt, "bad")
        session.rollback()
        assert info.value.errors[0].field == field
        assert reason_part in info.value.errors[0].reason
        assert session.scalar(select(func.count()).select_from(ApprovalRequest)) == 0


def test_maker_checker_writes_versions_and_audits(world: World) -> None:
    with world.session() as session:
        with pytest.raises(PermissionDenied):
            tariff_store.request_change(session, world.analyst_a, TARIFFS_TOML, "toml", "x")
        req = tariff_store.request_change(
            session, world.manager_a, TARIFFS_TOML, "toml", "发改价格〔2024〕1号"
        )
        session.commit()
        assert session.scalar(select(func.count()).select_from(TariffVersion)) == 0  # nothing until approved
        with pytest.raises(SelfApproval):
            tariff_store.approve_change(session, world.manager_a, req.id)
        session.commit()
        with pytest.raises(PermissionDenied):
            tariff_store.approve_change(session, world.analyst_a, req.id)
        rows = tariff_store.approve_change(session, world.manager_a2, req.id)
        session.commit()
        assert [(r.code, r.effective_from, r.revision) for r in rows] == [
            (RES, date(2024, 1, 1), 1),
            (GC, date(2024, 1, 1), 1),
        ]
        assert (rows[0].requested_by, rows[0].approved_by, rows[0].approval_id) == ("mgr-a", "mgr-a2", req.id)
        trail = session.execute(
            select(AuditRecord.action, AuditRecord.result).order_by(AuditRecord.seq)
        ).all()
        assert [tuple(t) for t in trail[-5:]] == [
            ("approval.request.tariff_change", "success"),
            ("approval.approved", "denied"),  # the maker tried to approve
            ("approval.approved", "success"),
            ("approval.executed", "success"),
            ("tariff.apply", "success"),
        ]


def test_versions_by_date_and_revisions(world: World) -> None:
    approve_tariffs(world, TARIFFS_TOML, "toml")
    approve_tariffs(world, RES_2025_JSON, "json")
    with world.session() as session:
        july = tariff_store.list_versions(session, RES, date(2024, 7, 14))
        assert [v.effective_from for v in july] == [date(2024, 1, 1)]
        later = tariff_store.list_versions(session, RES, date(2024, 7, 15))
        assert tariff_store.tariff_of(later[0]).energy.price_yuan_per_kwh == D("0.5583")
        book = tariff_store.TariffBook.load(session)
        versions = book.versions(RES, date(2024, 7, 1), date(2024, 7, 31))
        assert [v.effective_from for v in versions] == [date(2024, 1, 1), date(2024, 7, 15)]
        assert book.versions(RES, date(2023, 12, 1), date(2023, 12, 31)) == []
    # filing the same code and date again is a new revision that wins; the old row stays
    approve_tariffs(world, RES_2025_JSON.replace("0.5583", "0.5600"), "json")
    with world.session() as session:
        rows = session.scalars(
            select(TariffVersion).where(TariffVersion.effective_from == date(2024, 7, 15))
        ).all()
        assert [(r.revision, tariff_store.tariff_of(r).energy.price_yuan_per_kwh) for r in rows] == [
            (1, D("0.5583")),
            (2, D("0.5600")),
        ]
        (winner,) = tariff_store.list_versions(session, RES, date(2024, 8, 1))
        assert winner.revision == 2


def test_api_file_approve_list_export(world: World) -> None:
    maker_token = token_for(world.database, world.settings, world.accounts["mgr-a"])
    checker_token = token_for(world.database, world.settings, world.accounts["mgr-a2"])
    analyst_token = token_for(world.database, world.settings, world.accounts["ana-a"])
    with TestClient(create_app(world.settings, world.database)) as client:
        body = {"format": "toml", "document": TARIFFS_TOML, "reason": "年度调价"}
        assert (
            client.post("/api/v1/tariffs/changes", json=body, headers=bearer(analyst_token)).status_code
            == 403
        )
        bad = client.post(
            "/api/v1/tariffs/changes",
            json={**body, "document": TARIFFS_TOML.replace("0.5283", '"x"')},
            headers=bearer(maker_token),
        )
        assert bad.status_code == 422
        assert bad.json()["detail"][0]["field"] == "tariffs[0].tariff.energy.price_yuan_per_kwh"
        filed = client.post("/api/v1/tariffs/changes", json=body, headers=bearer(maker_token))
        assert filed.status_code == 202
        change_id = filed.json()["change_id"]
        assert filed.json()["versions"] == ["RES-TIER-2024@2024-01-01", "GC-TOU-2024@2024-01-01"]
        url = f"/api/v1/tariffs/changes/{change_id}/approve"
        assert client.post(url, headers=bearer(maker_token)).status_code == 403  # maker may not approve
        approved = client.post(url, headers=bearer(checker_token))
        assert approved.status_code == 200, approved.text
        assert [v["code"] for v in approved.json()] == [RES, GC]
        assert client.post(url, headers=bearer(checker_token)).status_code == 409
        listed = client.get("/api/v1/tariffs", params={"code": RES}, headers=bearer(analyst_token))
        assert '"price_yuan_per_kwh": 0.5283' in listed.text
        exported = client.get(
            "/api/v1/tariffs/export", params={"format": "toml"}, headers=bearer(analyst_token)
        )
        assert exported.status_code == 200
        again = tariff_store.parse_document(exported.text, "toml")
        assert [e.code for e in again.tariffs] == [GC, RES]


def test_cli_import_approve_export(world: World, tmp_path: Path) -> None:
    runner = CliRunner()
    data_dir = str(world.settings.data_dir)
    make_staff(world.database, world.settings, "mgr-root", ["manager"], "C01")
    source = tmp_path / "tariffs.toml"
    source.write_text(TARIFFS_TOML, encoding="utf-8")
    filed = runner.invoke(
        cli_app,
        ["tariffs", "import", str(source), "--reason", "年度调价", "--as", "mgr-a", "--data-dir", data_dir],
    )
    assert filed.exit_code == 0, filed.output
    change_id = json.loads(filed.stdout)["change_id"]
    self_approve = runner.invoke(
        cli_app, ["tariffs", "approve", str(change_id), "--as", "mgr-a", "--data-dir", data_dir]
    )
    assert self_approve.exit_code == 3
    assert "maker" in self_approve.output
    ok = runner.invoke(
        cli_app, ["tariffs", "approve", str(change_id), "--as", "mgr-root", "--data-dir", data_dir]
    )
    assert ok.exit_code == 0, ok.output
    assert [v["revision"] for v in json.loads(ok.stdout)] == [1, 1]
    out = tmp_path / "export.json"
    exported = runner.invoke(
        cli_app, ["tariffs", "export", "--format", "json", "--out", str(out), "--data-dir", data_dir]
    )
    assert exported.exit_code == 0, exported.output
    assert '"price_yuan_per_kwh": 0.5283' in out.read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(TARIFFS_TOML.replace("months = [1, 2,", "months = [2,"), encoding="utf-8")
    refused = runner.invoke(cli_app, ["tariffs", "import", str(bad), "--reason", "x", "--data-dir", data_dir])
    assert refused.exit_code == 2
    assert "错误 error: tariffs[1].tariff.energy.seasons: months 1 are not covered" in refused.output


def test_the_documented_example_parses() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "billing-runs.md").read_text(encoding="utf-8")
    block = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    (entry,) = tariff_store.parse_document(block, "toml").tariffs
    reference = tariff_store.parse_document(TARIFFS_TOML, "toml").tariffs[0]
    assert (entry.code, entry.effective_from) == (RES, date(2024, 1, 1))
    assert entry.tariff == reference.tariff
