"""Sold vs purchased on the demo utility: feeder head meters (线路关口表) in the archive, simulated by the
fleet as the sum of their feeder's 台区 supply meters and 专变 customers plus a 10 kV line loss, read into
the lake and reported per feeder and organisation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from gridcare.archives.asset_models import FeederMeter
from gridcare.archives.demo import generate_demo
from gridcare.archives.models import Feeder, Meter, MeteringPoint, TransformerArea
from gridcare.cli.simulate import archive_fleet
from gridcare.config import Settings, load_settings
from gridcare.mdm import tasks
from gridcare.security.principal import SYSTEM
from gridcare.simulator.bank import MeterBank
from gridcare.simulator.fleet import freeze_rows
from gridcare.simulator.specs import TerminalSpec
from gridcare.storage.database import Database, open_database
from gridcare.storage.lake import ReadingsLake, readings_table
from gridcare.timeutil import BEIJING

SEED = 1
MONTH_START, MONTH_END = date(2024, 7, 1), date(2024, 8, 1)


@dataclass
class World:
    settings: Settings
    database: Database
    fleet: list[TerminalSpec]
    bank: MeterBank


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The demo (2,000 customers, seed 1), its fleet simulated through July 2024 into the lake."""
    settings = load_settings(environ={}, data_dir=tmp_path_factory.mktemp("sold_purchased"))
    database = open_database(settings)
    generate_demo(database.sessions, 2000, SEED)
    fleet = archive_fleet(database, SEED)
    bank = MeterBank.from_fleet(fleet, datetime(2024, 6, 30, tzinfo=BEIJING), seed=SEED, curve_days=0)
    bank.advance_to(datetime(2024, 8, 1, 0, 30, tzinfo=BEIJING))
    rows: list[dict[str, Any]] = []
    day = MONTH_START
    while day <= MONTH_END:
        rows.extend(freeze_rows(bank, day, supply=True))
        day += timedelta(days=1)
    lake = ReadingsLake(settings.lake_dir)
    lake.append(readings_table(rows))
    lake.flush()
    yield World(settings, database, fleet, bank)
    database.dispose()


def test_every_feeder_has_one_ct_pt_head_meter_outside_the_metering_points(world: World) -> None:
    with world.database.sessions() as session:
        feeders = set(session.scalars(select(Feeder.id)))
        heads = session.execute(
            select(FeederMeter, Meter).join(Meter, Meter.id == FeederMeter.meter_id)
        ).all()
        pointed = set(session.scalars(select(MeteringPoint.meter_id)))
    assert feeders and sorted(h.feeder_id for h, _ in heads) == sorted(feeders)
    for head, meter in heads:
        assert head.valid_to is None and head.valid_from == meter.install_date
        assert meter.pt_ratio == "10000/100" and meter.ct_ratio.endswith("/5")
        assert meter.multiplier == int(meter.ct_ratio.split("/")[0]) // 5 * 100
        assert meter.status.value == "installed" and meter.meter_type.value == "three_phase_ct"
        assert meter.id not in pointed
    simulated = {m.address for t in world.fleet for m in t.meters if m.feeder_head}
    assert simulated == {meter.address for _, meter in heads}


def _advance_kwh(bank: MeterBank, i: int) -> float:
    """Primary energy of meter ``i`` over the month, from its daily freezes [kWh]."""
    a, b = bank.frozen_record(i, MONTH_START), bank.frozen_record(i, MONTH_END)
    assert a is not None and b is not None
    return float(b.registers.forward_total - a.registers.forward_total) * float(bank.multiplier[i])


def test_head_meter_measures_its_supply_meters_and_dedicated_customers_plus_line_loss(world: World) -> None:
    bank = world.bank
    specs = bank.specs
    supplied = {int(bank.groups[i]) for i, m in enumerate(specs) if m.is_supply}
    heads = [i for i, m in enumerate(specs) if m.feeder_head]
    assert heads
    for h in heads:
        feeder = specs[h].feeder
        members = [
            i
            for i, m in enumerate(specs)
            if m.feeder == feeder and (m.is_supply or (m.is_customer and int(bank.groups[i]) not in supplied))
        ]
        assert any(specs[i].is_supply for i in members) and any(specs[i].is_customer for i in members)
        parts = sum(_advance_kwh(bank, i) for i in members)
        loss = specs[h].loss_fraction
        assert 0.02 <= loss <= 0.05
        # registers hold hundredths: each one is off by less than 0.01 x its multiplier
        tolerance = 0.01 * (bank.multiplier[h] + (1 + loss) * sum(bank.multiplier[i] for i in members))
        assert abs(_advance_kwh(bank, h) - (1 + loss) * parts) <= tolerance


def test_report_shows_purchased_over_sold_per_feeder_and_organisation(world: World) -> None:
    with world.database.sessions() as session:
        report = tasks.line_loss_report(session, world.settings, SYSTEM, "2024-07")
    rows = report.purchased.to_pylist()
    feeders = [r for r in rows if r["level"] == "feeder"]
    orgs = {r["unit"]: r for r in rows if r["level"] == "org"}
    assert len(feeders) == 2
    for r in feeders:
        assert r["status"] == "ok"
        assert r["purchased_kwh"] >= r["sold_kwh"] > 0
        assert 0.02 <= r["loss_rate"] <= 0.10  # 10 kV line loss 2-5 % plus the public 台区' losses
    top = min(orgs, key=len)
    assert orgs[top]["purchased_kwh"] == pytest.approx(sum(r["purchased_kwh"] for r in feeders))
    assert orgs[top]["sold_kwh"] == pytest.approx(sum(r["sold_kwh"] for r in feeders))
    # 台区 line loss covers the public 台区 (公变, TQ...) only, every one of them qualified; the 专变 (ZB...)
    # are no 台区 line-loss objects (their customers' energy is sold energy above)
    with world.database.sessions() as session:
        kinds = {
            code: kind for code, kind in session.execute(select(TransformerArea.code, TransformerArea.kind))
        }
    assert any(code.startswith("ZB") for code in kinds)
    public = sorted(code for code, kind in kinds.items() if kind == "public")
    assert public == sorted(code for code in kinds if code.startswith("TQ"))
    assert {code for code, kind in kinds.items() if kind == "dedicated"} == {
        c for c in kinds if c.startswith("ZB")
    }
    tg = [r for r in report.loss.to_pylist() if r["level"] == "tg"]
    assert sorted(r["unit"] for r in tg) == public
    assert all(r["status"] == "qualified" for r in tg)
    assert orgs_loss_total(report) == len(public)


def orgs_loss_total(report: tasks.LineLossReport) -> int:
    """台区 covered by the line loss of the top organisation (the company)."""
    orgs = [r for r in report.loss.to_pylist() if r["level"] == "org"]
    return int(min(orgs, key=lambda r: len(r["unit"]))["tg_total"])
