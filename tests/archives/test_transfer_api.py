"""POST /archives/{kind}/import and GET /archives/{kind}/export on a tiny app holding only this router."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable, Iterator

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from gridcare.api.deps import route_requirement
from gridcare.api.routes.archive_transfer import router
from gridcare.archives.transfer import export_archive
from gridcare.config import Settings
from gridcare.security.principal import SYSTEM, Principal
from gridcare.storage.database import Database
from gridcare.storage.db import transaction
from tests.archives.fixtures.transfer_archive import STATION_B, build_archive, principal_of, snapshot

HEADER = "customer_no,name,org_code,customer_class,voltage_level,contracted_capacity_kva,tariff_code"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def app(settings: Settings, database: Database) -> FastAPI:
    with transaction(database.sessions) as session:
        build_archive(session)
    app = FastAPI()
    app.include_router(router, prefix="/api/v1")
    app.state.database = database
    app.state.settings = settings
    login_as(app, Principal("tester", permissions=frozenset({"*"})))

    @app.middleware("http")
    async def logged_in(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        request.state.principal = app.state.test_principal  # stands in for the security middleware
        return await call_next(request)

    return app


def login_as(app: FastAPI, principal: Principal) -> None:
    app.state.test_principal = principal


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def upload(
    client: TestClient, kind: str, content: bytes, filename: str = "file.csv", **params: str
) -> httpx.Response:
    return client.post(f"/api/v1/archives/{kind}/import", files={"file": (filename, content)}, params=params)


def test_import_good_file_returns_counts(client: TestClient) -> None:
    data = f"\ufeff{HEADER}\r\n0000000100,赵敏,S010101,residential,220V,6,RES\r\n".encode()
    r = upload(client, "customers", data)
    assert r.status_code == 200, r.text
    assert r.json() == {"kind": "customers", "rows": 1, "inserted": 1, "updated": 0, "unchanged": 0}


def test_import_bad_file_is_422_with_every_error_and_changes_nothing(
    client: TestClient, database: Database
) -> None:
    before = snapshot(database.sessions)
    data = (
        f"{HEADER}\n"
        "0000000100,,S010101,residential,220V,6,RES\n"
        "0000000101,好行,S010101,residential,220V,6,RES\n"
        "0000000102,坏容量,S010101,residential,220V,1.234,RES\n"
    ).encode()
    r = upload(client, "customers", data)
    assert r.status_code == 422
    assert r.json() == {
        "detail": {
            "message": "nothing was imported (未导入任何数据): 2 bad line(s)",
            "errors": [
                {"line": 2, "column": "name", "reason": "required value is missing"},
                {
                    "line": 4,
                    "column": "contracted_capacity_kva",
                    "reason": "at most 2 decimal places, got 1.234",
                },
            ],
        }
    }
    assert snapshot(database.sessions) == before


def test_import_format_from_query_or_file_name(client: TestClient) -> None:
    xlsx = client.get("/api/v1/archives/meters/export", params={"format": "xlsx"}).content
    r = upload(client, "meters", xlsx, filename="upload.bin", format="xlsx")
    assert r.status_code == 200, r.text
    assert r.json()["unchanged"] == 9
    r = upload(client, "meters", xlsx, filename="upload.bin")
    assert r.status_code == 422
    assert r.json()["detail"]["message"] == "format: unknown format 'bin'; expected csv or xlsx"


def test_export_csv_download(client: TestClient, database: Database) -> None:
    r = client.get("/api/v1/archives/transformer-areas/export")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == 'attachment; filename="transformer-areas.csv"'
    with database.sessions() as session:
        assert r.content == export_archive(session, "transformer-areas", "csv", SYSTEM)


def test_export_xlsx_download(client: TestClient) -> None:
    r = client.get("/api/v1/archives/metering-points/export", params={"format": "xlsx"})
    assert r.status_code == 200
    assert r.headers["content-type"] == XLSX
    assert r.headers["content-disposition"] == 'attachment; filename="metering-points.xlsx"'
    rows = list(load_workbook(io.BytesIO(r.content))["metering-points"].iter_rows(values_only=True))
    assert len(rows) == 1 + 8


def test_unknown_kind_or_format_is_422(client: TestClient) -> None:
    assert client.get("/api/v1/archives/bills/export").status_code == 422
    assert client.get("/api/v1/archives/meters/export", params={"format": "ods"}).status_code == 422
    assert upload(client, "bills", b"x").status_code == 422


def test_scope_of_the_caller(app: FastAPI, client: TestClient, database: Database) -> None:
    with database.sessions() as session:
        clerk = principal_of(session, STATION_B)
    login_as(app, clerk)
    text = client.get("/api/v1/archives/customers/export").content.decode("utf-8-sig")
    assert [line.split(",")[0] for line in text.splitlines()[1:]] == ["0000000004", "0000000006"]
    r = upload(client, "customers", f"{HEADER}\n0000000100,赵敏,S010101,residential,220V,6,RES\n".encode())
    assert r.status_code == 422
    assert r.json()["detail"]["errors"] == [
        {"line": 2, "column": "org_code", "reason": "organisation S010101 is outside your scope"}
    ]


def test_text_of_the_export_leaves_personal_data_to_those_allowed(app: FastAPI, client: TestClient) -> None:
    full = client.get("/api/v1/archives/customers/export").content.decode("utf-8-sig").splitlines()[0]
    assert full.endswith(",id_number,phone,address")
    login_as(app, Principal("analyst", permissions=frozenset({"read_data"})))
    header = client.get("/api/v1/archives/customers/export").content.decode("utf-8-sig").splitlines()[0]
    assert header == (
        "customer_no,name,org_code,customer_class,voltage_level,contracted_capacity_kva,tariff_code,"
        "billing_group,status,opened_on"
    )


def test_routes_declare_their_permissions() -> None:
    needs = {route.path: route_requirement(route) for route in router.routes}
    assert needs == {"/archives/{kind}/import": {"edit_archives"}, "/archives/{kind}/export": {"read_data"}}
