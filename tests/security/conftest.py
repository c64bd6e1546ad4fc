"""Fixtures of the security tests: the small archive (company C01 -> county C0101 -> stations S010101 /
S010102) and an app client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from gridcare.api.app import create_app
from gridcare.config import Settings
from gridcare.security import risk
from gridcare.storage.database import Database
from gridcare.storage.db import transaction
from tests.support.archive import build_small_archive


@pytest.fixture
def archive(settings: Settings, database: Database) -> Database:
    """The migrated database holding the small archive."""
    with transaction(database.sessions) as session:
        build_small_archive(session)
    risk.configure(settings)
    return database


@pytest.fixture
def client(settings: Settings, archive: Database) -> Iterator[TestClient]:
    """An app over the small archive, not logged in."""
    with TestClient(create_app(settings, archive)) as c:
        yield c
