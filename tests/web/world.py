"""Operations data for the console tests, over any archive: daily frozen registers in the lake, collection
outcomes, terminal sessions and events, line-loss runs, alerts, and released bills with a payment.

Everything is deterministic and relative to today (Beijing time), because the dashboard shows "today" and
the last 30 days. Per 台区 the loss rate is fixed (``LOSS_RATES`` in turn), so the supply meter reads
sold / (1 - rate); a customer meter's daily energy depends on its customer class.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridcare.acquisition.models import (
    FailureReason,
    FeederMeterCollection,
    PointCollection,
    PointStatus,
    TerminalEvent,
    TerminalStatus,
)
from gridcare.archives.asset_models import FeederMeter
from gridcare.archives.models import (
    Customer,
    CustomerClass,
    Meter,
    MeteringPoint,
    PointPurpose,
    Terminal,
)
from gridcare.billing import ledger
from gridcare.billing.models import Bill, Debt
from gridcare.config import Settings
from gridcare.mdm import tasks
from gridcare.security import risk
from gridcare.security.models import AlertSeverity
from gridcare.security.principal import SYSTEM
from gridcare.storage.database import Database
from gridcare.storage.db import transaction
from gridcare.storage.lake import ReadingsLake, readings_table
from gridcare.timeutil import day_start, now_beijing, today_beijing
from tests.support.archive import add_supply_points

HISTORY_DAYS = 32
"""Freeze days written to the lake, up to today."""
LINE_LOSS_DAYS = 7
"""Business days with a line-loss run, ending yesterday."""
LOSS_RATES = (0.045, 0.062, 0.081, 0.028, 0.118, 0.053, 0.155, 0.037, -0.012, 0.069)
"""Loss rate of the n-th 台区 (by id), in turn."""
DAILY_KWH = {
    CustomerClass.RESIDENTIAL: (4.0, 14.0),
    CustomerClass.GENERAL_COMMERCIAL: (25.0, 90.0),
    CustomerClass.LARGE_INDUSTRIAL: (400.0, 1200.0),
    CustomerClass.AGRICULTURAL: (8.0, 40.0),
}
"""Range of a customer's daily energy [kWh, primary] by class."""
DI = "05060101"


@dataclass
class World:
    """What the builder wrote, for expected values in tests."""

    today: date
    freeze_days: list[date]
    loss_days: list[date]
    failed_today: int = 0
    points_due: int = 0
    offline_terminals: list[str] = field(default_factory=list)
    arrears_fen: dict[str, int] = field(default_factory=dict)
    """Open debts per customer number [fen]."""
    energy_kwh: dict[str, list[float]] = field(default_factory=dict)
    """Daily energy of each customer meter [kWh] on the business days ``freeze_days``."""
    loss_rates: dict[int, float] = field(default_factory=dict)
    """Loss rate of each 台区 by id [fraction]."""


def add_supply_meters(database: Database) -> None:
    """The supply (总表) metering points of the small archive's two 台区 (as the MDM tests have them)."""
    with transaction(database.sessions) as session:
        add_supply_points(session)


@dataclass(frozen=True)
class _Point:
    id: int
    address: str
    multiplier: int
    purpose: PointPurpose
    area_id: int
    customer_class: CustomerClass | None
    terminal_id: int | None


def _points(session: Session) -> list[_Point]:
    rows = session.execute(
        select(
            MeteringPoint.id,
            Meter.address,
            Meter.multiplier,
            MeteringPoint.purpose,
            MeteringPoint.transformer_area_id,
            Customer.customer_class,
            MeteringPoint.terminal_id,
        )
        .join(Meter, Meter.id == MeteringPoint.meter_id)
        .outerjoin(Customer, Customer.id == MeteringPoint.customer_id)
        .where(MeteringPoint.valid_to.is_(None))
        .order_by(MeteringPoint.id)
    ).all()
    return [_Point(*row) for row in rows]


