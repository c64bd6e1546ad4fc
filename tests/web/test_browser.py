"""The console in headless Chromium (Playwright driving Debian's /usr/bin/chromium; nothing is downloaded).

A real uvicorn server runs in a thread on a free loopback port over a temporary data directory holding the
demo utility (1200 customers, two supply stations) and a month of operations data (tests.web.world). Every
account needs two factors (``totp_required_for_all``), and each test logs in its own account, so no TOTP
code is used twice in one time step.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyotp
import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import func, select

from gridcare.acquisition import store
from gridcare.acquisition.models import DeviceJob, JobState
from gridcare.api.app import create_app
from gridcare.archives.demo import generate_demo
from gridcare.archives.models import Customer, MeteringPoint, Organisation, OrgLevel, TransformerArea
from gridcare.config import Settings, load_settings
from gridcare.security import risk
from gridcare.storage.database import Database, open_database
from tests.security.helpers import Account, make_staff
from tests.web.world import World, build_operations

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
DEMO_CUSTOMERS = 1200
"""The smallest demo with two supply stations (a county with two 供电所)."""
HOME_SHOT = Path("/tmp/console-home.png")
CUSTOMER_SHOT = Path("/tmp/console-customer.png")
TIMEOUT_MS = 15_000


@dataclass
class Site:
    url: str
    settings: Settings
    database: Database
    world: World
    stations: list[Organisation]

    def account(self, username: str, role: str, org_code: str) -> Account:
        account = make_staff(self.database, self.settings, username, [role], org_code)
        assert account.totp_secret, "totp_required_for_all gives every staff account a secret"
        return account


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data_dir = tmp_path_factory.mktemp("console") / "data"
    settings = load_settings(environ={}, data_dir=data_dir, totp_required_for_all=True)
    database = open_database(settings)
    generate_demo(database.sessions, DEMO_CUSTOMERS, 1)
    risk.configure(settings)
    world = build_operations(settings, database)
    with database.sessions() as session:
        stations = list(
            session.scalars(
                select(Organisation).where(Organisation.level == OrgLevel.STATION).order_by(Organisation.id)
            )
        )
    assert len(stations) >= 2, "the demo must have two supply stations for the scope tests"
    sock = _free_socket()
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, database), log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the console server did not start"
        time.sleep(0.05)
    try:
        yield Site(f"http://127.0.0.1:{port}", settings, database, world, stations)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        database.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests drive Debian's chromium "
            "(apt-get install chromium fonts-noto-cjk, or `make system-deps`); they never download a browser"
        )
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, site: Site) -> Iterator[Page]:
    context = browser.new_context(base_url=site.url, viewport={"width": 1440, "height": 900}, locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    # CSP refusals (an inline script, a foreign host) show up as console errors
    p.on("console", lambda m: errors.append(m.text) if m.type == "error" and "Refused" in m.text else None)
    yield p
    context.close()
    assert errors == [], f"script errors or CSP refusals on the page: {errors}"


def login(page: Page, account: Account, code: str | None = None) -> None:
    """Log in through the form (password and the current TOTP code) and wait for the frame."""
    page.goto("/")
    assert page.url.endswith("/login"), page.url
    page.fill("input[name=username]", account.username)
    page.fill("input[name=password]", account.password)
    page.fill("input[name=totp_code]", code or pyotp.TOTP(account.totp_secret or "").now())
    page.click("section.login button[type=submit]")


CHART_POINTS = """el => {
  const chart = echarts.getInstanceByDom(el);
  if (!chart) return -1;
  const data = chart.getOption().series[0].data;
  return data.filter(v => v !== null && (typeof v !== 'object' || v.value > 0)).length;
}"""


CHART_TOTAL = """el => {
  const chart = echarts.getInstanceByDom(el);
  if (!chart) return -1;
  return chart.getOption().series[0].data.reduce(
    (sum, v) => sum + (v !== null && typeof v === 'object' ? v.value : (v || 0)), 0);
}"""


def test_login_with_password_and_totp_then_dashboard_charts_have_data(page: Page, site: Site) -> None:
    manager = site.account("web-manager", "manager", "3505")
    login(page, manager, "000000" if pyotp.TOTP(manager.totp_secret or "").now() != "000000" else "111111")
    assert page.url.endswith("/login")
    assert "动态码错误" in page.inner_text("p.error")
    login(page, manager)
    page.wait_for_url(f"{site.url}/")
    assert page.inner_text("#user-name") == "web-manager"
    page.wait_for_selector("#chart-trend[data-drawn]")
    page.wait_for_selector("#chart-line-loss[data-drawn]")
    trend_points = page.eval_on_selector("#chart-trend", CHART_POINTS)
    assert trend_points == 30, "one success rate per day of the last 30 freeze days"
    loss_bins = page.eval_on_selector("#chart-line-loss", CHART_POINTS)
    assert loss_bins > 0
    # the distribution covers the demo's public 台区 (公变) only: its 专变 (dedicated transformers, no supply
    # meter) are no 台区 line-loss objects, so nothing is "not computable" (无台区总表) any more
    with site.database.sessions() as session:
        public = session.scalar(
            select(func.count()).select_from(TransformerArea).where(TransformerArea.kind == "public")
        )
        dedicated = session.scalar(
            select(func.count()).select_from(TransformerArea).where(TransformerArea.kind == "dedicated")
        )
    assert public and dedicated
    assert page.eval_on_selector("#chart-line-loss", CHART_TOTAL) == public
    assert page.locator("#line-loss-not-computable").count() == 0
    # today's success rate: every point but those of the one offline terminal
    due, failed = site.world.points_due, site.world.failed_today
    assert page.inner_text("#kpi-collection").startswith(f"{100 * (due - failed) / due:.2f}")
    assert page.inner_text("#arrears-amount") == f"{sum(site.world.arrears_fen.values()) / 100:,.2f}"
    page.screenshot(path=str(HOME_SHOT), full_page=True)


def test_org_tree_of_a_station_operator_hides_other_organisations(page: Page, site: Site) -> None:
    mine, other = site.stations[0], site.stations[1]
    operator = site.account("web-operator", "operator", mine.code)
    login(page, operator)
    page.wait_for_url(f"{site.url}/")
    tree = page.inner_text("#org-tree")
    assert mine.name in tree
    assert other.name not in tree
    with site.database.sessions() as session:
        county = session.get(Organisation, mine.parent_id)
        theirs = session.scalars(
            select(Customer.customer_no).where(Customer.org_id == other.id).limit(3)
        ).all()
    assert county is not None and county.name not in tree
    page.click(f"#org-tree a[data-org-id='{mine.id}']")
    assert page.inner_text("#scope-chip").startswith("范围")
    page.goto("/customers")
    listed = page.inner_text("#customer-table")
    assert all(no not in listed for no in theirs)
    response = page.goto(f"/customers/{theirs[0]}")
    assert response.status == 404
    assert page.inner_text("#error-title") == "未找到"


def test_customer_360_energy_chart_and_on_demand_read(page: Page, site: Site) -> None:
    manager = site.account("web-manager-2", "manager", "3505")
    with site.database.sessions() as session:
        customer_no, address = session.execute(
            select(Customer.customer_no, MeteringPoint.meter_id)
            .join(MeteringPoint, MeteringPoint.customer_id == Customer.id)
            .where(Customer.customer_no.in_(list(site.world.arrears_fen)))
            .order_by(Customer.customer_no)
            .limit(1)
        ).one()
    login(page, manager)
    page.wait_for_url(f"{site.url}/")
    page.goto(f"/customers/{customer_no}")
    page.wait_for_selector("#chart-energy[data-drawn]")
    assert page.eval_on_selector("#chart-energy", CHART_POINTS) == 30
    assert page.inner_text("#energy-total") != "—"
    assert "****" in page.inner_text("#masked-phone")
    assert page.inner_text("#customer-arrears").startswith(
        f"{site.world.arrears_fen[customer_no] / 100:,.2f}"
    )
    page.screenshot(path=str(CUSTOMER_SHOT), full_page=True)

    button = page.locator("button[data-read-meter]").first
    meter = button.get_attribute("data-read-meter")
    button.click()
    output = page.locator(f"button[data-read-meter='{meter}'] + output")
    output.get_by_text("#").wait_for()
    with site.database.sessions() as session:
        job = session.scalars(select(DeviceJob).where(DeviceJob.meter_address == meter)).one()
        assert (job.state, job.requested_by) == (JobState.PENDING, "web-manager-2")
    # the front-end answers: the page's poll sees the final state
    values = {
        "meter": meter,
        "di": "0001FF00",
        "values": [{"name": "total", "value": "1234.56", "unit": "kWh"}],
    }
    store.finish_job(site.database, job.id, JobState.CONFIRMED, values, None)
    page.wait_for_selector(f"button[data-read-meter='{meter}'] + output[data-state=confirmed]")
    assert "召测成功" in output.inner_text() and "1234.56 kWh" in output.inner_text()
    assert address is not None


def test_logout_ends_the_session(page: Page, site: Site) -> None:
    analyst = site.account("web-analyst", "analyst", "3505")
    login(page, analyst)
    page.wait_for_url(f"{site.url}/")
    cookie = next(c for c in page.context.cookies() if c["name"] == "gridcare_session")
    page.click("#logout")
    page.wait_for_url(f"{site.url}/login")
    page.goto("/")
    assert page.url == f"{site.url}/login"
    # the old session token is revoked on the server, not only forgotten by the browser
    page.context.add_cookies([cookie])
    page.goto("/customers")
    assert page.url.startswith(f"{site.url}/login")


def test_language_switch_shows_english_labels(page: Page, site: Site) -> None:
    analyst = site.account("web-analyst-en", "analyst", site.stations[1].code)
    login(page, analyst)
    page.wait_for_url(f"{site.url}/")
    assert page.inner_text("#lang-switch") == "English"
    page.click("#lang-switch")
    page.wait_for_selector("html[lang=en]")
    assert page.inner_text("#logout") == "Log out"
    assert "Collection success today" in page.inner_text("main")
    page.wait_for_selector("#chart-trend[data-drawn]")
