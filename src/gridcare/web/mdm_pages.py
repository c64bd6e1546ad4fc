"""Console pages of meter data management: data quality (/mdm/quality) and 台区 line loss (/mdm/lineloss,
with a drill-down per 台区). Server-rendered, Chinese first; charts (ECharts) are drawn by
``static/mdm.js`` from JSON data blocks when ``static/vendor/echarts.min.js`` is present, tables otherwise.
Everything shown is limited to the logged-in account's organisation scope."""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from gridcare import __version__
from gridcare.archives.queries import NotFound
from gridcare.mdm import results
from gridcare.mdm.schema import MdmInputError
from gridcare.mdm.vee_config import RULES
from gridcare.security.principal import Principal
from gridcare.security.roles import Permission
from gridcare.timeutil import today_beijing
from gridcare.web.pages import WEB_DIR, templates

router = APIRouter(include_in_schema=False)
ECHARTS = WEB_DIR / "static" / "vendor" / "echarts.min.js"
PAGE_SIZE = 50

DayQ = Annotated[date | None, Query()]


def _day(day: date | None) -> date:
    return day or (today_beijing() - timedelta(days=1))


def _message(request: Request, status: int, text: str) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "mdm_message.html",
        {"message": text, "version": __version__, "settings": request.app.state.settings},
        status_code=status,
    )


def _principal(request: Request) -> Principal | None:
    """The principal when it may read data; else None (a refusal is audited, as on every console page)."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        return None
    if not principal.can(Permission.READ_DATA):
        from gridcare.web.console import _audit_denied

        with request.app.state.database.sessions() as session:
            _audit_denied(session, principal, request, Permission.READ_DATA.value)
        return None
    return principal


def _render(request: Request, name: str, context: dict[str, Any]) -> HTMLResponse:
    context.update(
        version=__version__,
        settings=request.app.state.settings,
        has_echarts=ECHARTS.is_file(),
        pct=_pct,
        kwh=_kwh,
    )
    return templates.TemplateResponse(request, name, context)


def _pct(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value * 100:.2f}%"


def _kwh(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:,.2f}"


@router.get("/mdm/quality", response_class=HTMLResponse)
def quality_page(
    request: Request,
    day: DayQ = None,
    rule: Annotated[str | None, Query(max_length=32)] = None,
    severity: Annotated[str | None, Query(max_length=16)] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    """数据质量: flags per VEE rule for a freeze day and the failing readings."""
    principal = _principal(request)
    if principal is None:
        return _message(request, 403, "无权访问此页面 — you have no permission for this page.")
    the_day = _day(day)
    rule, severity = rule or None, severity or None
    with request.app.state.database.sessions() as session:
        settings = request.app.state.settings
        summary = results.quality_summary(session, settings, principal, the_day)
        try:
            flags = results.quality_flags(
                session,
                settings,
                principal,
                the_day,
                rule=rule,
                severity=severity,
                page=page,
                page_size=PAGE_SIZE,
            )
        except MdmInputError as exc:
            return _message(request, 422, str(exc))
    chart = {
        "kind": "rules",
        "labels": [f"{r['title_zh']}" for r in summary["rules"] if r["count"]],
        "values": [r["count"] for r in summary["rules"] if r["count"]],
    }
    pages = max(1, math.ceil(flags["total"] / PAGE_SIZE))
    return _render(
        request,
        "mdm_quality.html",
        {
            "day": the_day,
            "summary": summary,
            "flags": flags,
            "rule": rule,
            "severity": severity,
            "rules": RULES,
            "pages": pages,
            "chart": chart,
            "loss_day": the_day - timedelta(days=1),
            "prev_day": the_day - timedelta(days=1),
            "next_day": the_day + timedelta(days=1),
        },
    )


@router.get("/mdm/lineloss", response_class=HTMLResponse)
def lineloss_page(
    request: Request,
    day: DayQ = None,
    status: Annotated[str | None, Query(max_length=32)] = None,
) -> HTMLResponse:
    """台区线损: ranking of a business day, worst first."""
    principal = _principal(request)
    if principal is None:
        return _message(request, 403, "无权访问此页面 — you have no permission for this page.")
    the_day = _day(day)
    with request.app.state.database.sessions() as session:
        try:
            ranking = results.line_loss_ranking(
                session, request.app.state.settings, principal, the_day, status=status or None
            )
        except MdmInputError as exc:
            return _message(request, 422, str(exc))
    top = [i for i in ranking["items"] if i["loss_rate"] is not None][:20]
    chart = {
        "kind": "ranking",
        "labels": [i["tg"] for i in top],
        "values": [round(i["loss_rate"] * 100, 2) for i in top],
    }
    return _render(
        request,
        "mdm_lineloss.html",
        {
            "day": the_day,
            "ranking": ranking,
            "status": status or None,
            "statuses": results.STATUS_LABELS,
            "chart": chart,
            "prev_day": the_day - timedelta(days=1),
            "next_day": the_day + timedelta(days=1),
        },
    )


@router.get("/mdm/lineloss/{code}", response_class=HTMLResponse)
def tg_page(
    request: Request,
    code: str,
    day: DayQ = None,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> HTMLResponse:
    """One 台区: daily supply curve and its customers' energies on the day."""
    principal = _principal(request)
    if principal is None:
        return _message(request, 403, "无权访问此页面 — you have no permission for this page.")
    the_day = _day(day)
    with request.app.state.database.sessions() as session:
        try:
            detail = results.tg_detail(session, request.app.state.settings, principal, code, the_day, days)
        except NotFound:
            return _message(request, 404, f"未找到台区 {code} — transformer area not found.")
        except results.LineLossNotApplicable as exc:
            return _message(request, 422, exc.reason)
    chart = {
        "kind": "curve",
        "labels": [p["day"].isoformat() for p in detail["curve"]],
        "supply": [p["supply_kwh"] for p in detail["curve"]],
        "sold": [p["sold_kwh"] for p in detail["curve"]],
        "rate": [None if p["loss_rate"] is None else round(p["loss_rate"] * 100, 2) for p in detail["curve"]],
    }
    return _render(
        request,
        "mdm_tg.html",
        {"day": the_day, "detail": detail, "chart": chart, "statuses": results.STATUS_LABELS},
    )
