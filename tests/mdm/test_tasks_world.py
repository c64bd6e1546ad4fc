"""Shared world of the MDM task, CLI and API tests (no tests here).

The small archive of ``tests.support.archive`` (station A: 台区 TQ-A with customers 201000000001..3;
station B: TQ-B with 201000000004; both on feeder F101) plus one supply meter per 台区: 201000000091 for
TQ-A (CT, multiplier 10) and 201000000092 for TQ-B (multiplier 1). Daily registers are hand-made so every
expected value can be worked out by hand:

============== ========== =========== =========================================================
meter          start      per day     anomalies (freeze day offsets from D0 = 2024-06-01)
============== ========== =========== =========================================================
201000000001   1000.00    5.00
201000000002    500.00    3.00        day 10: 100.00 (register decreased; back on track from day 11)
201000000003   2000.00   10.00        day 10: missing; from day 11 10 kWh more (day 10 actual 2105.00)
201000000004    300.00    4.00        day 10: missing (TQ-B)
201000000091    100.00    1.95 x 10   supply of TQ-A: 19.5 kWh/day (sold 18 kWh/day)
201000000092     50.00    4.40        supply of TQ-B (sold 4 kWh/day)
============== ========== =========== =========================================================
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from gridcare.config import Settings
from gridcare.storage.database import Database
from gridcare.storage.db import transaction
from gridcare.storage.lake import ReadingsLake, readings_table
from gridcare.timeutil import day_start
from tests.support.archive import add_supply_points, build_small_archive

D0 = date(2024, 6, 1)
C1, C2, C3, C4 = "201000000001", "201000000002", "201000000003", "201000000004"
SUPPLY_A, SUPPLY_B = "201000000091", "201000000092"
METERS = (C1, C2, C3, C4, SUPPLY_A, SUPPLY_B)
START = {C1: 1000.0, C2: 500.0, C3: 2000.0, C4: 300.0, SUPPLY_A: 100.0, SUPPLY_B: 50.0}
PER_DAY = {C1: 5.0, C2: 3.0, C3: 10.0, C4: 4.0, SUPPLY_A: 1.95, SUPPLY_B: 4.4}
VEE_DAY_INDEX = 10
LATE_ACTUAL_C3 = Decimal("2105.00")
"""The day-10 register of 201000000003, read late (补抄)."""


def day(i: int) -> date:
    return D0 + timedelta(days=i)


def register(meter: str, i: int) -> Decimal:
    """The normal register of ``meter`` at the freeze of day offset ``i`` [kWh, secondary]."""
    value = START[meter] + PER_DAY[meter] * i
    if meter == C3 and i > VEE_DAY_INDEX:
        value += 10.0
    return Decimal(str(round(value, 2))).quantize(Decimal("0.01"))


def actual_rows(days: Iterable[int]) -> list[dict[str, Any]]:
    """Actual forward-active readings of every meter on the freeze days ``days``, with the anomalies."""
    rows = []
    for i in days:
        for meter in METERS:
            if i == VEE_DAY_INDEX and meter in (C3, C4):
                continue
            value = Decimal("100.00") if (i == VEE_DAY_INDEX and meter == C2) else register(meter, i)
            rows.append({"meter": meter, "di": "05060101", "freeze_time": day_start(day(i)), "value": value})
    return rows


def write_actuals(settings: Settings, rows: list[dict[str, Any]], *, flush: bool = False) -> None:
    """Append actual readings to the lake (durable write-ahead segment); ``flush`` moves them to Parquet.

    Flush only the first batch of a test: the lake names Parquet parts after write-ahead segments, numbered
    from 1 again in a new instance, so a later instance's flush would replace an earlier part file.
    """
    lake = ReadingsLake(settings.lake_dir)
    lake.append(readings_table(rows))
    if flush:
        lake.flush()
    else:
        lake.wal.rotate()


def build_world(database: Database) -> None:
    """The small archive plus the two supply metering points."""
    with transaction(database.sessions) as session:
        build_small_archive(session)
        add_supply_points(session)
