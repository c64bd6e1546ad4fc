"""Small builders for hand-made MDM test data (readings and meter archives)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import pyarrow as pa

from gridcare.mdm.schema import DI_FWD_ACTIVE, METERS_SCHEMA, READINGS_SCHEMA
from gridcare.timeutil import BEIJING

D0 = date(2024, 6, 1)


def day(i: int) -> date:
    """D0 + i days."""
    return D0 + timedelta(days=i)


def freeze(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=BEIJING)


def meter_id(n: int) -> str:
    return f"{n:012d}"


def meters(rows: Sequence[dict[str, Any]]) -> pa.Table:
    """Archive table; missing attributes get defaults (multiplier 1, customer, class "resident")."""
    full = []
    for r in rows:
        row = {
            "multiplier": 1.0,
            "customer_class": "resident",
            "capacity_kva": None,
            "forward_only": False,
            "tg": None,
            "role": "customer",
            "rollover_kwh": 999999.99,
            "feeder": None,
            "org": None,
            "terminal": None,
            "tg_kind": None,
        }
        row.update(r)
        full.append(row)
    return pa.Table.from_pylist(full, schema=METERS_SCHEMA)


def rows(
    meter: str,
    values: Iterable[float | None],
    *,
    start: int = 0,
    di: str = DI_FWD_ACTIVE,
    source: str = "actual",
    version: int = 1,
    skip: Iterable[int] = (),
) -> list[dict[str, Any]]:
    """One reading per day from ``day(start)``; ``skip`` lists day offsets with no row."""
    skipped = set(skip)
    out = []
    for i, v in enumerate(values, start=start):
        if i in skipped:
            continue
        out.append(
            {
                "meter": meter,
                "di": di,
                "freeze_time": freeze(day(i)),
                "value": v,
                "version": version,
                "source": source,
                "method": None,
                "recorded_at": None,
                "who": None,
                "why": None,
            }
        )
    return out


def readings(*groups: list[dict[str, Any]]) -> pa.Table:
    flat = [r for g in groups for r in g]
    return pa.Table.from_pylist(flat, schema=READINGS_SCHEMA)


def cumulative(start: float, consumption: Sequence[float]) -> list[float]:
    """Register values: start, start + c0, start + c0 + c1, ... rounded to 0.01."""
    out = [round(start, 2)]
    for c in consumption:
        out.append(round(out[-1] + c, 2))
    return out
