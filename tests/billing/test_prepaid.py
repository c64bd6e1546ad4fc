"""Prepaid cost control: daily balance from daily freezes x price, warning, trip after N days below zero
through maker-checker remote control, automatic reconnect after payment, history."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from gridcare.acquisition import service
from gridcare.acquisition.models import DeviceJob, JobKind
from gridcare.billing import prepaid
from gridcare.security.authz import PermissionDenied
from gridcare.security.models import ApprovalRequest, ApprovalStatus, AuditRecord
from gridcare.security.principal import SYSTEM
from tests.billing.test_ledger import at, pay
from tests.billing.test_ledger import world as world
from tests.billing.test_world import TOTAL, World, write_readings

D = Decimal
METER = "201000000001"


def _daily(world: World, day: date) -> prepaid.DailyReport:
    with world.session() as session:
        report = prepaid.run_daily(session, SYSTEM, world.lake, day, now=at(day, 6))
        session.commit()
        return report


def _overdrawn(world: World) -> None:
    """Customer 1 under cost control from 1 August (warning 50 yuan, trip after 2 days): 300 paid, the July
    bill (269.52) takes 269.52, 30.48 stay on account; August usage by daily freezes."""
    with world.session() as session:
        prepaid.configure(
            session, world.manager_a, "0000000001", warn_yuan=D(50), trip_after_days=2, since=date(2024, 8, 1)
        )
        session.commit()
    pay(world, "0000000001", "300.00", date(2024, 8, 1), "p-1")
    write_readings(
        world.lake,
        [
            (METER, TOTAL, date(2024, 8, 2), "8593.4"),  # 10 kWh since 1 August -> 5.28
            (METER, TOTAL, date(2024, 8, 3), "8623.4"),  # 40 kWh -> 21.13
            (METER, TOTAL, date(2024, 8, 4), "8663.4"),  # 80 kWh -> 42.26
            (METER, TOTAL, date(2024, 8, 5), "8700.0"),  # 116.6 kWh -> 61.60
        ],
    )
    for day in range(2, 6):
        _daily(world, date(2024, 8, day))


def test_daily_balance_warning_and_trip_for_approval(world: World) -> None:
    _overdrawn(world)
    with world.session() as session:
        shown = prepaid.history(session, SYSTEM, "0000000001")
    daily = [h for h in reversed(shown["history"]) if h["kind"] == "daily"]
    fields = ("unbilled_kwh", "balance_yuan", "level", "days_below_zero", "action")
    assert [(h["day"].day, *(h[f] for f in fields)) for h in daily] == [
        (2, D("10"), D("25.20"), "warning", 0, "warn"),
        (3, D("40"), D("9.35"), "warning", 0, "none"),
        (4, D("80"), D("-11.78"), "overdrawn", 1, "none"),
        (5, D("116.6"), D("-31.12"), "overdrawn", 2, "trip_requested"),
    ]
    assert shown["state"] == "trip_requested"
    with world.session() as session:
        req = session.get(ApprovalRequest, shown["trip_approval_id"])
        assert req is not None
        assert (req.kind, req.status, req.requested_by, req.object) == (
            "remote_control",
            ApprovalStatus.PENDING,
            "system:cost-control",
            "meter 201000000001",
        )
        assert "-31.12 yuan below zero for 2 days" in req.reason
    again = _daily(world, date(2024, 8, 5))
    assert (again.already_done, again.trips_requested) == (1, [])


def test_payment_reconnects_a_tripped_meter_automatically(world: World) -> None:
    _overdrawn(world)
    with world.session() as session:
        trip_id = prepaid.history(session, SYSTEM, "0000000001")["trip_approval_id"]
        with pytest.raises(PermissionDenied):  # the maker-checker rule holds for the system maker too
            service.approve_remote_control(session, prepaid.MAKER, trip_id)
        session.rollback()
        service.approve_remote_control(session, world.manager_a, trip_id)  # a person approves: tripped
    with world.session() as session:
        from gridcare.billing import ledger

        ledger.post_payment(
            session,
            SYSTEM,
            "0000000001",
            "mobile",
            "p-2",
            D("100.00"),
            date(2024, 8, 6),
            now=at(date(2024, 8, 6)),
        )
        session.commit()
        assert prepaid.history(session, SYSTEM, "0000000001")["state"] == "reconnect_due"
        assert prepaid.run_reconnects(session) == ["0000000001"]
        session.commit()
        jobs = session.execute(select(DeviceJob.kind, DeviceJob.meter_address).order_by(DeviceJob.id)).all()
        assert [tuple(j) for j in jobs] == [(JobKind.REMOTE_TRIP, METER), (JobKind.REMOTE_CLOSE, METER)]
        shown = prepaid.history(session, SYSTEM, "0000000001")
        assert shown["state"] == "normal" and shown["close_approval_id"] is not None
        latest = shown["history"][0]
        assert (latest["kind"], latest["balance_yuan"], latest["action"]) == (
            "payment",
            D("68.88"),
            "reconnect_due",
        )
        close = session.get(ApprovalRequest, shown["close_approval_id"])
        assert close is not None
        assert (close.requested_by, close.decided_by, close.status) == (
            "system:cost-control",
            "system:cost-control-reconnect",
            ApprovalStatus.EXECUTED,
        )
        assert (
            session.scalar(select(AuditRecord.action).order_by(AuditRecord.seq.desc())) == "prepaid.reconnect"
        )


def test_payment_before_approval_cancels_the_trip(world: World) -> None:
    _overdrawn(world)
    pay(world, "0000000001", "100.00", date(2024, 8, 6), "p-3")
    with world.session() as session:
        assert prepaid.run_reconnects(session) == ["0000000001"]
        session.commit()
        shown = prepaid.history(session, SYSTEM, "0000000001")
        trip = session.get(ApprovalRequest, shown["trip_approval_id"])
        assert trip is not None and trip.status == ApprovalStatus.CANCELLED
        assert session.scalar(select(DeviceJob.id)) is None  # nothing was sent to the meter


def test_missing_reading_decides_nothing(world: World) -> None:
    with world.session() as session:
        prepaid.configure(session, SYSTEM, "0000000001", trip_after_days=1, since=date(2024, 8, 1))
        session.commit()
    report = _daily(world, date(2024, 8, 9))  # no freeze on 9 August
    assert report.levels == {"unknown": 1} and report.trips_requested == []
    with world.session() as session:
        with pytest.raises(PermissionDenied):
            prepaid.run_daily(session, world.analyst_a, world.lake, date(2024, 8, 9))
        event = prepaid.history(session, SYSTEM, "0000000001")["history"][0]
    assert event["level"] == "unknown" and event["note"] == "missing"


def test_api_and_cli(world: World) -> None:
    import json

    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from gridcare.api.app import create_app
    from gridcare.cli import app as cli_app
    from tests.security.helpers import bearer, token_for

    manager = bearer(token_for(world.database, world.settings, world.accounts["mgr-a"]))
    with TestClient(create_app(world.settings, world.database)) as client:
        url = "/api/v1/billing/customers/0000000001/prepaid"
        bad = client.put(url, json={"warn_yuan": 1.001}, headers=manager)
        assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "warn_yuan"
        ok = client.put(
            url, json={"warn_yuan": 50, "trip_after_days": 2, "since": "2024-08-01"}, headers=manager
        )
        assert ok.status_code == 200 and '"warn_yuan": 50.00' in ok.text
        assert client.get("/api/v1/billing/customers/0000000004/prepaid", headers=manager).status_code == 404
    write_readings(world.lake, [(METER, TOTAL, date(2024, 8, 2), "8593.4")])
    runner = CliRunner()
    data = ["--data-dir", str(world.settings.data_dir)]
    out = runner.invoke(cli_app, ["prepaid", "daily", "--day", "2024-08-02", *data])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["levels"] == {"overdrawn": 1}  # 269.52 owed, nothing paid, 5.28 unbilled
    shown = json.loads(runner.invoke(cli_app, ["prepaid", "show", "0000000001", *data]).stdout, parse_float=D)
    assert shown["history"][0]["balance_yuan"] == D("-274.80")
