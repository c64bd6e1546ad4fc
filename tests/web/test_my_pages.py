"""The customer self-service pages (/my) over tests.web.my_world (TestClient, no browser): the customer login
path with its refusals, lockout and first-login password change; every page with the customer's own figures;
another customer's bill is a 404; staff and customer sessions kept apart (403, audited); CSRF; English;
empty states."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from gridcare.api.app import create_app
from gridcare.config import Settings, load_settings
from gridcare.security import accounts
from gridcare.security.middleware import SESSION_COOKIE
from gridcare.security.models import AuditRecord, SessionChannel
from gridcare.security.principal import SYSTEM
from gridcare.storage.database import Database, open_database
from gridcare.storage.db import transaction
from tests.security.helpers import PASSWORD, Account, make_customer, token_for
from tests.web.html import has_id, text_of
from tests.web.my_world import RESIDENT, SHOP, MyWorld, build_my_world, month_start

FAILED = "账号或密码错误，或账户已被锁定。"


@dataclass
class Portal:
    app: FastAPI
    settings: Settings
    database: Database
    world: MyWorld
    extra: dict[str, Account] = field(default_factory=dict)

    def client(self, account: Account) -> TestClient:
        """A client with a session of ``account`` (redirects are not followed)."""
        token = token_for(self.database, self.settings, account, SessionChannel.CONSOLE)
        client = TestClient(self.app, follow_redirects=False)
        client.cookies.set(SESSION_COOKIE, token)
        return client

    def customer(self, customer_no: str) -> TestClient:
        return self.client(self.world.accounts[customer_no])

    def lina(self) -> Account:
        """The account of 0000000004 (no bills, no readings), made on first use: the tests of one module may
        run on different workers, each with its own portal."""
        if "lina" not in self.extra:
            self.extra["lina"] = make_customer(self.database, self.settings, "lina", "0000000004")
        return self.extra["lina"]

    def audit(self, action: str) -> list[tuple[str, str, str]]:
        with self.database.sessions() as session:
            rows = session.execute(
                select(AuditRecord.actor, AuditRecord.object, AuditRecord.result)
                .where(AuditRecord.action == action)
                .order_by(AuditRecord.seq)
            ).all()
        return [(actor, obj, result) for actor, obj, result in rows]


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    data_dir: Path = tmp_path_factory.mktemp("my") / "data"
    settings = load_settings(environ={}, data_dir=data_dir)
    database = open_database(settings)
    world = build_my_world(settings, database)
    yield Portal(create_app(settings, database), settings, database, world)
    database.dispose()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page carries no CSRF token"
    return found.group(1)


def login(client: TestClient, username: str, password: str, **extra: str) -> httpx.Response:
    form = client.get("/my/login")
    assert form.status_code == 200
    data = {"csrf_token": csrf_of(form.text), "username": username, "password": password, **extra}
    return client.post("/my/login", data=data)


def test_a_customer_logs_in_and_wrong_credentials_are_refused_alike(portal: Portal) -> None:
    client = TestClient(portal.app, follow_redirects=False)
    first = client.get("/my/bills")
    assert first.status_code == 303 and first.headers["location"] == "/my/login?next=/my/bills"
    page = client.get("/my/login")
    assert text_of(page.text, "my-login").startswith("客户登录 网上营业厅")
    # the form needs its CSRF token
    no_token = client.post("/my/login", data={"username": "zhangwei", "password": PASSWORD})
    assert no_token.status_code == 403
    # a wrong password, an unknown account and a staff account on the customer path look the same
    for username, password in (("zhangwei", "wrong-password"), ("nobody", PASSWORD), ("mgr-a", PASSWORD)):
        refused = login(client, username, password)
        assert refused.status_code == 401, username
        assert text_of(refused.text, "login-error") == FAILED, username
        assert SESSION_COOKIE not in refused.headers.get("set-cookie", "")
    failures = [(a, o, r) for a, o, r in portal.audit("auth.login") if r == "failure"]
    assert failures[-3:] == [
        ("zhangwei", "user zhangwei", "failure"),
        ("nobody", "user nobody", "failure"),
        ("mgr-a", "user mgr-a", "failure"),
    ]
    # and a customer account cannot use the staff login
    staff_form = client.get("/login").text
    staff = client.post(
        "/login", data={"csrf_token": csrf_of(staff_form), "username": "zhangwei", "password": PASSWORD}
    )
    assert staff.status_code == 401
    done = login(client, "zhangwei", PASSWORD, next="/my/bills")
    assert done.status_code == 303 and done.headers["location"] == "/my/bills"
    assert f"{SESSION_COOKIE}=" in done.headers["set-cookie"]
    assert "HttpOnly" in done.headers["set-cookie"]
    home = client.get("/my")
    assert home.status_code == 200 and text_of(home.text, "my-name") == "张伟"
    # logged in, the login page goes on to the overview; a foreign "next" is ignored
    assert client.get("/my/login").headers["location"] == "/my"
    other = login(TestClient(portal.app, follow_redirects=False), "chaoshi", PASSWORD, next="//evil.example/")
    assert other.headers["location"] == "/my"


def test_repeated_failures_lock_the_account_and_attempts_are_rate_limited(portal: Portal) -> None:
    portal.lina()
    client = TestClient(portal.app, follow_redirects=False)
    for _ in range(portal.settings.lockout_attempts):
        assert login(client, "lina", "wrong-password").status_code == 401
    locked = login(client, "lina", PASSWORD)
    assert locked.status_code == 401 and text_of(locked.text, "login-error") == FAILED
    assert portal.audit("auth.lockout")[-1] == ("lina", "user lina", "success")
    # 10 attempts a minute per address and account name; the 11th is refused before any password check
    codes = [login(client, "ghost", "x").status_code for _ in range(11)]
    assert codes == [401] * 10 + [429]
    throttled = login(client, "ghost", "x")
    assert text_of(throttled.text, "login-error") == "登录尝试过于频繁，请一分钟后再试。"


def test_first_login_requires_a_new_password(portal: Portal) -> None:
    with transaction(portal.database.sessions) as session:
        creds = accounts.create_customer_account(session, SYSTEM, "wangfang", "0000000002", portal.settings)
        one_time = creds.one_time_password
    client = TestClient(portal.app, follow_redirects=False)
    first = login(client, "wangfang", one_time)
    assert first.headers["location"] == "/my/login/password"
    for url in ("/my", "/my/bills", "/customers"):  # nothing else until the password is changed
        assert client.get(url).headers["location"] == "/my/login/password", url
    form = client.get("/my/login/password")
    assert form.status_code == 200
    token = csrf_of(form.text)
    assert client.post("/my/login/password", data={"current_password": one_time}).status_code == 403
    differ = client.post(
        "/my/login/password",
        data={
            "csrf_token": token,
            "current_password": one_time,
            "new_password": "Lp-83kq-Zm2x",
            "new_password_again": "Lp-83kq-Zm2y",
        },
    )
    assert differ.status_code == 422 and text_of(differ.text, "login-error") == "两次输入的新密码不一致。"
    done = client.post(
        "/my/login/password",
        data={
            "csrf_token": token,
            "current_password": one_time,
            "new_password": "Lp-83kq-Zm2x",
            "new_password_again": "Lp-83kq-Zm2x",
        },
    )
    assert done.status_code == 303 and done.headers["location"] == "/my"
    assert text_of(client.get("/my").text, "my-name") == "王芳"
    assert ("wangfang", "user wangfang", "success") in portal.audit("auth.password_change")


def test_overview_of_a_residential_customer_with_an_overdue_bill(portal: Portal) -> None:
    world = portal.world
    html = portal.customer(RESIDENT).get("/my").text
    assert text_of(html, "my-customer-no") == "户号 0000000001"
    # 161.99 billed two months ago, 28.86 paid from the earlier overpayment: 133.13 open, 10 days overdue
    assert text_of(html, "my-due") == "133.13元"
    due = world.today - timedelta(days=10)
    assert text_of(html, "my-due-sub") == f"最早缴费截止日 {due.isoformat()} 已逾期"
    assert text_of(html, "my-accrued") == "1.33元"  # 10 days x 1‰ x 133.13
    assert text_of(html, "my-accrued-sub") == "今日缴清共需 134.46 元"
    assert text_of(html, "my-on-account") == "0.00元"
    period = world.periods[1]
    assert text_of(html, "my-latest-bill") == "161.99元"
    assert text_of(html, "my-latest-bill-sub").startswith(f"{period} · 300.00 kWh · 已逾期")
    assert f'href="/my/bills/{world.bill_ids[RESIDENT][period]}"' in html
    assert text_of(html, "my-open-debts").endswith(
        f"{period} 电费 161.99 28.86 133.13 {due.isoformat()} 已逾期 10 天"
    )
    # personal data masked, as the security layer shows it to the owner (API /auth/me)
    assert text_of(html, "my-address") == "浙江省杭********"
    assert text_of(html, "my-phone") == "138****1234"
    for full in ("13812341234", "330102199001011234", "解放路"):
        assert full not in html
    assert text_of(html, "my-meters").endswith("MP0001 201000000001 单相 1 城关1号台区 2020-01-01 运行")
    assert not has_id(html, "my-prepaid")  # not a prepaid customer
    assert "0000000003" not in html and "城关超市" not in html


def test_overview_of_a_prepaid_shop_with_a_partly_paid_bill(portal: Portal) -> None:
    html = portal.customer(SHOP).get("/my").text
    # 1,000.00 paid 651.97 of the first bill and 348.03 of the second: 303.94 open, due in 5 days
    assert text_of(html, "my-due") == "303.94元"
    assert text_of(html, "my-accrued") == "0.00元"
    assert text_of(html, "my-latest-bill-sub").startswith(
        f"{portal.world.periods[1]} · 1,000.00 kWh · 部分已缴"
    )
    assert text_of(html, "my-prepaid-balance") == "-303.94元"
    assert "已透支" in text_of(html, "my-prepaid")
    assert text_of(html, "my-prepaid-formula").endswith("0.00 − 303.94 − 0.00 = -303.94 元")
    assert text_of(html, "my-prepaid-state") == "正常"


def test_bills_by_month_with_status_and_open_amount(portal: Portal) -> None:
    world = portal.world
    older, newer = world.periods
    html = portal.customer(RESIDENT).get("/my/bills").text
    rows = text_of(html, "my-bill-table")
    due_new = world.today - timedelta(days=10)
    due_old = month_start(world.today, 2) + timedelta(days=14)  # released on the 1st, due 14 days later
    assert (
        f"{newer} {newer.replace('-', '')}-0000000001-B0 电费账单 300.00 161.99 {due_new} 133.13 已逾期"
        in rows
    )
    assert rows.endswith(
        f"{older} {older.replace('-', '')}-0000000001-B0 电费账单 460.00 269.52 {due_old} 0.00 已缴清"
    )
    assert rows.index(newer) < rows.index(older)  # latest month first
    shop = text_of(portal.customer(SHOP).get("/my/bills").text, "my-bill-table")
    assert "1,000.00 651.97" in shop and "303.94 部分已缴" in shop and shop.endswith("0.00 已缴清")


def test_a_bill_shows_its_lines_payment_and_readings(portal: Portal) -> None:
    world = portal.world
    older, newer = world.periods
    client = portal.customer(RESIDENT)
    html = client.get(f"/my/bills/{world.bill_ids[RESIDENT][newer]}").text
    assert text_of(html, "my-bill-total") == "161.99元"
    assert text_of(html, "my-bill-kwh") == "300.00kWh"
    assert text_of(html, "my-bill-open") == "133.13元"
    assert text_of(html, "my-bill-lines") == (
        "项目 电量 kWh 单价 元/kWh 金额 元 "
        "电度电费 300.00 0.5283 158.49 "
        "阶梯加价-第二档 70.00 0.05 3.50 "
        "合计 300.00 161.99"
    )
    assert "电费已缴 28.86元" in text_of(html, "my-bill-payment")
    readings = text_of(html, "my-bill-readings")
    assert "201000000001 正向有功总 上期示数" in readings and "8,080.00 1 实抄" in readings
    assert "本期示数" in readings and "8,380.00 1 实抄" in readings
    # the bill paid late: its penalty (6 days x 1‰ x 269.52 = 1.62) was booked and paid with it
    paid = text_of(client.get(f"/my/bills/{world.bill_ids[RESIDENT][older]}").text, "my-bill-payment")
    assert "电费已缴 269.52元 违约金 1.62元 待缴 0.00元" in paid
    shop = text_of(
        portal.customer(SHOP).get(f"/my/bills/{world.bill_ids[SHOP][newer]}").text, "my-bill-lines"
    )
    assert shop == (
        "项目 电量 kWh 单价 元/kWh 金额 元 "
        "电度电费-尖 100.00 1.0719 107.19 "
        "电度电费-峰 300.00 0.8932 267.96 "
        "电度电费-平 350.00 0.5359 187.57 "
        "电度电费-谷 250.00 0.2786 69.65 "
        "国家重大水利工程建设基金 代征基金及附加 1,000.00 0.0196 19.60 "
        "合计 1,000.00 651.97"
    )


def test_another_customers_bill_is_not_found(portal: Portal) -> None:
    world = portal.world
    client = portal.customer(RESIDENT)
    theirs = world.bill_ids[SHOP][world.periods[1]]  # same supply station, another customer
    for url in (f"/my/bills/{theirs}", "/my/bills/999999", "/my/bills/abc", "/my/bills/0"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert text_of(response.text, "error-title") == "未找到", url
        assert "651.97" not in response.text and "城关超市" not in response.text


def test_payments_and_refunds(portal: Portal) -> None:
    world = portal.world
    html = portal.customer(RESIDENT).get("/my/payments").text
    paid_on = month_start(world.today, 2) + timedelta(days=20)  # 6 days after the due date
    assert text_of(html, "my-paid-total") == "300.00元"
    assert text_of(html, "my-refunded-total") == "0.00元"
    assert text_of(html, "my-payment-count") == "共 1 笔"
    rows = text_of(html, "my-payment-table")
    assert rows == f"缴费日期 缴费渠道 金额 元 其中预存 元 {paid_on} 柜台 300.00 0.00"
    assert text_of(html, "my-no-refunds") == "没有退费记录。"
    shop = portal.customer(SHOP).get("/my/payments").text
    bank_day = month_start(world.today, 2) + timedelta(days=3)
    assert text_of(shop, "my-payment-table").endswith(f"{bank_day} 银行代收 1,000.00 0.00")
    assert text_of(shop, "my-paid-total") == "1,000.00元"


def test_usage_data_of_the_charts(portal: Portal) -> None:
    world = portal.world
    client = portal.customer(RESIDENT)
    page = client.get("/my/usage").text
    assert 'data-src="/my/api/usage/daily"' in page and 'data-src="/my/api/usage/monthly"' in page
    assert text_of(page, "usage-meters") == "201000000001"
    daily = client.get("/my/api/usage/daily").json()
    yesterday = world.today - timedelta(days=1)
    assert daily["dates"][0] == (world.today - timedelta(days=30)).isoformat()
    assert daily["dates"][-1] == yesterday.isoformat() and len(daily["dates"]) == 30
    assert daily["kwh"] == [float(v) for v in world.daily_kwh[RESIDENT]]
    assert daily["days_with_data"] == 30 and daily["unit"] == "kWh"
    assert daily["total_kwh"] == float(sum(world.daily_kwh[RESIDENT]))
    monthly = client.get("/my/api/usage/monthly").json()
    assert monthly["months"] == world.months
    assert monthly["kwh"] == [float(v) for v in world.monthly_kwh[RESIDENT]]
    assert monthly["kwh"][-3:-1] == [460.0, 300.0]  # the two billed months, as billed
    assert monthly["months_with_data"] == 12
    shop = portal.customer(SHOP).get("/my/api/usage/monthly").json()
    assert shop["kwh"][:3] == [980.0, 940.0, 1010.0] and shop["meters"] == ["201000000003"]


def test_a_staff_session_is_refused_on_the_customer_pages(portal: Portal) -> None:
    staff = portal.client(portal.world.staff)
    bill = portal.world.bill_ids[RESIDENT][portal.world.periods[1]]
    for url in ("/my", "/my/bills", f"/my/bills/{bill}", "/my/payments", "/my/usage"):
        response = staff.get(url)
        assert response.status_code == 403, url
        assert text_of(response.text, "error-title") == "此页面仅供客户使用", url
        assert has_id(response.text, "to-console")
    api = staff.get("/my/api/usage/daily")
    assert api.status_code == 403 and api.json() == {"detail": "customer accounts only 仅限客户账号"}
    denied = [(a, o) for a, o, _ in portal.audit("authz.denied") if a == "mgr-a"]
    assert denied[-6:] == [
        ("mgr-a", "GET /my"),
        ("mgr-a", "GET /my/bills"),
        ("mgr-a", f"GET /my/bills/{bill}"),
        ("mgr-a", "GET /my/payments"),
        ("mgr-a", "GET /my/usage"),
        ("mgr-a", "GET /my/api/usage/daily"),
    ]
    anonymous = TestClient(portal.app, follow_redirects=False)
    assert anonymous.get("/my/api/usage/daily").status_code == 401
    assert anonymous.get("/my").headers["location"] == "/my/login"


CONSOLE_PAGES = (
    "/customers",
    "/customers/0000000001",
    "/areas",
    "/areas/TQ-A",
    "/terminals",
    "/alerts",
    "/audit",
    "/users",
    "/mdm/quality",
    "/mdm/lineloss",
    "/mdm/lineloss/TQ-A",
)
CONSOLE_API = (
    "/api/v1/console/collection-trend",
    "/api/v1/console/customers/0000000001/daily-energy",
    "/api/v1/customers/0000000001",
    "/api/v1/billing/customers/0000000001/ledger",
    "/api/v1/billing/bills/1",
)


def test_a_customer_session_is_refused_by_every_console_page_and_api(portal: Portal) -> None:
    client = portal.customer(RESIDENT)
    home = client.get("/")
    assert home.status_code == 303 and home.headers["location"] == "/my"  # the site root: their own pages
    for url in CONSOLE_PAGES:
        response = client.get(url)
        assert response.status_code == 403, url
        title = "mdm-message" if url.startswith("/mdm/") else "error-title"
        assert text_of(response.text, title).startswith("无权访问此页面"), url
        assert "城关超市" not in response.text and "8,080" not in response.text, url
        if title == "error-title":  # told where their own pages are, not to ask for a role
            assert "网上营业厅" in response.text and "系统管理员" not in response.text, url
    for url in CONSOLE_API:
        response = client.get(url)
        assert response.status_code == 403, url
        assert response.json() == {"detail": "permission 'read_data' required"}, url
    denied = [o for a, o, r in portal.audit("authz.denied") if a == "zhangwei"]
    assert [f"GET {url}" for url in CONSOLE_PAGES] == denied[: len(CONSOLE_PAGES)]
    assert len(denied) == len(CONSOLE_PAGES) + len(CONSOLE_API)


def test_logout_needs_the_csrf_token_and_ends_the_session(portal: Portal) -> None:
    client = portal.customer(SHOP)
    page = client.get("/my/payments")
    assert client.post("/my/logout").status_code == 403  # no token
    out = client.post("/my/logout", data={"csrf_token": csrf_of(page.text)})
    assert out.status_code == 303 and out.headers["location"] == "/my/login"
    assert client.get("/my").headers["location"] == "/my/login"
    assert ("chaoshi", "user chaoshi", "success") in portal.audit("auth.logout")


def test_english_switch(portal: Portal) -> None:
    client = portal.customer(RESIDENT)
    switched = client.get("/lang/en", params={"next": "/my/bills"})
    assert switched.status_code == 303 and switched.headers["location"] == "/my/bills"
    html = client.get("/my/bills").text
    assert '<html lang="en">' in html
    assert text_of(html, "logout") == "Log out" and text_of(html, "lang-switch") == "中文"
    rows = text_of(html, "my-bill-table")
    assert rows.startswith("Month Bill no. Kind Energy kWh Amount yuan Due date Open yuan Status")
    assert "Overdue" in rows and "Paid" in rows
    overview = client.get("/my").text
    assert text_of(overview, "my-due") == "133.13yuan"
    assert "Amount due" in overview
    # before logging in too: the switch is open to visitors of the login page
    visitor = TestClient(portal.app, follow_redirects=False)
    assert visitor.get("/lang/en", params={"next": "/my/login"}).headers["location"] == "/my/login"
    assert text_of(visitor.get("/my/login").text, "my-login").startswith("Customer login")
    wrong = login(visitor, "zhangwei", "wrong-password")
    assert text_of(wrong.text, "login-error") == "Wrong account or password, or the account is locked."


def test_empty_states_of_a_customer_without_bills_or_readings(portal: Portal) -> None:
    client = portal.client(portal.lina())  # a session needs no login (the lockout test locks this account)
    html = client.get("/my").text
    assert text_of(html, "my-due") == "0.00元" and text_of(html, "my-due-sub") == "当前无欠费"
    assert text_of(html, "my-latest-bill") == "—"
    assert text_of(html, "my-no-open-debts").startswith("当前无欠费")
    bills = client.get("/my/bills").text
    assert text_of(bills, "my-no-bills").startswith("暂无账单 供电公司发行账单后在此显示")
    payments = client.get("/my/payments").text
    assert text_of(payments, "my-no-payments").startswith("暂无缴费记录")
    daily = client.get("/my/api/usage/daily").json()
    assert daily["days_with_data"] == 0 and daily["kwh"] == [None] * 30 and daily["total_kwh"] is None
    monthly = client.get("/my/api/usage/monthly").json()
    assert monthly["months_with_data"] == 0 and monthly["kwh"] == [None] * 12
    usage = client.get("/my/usage").text
    assert 'data-empty="近 30 日没有日冻结示数：电能表尚未接入用电信息采集系统，或数据尚在抄读。"' in usage
