"""Billing runs across meter changes recorded by the metering-asset services: a replacement (换表) with
final and initial readings inside the cycle, a CT multiplier change inside the cycle (split at the freeze
of the effective day), a missing freeze on that day (held, naming the meter and day); idempotency; the
consumption across a change is the sum of both parts (property test over the determinants).

Expected amounts computed by hand (lines rounded to the fen each, as the engine does)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from gridcare.archives import meter_assets
from gridcare.archives.models import Meter, MeterStatus, MeterType
from gridcare.billing import bills as bill_service
from gridcare.billing import meter_changes, runs
from gridcare.billing.determinants import ReadingSource
from gridcare.billing.models import Bill, BillLine
from gridcare.billing.tariff import Period
from gridcare.security.principal import SYSTEM
from gridcare.storage.db import transaction
from gridcare.storage.lake import readings_table
from gridcare.timeutil import BEIJING
from tests.billing.test_runs import _tou
from tests.billing.test_world import TOTAL, World, build_world, write_readings

D = Decimal
J1, J12, J16, A1 = date(2024, 7, 1), date(2024, 7, 12), date(2024, 7, 16), date(2024, 8, 1)
NOW = datetime(2024, 8, 2, 9, 0, tzinfo=BEIJING)
OLD, NEW, CT = "201000000001", "201000000011", "201000000003"


@pytest.fixture
def world(settings: Any, database: Any) -> World:
    """The small archive: customer 1 (residential, tiered) gets a stock meter to be replaced with;
    customer 3 (general commercial TOU) is on a 200/5 CT (x40)."""
    world = build_world(settings, database)
    with transaction(database.sessions) as session:
        session.add(
            Meter(
                id=11,
                address=NEW,
                meter_type=MeterType.SINGLE_PHASE,
                phases=1,
                rated_voltage="220V",
                rated_current="5(60)A",
                org_id=3,
                status=MeterStatus.STOCK,
            )
        )
        session.execute(
            update(Meter)
            .where(Meter.address == CT)
            .values(ct_ratio="200/5", multiplier=40, meter_type=MeterType.THREE_PHASE_CT, phases=3)
        )
    with world.session() as session:
        meter_assets.replace_meter(
            session,
            SYSTEM,
            old_address=OLD,
            new_address=NEW,
            replaced_at=datetime(2024, 7, 12, 10, 30, tzinfo=BEIJING),
            old_final_kwh="1234.56",
            new_initial_kwh="0.00",
            reason="故障换表",
            now=NOW,
        )
        meter_assets.change_multiplier(
            session,
            SYSTEM,
            CT,
            effective_from=J16,
            ct_ratio="300/5",
            pt_ratio="1/1",
            reason="增容换CT",
            now=NOW,
        )
        session.commit()
    return world


def _readings(world: World, *, ct_change_day: bool = True) -> None:
    rows: list[tuple[Any, ...]] = [
        (OLD, TOTAL, J1, "1000.00"),
        (OLD, TOTAL, J12, "1200.00"),  # the change day's freeze: not used for the total
        (NEW, TOTAL, A1, "150.00"),
        *_tou(CT, J1, ("5000", "100", "1000", "2000", "1900")),
        *_tou(CT, A1, ("5030", "103", "1010", "2012", "1907")),
        ("201000000002", TOTAL, J1, "100"),
        ("201000000002", TOTAL, A1, "200"),
        ("201000000004", TOTAL, J1, "300"),
        ("201000000004", TOTAL, A1, "330"),
    ]
    if ct_change_day:
        rows += _tou(CT, J16, ("5010", "101", "1004", "2003", "1902"))
    write_readings(world.lake, rows)


def _run(world: World) -> runs.RunReport:
    with world.session() as session:
        report = runs.run_billing(session, SYSTEM, world.lake, "2024-07", "B01")
        session.commit()
    return report


def _bill(world: World, customer: int) -> tuple[Bill, list[tuple[str, Decimal | None, int]], dict[str, Any]]:
    with world.session() as session:
        bill = session.scalars(select(Bill).where(Bill.customer_id == customer)).one()
        lines = session.scalars(select(BillLine).where(BillLine.bill_id == bill.id).order_by(BillLine.seq))
        shown = bill_service.bill_json(session, bill)
        return bill, [(r.item, r.kwh, r.amount_fen) for r in lines], shown


def test_replacement_inside_the_cycle_bills_both_meters(world: World) -> None:
    _readings(world)
    report = _run(world)
    assert report.created == 4
    bill, lines, shown = _bill(world, 1)
    # (1234.56 - 1000.00) x 1 + (150.00 - 0.00) x 1 = 384.56 kWh
    # energy 384.56 x 0.5283 = 203.163048 -> 20316 fen; tier 2: (384.56 - 230) x 0.05 = 7.728 -> 773 fen
    assert bill.energy_kwh == D("384.56")
    assert [(kwh, fen) for _, kwh, fen in lines] == [(D("384.56"), 20316), (D("154.56"), 773)]
    assert bill.total_fen == 21089
    assert bill.status == "review" and bill.anomalies == "meter_change"
    readings = shown["readings"]
    roles = [(r["role"], r["meter"], r["value"], r["multiplier"]) for r in readings]
    assert roles == [
        ("start", OLD, D("1000.0000"), 1),
        ("final", OLD, D("1234.5600"), 1),
        ("initial", NEW, D("0.0000"), 1),
        ("end", NEW, D("150.0000"), 1),
    ]
    final = readings[1]
    assert final["source"] == "replacement" and final["frame_ref"].startswith("meter_replacements:")
    assert final["freeze_time"] == "2024-07-12T10:30:00+08:00"
    assert all(line["readings"] == [0, 1, 2, 3] for line in shown["lines"])
    det = shown["determinants"]
    (change,) = det["meter_changes"]
    assert change["kind"] == "replacement"
    assert (change["old_meter"], change["new_meter"]) == (OLD, NEW)
    assert (change["old_multiplier"], change["new_multiplier"]) == (1, 1)
    assert [(r["meter"], r["multiplier"], r["kwh"]) for r in det["meter_runs"]] == [
        (OLD, 1, D("234.56")),
        (NEW, 1, D("150")),
    ]
    # the others are untouched: vectorised drafts
    _, _, other = _bill(world, 2)
    assert other["status"] == "draft" and "meter_changes" not in other["determinants"]


def test_multiplier_change_inside_the_cycle_splits_at_the_freeze(world: World) -> None:
    _readings(world)
    _run(world)
    bill, lines, shown = _bill(world, 3)
    # 1-16 July x40: total 10 = sharp 1, peak 4, valley 2, flat 3 -> 400 = 40 + 160 + 80 + 120
    # 16 July-1 Aug x60: total 20 = sharp 2, peak 6, valley 5, flat 7 -> 1200 = 120 + 360 + 300 + 420
    # sharp 160 x 1.0719 = 171.504 -> 17150; peak 520 x 0.8932 = 464.464 -> 46446
    # flat 540 x 0.5359 = 289.386 -> 28939; valley 380 x 0.2786 = 105.868 -> 10587
    # water fund 1600 x 0.0196 = 31.36 -> 3136
    assert bill.energy_kwh == D("1600")
    assert [(kwh, fen) for _, kwh, fen in lines] == [
        (D("160"), 17150),
        (D("520"), 46446),
        (D("540"), 28939),
        (D("380"), 10587),
        (D("1600"), 3136),
    ]
    assert bill.total_fen == 17150 + 46446 + 28939 + 10587 + 3136
    assert bill.status == "review" and bill.anomalies == "meter_change"
    det = shown["determinants"]
    assert det["meter_changes"] == [
        {
            "kind": "multiplier",
            "meter": CT,
            "effective_from": "2024-07-16",
            "old_multiplier": 40,
            "new_multiplier": 60,
        }
    ]
    assert [(r["multiplier"], r["kwh"]) for r in det["meter_runs"]] == [(40, D("400")), (60, D("1200"))]
    split = [
        (r["role"], r["multiplier"]) for r in shown["readings"] if r["freeze_time"].startswith("2024-07-16")
    ]
    assert split == [("end", 40)] * 5 + [("start", 60)] * 5


def test_missing_freeze_on_the_change_day_holds_the_bill(world: World) -> None:
    _readings(world, ct_change_day=False)
    report = _run(world)
    bill, lines, shown = _bill(world, 3)
    assert bill.status == "review" and lines == [] and bill.total_fen == 0
    assert "missing" in bill.anomalies.split(",") and "meter_change" in bill.anomalies.split(",")
    errors = shown["determinants"]["errors"]
    assert any(CT in e and "2024-07-16" in e and "40 -> 60" in e for e in errors), errors
    assert report.held == 1


def test_a_second_run_creates_nothing(world: World) -> None:
    _readings(world)
    first = _run(world)
    second = _run(world)
    assert (first.created, second.created, second.already_billed) == (4, 0, 4)
    with world.session() as session:
        assert len(session.scalars(select(Bill)).all()) == 4


def test_a_cycle_before_the_change_uses_the_old_multiplier(world: World) -> None:
    """June, billed after the change to x60 was recorded, is still x40 (the multiplier then in force)."""
    june = date(2024, 6, 1)
    write_readings(
        world.lake,
        [
            *_tou(CT, june, ("4990", "99", "996", "1997", "1898")),
            *_tou(CT, J1, ("5000", "100", "1000", "2000", "1900")),
        ],
    )
    with world.session() as session:
        runs.run_billing(session, SYSTEM, world.lake, "2024-06", "B01", customer_ids=[3])
        session.commit()
    bill, _, shown = _bill(world, 3)
    assert bill.energy_kwh == D("400") and bill.anomalies == ""
    assert shown["determinants"]["meter_changes"] == []


# --- the determinants alone: consumption across a change is the sum of both parts ---------------------

TS = datetime(2024, 7, 12, 10, 30, tzinfo=BEIJING)
registers = st.decimals(min_value=0, max_value=99999, places=2)
multipliers = st.sampled_from([1, 2, 30, 40, 60, 200, 6000])


def _freeze(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=BEIJING)


def _changed(rows: list[dict[str, Any]]) -> meter_changes.CycleChanges:
    base = {
        "start_alt_ts": None,
        "end_alt_ts": None,
        "start_given": None,
        "end_given": None,
        "start_ref": None,
        "end_ref": None,
        "tou": False,
        "reactive": False,
        "demand": False,
    }
    table = pa.Table.from_pylist([base | r for r in rows], schema=meter_changes.CHANGE_RUNS_SCHEMA)
    return meter_changes.CycleChanges(np.asarray([0]), table, {0: [{"kind": "test"}]}, {})


def _lake(rows: list[tuple[str, datetime, Decimal]]) -> ReadingSource:
    table = readings_table(
        [
            {"meter": m, "di": TOTAL, "freeze_time": t, "value": v, "version": 1, "source": "actual"}
            for m, t, v in rows
        ]
    )
    return ReadingSource([], table)


@settings(max_examples=40, deadline=None)
@given(
    start=registers,
    used_old=registers,
    initial=registers,
    used_new=registers,
    m_old=multipliers,
    m_new=multipliers,
    day=st.integers(min_value=2, max_value=31),
)
def test_replacement_energy_is_the_sum_of_both_parts(
    start: Decimal, used_old: Decimal, initial: Decimal, used_new: Decimal, m_old: int, m_new: int, day: int
) -> None:
    final, end = start + used_old, initial + used_new
    at = TS.replace(day=day)
    old = {
        "account": 0,
        "run": 0,
        "meter": OLD,
        "multiplier": m_old,
        "start_ts": _freeze(J1),
        "end_ts": at,
        "end_given": final,
        "end_alt_ts": _freeze(at.date()),
        "end_ref": "meter_replacements:1",
    }
    new = {
        "account": 0,
        "run": 1,
        "meter": NEW,
        "multiplier": m_new,
        "start_ts": at,
        "end_ts": _freeze(A1),
        "start_given": initial,
        "start_alt_ts": _freeze(at.date() + timedelta(days=1)),
        "start_ref": "meter_replacements:1",
    }
    det = meter_changes.determinants(
        1, _changed([old, new]), _lake([(OLD, _freeze(J1), start), (NEW, _freeze(A1), end)])
    )
    expected = (final - start) * m_old + (end - initial) * m_new
    assert not det.missing[0] and not det.negative[0]
    assert int(det.total_e4()[0]) == int(expected * 10_000)
    assert int(det.buckets_e4[Period.FLAT][0]) == int(expected * 10_000)
    roles = [entry[0] for entry in json.loads(det.trace[0])]
    assert roles == ["start", "final", "initial", "end"]


@settings(max_examples=40, deadline=None)
@given(
    start=registers,
    before=registers,
    after=registers,
    m_old=multipliers,
    m_new=multipliers,
    day=st.integers(min_value=2, max_value=31),
)
def test_multiplier_split_is_the_sum_of_both_parts(
    start: Decimal, before: Decimal, after: Decimal, m_old: int, m_new: int, day: int
) -> None:
    split = date(2024, 7, day)
    middle, end = start + before, start + before + after
    first = {
        "account": 0,
        "run": 0,
        "meter": CT,
        "multiplier": m_old,
        "start_ts": _freeze(J1),
        "end_ts": _freeze(split),
    }
    second = {
        "account": 0,
        "run": 1,
        "meter": CT,
        "multiplier": m_new,
        "start_ts": _freeze(split),
        "end_ts": _freeze(A1),
    }
    lake = _lake([(CT, _freeze(J1), start), (CT, _freeze(split), middle), (CT, _freeze(A1), end)])
    det = meter_changes.determinants(1, _changed([first, second]), lake)
    expected = before * m_old + after * m_new
    assert int(det.total_e4()[0]) == int(expected * 10_000)