def _feeder_head_outcomes(
    database: Database, days: list[date], offline: set[int], world: World, now: datetime
) -> list[FeederMeterCollection]:
    """Collection outcomes of the feeder head meters read through a terminal (the demo has them; they count
    in the success rate): read every day, except today's through the offline terminal."""
    with database.sessions() as session:
        heads = session.execute(
            select(FeederMeter.id, FeederMeter.terminal_id).where(
                FeederMeter.terminal_id.is_not(None), FeederMeter.valid_to.is_(None)
            )
        ).all()
    outcomes: list[FeederMeterCollection] = []
    for head_id, terminal_id in heads:
        for day in days:
            failed = day == world.today and terminal_id in offline
            outcomes.append(
                FeederMeterCollection(
                    feeder_meter_id=head_id,
                    business_date=day,
                    status=PointStatus.FAILED if failed else PointStatus.OK,
                    reason=FailureReason.TERMINAL_OFFLINE if failed else None,
                    updated_at=now,
                )
            )
        world.points_due += 1
        world.failed_today += int(terminal_id in offline)
    return outcomes


def build_operations(settings: Settings, database: Database, seed: int = 1) -> World:
    """Registers, collection outcomes, sessions, events, line loss, alerts and bills up to today."""
    today = today_beijing()
    freeze_days = [today - timedelta(days=HISTORY_DAYS - 1 - i) for i in range(HISTORY_DAYS)]
    world = World(
        today, freeze_days, [today - timedelta(days=LINE_LOSS_DAYS - i) for i in range(LINE_LOSS_DAYS)]
    )
    rng = random.Random(seed)
    with database.sessions() as session:
        points = _points(session)
        area_ids = sorted({p.area_id for p in points})
        terminals = session.scalars(select(Terminal).order_by(Terminal.id)).all()
        terminal_ids = [t.id for t in terminals]
    loss = {area: LOSS_RATES[i % len(LOSS_RATES)] for i, area in enumerate(area_ids)}
    world.loss_rates = loss
    # one terminal offline (the last), so today's collection has failures of its points
    offline = {terminal_ids[-1]} if len(terminal_ids) > 1 else set()
    world.offline_terminals = [t.address for t in terminals if t.id in offline]

    # daily primary energy of each customer point, then the supply of each area from its loss rate
    energy: dict[int, list[float]] = {}
    sold: dict[int, list[float]] = defaultdict(lambda: [0.0] * HISTORY_DAYS)
    for p in points:
        if p.purpose != PointPurpose.BILLING:
            continue
        low, high = DAILY_KWH.get(p.customer_class or CustomerClass.RESIDENTIAL, (5.0, 10.0))
        level = rng.uniform(low, high)
        energy[p.id] = [
            round(level * rng.uniform(0.8, 1.2) * (0.85 if i % 7 in (5, 6) else 1.0), 2)
            for i in range(HISTORY_DAYS)
        ]
        world.energy_kwh[p.address] = energy[p.id]
        for i, kwh in enumerate(energy[p.id]):
            sold[p.area_id][i] += kwh
    for p in points:
        if p.purpose == PointPurpose.SUPPLY:
            energy[p.id] = [round(s / (1 - loss[p.area_id]), 2) for s in sold[p.area_id]]

    rows = []
    outcomes: list[PointCollection | FeederMeterCollection] = []
    now = now_beijing()
    for p in points:
        register = Decimal(rng.randint(100, 5000))
        for i, day in enumerate(freeze_days):
            # the register at the freeze of ``day`` closes the energy of the day before
            if i > 0:
                register += (
                    Decimal(str(energy.get(p.id, [0.0] * HISTORY_DAYS)[i - 1])) / p.multiplier
                ).quantize(Decimal("0.01"))
            missing = day == today and p.terminal_id in offline
            if not missing:
                rows.append({"meter": p.address, "di": DI, "freeze_time": day_start(day), "value": register})
            if p.terminal_id is not None and i >= HISTORY_DAYS - 30:
                # besides the offline terminal, about 2 % of the billing points a day did not reply
                no_reply = (i * 7 + p.id * 3) % 50 == 0 and p.purpose == PointPurpose.BILLING
                failed = missing or (no_reply and day != today)
                outcomes.append(
                    PointCollection(
                        metering_point_id=p.id,
                        business_date=day,
                        status=PointStatus.FAILED if failed else PointStatus.OK,
                        reason=(FailureReason.TERMINAL_OFFLINE if missing else FailureReason.NO_REPLY)
                        if failed
                        else None,
                        updated_at=now,
                    )
                )
                if day == today:
                    world.points_due += 1
                    world.failed_today += int(failed)
    outcomes += _feeder_head_outcomes(database, freeze_days[-30:], offline, world, now)
    lake = ReadingsLake(settings.lake_dir)
    lake.append(readings_table(rows))
    lake.flush()

    with transaction(database.sessions) as session:
        session.add_all(outcomes)
        for t in terminals:
            up = t.id not in offline
            session.add(
                TerminalStatus(
                    terminal_id=t.id,
                    online=up,
                    remote_address=f"10.20.{t.id // 250}.{t.id % 250 + 1}:5{t.id:04d}" if up else "",
                    connected_since=now - timedelta(hours=30 + t.id) if up else None,
                    last_heartbeat=now - timedelta(minutes=t.id % 15 + 1) if up else now - timedelta(hours=7),
                    last_seen=now - timedelta(minutes=1),
                    malformed_frames=0,
                )
            )
            session.add_all(
                [
                    TerminalEvent(
                        terminal_id=t.id,
                        erc=14,
                        name="终端停/上电",
                        occurred_at=now - timedelta(days=3, hours=t.id),
                        received_at=now - timedelta(days=3),
                        detail={"power": "off"},
                    ),
                    TerminalEvent(
                        terminal_id=t.id,
                        erc=37,
                        name="电能表开表盖",
                        occurred_at=now - timedelta(days=1, hours=t.id),
                        received_at=now - timedelta(days=1),
                        detail={"pn": 1},
                    ),
                ]
            )
        first = terminals[0]
        risk.raise_alert(
            session,
            "malformed_frames",
            f"terminal {first.address}",
            f"终端 {first.address} 10 分钟内异常报文 57 帧",
            severity=AlertSeverity.HIGH,
            org_id=first.org_id,
            detail={"frames": 57},
        )
        risk.raise_alert(
            session, "login_failures", "user ops-x", "账号 ops-x 连续登录失败 6 次", org_id=first.org_id
        )
        world.arrears_fen = _bills(session, today)

    for day in world.loss_days:
        tasks.compute_line_loss(settings, database, day)
    return world


