"""Personal data: masked by default, full only through the audited endpoint; accounts through the API
and the CLI; the customer self-service account sees only itself."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select, text
from typer.testing import CliRunner

from gridcare.cli import app as cli_app
from gridcare.config import Settings
from gridcare.security import totp
from gridcare.security.models import AuditRecord
from gridcare.storage.database import Database
from gridcare.timeutil import now_beijing
from tests.security.helpers import PASSWORD, bearer, make_customer, make_staff, token_for

PHONE = "13812341234"


def test_full_personal_data_only_with_permission_and_audited(
    settings: Settings, archive: Database, client: TestClient
) -> None:
    manager = token_for(archive, settings, make_staff(archive, settings, "mgr", ["manager"], "S010101"))
    analyst = token_for(archive, settings, make_staff(archive, settings, "ana", ["analyst"], "S010101"))
    masked = client.get("/api/v1/customers/0000000001", headers=bearer(manager)).json()
    assert masked["phone_masked"] == "138****1234" and PHONE not in str(masked)
    r = client.get(
        "/api/v1/customers/0000000001/personal", params={"purpose": "arrears notice"}, headers=bearer(manager)
    )
    assert r.status_code == 200
    assert (r.json()["phone"], r.json()["id_number"]) == (PHONE, "330102199001011234")
    assert client.get("/api/v1/customers/0000000001/personal", headers=bearer(analyst)).status_code == 403
    assert client.get("/api/v1/customers/0000000004/personal", headers=bearer(manager)).status_code == 404
    with archive.sessions() as session:
        views = session.scalars(select(AuditRecord).where(AuditRecord.action == "personal.view")).all()
        assert [(v.actor, v.object) for v in views] == [("mgr", "customer 0000000001")]
        assert '"purpose":"arrears notice"' in views[0].detail
        # no personal value anywhere in the audit trail
        every = " ".join(f"{r.object} {r.detail}" for r in session.scalars(select(AuditRecord)))
    assert PHONE not in every and "330102199001011234" not in every


def test_customer_account_sees_only_itself(settings: Settings, archive: Database, client: TestClient) -> None:
    make_customer(archive, settings, "cust0001", "0000000001")
    r = client.post("/api/v1/auth/customer-login", json={"username": "cust0001", "password": PASSWORD})
    assert r.status_code == 200
    token = r.json()["token"]
    me = client.get("/api/v1/auth/me", headers=bearer(token)).json()
    assert me["customer_no"] == "0000000001" and me["roles"] == ["customer"]
    assert me["customer"]["customer_no"] == "0000000001"
    assert me["customer"]["phone_masked"] == "138****1234"
    for url in ("/api/v1/customers", "/api/v1/customers/0000000001", "/api/v1/customers/0000000002"):
        assert client.get(url, headers=bearer(token)).status_code == 403
    assert (
        client.post("/api/v1/auth/login", json={"username": "cust0001", "password": PASSWORD}).status_code
        == 401
    )


def test_create_accounts_through_the_api(settings: Settings, archive: Database, client: TestClient) -> None:
    admin = token_for(archive, settings, make_staff(archive, settings, "sysadmin", ["system_admin"]))
    r = client.post(
        "/api/v1/users",
        json={"username": "zhang.wei", "roles": ["operator"], "org_code": "S010101"},
        headers=bearer(admin),
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["user"]["roles"] == ["operator"] and created["user"]["must_change_password"]
    assert created["totp_uri"] is None
    one_time = created["one_time_password"]
    login = client.post("/api/v1/auth/login", json={"username": "zhang.wei", "password": one_time}).json()
    assert login["account"]["pending"] == ["change_password"]
    refused = client.post(
        "/api/v1/users",
        json={"username": "root2", "roles": ["audit_admin"], "org_code": "C01"},
        headers=bearer(admin),
    )
    assert refused.status_code == 403 and "gridcare admin" in refused.json()["detail"]
    bad = client.post(
        "/api/v1/users",
        json={"username": "x y", "roles": ["analyst"], "org_code": "C01"},
        headers=bearer(admin),
    )
    assert bad.status_code == 422 and "username" in str(bad.json())
    customer = client.post(
        "/api/v1/users",
        json={"username": "cust0002", "kind": "customer", "customer_no": "0000000002"},
        headers=bearer(admin),
    )
    assert customer.status_code == 201 and customer.json()["user"]["customer_id"] == 2
    disabled = client.post(f"/api/v1/users/{created['user']['id']}/disable", headers=bearer(admin))
    assert disabled.json()["disabled"] is True
    assert client.get("/api/v1/auth/me", headers=bearer(login["token"])).status_code == 401


def test_cli_creates_the_first_administrator(
    settings: Settings, archive: Database, client: TestClient
) -> None:
    runner = CliRunner()
    args = ["--data-dir", str(settings.data_dir)]
    result = runner.invoke(
        cli_app, ["admin", "create", "--username", "root", "--role", "system_admin", "--org", "C01", *args]
    )
    assert result.exit_code == 0, result.output
    uri = re.search(r"otpauth://totp/gridcare:root\?secret=([A-Z2-7]+)&issuer=gridcare", result.output)
    assert uri is not None
    password = result.output.split("must be changed at first login):")[1].split()[0]
    assert len(password) == 16
    second = runner.invoke(
        cli_app, ["admin", "create", "--username", "root", "--role", "audit_admin", "--org", "C01", *args]
    )
    assert second.exit_code == 2 and "taken" in second.output
    both = runner.invoke(
        cli_app,
        [
            "admin",
            "create",
            "-u",
            "two",
            "--role",
            "system_admin",
            "--role",
            "audit_admin",
            "--org",
            "C01",
            *args,
        ],
    )
    assert both.exit_code == 2 and "三员分立" in both.output
    code = totp.code_at(uri.group(1), now_beijing())
    r = client.post("/api/v1/auth/login", json={"username": "root", "password": password, "totp_code": code})
    assert r.status_code == 200 and r.json()["account"]["pending"] == ["change_password"]
    with archive.engine.connect() as conn:
        stored = conn.execute(text("SELECT totp_secret FROM users WHERE username='root'")).scalar_one()
    assert uri.group(1) not in stored  # the TOTP secret is encrypted at rest too
    with archive.sessions() as session:
        actor = session.scalar(select(AuditRecord.actor).where(AuditRecord.action == "user.create"))
    assert actor is not None and actor.startswith("cli:")


def test_audit_api_for_the_auditor(settings: Settings, archive: Database, client: TestClient) -> None:
    auditor = token_for(archive, settings, make_staff(archive, settings, "auditor", ["audit_admin"]))
    client.post("/api/v1/auth/login", json={"username": "ghost", "password": "wrong-password!"})
    page = client.get(
        "/api/v1/audit", params={"action": "auth.", "result": "failure"}, headers=bearer(auditor)
    )
    assert page.status_code == 200
    items = page.json()["items"]
    assert [(i["actor"], i["detail"]) for i in items] == [("ghost", {"reason": "unknown user"})]
    assert items[0]["occurred_at"].endswith("+08:00")
    verify = client.get("/api/v1/audit/verify", headers=bearer(auditor)).json()
    assert verify["ok"] is True and verify["head_seq"] >= 2
