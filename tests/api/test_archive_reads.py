"""The archive read API: health, paging, filters, search, masking and organisation scope."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from gridcare.api.app import create_app
from gridcare.api.deps import get_principal
from gridcare.config import Settings
from gridcare.security.principal import Principal
from gridcare.storage import migrate
from gridcare.storage.database import Database
from gridcare.storage.db import transaction
from tests.security.helpers import make_staff, token_for
from tests.support.archive import AREA_A, STATION_A, add_dedicated_area, build_small_archive


@pytest.fixture
def client(settings: Settings, database: Database) -> Iterator[TestClient]:
    """Logged in as an analyst of the company (whole tree in scope): bearer token for the API, the
    session cookie for the console."""
    with transaction(database.sessions) as session:
        build_small_archive(session)
    token = token_for(database, settings, make_staff(database, settings, "analyst1", ["analyst"], "C01"))
    with TestClient(create_app(settings, database)) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        c.cookies.set("gridcare_session", token)
        yield c


def test_health(client: TestClient) -> None:
    body = client.get("/api/v1/health").json()
    assert body["status"] == "ok"
    assert body["database"] == "sqlite"
    assert body["schema_revision"] == migrate.head_revision(client.app.state.database.engine)  # type: ignore[attr-defined]


def test_customers_paged_and_masked(client: TestClient) -> None:
    body = client.get("/api/v1/customers", params={"page_size": 3}).json()
    assert body["total"] == 4
    assert [c["customer_no"] for c in body["items"]] == ["0000000001", "0000000002", "0000000003"]
    first = body["items"][0]
    assert first["phone_masked"] == "138****1234"
    assert first["id_number_masked"] == "330102********1234"
    assert "phone" not in first and "id_number" not in first
    page2 = client.get("/api/v1/customers", params={"page_size": 3, "page": 2}).json()
    assert [c["customer_no"] for c in page2["items"]] == ["0000000004"]


def test_filters_and_search(client: TestClient) -> None:
    get = lambda **p: [c["customer_no"] for c in client.get("/api/v1/customers", params=p).json()["items"]]  # noqa: E731
    assert get(org_id=STATION_A) == ["0000000001", "0000000002", "0000000003"]
    assert get(customer_class="general_commercial") == ["0000000003"]
    assert get(transformer_area_id=2) == ["0000000004"]
    assert get(q="201000000004") == ["0000000004"]
    assert get(q="000000000") == ["0000000001", "0000000002", "0000000003", "0000000004"]
    assert get(q="王") == ["0000000002"]
    meters = client.get("/api/v1/meters", params={"transformer_area_id": AREA_A}).json()
    assert [m["address"] for m in meters["items"]] == ["201000000001", "201000000002", "201000000003"]


def test_bad_filter_names_the_field(client: TestClient) -> None:
    r = client.get("/api/v1/customers", params={"customer_class": "martian"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", "customer_class"]
    assert client.get("/api/v1/customers", params={"org_id": 999}).status_code == 404


def test_scope_hides_other_stations(client: TestClient) -> None:
    client.app.dependency_overrides[get_principal] = lambda: Principal("a", org_paths=("/1/2/3/",))  # type: ignore[attr-defined]
    assert client.get("/api/v1/customers").json()["total"] == 3
    assert client.get("/api/v1/customers/0000000004").status_code == 404
    assert client.get("/api/v1/meters/201000000004").status_code == 404
    assert client.get("/api/v1/transformer-areas/TQ-B").status_code == 404
    assert [o["code"] for o in client.get("/api/v1/organisations").json()] == ["S010101"]
    assert client.get("/api/v1/terminals").json()["total"] == 1
    assert client.get("/api/v1/metering-points").json()["total"] == 3


def test_metering_point_history(client: TestClient) -> None:
    body = client.get("/api/v1/metering-points", params={"customer_no": "0000000001"}).json()
    assert [(p["code"], p["valid_to"]) for p in body["items"]] == [("MP0001", None)]


def test_home_page_shows_counts(client: TestClient) -> None:
    html = client.get("/").text
    assert 'id="count-customers">4<' in html
    assert "城关供电所" in html


def test_transformer_areas_carry_their_kind_and_filter_by_it(client: TestClient, database: Database) -> None:
    with transaction(database.sessions) as session:
        add_dedicated_area(session)
    items = client.get("/api/v1/transformer-areas").json()["items"]
    assert [(a["code"], a["kind"]) for a in items] == [
        ("TQ-A", "public"),
        ("TQ-B", "public"),
        ("ZB-A1", "dedicated"),
    ]
    one = client.get("/api/v1/transformer-areas/ZB-A1").json()
    assert (one["kind"], one["capacity_kva"], one["org_id"]) == ("dedicated", 630, STATION_A)

    def kind(k: str) -> list[str]:
        return [
            a["code"] for a in client.get("/api/v1/transformer-areas", params={"kind": k}).json()["items"]
        ]

    assert kind("dedicated") == ["ZB-A1"]
    assert kind("public") == ["TQ-A", "TQ-B"]
    bad = client.get("/api/v1/transformer-areas", params={"kind": "公变"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "kind"]
