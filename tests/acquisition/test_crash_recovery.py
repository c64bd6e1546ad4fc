"""Durability from outside, with real processes: the front-end is SIGKILLed in the middle of a run and
restarted on the same data directory; every reading it confirmed is in the export exactly once."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from gridcare.acquisition.station import StationSettings
from gridcare.timeutil import now_beijing

GRIDCARE = [sys.executable, "-m", "gridcare.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _lines(path: Path) -> int:
    return sum(1 for _ in path.open()) if path.exists() else 0


def _frontend(data: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*GRIDCARE, "serve", "frontend", "--port", str(port), "--data-dir", str(data)],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


@pytest.mark.slow
def test_sigkill_loses_no_confirmed_reading(tmp_path: Path) -> None:
    data, ledger, port = tmp_path / "d", tmp_path / "ledger.jsonl", _free_port()
    started = now_beijing().time()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    frontend = _frontend(data, port, tmp_path / "frontend.log")
    simulator = subprocess.Popen(
        [
            *GRIDCARE,
            "simulate",
            "--port",
            str(port),
            "--terminals",
            "20",
            "--meters-per-terminal",
            "60",
            "--days",
            "3",
            "--ledger",
            str(ledger),
            "--data-dir",
            str(data),
            "--idle-exit",
            "6",
            "--heartbeat-s",
            "5",
        ],
        stdout=(tmp_path / "simulate.log").open("wb"),
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 120
        while _lines(ledger) < 2000:
            assert time.monotonic() < deadline, (tmp_path / "simulate.log").read_text()
            assert simulator.poll() is None, (tmp_path / "simulate.log").read_text()
            time.sleep(0.2)
        frontend.send_signal(signal.SIGKILL)  # mid-run: confirmations in flight, write-ahead not flushed
        frontend.wait()
        confirmed_before_crash = _lines(ledger)
        frontend = _frontend(data, port, tmp_path / "frontend.log")
        simulator.wait(timeout=240)
    finally:
        simulator.kill()
        frontend.send_signal(signal.SIGTERM)
        frontend.wait(timeout=30)
    out = tmp_path / "export.parquet"
    subprocess.run([*GRIDCARE, "readings", "export", "--data-dir", str(data), "--out", str(out)], check=True)
    exported = Counter(
        (r["meter"], r["di"], r["freeze_time"].isoformat()) for r in pq.read_table(out).to_pylist()
    )
    lines = [json.loads(x) for x in ledger.read_text().splitlines()]
    assert confirmed_before_crash >= 2000
    # the meters hold 4 freezes (--days 3 and today's); today's is collected from 00:05 Beijing time
    today_due = {
        started >= StationSettings.collect_after,
        now_beijing().time() >= StationSettings.collect_after,
    }
    freezes = {x["freeze_time"] for x in lines}
    assert len(freezes) in {3 + due for due in today_due}, sorted(freezes)
    assert len({(x["meter"], x["di"], x["freeze_time"]) for x in lines}) == 20 * 61 * len(freezes) * 5
    assert all(exported[(x["meter"], x["di"], x["freeze_time"])] == 1 for x in lines)
