"""Shared world of the metering-asset tests (no tests here): the MDM task world
(``tests.mdm.test_tasks_world``) plus stock meters, a feeder head meter, and a month of hand-made registers
(June 2024) with a replacement and a CT change in it.

- 201000000001 (TQ-A, 5 kWh/day) is replaced at 2024-06-03 10:00 by the stock meter 201000000011: old final
  1012.00 (2 kWh since the 00:00 freeze of 1010.00), new initial 0.50, then 3 kWh to the next freeze
  (3.50) and 5 kWh a day after that: the point's energy stays 5 kWh every day.
- 201000000091 (supply of TQ-A, CT 50/5 = x10, 19.5 kWh/day = 1.95 register/day) gets CT 150/5 (x30) from
  2024-06-16: from then on 0.65 register/day, still 19.5 kWh/day.
- 201000000099 is the head meter of feeder F101 (x1): 26.00 kWh/day.

Month totals (June): supply TQ-A 30 x 19.5 = 585.00, sold TQ-A (5 + 3 + 10) x 30 = 540.00, TQ-B
30 x 4 = 120.00 sold; feeder F101 purchased 780.00, sold 660.00, loss 120.00 (15.38 %, above the 8 %
limit: high_loss).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from gridcare.archives.asset_models import FeederMeter
from gridcare.archives.models import Meter, MeterStatus, MeterType
from gridcare.config import Settings
from gridcare.storage.database import Database
from gridcare.storage.db import transaction
from gridcare.timeutil import BEIJING, day_start
from tests.mdm.test_tasks_world import C1, C2, C3, C4, SUPPLY_A, SUPPLY_B, build_world, day, write_actuals
from tests.support.archive import COUNTY, STATION_A, STATION_B

NEW = "201000000011"
"""Stock meter of station A that replaces C1."""
SPARE_B = "201000000012"
"""Stock meter of station B."""
HEAD = "201000000099"
"""Head meter of feeder F101."""
REPLACED_AT = datetime(2024, 6, 3, 10, 0, tzinfo=BEIJING)
CHANGE_DAY = 2  # day offset of 2024-06-03
CT_FROM = 15  # day offset of 2024-06-16
NOW = datetime(2024, 7, 5, 9, 0, tzinfo=BEIJING)
"""The clock of the changes (after the month)."""


def stock_meter(meter_id: int, address: str, org: int) -> Meter:
    return Meter(
        id=meter_id,
        address=address,
        meter_type=MeterType.SINGLE_PHASE,
        phases=1,
        rated_voltage="220V",
        rated_current="5(60)A",
        org_id=org,
        status=MeterStatus.STOCK,
    )


def build_assets_world(database: Database) -> None:
    """The task world plus the stock meters and the feeder head meter (from 2020-01-01)."""
    build_world(database)
    with transaction(database.sessions) as session:
        session.add_all([stock_meter(11, NEW, STATION_A), stock_meter(12, SPARE_B, STATION_B)])
        head = Meter(
            id=99,
            address=HEAD,
            meter_type=MeterType.THREE_PHASE_CT,
            phases=3,
            rated_voltage="3x57.7/100V",
            rated_current="1.5(6)A",
            org_id=COUNTY,
            status=MeterStatus.INSTALLED,
            install_date=date(2020, 1, 1),
        )
        session.add(head)
        session.flush()
        session.add(FeederMeter(feeder_id=1, meter_id=99, valid_from=date(2020, 1, 1)))


def month_register(meter: str, i: int) -> Decimal | None:
    """Register at the freeze of day offset ``i`` (0 = 2024-06-01 .. 30 = 2024-07-01); None: no reading."""
    per_day = {C2: 3.0, C3: 10.0, C4: 4.0, SUPPLY_B: 4.4, HEAD: 26.0}
    start = {C1: 1000.0, C2: 500.0, C3: 2000.0, C4: 300.0, SUPPLY_A: 100.0, SUPPLY_B: 50.0, HEAD: 5000.0}
    if meter == C1:
        value = 1000.0 + 5.0 * i if i <= CHANGE_DAY else None
    elif meter == NEW:
        value = None if i <= CHANGE_DAY else 3.50 + 5.0 * (i - CHANGE_DAY - 1)
    elif meter == SUPPLY_A:
        value = start[meter] + 1.95 * min(i, CT_FROM) + 0.65 * max(i - CT_FROM, 0)
    else:
        value = start[meter] + per_day[meter] * i
    return None if value is None else Decimal(str(round(value, 2))).quantize(Decimal("0.01"))


def month_rows(days: range = range(31)) -> list[dict[str, Any]]:
    rows = []
    for i in days:
        for meter in (C1, NEW, C2, C3, C4, SUPPLY_A, SUPPLY_B, HEAD):
            value = month_register(meter, i)
            if value is not None:
                rows.append(
                    {"meter": meter, "di": "05060101", "freeze_time": day_start(day(i)), "value": value}
                )
    return rows


def write_month(settings: Settings) -> None:
    write_actuals(settings, month_rows(), flush=True)
