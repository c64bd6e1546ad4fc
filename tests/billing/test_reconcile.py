"""Daily bank reconciliation file: matched, unmatched (posted on request), mismatch, duplicate, missing in
file; all-or-nothing on bad lines; the same file once."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from gridcare.billing import ledger, reconcile
from gridcare.billing.errors import BillingInputError
from gridcare.billing.models import BankStatement, Payment
from gridcare.security.principal import SYSTEM
from tests.billing.test_ledger import at, pay
from tests.billing.test_ledger import world as world
from tests.billing.test_world import World

D = Decimal
DAY = date(2024, 8, 10)
FILE = """流水号,户号,金额,缴费日期
B001,0000000001,100.00,2024-08-10
B003,0000000002,116.23,2024-08-10
B003,0000000002,116.23,2024-08-10
B005,0000000004,15.86,2024-08-10
B006,0000000099,10.00,2024-08-10
""".encode()


def _bank_payments(world: World) -> None:
    pay(world, "0000000001", "100.00", DAY, "B001", "bank")
    pay(world, "0000000003", "200.00", DAY, "B002", "bank")  # not in the file
    pay(world, "0000000004", "15.85", DAY, "B005", "bank")


def test_file_reports_matched_unmatched_mismatch_duplicate_and_missing(world: World) -> None:
    _bank_payments(world)
    with world.session() as session:
        report = reconcile.import_bank_file(
            session, SYSTEM, "ICBC", FILE, post_unmatched=True, now=at(date(2024, 8, 11))
        )
        session.commit()
    assert report.counts == {"matched": 1, "posted": 1, "unmatched": 1, "mismatch": 1, "duplicate": 1}
    assert [(i["line"], i["serial"], i["outcome"]) for i in report.items] == [
        (2, "B001", "matched"),
        (3, "B003", "posted"),
        (4, "B003", "duplicate"),
        (5, "B005", "mismatch"),
        (6, "B006", "unmatched"),
    ]
    assert report.items[3]["note"] == (
        "ledger: customer 0000000004, 15.85 yuan; bank: customer 0000000004, 15.86 yuan"
    )
    assert report.items[4]["note"] == "customer 0000000099 not found"
    assert report.missing_in_file == [
        {"payment_id": 2, "serial": "B002", "customer_no": "0000000003", "amount_yuan": D("200.00")}
    ]
    with world.session() as session:
        statement = ledger.statement(session, SYSTEM, "0000000002")
        assert statement["totals"]["allocated"] == D("116.23")  # the posted line paid the July bill
        # the same file again: the first report, nothing posted twice
        again = reconcile.import_bank_file(session, SYSTEM, "ICBC", FILE, post_unmatched=True)
        assert again.repeated_file and again.counts == report.counts
        assert again.missing_in_file == report.missing_in_file
        assert session.scalar(select(func.count()).select_from(Payment)) == 4
        # another file with an already reconciled serial
        later = reconcile.import_bank_file(
            session,
            SYSTEM,
            "ICBC",
            b"serial,customer_no,amount_yuan,paid_on\nB001,0000000001,100.00,2024-08-10\n",
        )
        assert [i["outcome"] for i in later.items] == ["duplicate"]
        assert later.items[0]["note"] == "serial reconciled by an earlier file"


def test_bad_lines_refuse_the_whole_file(world: World) -> None:
    bad = (
        "serial,customer_no,amount_yuan,paid_on\n"
        "B1,0000000001,12.345,2024-08-10\nB2,0000000001,5,2024/08/10\n"
    )
    with world.session() as session:
        with pytest.raises(BillingInputError) as info:
            reconcile.import_bank_file(session, SYSTEM, "ICBC", bad.encode(), post_unmatched=True)
        session.rollback()
        assert [str(e) for e in info.value.errors] == [
            "line 2.amount_yuan: '12.345' is not an amount > 0 in yuan",
            "line 3.paid_on: '2024/08/10' is not a date YYYY-MM-DD",
        ]
        assert session.scalar(select(func.count()).select_from(BankStatement)) == 0
        assert session.scalar(select(func.count()).select_from(Payment)) == 0
        with pytest.raises(BillingInputError, match="column paid_on"):
            reconcile.import_bank_file(session, SYSTEM, "ICBC", b"serial,customer_no,amount_yuan\n")


def test_api_upload(world: World) -> None:
    from fastapi.testclient import TestClient

    from gridcare.api.app import create_app
    from tests.security.helpers import bearer, token_for

    _bank_payments(world)
    manager = bearer(token_for(world.database, world.settings, world.accounts["mgr-a"]))
    with TestClient(create_app(world.settings, world.database)) as client:
        url = "/api/v1/billing/reconciliation?bank=ICBC&statement_date=2024-08-10"
        first = client.post(url, files={"file": ("icbc-20240810.csv", FILE, "text/csv")}, headers=manager)
        assert first.status_code == 201, first.text
        assert first.json()["counts"] == {
            "matched": 1,
            "posted": 0,
            "unmatched": 2,
            "mismatch": 1,
            "duplicate": 1,
        }
        repeat = client.post(url, files={"file": ("icbc-20240810.csv", FILE, "text/csv")}, headers=manager)
        assert repeat.status_code == 200 and repeat.json()["repeated_file"] is True
    assert ledger.CHANNELS[1] == "bank"
