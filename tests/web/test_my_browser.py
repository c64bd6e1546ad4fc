"""The customer self-service pages in headless Chromium (Playwright driving Debian's /usr/bin/chromium, as
tests/web/test_browser.py does; nothing is downloaded).

A real uvicorn server runs in a thread on a free loopback port over tests.web.my_world. Staff accounts would
need two factors here (``totp_required_for_all``); customer accounts log in with their password only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, ConsoleMessage, Page

from gridcare.api.app import create_app
from gridcare.config import load_settings
from gridcare.storage.database import open_database
from tests.security.helpers import PASSWORD
from tests.web.my_world import RESIDENT, MyWorld, build_my_world
from tests.web.test_browser import CHART_POINTS, TIMEOUT_MS, _free_socket
from tests.web.test_browser import browser as browser

pytestmark = pytest.mark.browser

OVERVIEW_SHOT = Path("/tmp/my_overview.png")
BILL_SHOT = Path("/tmp/my_bill.png")
USAGE_SHOT = Path("/tmp/my_usage.png")


@dataclass
class MySite:
    url: str
    world: MyWorld


@pytest.fixture(scope="module")
def my_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MySite]:
    data_dir = tmp_path_factory.mktemp("my-browser") / "data"
    settings = load_settings(environ={}, data_dir=data_dir, totp_required_for_all=True)
    database = open_database(settings)
    world = build_my_world(settings, database)
    sock = _free_socket()
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, database), log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield MySite(f"http://127.0.0.1:{port}", world)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        database.dispose()


@pytest.fixture
def page(browser: Browser, my_site: MySite) -> Iterator[Page]:
    context = browser.new_context(
        base_url=my_site.url, viewport={"width": 1440, "height": 900}, locale="zh-CN"
    )
    context.set_default_timeout(TIMEOUT_MS)
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    p.on("response", lambda r: errors.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)

    def console(message: ConsoleMessage) -> None:
        # CSP refusals (an inline script, a foreign host) show up as console errors; the browser's own
        # request for /favicon.ico (the site has none) is the one 404 allowed
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            errors.append(message.text)

    p.on("console", console)
    yield p
    context.close()
    assert errors == [], f"script errors or CSP refusals on the page: {errors}"


def test_customer_logs_in_sees_the_overview_opens_a_bill_and_the_usage_charts(
    page: Page, my_site: MySite
) -> None:
    world = my_site.world
    page.goto("/my")
    assert page.url == f"{my_site.url}/my/login"
    page.fill("input[name=username]", "zhangwei")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(f"{my_site.url}/my")
    assert page.inner_text("#my-name") == "张伟"
    assert page.inner_text("#my-due") == "133.13元"
    assert page.inner_text("#my-accrued") == "1.33元"
    page.screenshot(path=str(OVERVIEW_SHOT), full_page=True)

    page.click("#my-latest-bill-link")
    bill_id = world.bill_ids[RESIDENT][world.periods[1]]
    page.wait_for_url(f"{my_site.url}/my/bills/{bill_id}")
    assert page.inner_text("#my-bill-total") == "161.99元"
    assert page.inner_text("#my-bill-lines-total") == "161.99"
    assert "阶梯加价-第二档" in page.inner_text("#my-bill-lines")
    page.screenshot(path=str(BILL_SHOT), full_page=True)

    page.click("header.top nav a[href='/my/usage']")
    page.wait_for_url(f"{my_site.url}/my/usage")
    page.wait_for_selector("#chart-daily[data-drawn]")
    page.wait_for_selector("#chart-monthly[data-drawn]")
    assert page.eval_on_selector("#chart-daily", CHART_POINTS) == 30, "one bar per day of the last 30 days"
    assert page.eval_on_selector("#chart-monthly", CHART_POINTS) == 12, "one bar per month of the last 12"
    monthly = page.eval_on_selector(
        "#chart-monthly", "el => echarts.getInstanceByDom(el).getOption().series[0].data"
    )
    assert monthly == [float(v) for v in world.monthly_kwh[RESIDENT]]
    months = page.eval_on_selector(
        "#chart-monthly", "el => echarts.getInstanceByDom(el).getOption().xAxis[0].data"
    )
    assert months == world.months
    total = sum(world.daily_kwh[RESIDENT])
    assert page.inner_text("#usage-daily-total").replace(",", "") == f"{total:.2f}kWh"
    page.screenshot(path=str(USAGE_SHOT), full_page=True)

    page.click("#logout")
    page.wait_for_url(f"{my_site.url}/my/login")
    page.goto("/my/bills")
    assert page.url.startswith(f"{my_site.url}/my/login")
