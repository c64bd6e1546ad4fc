"""The home dashboard (首页): collection today and its 30-day trend, terminals online, the 台区 line-loss
distribution, arrears and open alerts, all within the organisation selected in the tree."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from gridcare.archives import queries
from gridcare.security import risk
from gridcare.timeutil import today_beijing
from gridcare.web import dashboard, money
from gridcare.web.console import ReadPage

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(page: ReadPage) -> HTMLResponse:
    """Overview of the unit selected in the tree (the whole scope by default)."""
    session, principal = page.session, page.principal
    today = today_beijing()
    settings = page.request.app.state.settings
    line_loss = dashboard.line_loss_distribution(session, settings, principal, today)
    return page.render(
        "home.html",
        counts=queries.archive_counts(session, principal),
        collection=dashboard.collection(session, principal, today),
        line_loss=line_loss,
        alerts=dashboard.open_alerts(session, principal),
        alert_counts=risk.open_alert_counts(session, principal),
        arrears=money.arrears(session, principal),
    )