def _bills(session: Session, today: date) -> dict[str, int]:
    """Released bills of last month for the first two customers of each organisation: the first owes it,
    the second paid in full (counter). Returns the open amount per customer number [fen]."""
    period_end = today.replace(day=1) - timedelta(days=1)
    period = period_end.strftime("%Y-%m")
    by_org: dict[int, list[Customer]] = defaultdict(list)
    for c in session.scalars(select(Customer).order_by(Customer.id)):
        if len(by_org[c.org_id]) < 2:
            by_org[c.org_id].append(c)
    open_fen: dict[str, int] = {}
    now = now_beijing()
    for n, customers in enumerate(by_org.values()):
        for k, c in enumerate(customers):
            amount = 12_345 + 10_000 * n + 1_111 * k
            bill = Bill(
                bill_no=f"B{period.replace('-', '')}{c.id:08d}",
                customer_id=c.id,
                customer_no=c.customer_no,
                org_id=c.org_id,
                customer_class=c.customer_class.value,
                tariff_code=c.tariff_code,
                period=period,
                cycle_start=period_end.replace(day=1),
                cycle_end=period_end,
                kind="bill",
                revision=0,
                status="released",
                total_fen=amount,
                energy_kwh=Decimal("234.50"),
                tier_kwh=Decimal("234.50"),
                estimated=False,
                anomalies="",
                determinants="{}",
                readings="[]",
                reason="",
                due_date=today + timedelta(days=10),
                created_at=now - timedelta(days=2),
                released_by="manager",
                released_at=now - timedelta(days=2),
            )
            session.add(bill)
            session.flush()
            session.add(
                Debt(
                    customer_id=c.id,
                    bill_id=bill.id,
                    kind="principal",
                    seq=0,
                    amount_fen=amount,
                    credited_fen=0,
                    allocated_fen=0,
                    due_date=today + timedelta(days=10),
                    created_on=today - timedelta(days=2),
                    created_at=now - timedelta(days=2),
                )
            )
            session.flush()
            if k == 1:
                ledger.post_payment(
                    session,
                    SYSTEM,
                    c.customer_no,
                    "counter",
                    f"web-{c.id}",
                    ledger.yuan(amount),
                    today,
                    now=now,
                )
            else:
                open_fen[c.customer_no] = amount
    return open_fen
