"""Console pages over the small two-station archive with a month of operations data (TestClient, no browser):
every page renders, organisation scope, permissions (403, audited), error pages, masking, language, logout,
and the empty states of a platform without operations data yet."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from gridcare.acquisition.models import DeviceJob, JobKind
from gridcare.security.models import Alert, AuditRecord
from tests.web.conftest import Console
from tests.web.html import has_id, text_of

PAGES = {
    "/": "运行总览",
    "/areas": "台区列表",
    "/areas/TQ-A": "城关1号台区",
    "/customers": "客户列表",
    "/customers/0000000001": "客户视图",
    "/terminals": "采集终端",
    "/terminals/3301-00001": "下挂电能表",
    "/mdm/quality": "数据质量",
    "/mdm/lineloss": "台区线损",
    "/mdm/lineloss/TQ-A": "城关1号台区",
}
"""Console pages and a text each shows."""


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page carries no CSRF token"
    return found.group(1)


def test_every_page_renders_for_a_manager_inside_the_frame(console: Console) -> None:
    client = console.client("manager")
    for url, shown in PAGES.items():
        response = client.get(url)
        assert response.status_code == 200, f"{url}: {response.status_code}"
        html = response.text
        assert shown in html, url
        assert has_id(html, "org-tree") and has_id(html, "logout") and has_id(html, "lang-switch"), url
        assert 'action="/logout"' in html and csrf_of(html), url
    nav = text_of(client.get("/").text, "user-role")
    assert nav == "业务主管 · 示例市供电公司"


def test_dashboard_figures_of_today(console: Console) -> None:
    assert console.world is not None
    html = console.client("manager").get("/").text
    # 6 points due today; the two read through the offline terminal 3301-00002 failed
    assert (console.world.points_due, console.world.failed_today) == (6, 2)
    assert text_of(html, "kpi-collection") == "66.67%"
    assert text_of(html, "kpi-collectable") == "100.00%"
    assert text_of(html, "kpi-online") == "50.00%"
    assert text_of(html, "failure-reasons") == "原因 数量 终端离线 2"
    # arrears: customer 1 (station A) owes 123.45, customer 4 (station B) 223.45; customers 2 paid
    assert text_of(html, "arrears-amount") == "346.90"
    assert text_of(html, "arrears-customers") == "2"
    assert text_of(html, "top-debtors") == "户号 户名 金额 元 0000000004 李娜 223.45 0000000001 张伟 123.45"
    # a manager does not handle alerts: the panel counts the open ones by rule and says who handles them
    assert text_of(html, "open-alerts-count") == "2"
    assert text_of(html, "alert-counts") == "登录失败过多 1 终端异常报文 1"
    assert 'data-src="/api/v1/console/collection-trend?days=30"' in html
    assert has_id(html, "chart-line-loss") and not has_id(html, "line-loss-empty")
    # TQ-B's points, read through the offline terminal, missed today's freeze that closes yesterday
    assert text_of(html, "line-loss-not-computable-why") == "(总表缺数 1)"


def test_chart_data_of_the_console_api(console: Console) -> None:
    world = console.world
    assert world is not None
    client = console.client("manager")
    trend = client.get("/api/v1/console/collection-trend").json()
    assert len(trend["dates"]) == 30 and trend["dates"][-1] == world.today.isoformat()
    assert trend["due"] == [6] * 30
    assert trend["rate_pct"][-1] == 66.67
    loss = client.get("/api/v1/console/line-loss-distribution").json()
    yesterday = world.today - timedelta(days=1)
    # TQ-A loses 4.5 %; TQ-B is not computable (its points missed today's freeze, which closes yesterday)
    assert (loss["day"], loss["areas"], loss["computed"], loss["not_computable"]) == (
        yesterday.isoformat(),
        2,
        1,
        1,
    )
    assert [(b["label"], b["count"]) for b in loss["bins"] if b["count"]] == [("4–6%", 1)]
    energy = client.get("/api/v1/console/customers/0000000001/daily-energy").json()
    assert energy["dates"][-1] == yesterday.isoformat() and energy["days_with_data"] == 30
    assert energy["kwh"] == world.energy_kwh["201000000001"][-31:-1]
    assert energy["meters"] == ["201000000001"]


def test_station_operator_sees_only_their_station(console: Console) -> None:
    client = console.client("operator_a")
    customers = text_of(client.get("/customers").text, "customer-table")
    assert all(no in customers for no in ("0000000001", "0000000002", "0000000003"))
    assert "0000000004" not in customers and "李娜" not in customers
    areas = text_of(client.get("/areas").text, "area-table")
    assert "TQ-A" in areas and "TQ-B" not in areas
    terminals = text_of(client.get("/terminals").text, "terminal-table")
    assert "3301-00001" in terminals and "3301-00002" not in terminals
    home = client.get("/").text
    assert text_of(home, "org-tree") == "组织机构 全部单位 城关供电所"
    assert text_of(home, "count-customers") == "3"
    assert text_of(home, "arrears-amount") == "123.45"
    assert text_of(home, "open-alerts-count") == "2"  # both alerts are about station A's terminal
    for url in (
        "/customers/0000000004",
        "/areas/TQ-B",
        "/terminals/3301-00002",
        "/?org_id=4",
        "/customers?org_id=2",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert text_of(response.text, "error-title") == "未找到", url
    for url in (
        "/api/v1/console/customers/0000000004/daily-energy",
        "/api/v1/console/collection-trend?org_id=4",
    ):
        assert client.get(url).status_code == 404, url


def test_tree_selection_narrows_a_manager_to_one_station(console: Console) -> None:
    client = console.client("manager")
    html = client.get("/customers", params={"org_id": 4}).text
    assert text_of(html, "customer-table").count("000000000") == 1 and "0000000004" in html
    assert text_of(html, "scope-chip").startswith("范围：河口供电所")
    home = client.get("/", params={"org_id": 4}).text
    assert text_of(home, "arrears-amount") == "223.45"
    assert text_of(home, "kpi-online") == "0.00%"
    trend = client.get("/api/v1/console/collection-trend", params={"org_id": 3}).json()
    assert trend["due"][-1] == 4 and trend["rate_pct"][-1] == 100.0


def test_alerts_and_audit_are_refused_to_roles_without_them_and_the_refusal_is_audited(
    console: Console,
) -> None:
    for who, url in (
        ("operator_a", "/alerts"),
        ("manager", "/audit"),
        ("secadmin", "/audit"),
        ("auditor", "/areas"),
    ):
        response = console.client(who).get(url)
        assert response.status_code == 403, (who, url)
        assert text_of(response.text, "error-title") == "无权访问此页面"
    with console.database.sessions() as session:
        denied = session.execute(
            select(AuditRecord.actor, AuditRecord.object)
            .where(AuditRecord.action == "authz.denied")
            .order_by(AuditRecord.seq)
        ).all()
    assert [tuple(d) for d in denied] == [
        ("operator_a", "GET /alerts"),
        ("manager", "GET /audit"),
        ("secadmin", "GET /audit"),
        ("auditor", "GET /areas"),
    ]
    # the navigation offers only what the account may open
    home = console.client("operator_a").get("/").text
    assert 'href="/alerts' not in home and 'href="/audit' not in home


def test_acknowledge_an_alert_with_the_csrf_token(console: Console) -> None:
    client = console.client("secadmin")
    page = client.get("/alerts").text
    assert text_of(page, "alert-table").count("确认") >= 2
    with console.database.sessions() as session:
        alert_id = session.scalar(select(Alert.id).where(Alert.rule == "malformed_frames"))
    url = f"/alerts/{alert_id}/ack"
    assert client.post(url, data={"note": "checked"}).status_code == 403  # no CSRF token
    done = client.post(url, data={"csrf_token": csrf_of(page), "note": "现场检查 ok", "state": "open"})
    assert done.status_code == 303 and done.headers["location"] == f"/alerts?state=open&acked={alert_id}"
    after = client.get(done.headers["location"]).text
    assert text_of(after, "ack-done") == f"已确认预警 #{alert_id}"
    assert not has_id(after, f"alert-{alert_id}")  # no longer open
    again = client.post(url, data={"csrf_token": csrf_of(after), "state": "all"})
    assert again.headers["location"].endswith(f"already={alert_id}")
    with console.database.sessions() as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None and (alert.acknowledged_by, alert.ack_note) == ("secadmin", "现场检查 ok")


def test_audit_page_searches_and_verifies_the_chain(console: Console) -> None:
    client = console.client("auditor")
    page = client.get("/audit", params={"action": "billing."}).text
    rows = text_of(page, "audit-table")
    assert "billing.payment" in rows and "authz.denied" not in rows
    ok = client.get("/audit", params={"verify": "true"}).text
    assert text_of(ok, "chain-report").startswith("哈希链完整")
    with console.database.engine.begin() as conn:
        conn.execute(text("UPDATE audit_records SET actor = 'mallory' WHERE seq = 1"))
    broken = client.get("/audit", params={"verify": "true"}).text
    report = text_of(broken, "chain-report")
    assert report.startswith("哈希链异常") and "首个异常记录 #1" in report


def test_bad_query_parameters_give_the_error_page_not_a_500(console: Console) -> None:
    manager = console.client("manager")
    for url, field in (
        ("/customers?page=0", "page"),
        ("/terminals?state=bogus", "state"),
        ("/areas?page=x", "page"),
        ("/customers/" + "9" * 21, "customer_no"),
    ):
        response = manager.get(url)
        assert response.status_code == 422, url
        assert text_of(response.text, "error-title") == "请求参数有误"
        assert text_of(response.text, "error-detail") == field
    assert manager.get("/areas?org_id=99").status_code == 404
    bad = console.client("auditor").get("/audit?result=maybe")
    assert bad.status_code == 422 and text_of(bad.text, "error-detail") == "result"
    api = manager.get("/api/v1/console/collection-trend?days=0")
    assert api.status_code == 422 and api.headers["content-type"] == "application/json"


def test_customer_page_masks_personal_data(console: Console) -> None:
    html = console.client("manager").get("/customers/0000000001").text
    assert text_of(html, "masked-phone") == "138****1234"
    assert text_of(html, "masked-id-number") == "330102********1234"
    assert text_of(html, "masked-address") == "浙江省杭********"
    for full in ("13812341234", "330102199001011234", "解放路"):
        assert full not in html
    assert text_of(html, "customer-arrears") == "123.45元"
    assert "B" in text_of(html, "bill-table") and "已发行" in text_of(html, "bill-table")
    assert "电费 123.45" in text_of(html, "debt-table")
    paid = console.client("manager").get("/customers/0000000002").text
    assert "柜台 134.56" in text_of(paid, "payment-table")
    assert text_of(paid, "customer-arrears") == "0.00元"
    # 召测 is offered for the current meter read through a terminal
    assert 'data-read-meter="201000000001"' in html
    assert "终端停/上电" in text_of(html, "customer-events")


def test_the_read_button_posts_a_job_with_the_csrf_header(console: Console) -> None:
    client = console.client("operator_a")
    page = client.get("/terminals/3301-00001").text
    assert text_of(page, "terminal-state") == "在线"
    assert page.count("data-read-meter=") == 4  # three customers and the supply meter
    body = {"kind": "on_demand_read", "meter_address": "201000000002"}
    assert client.post("/api/v1/devices/jobs", json=body).status_code == 403  # cookie without the header
    token = client.cookies.get("gridcare_csrf")
    created = client.post("/api/v1/devices/jobs", json=body, headers={"X-CSRF-Token": token or ""})
    assert created.status_code == 202 and created.json()["state"] == "pending"
    out_of_scope = {"kind": "on_demand_read", "meter_address": "201000000004"}
    assert (
        client.post(
            "/api/v1/devices/jobs", json=out_of_scope, headers={"X-CSRF-Token": token or ""}
        ).status_code
        == 404
    )
    with console.database.sessions() as session:
        job = session.scalars(select(DeviceJob)).one()
        assert (job.kind, job.requested_by) == (JobKind.ON_DEMAND_READ, "operator_a")
    recent = client.get("/terminals/3301-00001").text
    assert "召测" in text_of(recent, "terminal-jobs") and "排队中" in text_of(recent, "terminal-jobs")


def test_language_switch_shows_english_labels(console: Console) -> None:
    client = console.client("manager")
    switched = client.get("/lang/en", params={"next": "/customers?page=1"})
    assert switched.status_code == 303 and switched.headers["location"] == "/customers?page=1"
    assert "lang=en" in switched.headers["set-cookie"]
    html = client.get("/customers").text
    assert '<html lang="en">' in html
    assert text_of(html, "logout") == "Log out"
    assert text_of(html, "lang-switch") == "中文"
    assert "Customers" in text_of(html, "customer-table") or "Customer no." in text_of(html, "customer-table")
    assert text_of(client.get("/").text, "user-role") == "Manager · 示例市供电公司"
    assert "Collection success today" in client.get("/?lang=en").text
    back = client.get("/lang/zh", params={"next": "//evil.example/"})
    assert back.headers["location"] == "/"
    assert '<html lang="zh-CN">' in client.get("/customers").text


def test_logout_posts_with_csrf_and_ends_the_session(console: Console) -> None:
    client = console.client("analyst_b")
    home = client.get("/")
    assert home.status_code == 200
    assert text_of(home.text, "open-alerts-count") == "0"  # station B has no alerts
    assert client.post("/logout").status_code == 403  # no token
    out = client.post("/logout", data={"csrf_token": csrf_of(home.text)})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    again = client.get("/")
    assert again.status_code == 303 and again.headers["location"] == "/login"


def test_an_administrator_without_read_data_lands_on_their_page(console: Console) -> None:
    client = TestClient(console.app, follow_redirects=False)
    form = client.get("/login").text
    auditor = console.account("auditor")
    response = client.post(
        "/login",
        data={
            "csrf_token": csrf_of(form),
            "username": "auditor",
            "password": auditor.password,
            "totp_code": pyotp.TOTP(auditor.totp_secret or "").now(),
        },
    )
    assert response.status_code == 303 and response.headers["location"] == "/alerts"
    page = client.get("/alerts").text
    nav = re.findall(r'<nav class="main".*?</nav>', page, re.S)[0]
    assert re.findall(r">([^<>]+)</a>", nav) == ["风险预警", "审计日志"]


def test_empty_states_before_operations_data(bare_console: Console) -> None:
    client = bare_console.client("manager")
    home = client.get("/").text
    for empty in ("line-loss-empty", "arrears-empty"):
        assert has_id(home, empty), empty
    assert text_of(home, "arrears-empty").startswith("暂无欠费数据")
    assert text_of(home, "line-loss-empty").startswith("暂无线损数据")
    # the points are due, but the master station has not read any of them yet
    assert text_of(home, "kpi-collection") == "0.00%"
    assert text_of(home, "failure-reasons") == "原因 数量 未抄读 4"
    trend = client.get("/api/v1/console/collection-trend").json()
    # due but never collected: the chart script shows its empty state for a month without any result
    assert trend["due"] == [4] * 30 and trend["collected"] == [0] * 30
    assert trend["rate_pct"] == [None] * 30  # before the first collection: a gap, not 0 %
    assert client.get("/api/v1/console/line-loss-distribution").json()["day"] is None
    customer = client.get("/customers/0000000001").text
    assert text_of(customer, "bills-empty").startswith("暂无账单")
    assert has_id(customer, "no-events")
    assert has_id(client.get("/areas/TQ-A").text, "area-loss-empty")
    terminals = text_of(client.get("/terminals").text, "terminal-table")
    assert terminals.count("从未连接") == 2
    alerts = bare_console.client("secadmin").get("/alerts").text
    assert has_id(alerts, "no-alerts")


def test_system_administrator_manages_accounts_in_the_console(bare_console: Console) -> None:
    admin = bare_console.client("sysadmin")
    page = admin.get("/users")
    assert page.status_code == 200
    users = text_of(page.text, "user-table")
    assert "operator_a" in users and "业务操作员" in users and "城关供电所" in users
    operator = bare_console.account("operator_a")
    assert not has_id(page.text, f"disable-{bare_console.account('sysadmin').id}")  # not oneself
    victim = bare_console.client("operator_a")
    assert victim.get("/").status_code == 200
    assert admin.post(f"/users/{operator.id}/disable").status_code == 403  # no CSRF token
    done = admin.post(f"/users/{operator.id}/disable", data={"csrf_token": csrf_of(page.text)})
    assert done.status_code == 303 and done.headers["location"] == "/users?done=operator_a"
    after = admin.get(done.headers["location"]).text
    assert text_of(after, "user-done") == "已保存: operator_a"
    assert "已停用" in text_of(after, f"user-{operator.id}") and has_id(after, f"enable-{operator.id}")
    assert victim.get("/").headers["location"] == "/login"  # the disabled account's session ended
    with bare_console.database.sessions() as session:
        actions = session.scalars(select(AuditRecord.action).where(AuditRecord.object == "user operator_a"))
        assert "user.disable" in list(actions)
    admin.post(f"/users/{operator.id}/enable", data={"csrf_token": csrf_of(after)})
    assert bare_console.client("operator_a").get("/").status_code == 200
    # an operator has no account page: 403, audited
    assert bare_console.client("operator_a").get("/users").status_code == 403
    assert admin.post("/users/999999/disable", data={"csrf_token": csrf_of(after)}).status_code == 404


def test_terminal_meters_are_paged(console: Console, monkeypatch: pytest.MonkeyPatch) -> None:
    from gridcare.web import ops_pages

    client = console.client("manager")
    whole = client.get("/terminals/3301-00001").text
    pns = re.findall(r'<td class="num">(\d+)</td><td><code>', whole)
    assert len(pns) >= 3
    monkeypatch.setattr(ops_pages, "PAGE_SIZE", 2)
    first = client.get("/terminals/3301-00001").text
    second = client.get("/terminals/3301-00001?page=2").text
    assert re.findall(r'<td class="num">(\d+)</td><td><code>', first) == pns[:2]
    assert re.findall(r'<td class="num">(\d+)</td><td><code>', second) == pns[2:4]
    assert text_of(first, "terminal-meter-count").startswith(str(len(pns)))
    assert 'rel="next"' in first and 'rel="prev"' in second
