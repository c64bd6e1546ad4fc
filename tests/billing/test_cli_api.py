"""`gridcare bill` (CliRunner on the command group) and `POST /bills/quote` (a bare FastAPI app)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from gridcare.api.deps import get_principal
from gridcare.api.routes.bills import router
from gridcare.billing import loads
from gridcare.cli.bill import app
from gridcare.security.principal import SYSTEM
from tests.billing.builders import EXAMPLES

runner = CliRunner()
INDUSTRIAL = EXAMPLES / "industrial-two-part.json"
PENALTY = {
    "customer_class": "non_residential",
    "arrears": [{"amount_yuan": 2000, "due_date": "2012-12-15"}],
    "paid_on": "2013-01-18",
}
BAD_QUOTE = {
    "tariff": {"customer_class": "residential", "energy": {"kind": "flat", "price_yuan_per_kwh": 0.5}},
    "cycle": {"start": "2024-07-01", "end": "2024-07-31"},
    "usage": {"meters": [{"registers": {"total": {"start": 15.0, "end": 12.0}}}]},
}
BAD_FIELD = "usage.meters[0].registers.total.end"
BAD_REASON = "is lower than start (12.0 < 15.0); register roll-over is not supported"


def bare_app() -> FastAPI:
    api = FastAPI()
    api.include_router(router, prefix="/api/v1")
    return api


@pytest.fixture
def client() -> TestClient:
    api = bare_app()
    api.dependency_overrides[get_principal] = lambda: SYSTEM
    return TestClient(api)


# --- CLI ---------------------------------------------------------------------------------------


def test_quote_from_file_prints_exact_digits() -> None:
    result = runner.invoke(app, ["quote", "--json", str(INDUSTRIAL)])
    assert result.exit_code == 0, result.output
    assert '"total_yuan": 100429.56' in result.stdout
    assert '"amount_yuan": 25000.00' in result.stdout
    body = json.loads(result.stdout, parse_float=Decimal)
    assert body["power_factor"] == Decimal("0.81")
    assert body["pf_adjustment_pct"] == Decimal("4.5")
    assert set(body) == {"total_yuan", "lines", "power_factor", "pf_adjustment_pct"}
    assert all(set(line) == {"item", "kwh", "price", "amount_yuan"} for line in body["lines"])


def test_quote_from_stdin() -> None:
    text = (EXAMPLES / "residential-monthly-tiers.json").read_text(encoding="utf-8")
    result = runner.invoke(app, ["quote", "--json", "-"], input=text)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout, parse_float=Decimal)["total_yuan"] == Decimal("269.52")


def test_quote_bad_input_exits_2_naming_the_field() -> None:
    result = runner.invoke(app, ["quote", "--json", "-"], input=json.dumps(BAD_QUOTE))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"错误 error: {BAD_FIELD}: {BAD_REASON}\n"


def test_quote_reports_every_problem_and_invalid_json() -> None:
    data = {**BAD_QUOTE, "usage": {"energy_kwh": {"total": "12"}}, "extra": 1}
    result = runner.invoke(app, ["quote", "--json", "-"], input=json.dumps(data))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "错误 error: usage.energy_kwh.total: must be a JSON number, not a string",
        "错误 error: extra: unknown field (not part of the schema)",
    ]
    result = runner.invoke(app, ["quote", "--json", "-"], input='{"tariff": ')
    assert result.exit_code == 2
    assert result.stderr.startswith("错误 error: (body): invalid JSON: Expecting value at line 1")


def test_quote_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["quote", "--json", str(tmp_path / "none.json")])
    assert result.exit_code == 2
    assert "--json: cannot read" in result.stderr


def test_pf_adjust_repeated_in_order() -> None:
    result = runner.invoke(
        app, ["pf-adjust", "--standard", "0.90", "--pf", "0.83", "--pf", "0.96", "--pf", "0.9"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        '{"power_factor": 0.83, "adjustment_pct": 3.5}',
        '{"power_factor": 0.96, "adjustment_pct": -0.75}',
        '{"power_factor": 0.90, "adjustment_pct": 0}',
    ]


def test_pf_adjust_from_energies() -> None:
    args = ["pf-adjust", "--standard", "0.85", "--active-kwh", "111000", "--reactive-kvarh", "80000"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert result.stdout == '{"power_factor": 0.81, "adjustment_pct": 2}\n'


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--standard", "0.95", "--pf", "0.8"], "--standard: 0.95 must be 0.90, 0.85 or 0.80"),
        (["--standard", "0.9", "--pf", "abc"], "--pf: 'abc' is not a number"),
        (["--standard", "0.9", "--pf", "1.2"], "--pf: 1.2 must be between 0 and 1"),
        (["--standard", "0.9"], "--pf: give --pf (repeatable) or --active-kwh with --reactive-kvarh"),
        (["--standard", "0.9", "--active-kwh", "10"], "--reactive-kvarh: required together with the other"),
        (["--standard", "0.9", "--pf", "0.8", "--active-kwh", "1", "--reactive-kvarh", "1"], "not both"),
        (["--standard", "0.9", "--active-kwh", "0", "--reactive-kvarh", "0"], "there is no power factor"),
    ],
)
def test_pf_adjust_errors(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["pf-adjust", *args])
    assert result.exit_code == 2
    assert message in result.stderr


def test_penalty_command() -> None:
    result = runner.invoke(app, ["penalty", "--json", "-"], input=json.dumps(PENALTY))
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout, parse_float=Decimal)
    assert body["total_yuan"] == Decimal("172.00")
    assert '"total_yuan": 172.00' in result.stdout
    assert [(s["days"], s["rate_per_day"], s["penalty_yuan"]) for s in body["lines"][0]["segments"]] == [
        (16, Decimal("0.002"), Decimal("64.00")),
        (18, Decimal("0.003"), Decimal("108.00")),
    ]


def test_penalty_bad_input() -> None:
    result = runner.invoke(
        app, ["penalty", "--json", "-"], input=json.dumps({**PENALTY, "paid_on": "18/01/2013"})
    )
    assert result.exit_code == 2
    assert result.stderr == "错误 error: paid_on: must be a date written YYYY-MM-DD, got '18/01/2013'\n"


# --- API ---------------------------------------------------------------------------------------


def test_api_quote_equals_the_cli(client: TestClient) -> None:
    response = client.post("/api/v1/bills/quote", content=INDUSTRIAL.read_bytes())
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    cli = runner.invoke(app, ["quote", "--json", str(INDUSTRIAL)])
    assert loads(response.content) == loads(cli.stdout)
    assert b'"total_yuan": 100429.56' in response.content


def test_api_needs_a_login() -> None:
    response = TestClient(bare_app()).post("/api/v1/bills/quote", content=INDUSTRIAL.read_bytes())
    assert response.status_code == 401


def test_api_bad_input_is_422_naming_the_field(client: TestClient) -> None:
    response = client.post("/api/v1/bills/quote", json=BAD_QUOTE)
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "loc": ["body", "usage", "meters", 0, "registers", "total", "end"],
                "field": BAD_FIELD,
                "msg": BAD_REASON,
                "type": "value_error",
            }
        ]
    }


def test_api_engine_error_is_422(client: TestClient) -> None:
    data = json.loads((EXAMPLES / "industrial-two-part.json").read_text(encoding="utf-8"))
    data["sub_usages"][0]["kwh"] = 200000
    response = client.post("/api/v1/bills/quote", json=data)
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "sub_usages[0].kwh"


def test_api_invalid_json(client: TestClient) -> None:
    response = client.post("/api/v1/bills/quote", content=b"not json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body"]


def test_api_documents_the_request_schema(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    post = spec["paths"]["/api/v1/bills/quote"]["post"]
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["tariff", "cycle", "usage"]
    assert "$defs" not in json.dumps(schema)
    assert post["tags"] == ["billing"]
