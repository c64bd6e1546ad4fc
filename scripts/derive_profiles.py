"""Derive the simulator's regional load-shape tables from the reference 15-minute load curve.

Run once, offline, when the reference file or the derivation changes:

    .venv/bin/python scripts/derive_profiles.py [/work/shared/data/regional_load_area1_15min.parquet]

It writes ``src/gridcare/simulator/profiles.json``: 96-point normalised daily shapes per season and day type,
daily levels per season and day type, and the Spring Festival dip by day offset from 正月初一. The class
modifications (residential evening peak, industrial shifts, ...) are applied on top of these tables by
:mod:`gridcare.simulator.profiles`; the tests read only the shipped JSON, never the reference file.

Method:

* days with all 96 values and no glitch (a value below half the day's median, or negative) are kept;
* a day's shape is its 96 values divided by the day's mean; a day's level is its mean divided by the mean
  of that calendar year's workdays outside the Spring Festival period (removing load growth between years);
* day types and seasons come from :mod:`gridcare.simulator.calendar` (its verified 2009-2015 holiday table);
* shapes[season][day type] and levels[season][day type] are plain means over the days of each cell;
* the Spring Festival ratio at offset k is the mean over years of the day's mean divided by the mean of the
  workdays from 30 days before to 30 days after that year's Spring Festival period; the core shape is the
  mean shape of offsets -1..6.
"""

from __future__ import annotations

import json
import sys
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from gridcare.simulator.calendar import (
    SPRING_FESTIVAL_AFTER,
    SPRING_FESTIVAL_BEFORE,
    DayType,
    Season,
    default_holidays,
    season_of,
)

DEFAULT_SOURCE = Path("/work/shared/data/regional_load_area1_15min.parquet")
TARGET = Path(__file__).resolve().parents[1] / "src" / "gridcare" / "simulator" / "profiles.json"
CORE_OFFSETS = range(-1, 7)


def _daily_matrix(path: Path) -> tuple[list[date], np.ndarray]:
    frame = pd.read_parquet(path, columns=["ts", "load"]).dropna(subset=["load"])
    frame["day"] = frame["ts"].dt.date
    frame["slot"] = frame["ts"].dt.hour * 4 + frame["ts"].dt.minute // 15
    wide = frame.pivot_table(index="day", columns="slot", values="load", aggfunc="first")
    wide = wide.dropna()
    values = wide.to_numpy(dtype=np.float64)
    median = np.median(values, axis=1, keepdims=True)
    good = ((values > 0.5 * median) & (values > 0)).all(axis=1)
    return [d for d, ok in zip(wide.index, good, strict=True) if ok], values[good]


def derive(path: Path) -> dict[str, object]:
    cal = default_holidays()
    days, values = _daily_matrix(path)
    means = values.mean(axis=1)
    shapes = values / means[:, None]
    types = [cal.day_type(d) for d in days]
    seasons = [season_of(d) for d in days]
    years = np.array([d.year for d in days])

    workday = np.array([t == DayType.WORKDAY for t in types])
    norm_by_year = {int(y): float(means[workday & (years == y)].mean()) for y in np.unique(years)}
    # a year with too few workdays (the reference ends on 2015-01-10) borrows the previous year's level
    for y in sorted(norm_by_year):
        if (workday & (years == y)).sum() < 100 and y - 1 in norm_by_year:
            norm_by_year[y] = norm_by_year[y - 1]
    levels_all = means / np.array([norm_by_year[int(y)] for y in years])

    shape_table: dict[str, dict[str, list[float]]] = {}
    level_table: dict[str, dict[str, float]] = {}
    counts: dict[str, dict[str, int]] = {}
    for season in Season:
        shape_table[season.value] = {}
        level_table[season.value] = {}
        counts[season.value] = {}
        for day_type in (DayType.WORKDAY, DayType.WEEKEND, DayType.HOLIDAY):
            mask = np.array([s == season and t == day_type for s, t in zip(seasons, types, strict=True)])
            if not mask.any():
                raise SystemExit(f"no {day_type} days in {season}: cannot derive")
            shape = shapes[mask].mean(axis=0)
            shape_table[season.value][day_type.value] = [round(float(v), 5) for v in shape / shape.mean()]
            level_table[season.value][day_type.value] = round(float(levels_all[mask].mean()), 5)
            counts[season.value][day_type.value] = int(mask.sum())

    day_index = {d: i for i, d in enumerate(days)}
    offsets = list(range(-SPRING_FESTIVAL_BEFORE, SPRING_FESTIVAL_AFTER + 1))
    ratios: dict[int, list[float]] = {k: [] for k in offsets}
    core: list[np.ndarray] = []
    for hy in cal.years.values():
        new_year = hy.spring_festival
        window = [new_year + timedelta(days=k) for k in offsets]
        if not all(d in day_index for d in window):
            continue
        ref_days = [
            i
            for i, d in enumerate(days)
            if abs((d - new_year).days) <= 30 + max(SPRING_FESTIVAL_BEFORE, SPRING_FESTIVAL_AFTER)
            and types[i] == DayType.WORKDAY
        ]
        reference = float(means[ref_days].mean())
        for k, d in zip(offsets, window, strict=True):
            ratios[k].append(float(means[day_index[d]]) / reference)
            if k in CORE_OFFSETS:
                core.append(shapes[day_index[d]])
    if not core:
        raise SystemExit("no complete Spring Festival period in the reference data")
    core_shape = np.mean(core, axis=0)
    return {
        "description": (
            "Regional 15-minute load shapes derived by scripts/derive_profiles.py from the reference curve "
            "(2016 电工杯 problem A, Area1, 2009-01-01..2015-01-10). shapes: mean 1 over 96 quarter hours "
            "starting 00:00. levels: daily mean relative to the same year's workday mean. "
            "spring_festival.ratio[k]: daily mean at offset k days from 正月初一 relative to nearby workdays."
        ),
        "source": {
            "file": path.name,
            "days_used": len(days),
            "first_day": days[0].isoformat(),
            "last_day": days[-1].isoformat(),
            "spring_festivals_used": len(core) // len(CORE_OFFSETS),
        },
        "shapes": shape_table,
        "levels": level_table,
        "day_counts": counts,
        "spring_festival": {
            "offsets": offsets,
            "ratio": [round(float(np.mean(ratios[k])), 5) for k in offsets],
            "core_offsets": [CORE_OFFSETS.start, CORE_OFFSETS.stop - 1],
            "core_shape": [round(float(v), 5) for v in core_shape / core_shape.mean()],
        },
    }


def main(argv: list[str]) -> int:
    source = Path(argv[1]) if len(argv) > 1 else DEFAULT_SOURCE
    table = derive(source)
    TARGET.write_text(json.dumps(table, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {TARGET} from {table['source']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
