"""Benchmark of the master station's ingestion and connection handling. Prints one JSON object.

1. durable readings/s: AFN0D F161 reply frames (8 points x total + 4 tariffs = 40 readings each) are
   decoded, turned into readings and written through the group-committing ingestor (fsync'd write-ahead
   file) by many concurrent tasks, as the front-end does for many terminals at once;
   p50/p99 time from "reply frame received" to "durable".
2. connections: a front-end in this process; a client process opens N TCP connections, logs each
   terminal in and sends heartbeats; reports connections held, heartbeats confirmed and the front-end's
   resident memory per connection.

Usage: python bench/ingest.py [--quick] [--connections N] [--seconds S]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import resource
import socket
import statistics
import sys
import tempfile
import time
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from gridcare.acquisition.collection import readings_of
from gridcare.acquisition.directory import Directory, PointInfo, TerminalInfo
from gridcare.acquisition.frontend import FrontEnd
from gridcare.acquisition.ingest import Ingestor
from gridcare.protocols import gdw1376
from gridcare.protocols.gdw1376.model import UP, Address, Control, DataUnit, Gdw1376Frame, Seq, UnitItem
from gridcare.storage.frames import FrameArchive
from gridcare.storage.lake import ReadingsLake
from gridcare.timeutil import BEIJING

FREEZE_DAY = date(2026, 11, 23)


def _reply(area: str, number: int, pns: list[int], seq: int) -> bytes:
    items = [
        UnitItem(
            pn,
            161,
            {
                "td": "2026-11-22",
                "read_time": "2026-11-23 00:07",
                "tariff_count": 4,
                "forward_active_kwh": [
                    Decimal("1234.56") + pn,
                    Decimal("100.00"),
                    Decimal("200.00"),
                    Decimal("300.00"),
                    Decimal("634.56") + pn,
                ],
            },
        )
        for pn in pns
    ]
    frame = Gdw1376Frame(
        Control(UP, 0, 0, 0, 8),
        Address(area, number),
        0x0D,
        Seq(0, 1, 1, 1, seq),
        [DataUnit(pns, [161], items)],
    )
    return gdw1376.encode_frame(frame)


def _rss_kib() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def durable_rate(seconds: float, root: Path, paced_readings_per_s: float = 0) -> dict[str, object]:
    """Closed loop (as fast as possible) or, with ``paced_readings_per_s``, a steady offered load."""
    terminals = 500
    infos = [
        TerminalInfo(
            i, "3301", i, {pn: PointInfo(i * 1000 + pn, pn, f"3301{i:04d}{pn:04d}") for pn in range(1, 9)}
        )
        for i in range(1, terminals + 1)
    ]
    frames = {t.number: _reply("3301", t.number, list(range(1, 9)), t.number % 16) for t in infos}
    ingestor = Ingestor(ReadingsLake(root / "lake"), FrameArchive(root / "lake"))
    ingestor.start()
    front = FrontEnd(Directory(None), ingestor)  # type: ignore[arg-type]
    stop_at = time.monotonic() + seconds
    frames_done = 0

    async def terminal(info: TerminalInfo) -> None:
        nonlocal frames_done
        raw = frames[info.number]
        interval = terminals * 40 / paced_readings_per_s if paced_readings_per_s else 0.0
        if interval:
            await asyncio.sleep(interval * info.number / terminals)  # spread the terminals out
        while time.monotonic() < stop_at:
            began_at = time.monotonic()
            received = time.monotonic()
            frame = gdw1376.decode_frame(raw)
            ref = front.raw(raw, "up", "127.0.0.1:1", info.key)
            rows, _ok = readings_of(frame, info, FREEZE_DAY, ref.frame_id)
            await ingestor.write(rows, [ref], received)
            frames_done += 1
            if interval:
                await asyncio.sleep(max(0.0, interval - (time.monotonic() - began_at)))

    began = time.monotonic()
    await asyncio.gather(*(terminal(t) for t in infos))
    elapsed = time.monotonic() - began
    await ingestor.stop()
    lat = sorted(ingestor.latencies_s)
    return {
        "durable_readings_per_s": round(ingestor.durable_readings / elapsed),
        "frames_per_s": round(frames_done / elapsed),
        "concurrent_terminals": terminals,
        "offered_readings_per_s": paced_readings_per_s or "max",
        "p50_receive_to_durable_ms": round(1000 * statistics.median(lat), 2),
        "p99_receive_to_durable_ms": round(1000 * lat[int(0.99 * (len(lat) - 1))], 2),
        "seconds": round(elapsed, 2),
    }


def _clients(port: int, first: int, count: int, heartbeats: int, ready: mp.Queue) -> None:  # type: ignore[type-arg]
    """Open ``count`` connections, log each in, send heartbeats; report confirms received."""
    socks = []
    for n in range(first, first + count):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(gdw1376.build_login(Address("3301", n)))
        socks.append((n, s))
    confirmed = 0
    for s_n, s in socks:
        s.settimeout(30)
        confirmed += 1 if s.recv(64) else 0
        del s_n
    ready.put(("logged_in", confirmed))
    for round_ in range(heartbeats):
        for n, s in socks:
            s.sendall(gdw1376.build_heartbeat(Address("3301", n), (round_ + 1) % 16))
        got = 0
        for _n, s in socks:
            got += 1 if s.recv(64) else 0
        ready.put(("heartbeat", got))
    ready.put(("done", 0))
    ready.get() if False else time.sleep(2)
    for _n, s in socks:
        s.close()


async def connections(n: int, root: Path) -> dict[str, float]:
    directory = Directory(None)  # type: ignore[arg-type]
    directory.terminals = {("3301", i): TerminalInfo(i, "3301", i) for i in range(1, n + 1)}
    ingestor = Ingestor(ReadingsLake(root / "lake2"), FrameArchive(root / "lake2"))
    ingestor.start()
    front = FrontEnd(directory, ingestor)
    port = await front.start("127.0.0.1", 0)
    before = _rss_kib()
    ctx = mp.get_context("spawn")
    ready = ctx.Queue()
    per_proc = (n + 1) // 2
    procs = [
        ctx.Process(target=_clients, args=(port, 1 + k * per_proc, min(per_proc, n - k * per_proc), 3, ready))
        for k in range(2)
    ]
    for p in procs:
        p.start()
    logged = heartbeats = done = 0
    held_max = 0
    while done < len(procs):
        kind, value = await asyncio.to_thread(ready.get)
        if kind == "logged_in":
            logged += value
        elif kind == "heartbeat":
            heartbeats += value
        else:
            done += 1
        held_max = max(held_max, len(front.sessions))
    held_max = max(held_max, len(front.sessions))
    after = _rss_kib()
    for p in procs:
        p.join()
    await front.stop()
    await ingestor.stop()
    return {
        "connections_requested": n,
        "connections_held": held_max,
        "logins_confirmed": logged,
        "heartbeats_confirmed": heartbeats,
        "frontend_rss_per_connection_kib": round((after - before) / max(held_max, 1), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--connections", type=int, default=10000)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    if args.quick:
        args.connections, args.seconds = 200, 2.0
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        result: dict[str, object] = {
            "benchmark": "ingest",
            "cpu_count": os.cpu_count(),
            "at": datetime.now(BEIJING).isoformat(timespec="seconds"),
        }
        result["durable_max"] = asyncio.run(durable_rate(args.seconds, root / "max"))
        result["durable_at_25k_per_s"] = asyncio.run(durable_rate(args.seconds, root / "paced", 25000))
        result["connections"] = asyncio.run(connections(min(args.connections, hard - 200), root))
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
