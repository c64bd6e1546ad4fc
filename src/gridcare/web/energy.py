"""A customer's daily consumption for the console chart, from the daily frozen registers in the lake.

Consumption of business day D = (forward-active total register at the freeze of D+1 - at the freeze of D)
x the meter's multiplier [kWh]. A day without both freezes, or whose register went down (a meter change,
a faulty reading), has no value (None): a gap, never a zero. When the customer's meter was changed, each
meter counts only on the days its metering point was valid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pyarrow.compute as pc

from gridcare.storage.lake import ReadingsLake
from gridcare.timeutil import to_beijing

DI_FORWARD_ACTIVE_TOTAL = "05060101"
"""DL/T 645-2007 daily frozen forward active energy, total [kWh]."""


@dataclass(frozen=True)
class MeterSpan:
    """A meter of the customer from ``valid_from`` (inclusive) to ``valid_to`` (exclusive; None: now)."""

    address: str
    multiplier: int
    valid_from: date
    valid_to: date | None


def daily_energy_from_registers(
    registers: Mapping[str, Mapping[date, Decimal]], spans: Sequence[MeterSpan], first: date, last: date
) -> list[dict[str, Any]]:
    """Consumption of each business day ``first..last`` from the frozen registers per meter and freeze day.

    Pure: ``registers[address][freeze_day]`` is the register [kWh, secondary side]; returns
    ``[{"date": "YYYY-MM-DD", "kwh": float | None}]``.
    """
    out = []
    day = first
    while day <= last:
        total: Decimal | None = None
        for span in spans:
            if day < span.valid_from or (span.valid_to is not None and day >= span.valid_to):
                continue
            regs = registers.get(span.address, {})
            start, end = regs.get(day), regs.get(day + timedelta(days=1))
            if start is None or end is None or end < start:
                continue
            total = (total or Decimal(0)) + (end - start) * span.multiplier
        out.append({"date": day.isoformat(), "kwh": None if total is None else float(round(total, 2))})
        day += timedelta(days=1)
    return out


def read_registers(
    lake: ReadingsLake, meters: Sequence[str], first: date, last: date
) -> dict[str, dict[date, Decimal]]:
    """The current daily frozen forward-active registers of ``meters`` for freeze days ``first..last``."""
    if not meters:
        return {}
    table = lake.current(first, last, dis=[DI_FORWARD_ACTIVE_TOTAL])
    table = table.filter(pc.is_in(table["meter"], value_set=_strings(meters)))
    out: dict[str, dict[date, Decimal]] = {}
    for row in table.select(["meter", "freeze_time", "value"]).to_pylist():
        if row["value"] is not None:
            out.setdefault(row["meter"], {})[to_beijing(row["freeze_time"]).date()] = row["value"]
    return out


def _strings(values: Sequence[str]) -> Any:
    import pyarrow as pa

    return pa.array(list(values), pa.string())


def customer_daily_energy(
    lake: ReadingsLake, spans: Sequence[MeterSpan], end: date, days: int
) -> list[dict[str, Any]]:
    """Consumption of the ``days`` business days up to ``end`` (inclusive)."""
    first = end - timedelta(days=days - 1)
    registers = read_registers(lake, sorted({s.address for s in spans}), first, end + timedelta(days=1))
    return daily_energy_from_registers(registers, spans, first, end)
