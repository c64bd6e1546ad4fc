"""Console pages (server-rendered Jinja2; no build step)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from gridcare import __version__
from gridcare.archives import queries
from gridcare.security.principal import SYSTEM

WEB_DIR = Path(__file__).parent
templates = Jinja2Templates(directory=WEB_DIR / "templates")
router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    """Home page: what this installation holds."""
    principal = getattr(request.state, "principal", SYSTEM)
    with request.app.state.database.sessions() as session:
        counts = queries.archive_counts(session, principal)
        orgs = queries.list_organisations(session, principal)
    return templates.TemplateResponse(
        request,
        "home.html",
        {"counts": counts, "orgs": orgs, "version": __version__, "settings": request.app.state.settings},
    )


def mount(app: FastAPI) -> None:
    """Attach the console pages and static assets to ``app``."""
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    app.include_router(router)
