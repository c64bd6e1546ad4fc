"""Property-based API fuzzing from the OpenAPI spec (schemathesis): no request, valid or not, logged in
or not, may produce a server error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from gridcare.api.app import create_app
from gridcare.config import load_settings
from gridcare.storage.database import open_database
from gridcare.storage.db import transaction
from tests.security.helpers import make_staff, token_for
from tests.support.archive import build_small_archive

TOKENS: dict[str, str] = {}


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    data_dir: Path = tmp_path_factory.mktemp("fuzz") / "data"
    settings_ = load_settings(environ={}, data_dir=data_dir, api_rate_per_minute=1_000_000)
    database = open_database(settings_)
    with transaction(database.sessions) as session:
        build_small_archive(session)
    manager = make_staff(database, settings_, "fuzz-manager", ["manager"], "S010101")
    TOKENS["manager"] = token_for(database, settings_, manager)
    app = create_app(settings_, database)
    yield schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    database.dispose()


def test_no_server_errors(api_schema: Any) -> None:
    """Every operation, a dozen generated requests each (schemathesis' pytest plugin does not support
    pytest 9 yet, so the operations are walked here and each gets a Hypothesis run)."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20
    failures: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case: Any) -> None:
            response = case.call(headers={"Authorization": f"Bearer {TOKENS['manager']}"})
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:200]}"
                )

        run()
    assert not failures, "\n".join(sorted(set(failures))[:20])
