"""Shared shapes of the demo generator: the generated tables, the plan they follow, small draws."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from gridcare.archives import demo_catalog as cat
from gridcare.archives.models import MeterType

Progress = Callable[[str, int, int], None]
"""``progress(step, done, total)``: generation and insert report how far they are."""

Column = list[Any] | np.ndarray

RES, GC, LI, AGR = 0, 1, 2, 3
CLASS_VALUES = [c.value for c in cat.CLASS_ORDER]
SINGLE, DIRECT, LV_CT, HV_CT = 0, 1, 2, 3
METER_KINDS = {
    SINGLE: (MeterType.SINGLE_PHASE.value, 1, "220V", "5(60)A", "2"),
    DIRECT: (MeterType.THREE_PHASE_DIRECT.value, 3, "3x220/380V", "3x5(60)A", "1"),
    LV_CT: (MeterType.THREE_PHASE_CT.value, 3, "3x220/380V", "3x1.5(6)A", "0.5S"),
    HV_CT: (MeterType.THREE_PHASE_CT.value, 3, "3x100V", "3x1.5(6)A", "0.5S"),
}
"""meter kind -> (meter_type, phases, rated_voltage, rated_current, accuracy_class)."""
BUILD_STEPS = 5


@dataclass
class Table:
    """Rows of one table as equal-length columns (lists or numpy arrays)."""

    name: str
    columns: dict[str, Column]

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def rows(self, start: int = 0, stop: int | None = None) -> list[dict[str, Any]]:
        """Rows ``start:stop`` as dicts of plain Python values (what an executemany insert takes)."""
        names = list(self.columns)
        values = []
        for col in self.columns.values():
            part = col[start:stop]
            values.append(part.tolist() if isinstance(part, np.ndarray) else part)
        return [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]

    def column(self, name: str) -> list[Any]:
        col = self.columns[name]
        return col.tolist() if isinstance(col, np.ndarray) else list(col)


@dataclass
class DemoData:
    """The generated archive: tables in insert order (parents before children) and headline facts."""

    customers: int
    seed: int
    company: str = ""
    tables: dict[str, Table] = field(default_factory=dict)
    public_areas: int = 0
    dedicated_areas: int = 0

    def counts(self) -> dict[str, int]:
        """Rows per table."""
        return {name: len(table) for name, table in self.tables.items()}

    def class_counts(self) -> dict[str, int]:
        """Customers per class (``CustomerClass`` values)."""
        classes = self.tables["customers"].column("customer_class")
        return {value: classes.count(value) for value in CLASS_VALUES}

    def fingerprint(self) -> str:
        """SHA-256 over every row of every table: equal fingerprints mean identical archives."""
        digest = hashlib.sha256()
        for name, table in self.tables.items():
            digest.update(name.encode())
            for start in range(0, len(table), 10_000):
                for row in table.rows(start, start + 10_000):
                    digest.update(repr(sorted(row.items())).encode())
        return digest.hexdigest()


# -- small helpers ----------------------------------------------------------------------------------


def choice(rng: np.random.Generator, spec: tuple[Sequence[Any], Sequence[float]], n: int) -> np.ndarray:
    values, weights = spec
    p = np.asarray(weights, dtype=np.float64)
    return np.asarray(values)[rng.choice(len(values), size=n, p=p / p.sum())]


def d64(value: date) -> np.datetime64:
    return np.datetime64(value, "D")


def dates_between(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Uniform dates in [lo, hi] (datetime64[D] arrays, element-wise; hi >= lo)."""
    span = (hi - lo).astype(np.int64)
    return lo + (rng.random(len(lo)) * (span + 1)).astype(np.int64).astype("timedelta64[D]")


def draw_box_sizes(rng: np.random.Generator, n: int) -> np.ndarray:
    """Meters per box for ``n`` meters of one 台区 (the last box takes what is left)."""
    sizes = choice(rng, cat.BOX_SIZES, n).astype(np.int64)
    ends = np.cumsum(sizes)
    count = int(np.searchsorted(ends, n)) + 1
    sizes = sizes[:count].copy()
    sizes[-1] -= int(ends[count - 1]) - n
    return sizes


def meter_addresses(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct 12-digit BCD addresses, never 000000000000 nor the broadcast 999999999999."""
    picked = np.empty(0, dtype=np.int64)
    while len(picked) < n:
        draw = rng.integers(1, 999_999_999_999, size=n - len(picked) + 16)
        merged = np.concatenate([picked, draw])
        _, first = np.unique(merged, return_index=True)
        picked = merged[np.sort(first)]
    return [f"{v:012d}" for v in picked[:n].tolist()]


def batch_codes(makers: np.ndarray, installed: np.ndarray, lots: np.ndarray) -> list[str]:
    """Delivery batch "2019-02-WS-017": year, tender round (1-3 by month), vendor code, lot."""
    years = installed.astype("datetime64[Y]").astype(np.int64) + 1970
    rounds = (installed.astype("datetime64[M]").astype(np.int64) % 12) // 4 + 1
    codes = [m[1] for m in cat.METER_MAKERS]
    return [
        f"{y}-{r:02d}-{codes[m]}-{lot:03d}"
        for y, r, m, lot in zip(years.tolist(), rounds.tolist(), makers.tolist(), lots.tolist(), strict=True)
    ]


@dataclass
class OrgFacts:
    """Organisation facts the later steps need; station-indexed lists run over stations 0..n-1."""

    province: str
    city: str
    city4: str
    county_ids: list[int]
    county_codes6: list[str]
    county_names: list[str]
    area_codes: list[str]
    station_ids: list[int]
    station_codes: list[str]
    station_county: np.ndarray
    station_urban: np.ndarray
    station_prefix: list[str]
    station_places: list[list[str]]


@dataclass
class Plan:
    """Sizes and relations decided before any row is written out."""

    counts: dict[int, int]
    sizes: np.ndarray  # billing points per public 台区
    area_station: np.ndarray
    area_feeder: np.ndarray
    area_capacity: np.ndarray
    area_place: list[str]
    area_place_no: list[int]
    cust_area: np.ndarray  # LV customers only
    cust_box: np.ndarray  # LV customers: box index within the 台区 (0 = first customer box)
    cust_slot: np.ndarray  # LV customers: position within the box
    area_boxes: np.ndarray  # customer boxes per 台区 (the supply box comes on top)
    box_sizes: np.ndarray  # all customer boxes, 台区 order
    classes: np.ndarray  # all customers: LV then large industrial
    station: np.ndarray
    capacity: np.ndarray
    three_phase: np.ndarray
    kind: np.ndarray
    li_station: np.ndarray
    li_feeder: np.ndarray
