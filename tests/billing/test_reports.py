"""Settlement report: groups by organisation and class, components, paid, penalties, waivers, credit
notes, arrears; totals reconcile with the ledger; Excel export; API and CLI."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

from openpyxl import load_workbook

from gridcare.billing import bills as bill_service
from gridcare.billing import ledger, reports
from gridcare.security.principal import SYSTEM
from tests.billing.test_ledger import at, pay
from tests.billing.test_ledger import world as world
from tests.billing.test_world import World

D = Decimal


def _august_activity(world: World) -> None:
    pay(world, "0000000001", "100.00", date(2024, 8, 10), "r-1")
    # customer 3 pays 300 ten days late (2‰): principal 294.12 + penalty 5.88 = 300.00
    pay(world, "0000000003", "300.00", date(2024, 8, 25), "r-2")
    with world.session() as session:
        ledger.waive(session, SYSTEM, 2, "首次逾期减免 first late payment", now=at(date(2024, 8, 16)))
        session.commit()
    pay(world, "0000000002", "116.23", date(2024, 8, 20), "r-3")  # 1.00 minimum penalty, waived
    with world.session() as session:
        bill_service.rebill(session, SYSTEM, world.lake, 5, "容量核对", now=at(date(2024, 8, 26)))
        session.commit()


def test_settlement_by_organisation_and_class_reconciles_with_the_ledger(world: World) -> None:
    _august_activity(world)
    with world.session() as session:
        report = reports.settlement(session, SYSTEM, "2024-07", "2024-07", ["organisation", "customer_class"])
        ledgers = [ledger.totals(session, cid) for cid in range(1, 6)]
    out = report.to_json()
    got = {
        (r["organisation"]["code"], r["customer_class"]): (
            r["bills"], r["energy_kwh"], r["billed_yuan"], r["credit_notes_yuan"], r["penalties_yuan"],
            r["waived_yuan"], r["paid_yuan"], r["arrears_yuan"], r["balanced"],
        )
        for r in out["rows"]
    }  # fmt: skip
    assert got == {
        ("S010101", "general_commercial"): (1, D("1000"), D("651.97"), D("0.00"), D("5.88"), D("0.00"),
                                            D("300.00"), D("357.85"), True),
        ("S010101", "large_industrial"): (1, D("0"), D("0.00"), D("-9165.46"), D("0.00"), D("0.00"),
                                          D("0.00"), D("0.00"), True),
        ("S010101", "residential"): (2, D("680"), D("385.75"), D("0.00"), D("1.00"), D("1.00"),
                                     D("216.23"), D("169.52"), True),
        ("S010102", "residential"): (1, D("30"), D("15.85"), D("0.00"), D("0.00"), D("0.00"),
                                     D("0.00"), D("15.85"), True),
    }  # fmt: skip
    total = out["total"]
    assert total["components"] == {
        "energy": D("1007.47"),
        "tier": D("26.50"),
        "sub": D("0.00"),
        "basic": D("0.00"),
        "pf": D("0.00"),
        "surcharge": D("19.60"),
    }
    assert (total["billed_yuan"], total["paid_yuan"], total["arrears_yuan"]) == (
        D("1053.57"),
        D("516.23"),
        D("543.22"),
    )
    assert sum(total["components"].values()) == total["billed_yuan"]
    # the report's totals are the ledgers' totals
    fen = D("0.01")
    assert total["billed_yuan"] - total["credit_notes_yuan"] == sum(t.bills for t in ledgers) * fen
    assert total["penalties_yuan"] == sum(t.penalties for t in ledgers) * fen
    assert total["waived_yuan"] - total["credit_notes_yuan"] == sum(t.credits for t in ledgers) * fen
    assert total["paid_yuan"] == sum(t.allocated for t in ledgers) * fen
    assert total["arrears_yuan"] == sum(t.balance for t in ledgers) * fen


def test_scope_and_excel(world: World) -> None:
    with world.session() as session:
        mine = reports.settlement(session, world.manager_b, "2024-07", "2024-08", ["tariff", "period"])
        assert [(r.key, r.billed) for r in mine.rows] == [
            (("RES-TIER-2024", "2024-07"), 1585)
        ]  # station B only
        full = reports.settlement(session, SYSTEM, "2024-07", "2024-07", ["customer_class"])
    book = load_workbook(io.BytesIO(reports.to_xlsx(full)))
    sheet = book.active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][:3] == ("用电类别 class", "户数 bills", "电量 kWh")
    assert rows[2][0] == "一般工商业 general_commercial"
    assert rows[-1][0] == "合计 total"
    billed_col = rows[1].index("应收 billed")
    assert D(str(rows[-1][billed_col])) == D("10219.03")


def test_pdf_carries_the_same_table(world: World) -> None:
    from pypdf import PdfReader

    with world.session() as session:
        full = reports.settlement(session, SYSTEM, "2024-07", "2024-07", ["customer_class"])
    pdf = reports.to_pdf(full)
    assert pdf.startswith(b"%PDF-")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "结算报表" in text
    assert "10,219.03" in text  # the billed total, as in the workbook
    assert "合计" in text


def test_bad_parameters(world: World) -> None:
    from gridcare.billing.errors import BillingInputError

    with world.session() as session:
        for args, field in (
            (("2024-08", "2024-07", ["period"]), "period_to"),
            (("2024-07", "2024-07", ["station"]), "by"),
            (("24-07", "2024-07", ["period"]), "period_from"),
        ):
            try:
                reports.settlement(session, SYSTEM, *args)
            except BillingInputError as exc:
                assert exc.errors[0].field == field
            else:
                raise AssertionError(f"{args} accepted")


def test_api_and_cli(world: World, tmp_path) -> None:
    import json

    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from gridcare.api.app import create_app
    from gridcare.cli import app as cli_app
    from tests.security.helpers import bearer, token_for

    analyst = bearer(token_for(world.database, world.settings, world.accounts["ana-a"]))
    with TestClient(create_app(world.settings, world.database)) as client:
        url = "/api/v1/billing/reports/settlement"
        got = client.get(
            url, params={"period_from": "2024-07", "period_to": "2024-07", "by": "tariff"}, headers=analyst
        )
        assert got.status_code == 200
        assert [r["tariff"] for r in got.json()["rows"]] == [
            "GC-TOU-2024",
            "LI-TWOPART-2024",
            "RES-TIER-2024",
        ]
        assert '"arrears_yuan": 10203.18' in got.text  # station A, nothing paid yet
        bad = client.get(
            url, params={"period_from": "2024-07", "period_to": "2024-07", "by": "x"}, headers=analyst
        )
        assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "by"
        xlsx = client.get(
            url, params={"period_from": "2024-07", "period_to": "2024-07", "format": "xlsx"}, headers=analyst
        )
        assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    out = tmp_path / "s.xlsx"
    result = CliRunner().invoke(
        cli_app,
        ["settlement", "--from", "2024-07", "--to", "2024-07", "--by", "organisation", "--xlsx", str(out),
         "--data-dir", str(world.settings.data_dir)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout, parse_float=Decimal)
    assert body["total"]["billed_yuan"] == D("10219.03") and out.stat().st_size > 0
