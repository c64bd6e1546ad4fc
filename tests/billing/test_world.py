"""Shared helpers of the billing service tests (no tests here): a small archive with staff accounts,
a tariff document filed and approved through maker-checker, and readings written to the lake.

The archive is ``tests.support.archive``: station A (org 3) holds customers 0000000001, 0000000002
(residential) and 0000000003 (general commercial, switched to the TOU tariff here); station B (org 4)
holds 0000000004 (residential). All are in billing group B01, meters 20100000000N, multiplier 1.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import update

from gridcare.archives.models import Customer
from gridcare.billing import tariff_store
from gridcare.config import Settings
from gridcare.security.principal import Principal
from gridcare.storage.database import Database
from gridcare.storage.db import transaction
from gridcare.storage.lake import ReadingsLake
from gridcare.timeutil import BEIJING
from tests.security.helpers import Account, make_staff, principal_of
from tests.support.archive import build_small_archive

TARIFFS_TOML = """
[[tariffs]]
code = "RES-TIER-2024"
effective_from = 2024-01-01

[tariffs.tariff]
name = "居民生活 不满1千伏 月阶梯"
customer_class = "residential"
energy = { kind = "flat", price_yuan_per_kwh = 0.5283 }

[tariffs.tariff.tiers]
basis = "monthly"
bands = [
  { up_to_kwh = 230, increment_yuan_per_kwh = 0 },
  { up_to_kwh = 400, increment_yuan_per_kwh = 0.05 },
  { increment_yuan_per_kwh = 0.30 },
]

[[tariffs]]
code = "GC-TOU-2024"
effective_from = 2024-01-01

[tariffs.tariff]
name = "一般工商业 分时"
customer_class = "general_commercial"
surcharges = [{ name = "国家重大水利工程建设基金 water-works fund", price_yuan_per_kwh = 0.0196 }]

[tariffs.tariff.energy]
kind = "time_of_use"

[[tariffs.tariff.energy.seasons]]
name = "全年 all year"
months = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
prices_yuan_per_kwh = { sharp = 1.0719, peak = 0.8932, flat = 0.5359, valley = 0.2786 }

[tariffs.tariff.energy.seasons.hours]
sharp = [{ start_hour = 10, end_hour = 11 }]
peak = [
  { start_hour = 8, end_hour = 10 },
  { start_hour = 11, end_hour = 12 },
  { start_hour = 17, end_hour = 22 },
]
flat = [{ start_hour = 12, end_hour = 17 }, { start_hour = 22, end_hour = 24 }]
valley = [{ start_hour = 0, end_hour = 8 }]
"""

RES, GC = "RES-TIER-2024", "GC-TOU-2024"
TOTAL = "05060101"
T1, T2, T3, T4 = "05060101.1", "05060101.2", "05060101.3", "05060101.4"


@dataclass
class World:
    settings: Settings
    database: Database
    lake: ReadingsLake
    manager_a: Principal  # maker
    manager_a2: Principal  # checker
    analyst_a: Principal
    manager_b: Principal
    accounts: dict[str, Account]

    def session(self) -> Any:
        return self.database.sessions()


def build_world(settings: Settings, database: Database, *, tariffs: bool = True) -> World:
    """The small archive, staff (managers and an analyst at station A, a manager at station B) and, with
    ``tariffs``, the two test tariffs approved."""
    with transaction(database.sessions) as session:
        build_small_archive(session)
        session.execute(update(Customer).where(Customer.id == 3).values(tariff_code=GC))
    accounts = {
        name: make_staff(database, settings, name, [role], org)
        for name, role, org in (
            ("mgr-a", "manager", "S010101"),
            ("mgr-a2", "manager", "S010101"),
            ("ana-a", "analyst", "S010101"),
            ("mgr-b", "manager", "S010102"),
        )
    }
    p = {name: principal_of(database, settings, acc) for name, acc in accounts.items()}
    world = World(
        settings,
        database,
        ReadingsLake(settings.lake_dir),
        p["mgr-a"],
        p["mgr-a2"],
        p["ana-a"],
        p["mgr-b"],
        accounts,
    )
    if tariffs:
        approve_tariffs(world, TARIFFS_TOML, "toml")
    return world


def approve_tariffs(world: World, text: str, fmt: str) -> list[int]:
    with world.session() as session:
        req = tariff_store.request_change(session, world.manager_a, text, fmt, "test tariffs")
        session.commit()
        rows = tariff_store.approve_change(session, world.manager_a2, req.id)
        session.commit()
        return [r.id for r in rows]


def freeze(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=BEIJING)


def write_readings(lake: ReadingsLake, rows: Iterable[tuple[Any, ...]]) -> None:
    """Rows ``(meter, di, day, value[, source[, version]])``; frame_ref is ``f-<meter>-<di>-<day>``."""
    out = []
    for row in rows:
        meter, di, day, value = row[:4]
        source = row[4] if len(row) > 4 else "actual"
        version = row[5] if len(row) > 5 else (1 if source == "actual" else 2)
        out.append(
            {
                "meter": meter,
                "di": di,
                "freeze_time": freeze(day),
                "value": None if value is None else Decimal(str(value)),
                "version": version,
                "source": source,
                "frame_ref": f"f-{meter}-{di}-{day.isoformat()}",
            }
        )
    from gridcare.storage.lake import readings_table

    lake.append(readings_table(out))
    lake.flush()
