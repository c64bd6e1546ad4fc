"""电费审核发行 in the console (TestClient): the July 2024 run of the billing tests (customers 1-3 and 5 at
station A: 4 drafts; customer 4 at station B: in review, estimated), its counts and totals, the review
queue, accept / void / release through the billing services (CSRF, field-named refusals, audit), the
organisation scope, a role without ``release_bills``, the bill detail and the English labels."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from gridcare.api.app import create_app
from gridcare.billing import runs
from gridcare.billing.models import Bill, Debt
from gridcare.security import risk
from gridcare.security.middleware import SESSION_COOKIE
from gridcare.security.models import AuditRecord, SessionChannel
from gridcare.security.principal import SYSTEM
from tests.billing.test_runs import july
from tests.billing.test_world import TOTAL, World, write_readings
from tests.security.helpers import make_staff, token_for
from tests.web.html import has_id, text_of

S1 = date(2024, 9, 1)


@dataclass
class Billing:
    world: World
    app: Any
    run_id: int
    bills: dict[str, int]
    """customer no -> bill id"""

    def client(self, who: str) -> TestClient:
        token = token_for(
            self.world.database, self.world.settings, self.world.accounts[who], SessionChannel.CONSOLE
        )
        client = TestClient(self.app, follow_redirects=False)
        client.cookies.set(SESSION_COOKIE, token)
        return client

    def bill(self, customer_no: str) -> Bill:
        with self.world.session() as session:
            found = session.get(Bill, self.bills[customer_no])
            assert found is not None
            return found

    def audit(self, prefix: str) -> list[tuple[str, str, str]]:
        with self.world.session() as session:
            rows = session.execute(
                select(AuditRecord.action, AuditRecord.actor, AuditRecord.result)
                .where(AuditRecord.action.like(f"{prefix}%"))
                .order_by(AuditRecord.seq)
            ).all()
        return [tuple(r) for r in rows]  # type: ignore[misc]


@pytest.fixture
def billing(settings: Any, database: Any) -> Billing:
    world = july(settings, database)
    world.accounts["mgr-c"] = make_staff(database, settings, "mgr-c", ["manager"], "C01")
    risk.configure(settings)
    with world.session() as session:
        report = runs.run_billing(session, SYSTEM, world.lake, "2024-07", "B01")
        session.commit()
        bills = {b.customer_no: b.id for b in session.scalars(select(Bill))}
    return Billing(world, create_app(settings, database), report.run_id, bills)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page carries no CSRF token"
    return found.group(1)


def follow(client: TestClient, response: Any) -> str:
    assert response.status_code == 303, response.text
    return client.get(response.headers["location"]).text


def test_the_page_lists_the_run_with_counts_totals_and_the_review_queue(billing: Billing) -> None:
    client = billing.client("mgr-c")
    home = client.get("/").text
    assert 'href="/billing"' in home and "电费审核发行" in home  # the navigation entry
    html = client.get("/billing").text  # default: the latest period with runs
    assert "2024-07" in text_of(html, "period-form")
    # drafts 269.52 + 116.23 + 651.97 + 9165.46; in review: customer 4, 15.85
    run = text_of(html, f"run-{billing.run_id}")
    assert run.startswith(f"#{billing.run_id} B01 1 system ")
    assert run.endswith("4 10,203.18 1 15.85 0 0 10,219.03 发行草稿 (4)")
    assert text_of(html, "kpi-review") == "1"
    assert text_of(html, "queue-count") == "1"
    row = text_of(html, f"bill-{billing.bills['0000000004']}")
    assert row.startswith("202407-0000000004-B0 0000000004 李娜 居民生活 30.00 15.85 估抄")
    assert 'href="/customers/0000000004"' in html
    assert f'href="/billing/bills/{billing.bills["0000000004"]}"' in html
    assert has_id(html, f"accept-{billing.bills['0000000004']}")
    assert "0000000001" not in text_of(html, "review-table")  # drafts are not in the queue
    # the queue of one run, and a period without runs
    one = client.get(f"/billing?period=2024-07&run={billing.run_id}").text
    assert text_of(one, "queue-count") == "1" and f"#{billing.run_id} · B01" in text_of(one, "review-panel")
    empty = client.get("/billing?period=2024-06").text
    assert has_id(empty, "no-runs") and not has_id(empty, "review-table")


def test_bad_query_parameters_and_unknown_objects(billing: Billing) -> None:
    client = billing.client("mgr-c")
    bad = client.get("/billing?period=2024-13")
    assert bad.status_code == 422 and text_of(bad.text, "error-detail") == "period"
    assert client.get("/billing?period=2024-07&run=999").status_code == 404
    assert client.get("/billing/bills/999999").status_code == 404


def test_accept_needs_a_note_then_makes_a_draft_and_is_audited(billing: Billing) -> None:
    client = billing.client("mgr-c")
    b4 = billing.bills["0000000004"]
    token = csrf_of(client.get("/billing").text)
    refused = client.post(f"/billing/bills/{b4}/accept", data={"csrf_token": token, "note": "   "})
    assert "field=note" in refused.headers["location"]
    page = follow(client, refused)
    assert text_of(page, "billing-refused") == "未执行 · 复核意见 note：请填写复核意见（说明核实了什么）"
    assert billing.bill("0000000004").status == "review" and billing.audit("billing.review") == []
    done = client.post(
        f"/billing/bills/{b4}/accept",
        data={"csrf_token": token, "note": "估抄已核实 estimate checked", "run": str(billing.run_id)},
    )
    page = follow(client, done)
    assert text_of(page, "billing-done") == "已复核通过，转为草稿： 202407-0000000004-B0"
    bill = billing.bill("0000000004")
    assert (bill.status, bill.reviewed_by, bill.review_note) == (
        "draft",
        "mgr-c",
        "估抄已核实 estimate checked",
    )
    assert billing.audit("billing.review") == [("billing.review.accept", "mgr-c", "success")]
    assert text_of(page, "queue-count") == "0" and has_id(page, "no-review")
    assert text_of(page, "kpi-draft") == "5"
    # accepting again: the bill is a draft now, the service refuses and says so
    again = follow(
        client, client.post(f"/billing/bills/{b4}/accept", data={"csrf_token": token, "note": "x"})
    )
    assert "draft, not in review" in text_of(again, "billing-refused")


def test_void_needs_a_reason(billing: Billing) -> None:
    client = billing.client("mgr-c")
    b1 = billing.bills["0000000001"]
    token = csrf_of(client.get(f"/billing/bills/{b1}").text)
    page = follow(
        client, client.post(f"/billing/bills/{b1}/void", data={"csrf_token": token, "back": "bill"})
    )
    assert text_of(page, "billing-refused") == "未执行 · 作废原因 reason：请填写作废原因"
    assert billing.bill("0000000001").status == "draft"
    done = client.post(
        f"/billing/bills/{b1}/void", data={"csrf_token": token, "reason": "表计故障 待换表", "back": "bill"}
    )
    assert done.headers["location"].startswith(f"/billing/bills/{b1}?")
    page = follow(client, done)
    assert text_of(page, "billing-done") == "已作废： 202407-0000000001-B0"
    assert text_of(page, "bill-status") == "作废"
    assert "作废 mgr-c — 表计故障 待换表" in text_of(page, "bill-history")
    assert (billing.bill("0000000001").status, billing.audit("billing.void")) == (
        "void",
        [("billing.void", "mgr-c", "success")],
    )


def test_release_refuses_a_past_due_date_then_releases_the_drafts_into_the_ledger(billing: Billing) -> None:
    client = billing.client("mgr-c")
    token = csrf_of(client.get("/billing").text)
    url = f"/billing/runs/{billing.run_id}/release"
    past = follow(client, client.post(url, data={"csrf_token": token, "due_date": "2020-01-01"}))
    assert text_of(past, "billing-refused").startswith("未执行 · 缴费截止日 due_date：must not be before")
    garbled = follow(client, client.post(url, data={"csrf_token": token, "due_date": "20-1-1"}))
    assert "due_date" in text_of(garbled, "billing-refused")
    with billing.world.session() as session:
        assert session.scalars(select(Debt)).all() == []
    page = follow(client, client.post(url, data={"csrf_token": token, "due_date": "2099-08-20"}))
    assert text_of(page, "billing-done") == (
        "已发行 4 张 · 合计 10,203.18 元 · 缴费截止日 2099-08-20 · 仍待审核 1 张"
    )
    assert text_of(page, "kpi-released") == "4" and text_of(page, "kpi-draft") == "0"
    assert not has_id(page, f"release-{billing.run_id}")  # no draft left to release
    with billing.world.session() as session:
        debts = {b: a for b, a in session.execute(select(Debt.bill_id, Debt.amount_fen))}
        totals = {
            b: t for b, t in session.execute(select(Bill.id, Bill.total_fen).where(Bill.status == "released"))
        }
        due = set(session.scalars(select(Debt.due_date)))
    assert debts == totals and sorted(debts.values()) == [11623, 26952, 65197, 916546]
    assert due == {date(2099, 8, 20)}
    assert billing.audit("billing.release") == [("billing.release", "mgr-c", "success")]
    # the released bill's detail: lines, readings used, who released it
    detail = client.get(f"/billing/bills/{billing.bills['0000000005']}").text
    assert text_of(detail, "bill-status") == "已发行" and text_of(detail, "bill-total") == "9,165.46元"
    lines = text_of(detail, "bill-lines")
    assert "电度电费-尖 200.00 1.0719/kWh 214.38" in lines
    assert "基本电费-容量: 315 kVA — 25/kVA 7,875.00" in lines
    assert lines.endswith("合计 9,165.46")
    assert "发行 mgr-c" in text_of(detail, "bill-history") and "缴费截止日 2099-08-20" in text_of(
        detail, "bill-history"
    )
    assert "201000000006" in text_of(detail, "bill-readings")
    assert not has_id(detail, "bill-action-panel")


def test_station_scope(billing: Billing) -> None:
    a = billing.client("mgr-a").get("/billing").text
    assert text_of(a, f"run-{billing.run_id}").endswith("4 10,203.18 0 0 0 10,203.18 发行草稿 (4)")
    assert has_id(a, "no-review") and "0000000004" not in a
    b = billing.client("mgr-b")
    html = b.get("/billing").text
    assert text_of(html, f"run-{billing.run_id}").endswith("0 1 15.85 0 0 15.85")
    assert "0000000004" in text_of(html, "review-table") and "0000000001" not in html
    assert b.get(f"/billing/bills/{billing.bills['0000000001']}").status_code == 404
    token = csrf_of(html)
    # station B's manager cannot act on station A's bills, and releasing the run releases nothing of A
    assert (
        b.post(
            f"/billing/bills/{billing.bills['0000000001']}/void", data={"csrf_token": token, "reason": "x"}
        ).status_code
        == 404
    )
    page = follow(b, b.post(f"/billing/runs/{billing.run_id}/release", data={"csrf_token": token}))
    assert text_of(page, "billing-done").startswith("已发行 0 张")
    assert billing.bill("0000000001").status == "draft"
    # the organisation tree narrows a company account to station A (org 3)
    tree = billing.client("mgr-c").get("/billing?org_id=3").text
    assert has_id(tree, "no-review") and "scope-chip" in tree


def test_a_role_without_release_bills_reads_only_and_is_refused_with_an_audit(billing: Billing) -> None:
    client = billing.client("ana-a")
    html = client.get("/billing").text
    assert has_id(html, "billing-read-only") and 'name="note"' not in html and "/release" not in html
    b1 = billing.bills["0000000001"]
    refused = client.post(f"/billing/bills/{b1}/void", data={"csrf_token": csrf_of(html), "reason": "x"})
    assert refused.status_code == 403 and has_id(refused.text, "error-page")
    denied = client.post(f"/billing/runs/{billing.run_id}/release", data={"csrf_token": csrf_of(html)})
    assert denied.status_code == 403
    assert billing.audit("authz.denied") == [("authz.denied", "ana-a", "denied")] * 2
    assert billing.bill("0000000001").status == "draft"
    detail = client.get(f"/billing/bills/{b1}").text
    assert text_of(detail, "bill-total") == "269.52元" and not has_id(detail, "bill-action-panel")


def test_a_form_without_the_csrf_token_is_refused(billing: Billing) -> None:
    client = billing.client("mgr-c")
    b4 = billing.bills["0000000004"]
    assert client.post(f"/billing/bills/{b4}/accept", data={"note": "ok"}).status_code == 403
    assert client.post(f"/billing/runs/{billing.run_id}/release", data={}).status_code == 403
    assert billing.bill("0000000004").status == "review"
    assert billing.audit("billing.") == [("billing.run", "system", "success")]


def test_a_held_bill_cannot_be_accepted_and_says_why(billing: Billing) -> None:
    write_readings(billing.world.lake, [("201000000001", TOTAL, S1, "8600")])
    with billing.world.session() as session:
        runs.run_billing(session, SYSTEM, billing.world.lake, "2024-08", "B01", customer_ids=[1, 2])
        session.commit()
        held = session.scalar(select(Bill).where(Bill.period == "2024-08", Bill.customer_id == 2))
        assert held is not None
    client = billing.client("mgr-c")
    html = client.get("/billing").text  # 2024-08 is now the latest period
    assert "2024-08" in text_of(html, "period-form")
    row = text_of(html, f"bill-{held.id}")
    assert "缺少示值 挂起：数据缺失或有误，不能复核通过" in row and "missing end reading of 05060101" in row
    assert not has_id(html, f"accept-{held.id}") and has_id(html, f"void-{held.id}")
    # a forged accept is refused by the service
    page = follow(
        client,
        client.post(f"/billing/bills/{held.id}/accept", data={"csrf_token": csrf_of(html), "note": "ok"}),
    )
    assert "is held (missing)" in text_of(page, "billing-refused")


def test_english_labels(billing: Billing) -> None:
    client = billing.client("mgr-c")
    html = client.get("/billing?lang=en").text
    assert "<h1>Billing review" in html
    assert "Estimated reading" in text_of(html, f"bill-{billing.bills['0000000004']}")
    assert "Review queue" in text_of(html, "review-panel")
    assert "Release drafts (4)" in text_of(html, f"run-{billing.run_id}")
    assert "Amount yuan" in text_of(html, "review-table")
    detail = client.get(f"/billing/bills/{billing.bills['0000000004']}?lang=en").text
    assert "Estimated reading" in text_of(detail, "bill-anomalies")
    assert text_of(detail, "bill-status") == "In review"
