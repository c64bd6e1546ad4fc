"""Console pages (server-rendered Jinja2; no build step).

This module owns the template environment (shared with the login and MDM pages), its number and time
filters, and :func:`mount`, which attaches every console router and the static files to the app. The pages
themselves live in :mod:`.home`, :mod:`.archive_pages`, :mod:`.ops_pages` and :mod:`.admin_pages`; their
chart data comes from :mod:`.console_api` (``/api/v1/console/...``).
"""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from gridcare.timeutil import to_beijing

WEB_DIR = Path(__file__).parent
templates = Jinja2Templates(directory=WEB_DIR / "templates")
DASH = "—"


def _finite(value: Any) -> bool:
    if value is None:
        return False
    return not (isinstance(value, float) and not math.isfinite(value))


def fmt_num(value: Any, digits: int = 0) -> str:
    """1234.5 -> "1,234.50" (``digits`` decimals, thousands separated); missing -> "—"."""
    if not _finite(value):
        return DASH
    if isinstance(value, Decimal):
        return f"{value.quantize(Decimal(1).scaleb(-digits)):,.{digits}f}"
    return f"{value:,.{digits}f}"


def fmt_fen(value: Any) -> str:
    """An amount in fen as yuan, exactly (123456 -> "1,234.56")."""
    return DASH if value is None else fmt_num(Decimal(int(value)).scaleb(-2), 2)


def fmt_pct(value: Any, digits: int = 2) -> str:
    """A percentage already in percent (98.5 -> "98.50%")."""
    return DASH if not _finite(value) else f"{fmt_num(value, digits)}%"


def fmt_rate(value: Any, digits: int = 2) -> str:
    """A fraction as a percentage (0.0769 -> "7.69%")."""
    return DASH if not _finite(value) else fmt_pct(float(value) * 100, digits)


def fmt_dt(value: datetime | date | None, seconds: bool = True) -> str:
    """Beijing time "YYYY-MM-DD HH:MM:SS"; dates as "YYYY-MM-DD"; missing -> "—"."""
    if value is None:
        return DASH
    if isinstance(value, datetime):
        return to_beijing(value).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return value.isoformat()


def _console_ui(request: Any) -> Any:
    from gridcare.web.layout import build_ui

    return build_ui(request)


templates.env.filters.update(num=fmt_num, fen=fmt_fen, pct=fmt_pct, rate=fmt_rate, dt=fmt_dt)
templates.env.globals["console_ui"] = _console_ui


def mount(app: FastAPI) -> None:
    """Attach the console pages, their page-data API, the customer self-service pages (:mod:`.my`) and the
    static assets to ``app``."""
    from gridcare.api.app import API_PREFIX
    from gridcare.web import (
        admin_pages,
        archive_pages,
        billing_pages,
        console,
        console_api,
        home,
        my,
        ops_pages,
    )

    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    console.install(app)
    app.include_router(console_api.router, prefix=API_PREFIX)
    for router in (
        home.router,
        archive_pages.router,
        ops_pages.router,
        billing_pages.router,
        admin_pages.router,
    ):
        app.include_router(router)
    my.mount(app)  # the customer self-service pages (/my)
