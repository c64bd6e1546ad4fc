"""Benchmark of the MDM core: VEE and daily 台区 line loss on synthetic daily frozen readings.

Prints one JSON object. Each scenario runs in its own subprocess so that peak memory is per scenario;
inside it, the peak RSS is reset (``/proc/self/clear_refs``) before each phase and read back with
``resource.getrusage(...).ru_maxrss`` after it.

    .venv/bin/python bench/mdm.py                      # 1,000,000 meters x 1 day and 100,000 x 365 days
    .venv/bin/python bench/mdm.py --meters 2000 --days 3   # one small scenario (CI)

Synthetic data (seeded numpy, generated in-process): 台区 of 100 customers plus one supply meter
(multiplier 80), feeders of 20 台区 with a head meter (multiplier 1000), organisations of 10 feeders; customer
classes resident / commercial / industrial; weekly load shape with noise; 0.2 % of readings missing, stray
zeros and jumps, rollovers, a few high-loss 台区, reverse registers on forward-only customers, and the four
tariff registers on the last freeze. Rows are ordered as day partitions of a lake (day, then meter).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gridcare.mdm import (
    DI_FWD_ACTIVE,
    DI_FWD_ACTIVE_TARIFFS,
    DI_REV_ACTIVE,
    METERS_SCHEMA,
    build_grid,
    daily_energy,
    daily_line_loss,
    estimate_gaps,
    run_vee,
)
from gridcare.mdm.schema import TIMESTAMP, day_number, freeze_us
from gridcare.timeutil import BEIJING

START = date(2024, 1, 1)
GOAL_S = 10.0
CUSTOMERS_PER_TG = 100
TG_PER_FEEDER = 20
FEEDERS_PER_ORG = 10


def _repeat_text(text: str, n: int) -> pa.Array:
    return pa.array([text], pa.string()).take(pa.array(np.zeros(n, np.int32)))


def generate(n_meters: int, n_days: int, seed: int) -> tuple[pa.Table, pa.Table, pa.Table]:
    """(readings, meters, typical) for freezes START .. START + n_days (n_days intervals)."""
    rng = np.random.default_rng(seed)
    k = n_days + 1
    n_tg = max(1, n_meters // (CUSTOMERS_PER_TG + 1 + 1.0 / TG_PER_FEEDER))
    n_tg = int(n_tg)
    n_feeder = max(1, -(-n_tg // TG_PER_FEEDER))
    n_cust = n_meters - n_tg - n_feeder
    if n_cust < 1:
        raise SystemExit("--meters: too few meters for one 台区")
    # archive: customers, then supply meters, then feeder heads
    role = np.concatenate([np.zeros(n_cust, np.int8), np.ones(n_tg, np.int8), np.full(n_feeder, 2, np.int8)])
    tg = np.concatenate([rng.integers(0, n_tg, n_cust), np.arange(n_tg), np.full(n_feeder, -1)])
    feeder = np.where(tg >= 0, tg // TG_PER_FEEDER, 0)
    feeder[n_cust + n_tg :] = np.arange(n_feeder)
    org = feeder // FEEDERS_PER_ORG
    cls = rng.choice(3, n_cust, p=[0.85, 0.12, 0.03])
    scale = np.array([1.0, 6.0, 40.0])[cls]
    typical = np.round(rng.lognormal(np.log(6.0), 0.6, n_cust) * scale, 2)
    capacity = np.array([8.0, 60.0, 400.0])[cls]
    mult_c = np.where(cls == 2, 40.0, 1.0)
    fwd_only = rng.random(n_cust) < 0.02

    weekday = np.array([1.0, 1.0, 1.0, 1.0, 1.05, 1.15, 1.1])
    dow = (np.arange(n_days) + START.weekday()) % 7
    cons = typical[:, None] * weekday[dow][None, :] * rng.lognormal(0, 0.2, (n_cust, n_days))
    cons = np.round(cons, 2)
    adv_c = np.round(cons / mult_c[:, None], 2)
    start = np.round(rng.uniform(0, 50_000, n_cust), 2)
    near = rng.random(n_cust) < 0.01  # will roll over during the period
    start[near] = np.round(
        999_999.99 - rng.uniform(0, 2, near.sum()) * typical[near] * n_days / mult_c[near], 2
    )
    reg_c = np.empty((n_cust, k))
    reg_c[:, 0] = start
    reg_c[:, 1:] = start[:, None] + np.cumsum(adv_c, axis=1)
    reg_c = np.round(np.mod(reg_c, 1_000_000.0), 2)

    energy_c = adv_c * mult_c[:, None]
    sold = np.zeros((n_tg, n_days))
    np.add.at(sold, tg[:n_cust], energy_c)
    loss = rng.uniform(0.02, 0.08, n_tg)
    loss[rng.random(n_tg) < 0.03] = 0.15
    supply = sold * (1 + loss)[:, None] / 80.0
    reg_s = np.round(
        rng.uniform(0, 10_000, n_tg)[:, None]
        + np.concatenate([np.zeros((n_tg, 1)), np.cumsum(supply, axis=1)], axis=1),
        2,
    )
    fed = np.zeros((n_feeder, n_days))
    np.add.at(fed, np.arange(n_tg) // TG_PER_FEEDER, supply * 80.0)
    reg_f = np.round(
        np.concatenate([np.zeros((n_feeder, 1)), np.cumsum(fed * 1.03 / 1000.0, axis=1)], axis=1), 2
    )
    reg = np.concatenate([reg_c, reg_s, reg_f])

    # glitches on customers: stray zeros and jumps
    n_cells = n_cust * k
    for frac, what in ((0.0005, "zero"), (0.0005, "jump")):
        idx = rng.choice(n_cells, int(n_cells * frac), replace=False)
        m, j = np.divmod(idx, k)
        reg[m, j] = 0.0 if what == "zero" else reg[m, j] + 5_000.0
    present = rng.random((n_meters, k)) >= 0.002

    addresses = pc.utf8_lpad(pc.cast(pa.array(201_000_000_000 + np.arange(n_meters)), pa.string()), 12, "0")
    labels = np.array(["resident", "commercial", "industrial"])
    meters = pa.table(
        {
            "meter": addresses,
            "multiplier": np.concatenate([mult_c, np.full(n_tg, 80.0), np.full(n_feeder, 1000.0)]),
            "customer_class": pa.array(np.concatenate([labels[cls], np.full(n_tg + n_feeder, "")])),
            "capacity_kva": np.concatenate([capacity, np.full(n_tg, 630.0), np.full(n_feeder, np.nan)]),
            "forward_only": np.concatenate([fwd_only, np.zeros(n_tg + n_feeder, bool)]),
            "tg": pc.if_else(
                pa.array(tg >= 0),
                pc.binary_join_element_wise("TG", pc.cast(pa.array(tg), pa.string()), ""),
                pa.nulls(n_meters, pa.string()),
            ),
            "role": pa.array(np.array(["customer", "supply", "feeder"])[role]),
            "rollover_kwh": np.full(n_meters, 999_999.99),
            "feeder": pc.binary_join_element_wise("F", pc.cast(pa.array(feeder), pa.string()), ""),
            "org": pc.binary_join_element_wise("ORG", pc.cast(pa.array(org), pa.string()), ""),
            "terminal": pa.nulls(n_meters, pa.string()),
            "tg_kind": pa.nulls(n_meters, pa.string()),  # every 台区 public (公变)
        }
    ).cast(METERS_SCHEMA)

    first = day_number(START)
    parts = []
    # total forward register, day-major like a day-partitioned lake
    mi = np.tile(np.arange(n_meters), k)
    ji = np.repeat(np.arange(k), n_meters)
    keep = present.T.ravel()
    parts.append((mi[keep], ji[keep], reg.T.ravel()[keep], DI_FWD_ACTIVE))
    del mi, ji, keep
    # reverse registers of forward-only customers; a tenth of them advance
    rev_m = np.flatnonzero(fwd_only)
    rev = np.round(np.cumsum(np.where(rng.random((rev_m.size, k)) < 0.1, 0.5, 0.0), axis=1), 2)
    parts.append((np.tile(rev_m, k), np.repeat(np.arange(k), rev_m.size), rev.T.ravel(), DI_REV_ACTIVE))
    # tariff registers on the last freeze
    total_last = reg[:, -1]
    shares = rng.dirichlet(np.ones(4), n_meters)
    t = np.floor(total_last[:, None] * shares[:, :3] * 100) / 100
    t4 = np.round(total_last - t.sum(axis=1), 2)
    t4[rng.random(n_meters) < 0.001] += 1.0
    for i, di in enumerate(DI_FWD_ACTIVE_TARIFFS):
        vals = t[:, i] if i < 3 else t4
        parts.append((np.arange(n_meters), np.full(n_meters, k - 1), vals, di))

    mi = np.concatenate([p[0] for p in parts])
    ji = np.concatenate([p[1] for p in parts])
    n = mi.size
    di_dict = pa.array([p[3] for p in parts], pa.string())
    di_idx = np.concatenate([np.full(p[0].size, i, np.int32) for i, p in enumerate(parts)])
    readings = pa.table(
        {
            "meter": addresses.take(pa.array(mi)),
            "di": di_dict.take(pa.array(di_idx)),
            "freeze_time": pa.array(freeze_us(first + ji)).cast(TIMESTAMP),
            "value": np.concatenate([p[2] for p in parts]),
            "version": pa.array(np.ones(n, np.int32)),
            "source": _repeat_text("actual", n),
        }
    )
    typical_t = pa.table({"meter": addresses.slice(0, n_cust), "typical_kwh": typical})
    return readings, meters, typical_t


def _rss_reset() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _phase(fn: Callable[[], Any]) -> tuple[Any, dict[str, float]]:
    """Run ``fn``: wall seconds, CPU seconds (user + system) and peak RSS of this phase alone."""
    reset = _rss_reset()
    before = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return out, {
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu, 3),
        "peak_rss_mib": round(after.ru_maxrss / 1024, 1),
        "rss_at_start_mib": round(before.ru_maxrss / 1024, 1),
        "peak_is_per_phase": reset,
    }


def run_scenario(n_meters: int, n_days: int, seed: int) -> dict[str, Any]:
    (readings, meters, typical), gen = _phase(lambda: generate(n_meters, n_days, seed))
    rows = readings.num_rows
    first, last = START, START + timedelta(days=n_days)
    use_typical = typical if n_days < 8 else None  # a short run takes the typical day from a nightly job

    def vee() -> tuple[Any, pa.Table]:
        grid = build_grid(readings, meters, first, last)
        return grid, run_vee(grid, first + timedelta(days=1), last, typical=use_typical)

    (grid, flags), vee_m = _phase(vee)

    def line_loss() -> pa.Table:
        return daily_line_loss(daily_energy(grid))

    loss, loss_m = _phase(line_loss)  # reuses the register advances VEE cached on the grid
    grid.cache.clear()
    _, cold_m = _phase(line_loss)  # the same from a cold grid: advances recomputed
    when = datetime(last.year, last.month, last.day, 6, tzinfo=BEIJING)
    estimates, est_m = _phase(lambda: estimate_gaps(grid, when=when))
    for m in (vee_m, loss_m, cold_m, est_m):
        m["rows_per_s"] = round(rows / m["seconds"]) if m["seconds"] else None
    rules = pc.value_counts(flags.column("rule")).to_pylist()
    statuses = pc.value_counts(loss.column("status")).to_pylist()
    total = vee_m["seconds"] + cold_m["seconds"]  # conservative: line loss from a cold grid
    return {
        "meters": n_meters,
        "days": n_days,
        "reading_rows": rows,
        "phases": {
            "generate": gen,
            "vee": vee_m,
            "daily_line_loss": loss_m,
            "daily_line_loss_cold": cold_m,
            "estimation": est_m,
        },
        "vee_plus_line_loss_s": round(total, 3),
        "vee_plus_line_loss_rows_per_s": round(rows / total) if total else None,
        "flags": {r["values"]: r["counts"] for r in rules},
        "tg_days": {s["values"]: s["counts"] for s in statuses},
        "estimated_rows": estimates.num_rows,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--meters", type=int, help="meters of a single scenario")
    ap.add_argument("--days", type=int, help="days of a single scenario")
    ap.add_argument("--seed", type=int, default=20240101)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(run_scenario(args.meters, args.days, args.seed)))
        return 0
    if (args.meters is None) != (args.days is None):
        ap.error("give both --meters and --days, or neither")
    scenarios = [(args.meters, args.days)] if args.meters else [(1_000_000, 1), (100_000, 365)]
    results = []
    for n_meters, n_days in scenarios:
        cmd = [
            sys.executable,
            os.path.abspath(__file__),
            "--child",
            "--meters",
            str(n_meters),
            "--days",
            str(n_days),
            "--seed",
            str(args.seed),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            results.append({"meters": n_meters, "days": n_days, "error": proc.stderr.strip()[-2000:]})
            continue
        res = json.loads(proc.stdout)
        if n_days == 1:
            res["goal_s"] = GOAL_S
            res["within_goal"] = res["vee_plus_line_loss_s"] <= GOAL_S
        results.append(res)
    print(
        json.dumps(
            {
                "benchmark": "mdm",
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "numpy": np.__version__,
                    "pyarrow": pa.__version__,
                },
                "scenarios": results,
            }
        )
    )
    return 0 if all("error" not in r for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
