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
from itertools import pairwise
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


def month_starts(last_month: date, months: int) -> list[date]:
    """The first days of the ``months`` calendar months ending with the month of ``last_month``, oldest
    first, and the first day of the month after (the closing boundary): ``months + 1`` dates."""
    first = last_month.year * 12 + last_month.month - months  # month index (year * 12 + month - 1)
    return [date((first + i) // 12, (first + i) % 12 + 1, 1) for i in range(months + 1)]


def monthly_energy_from_registers(
    registers: Mapping[str, Mapping[date, Decimal]], spans: Sequence[MeterSpan], boundaries: Sequence[date]
) -> list[dict[str, Any]]:
    """Consumption of each calendar month between consecutive ``boundaries`` (first days of months).

    Pure: month [m, n) of a meter valid over [from, to) counts (register at the freeze of min(n, to) -
    register at the freeze of max(m, from)) x multiplier. A month with any of its meters' boundary freezes
    missing, or a register that went down, has no value (None): a gap, never a partial sum. Returns
    ``[{"month": "YYYY-MM", "kwh": float | None}]``.
    """
    out = []
    for start, end in pairwise(boundaries):
        parts: list[Decimal | None] = []
        for span in spans:
            first = max(start, span.valid_from)
            last = end if span.valid_to is None else min(end, span.valid_to)
            if first >= last:
                continue
            regs = registers.get(span.address, {})
            low, high = regs.get(first), regs.get(last)
            if low is None or high is None or high < low:
                parts.append(None)
            else:
                parts.append((high - low) * span.multiplier)
        known = [p for p in parts if p is not None]
        kwh = float(round(sum(known, Decimal(0)), 2)) if parts and len(known) == len(parts) else None
        out.append({"month": start.strftime("%Y-%m"), "kwh": kwh})
    return out


def customer_monthly_energy(
    lake: ReadingsLake, spans: Sequence[MeterSpan], last_month: date, months: int
) -> list[dict[str, Any]]:
    """Consumption of the ``months`` calendar months up to the month of ``last_month`` (inclusive), from
    the freezes of the months' first days (and of the days a meter was changed). Reads only those days."""
    boundaries = month_starts(last_month, months)
    days = set(boundaries)
    for span in spans:
        for day in (span.valid_from, span.valid_to):
            if day is not None and boundaries[0] < day < boundaries[-1]:
                days.add(day)
    meters = sorted({s.address for s in spans})
    registers: dict[str, dict[date, Decimal]] = {}
    for day in sorted(days):
        for address, values in read_registers(lake, meters, day, day).items():
            registers.setdefault(address, {}).update(values)
    return monthly_energy_from_registers(registers, spans, boundaries)
