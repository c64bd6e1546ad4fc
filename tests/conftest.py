"""Shared fixtures: isolated data directories, a migrated SQLite database, a real PostgreSQL server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from gridcare.config import Settings, load_settings
from gridcare.storage.database import Database, open_database
from tests.support.postgres import PostgresUnavailable, temporary_cluster


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings isolated in a temporary data directory (no environment leaks in)."""
    return load_settings(environ={}, data_dir=tmp_path / "data")


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    """A migrated SQLite database in the temporary data directory."""
    db = open_database(settings)
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a throw-away PostgreSQL 15 cluster started for this test session.

    In CI (CI=true) a missing server is a failure, not a skip: `make test` installs it.
    """
    try:
        with temporary_cluster() as url:
            yield url
    except PostgresUnavailable as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(exc))
