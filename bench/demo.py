"""Benchmark `gridcare demo init`: build and insert the demo utility into a temporary SQLite data directory.

    .venv/bin/python bench/demo.py [--customers 100000] [--seed 1]

Prints one JSON object: wall seconds (total, build, insert) and this process's CPU seconds (steadier on a
busy machine), rows per table, customers per second, and the process's peak resident memory [MiB].
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

from gridcare.archives.demo import generate_demo
from gridcare.config import load_settings
from gridcare.storage.database import open_database


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="gridcare-bench-demo-") as tmp:
        database = open_database(load_settings(environ={}, data_dir=Path(tmp)))
        started, cpu_started = time.perf_counter(), time.process_time()
        summary = generate_demo(database.sessions, args.customers, args.seed)
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
        db_bytes = sum(p.stat().st_size for p in Path(tmp).glob("gridcare.db*"))
        database.dispose()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {
        "benchmark": "demo_init",
        "customers": args.customers,
        "seed": args.seed,
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu_seconds, 3),
        "build_seconds": round(summary.build_seconds, 3),
        "insert_seconds": round(summary.insert_seconds, 3),
        "customers_per_second": round(args.customers / seconds, 1),
        "rows": summary.counts,
        "rows_total": sum(summary.counts.values()),
        "database_mib": round(db_bytes / 2**20, 1),
        "peak_rss_mib": round(peak_kib / 1024, 1),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }


if __name__ == "__main__":
    json.dump(main(), sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
