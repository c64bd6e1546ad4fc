"""The FastAPI application: REST API under /api/v1 and the web console at /."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from gridcare import __version__
from gridcare.api.routes import (
    acquisition,
    alerts,
    archive_transfer,
    archives,
    audit,
    auth,
    billing,
    bills,
    health,
    mdm,
    meters,
    users,
)
from gridcare.config import Settings
from gridcare.security.middleware import install_security
from gridcare.storage.database import Database, open_database
from gridcare.web import login, mdm_pages, pages

API_PREFIX = "/api/v1"


def create_app(settings: Settings, database: Database | None = None) -> FastAPI:
    """Build the application for ``settings``; opens (and migrates) the database unless one is given."""
    owns_database = database is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if owns_database:
            app.state.database.dispose()

    app = FastAPI(
        title="gridcare",
        version=__version__,
        description="营销、计量与用电信息采集平台 API — marketing, metering and data acquisition.",
        docs_url=f"{API_PREFIX}/docs",
        openapi_url=f"{API_PREFIX}/openapi.json",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = database or open_database(settings)
    for router in (health.router, archives.router, archive_transfer.router, acquisition.router, bills.router):
        app.include_router(router, prefix=API_PREFIX)
    for router in (auth.router, users.router, users.personal_router, audit.router, alerts.router):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(billing.router, prefix=API_PREFIX)
    app.include_router(mdm.router, prefix=API_PREFIX)
    app.include_router(meters.router, prefix=API_PREFIX)
    app.include_router(login.router)
    install_security(app, settings, app.state.database)
    pages.mount(app)
    app.include_router(mdm_pages.router)
    return app
