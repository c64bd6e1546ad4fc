"""Benchmark of the protocol codecs: frames/s on a master station's daily collection mix, and DL/T 645
decoding against the PyPI ``dlt645`` package (3.2.0, test-only dependency) on the same frames, same run.

Prints one JSON object.

    .venv/bin/python bench/codec.py              # >= 1 s per measurement, best of 3
    .venv/bin/python bench/codec.py --quick      # a short run (CI smoke)
    .venv/bin/python bench/codec.py --profile    # adds cProfile hot spots (file:function, % of time)

Timings on a shared machine move with its load; instruction counts do not. ``--loop`` runs one decoder
over one frame set N times and prints nothing, for valgrind (the difference to ``--loop none`` is the
decoding; divide by N x 400 frames):

    valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        .venv/bin/python bench/codec.py --loop ours --set meter --iterations 10    # also: peer, none

Workload (seeded, built in-process with our encoders; every frame is checked to decode before timing):

* decode mix, uplink as a front-end sees it on a daily collection round: AFN 10H F1 forward replies each
  carrying a DL/T 645-2007 reply to 05060101 (last daily freeze, forward active total + 4 tariffs) after
  FE FE FE FE; AFN 0DH F161 replies for 8 points (daily frozen forward active energy, 4 tariffs);
  heartbeats; logins. Decoding = ``gdw1376.decode_frame`` (typed frame; the nested DL/T 645 frame of each
  forward reply is decoded too); ``decode_any`` + JSON is measured as well.
* encode mix, downlink: AFN 0DH F161 requests for 8 points, and AFN 10H F1 forward requests carrying a
  DL/T 645 read request for 05060101 (built with the DL/T 645 encoder, then framed).
* DL/T 645: ours = ``dlt645.decode_frame`` (framing, checksum, address, identifier and values) - the
  native module ``dlt645._accel`` (C, built by setup.py) in front of the Python decoder; ``ours_python_fps``
  is the Python decoder alone (``codec.decode_frame_py``, what an install without a C compiler runs). The
  peer = ``DLT645Protocol.deserialize`` (framing, checksum, 33H removal) then
  ``MeterClientService.handle_response`` (its value decoding, with the client's address set to the
  frame's so address validation passes). The peer does not know the 05 06 .. identifiers, so on the mix
  frames ``handle_response`` stops at the registry look-up; a second set (00010000 total energy replies,
  which it does decode) is measured too.

Fairness notes (what each side's figure contains):

* Ours decodes every frame completely on both sets: framing, checksum, BCD address, identifier, registry
  entry and every item as a typed ``Value`` (``Decimal`` with its exponent, built when the frame is
  decoded, not when it is read). The fast paths it takes for well-formed read replies (the native module;
  ``gridcare.protocols.fastbcd``, ``dlt645.fast`` in Python) return exactly what the fully checking
  decoder returns - ``tests/protocols/test_fast_paths.py`` and ``test_native_decoder.py`` compare them on
  the fuzz corpus, its mutants and random fields of every item kind - and hand every anomaly to that
  checking decoder. Nothing is cached per frame or per value: only per-identifier layouts (and, natively,
  the identifier's text per identifier and data length) and per-byte tables, which do not depend on the
  data.
* On the 05060101 set the peer does less than ours (no values: it does not know the identifier), so that
  ratio understates ours; the 00010000 set is the like-for-like comparison (one value each side).
* The peer is measured as shipped: roughly a third to a half of its time goes to debug-log messages that
  it formats with f-strings even though its logging is off (``Frame.__repr__``, ``bytes_to_spaced_hex``).
  That is a real cost of using it, so it is left in.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import random
import sys
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import partial
from typing import Any

from gridcare.protocols import dlt645, gdw1376
from gridcare.protocols.detect import decode_any
from gridcare.protocols.dlt645.codec import _accel as native_module
from gridcare.protocols.dlt645.codec import decode_frame_py

GOAL_RATIO = 10.0
SEED = 20240101
N_TERMINALS = 50
METERS_PER_TERMINAL = 8
TD = "2024-01-01"
READ_TIME = "2024-01-02 00:05"


# --- workload -------------------------------------------------------------------------------------------


def _kwh(rng: random.Random) -> Decimal:
    return Decimal(rng.randrange(0, 24_999_999)).scaleb(-2)  # [kWh], the sum of 4 fits XXXXXX.XX


def _tariffs(rng: random.Random) -> list[Decimal]:
    parts = [_kwh(rng) for _ in range(4)]
    return [sum(parts, Decimal(0)), *parts]


def forward_read(address: gdw1376.Address, meter: str, seq: int) -> bytes:
    """AFN 10H F1 forward request carrying FE FE FE FE + a DL/T 645 read of 05060101 (both encoded here)."""
    request = dlt645.build_read_request(meter, "05060101")
    return gdw1376.build_forward_request(address, b"\xfe" * 4 + request, seq=seq)


def workload(seed: int = SEED) -> dict[str, Any]:
    """The frames of one collection round of ``N_TERMINALS`` terminals with 8 meters each."""
    rng = random.Random(seed)
    terminals = [gdw1376.Address(f"{4401 + i // 100:04d}", 1000 + i) for i in range(N_TERMINALS)]
    uplink: list[bytes] = []
    downlink: list[Callable[[], bytes]] = []
    meter_replies: list[bytes] = []
    energy_replies: list[bytes] = []
    counts = {"afn10_forward_reply": 0, "afn0d_f161_reply_8_points": 0, "heartbeat": 0, "login": 0}
    for t, address in enumerate(terminals):
        seq = t & 0x0F
        uplink.append(gdw1376.build_login(address, seq))
        counts["login"] += 1
        meters = [f"{2010_0000_0000 + t * METERS_PER_TERMINAL + k:012d}" for k in range(METERS_PER_TERMINAL)]
        for meter in meters:
            reply = dlt645.build_read_reply(meter, "05060101", _tariffs(rng))
            meter_replies.append(reply)
            energy_replies.append(dlt645.build_read_reply(meter, "00010000", [_kwh(rng)]))
            uplink.append(gdw1376.build_forward_reply(address, 1, b"\xfe" * 4 + reply, seq))
            counts["afn10_forward_reply"] += 1
            downlink.append(partial(forward_read, address, meter, seq))
        items = [
            (
                p,
                161,
                {"td": TD, "read_time": READ_TIME, "tariff_count": 4, "forward_active_kwh": _tariffs(rng)},
            )
            for p in range(1, 9)
        ]
        uplink.append(gdw1376.build_class2_reply(address, items, seq))
        counts["afn0d_f161_reply_8_points"] += 1
        downlink.append(partial(gdw1376.build_class2_request, address, range(1, 9), [161], TD, seq))
        for _ in range(4):  # heartbeats over the round
            uplink.append(gdw1376.build_heartbeat(address, seq))
            counts["heartbeat"] += 1
    rng.shuffle(uplink)
    return {
        "uplink": uplink,
        "downlink": downlink,
        "meter_replies": meter_replies,
        "energy_replies": energy_replies,
        "counts": counts,
    }


def check_workload(w: dict[str, Any]) -> None:
    """Every frame decodes cleanly (we time decoding, not error paths); the peer parses the meter frames."""
    from dlt645 import DLT645Protocol

    for raw in w["uplink"]:
        frame = gdw1376.decode_frame(raw)
        if frame.warnings:
            raise SystemExit(f"workload frame {raw.hex()} decodes with warnings {frame.warnings}")
        if frame.afn == 0x10 and frame.units[0].items[0].data["forwarded"] is None:
            raise SystemExit(f"forwarded DL/T 645 frame not decoded in {raw.hex()}")
    for build in w["downlink"]:
        gdw1376.decode_frame(build())
    for raw in w["meter_replies"] + w["energy_replies"]:
        ours = dlt645.decode_frame(raw)
        theirs = DLT645Protocol.deserialize(raw)
        if theirs is None or bytes(theirs.data) != ours.payload:
            raise SystemExit(f"the peer parses {raw.hex()} differently")


# --- timing ---------------------------------------------------------------------------------------------


def rate(batch: Callable[[], int], min_time: float, repeats: int) -> float:
    """Best of ``repeats`` of: run ``batch`` (returns the frames it handled) until ``min_time`` passes."""
    best = 0.0
    for _ in range(repeats):
        frames = 0
        start = time.perf_counter()
        while True:
            frames += batch()
            elapsed = time.perf_counter() - start
            if elapsed >= min_time:
                break
        best = max(best, frames / elapsed)
    return best


def decoder(frames: Sequence[bytes], decode: Callable[[bytes], object]) -> Callable[[], int]:
    def batch() -> int:
        for raw in frames:
            decode(raw)
        return len(frames)

    return batch


def encoder(builds: Sequence[Callable[[], bytes]]) -> Callable[[], int]:
    def batch() -> int:
        for build in builds:
            build()
        return len(builds)

    return batch


def _decode_to_json(raw: bytes) -> str:
    return json.dumps(decode_any(raw), ensure_ascii=False)


def peer_decoders() -> tuple[Callable[[bytes], object], Callable[[bytes], object]]:
    """(deserialize only, deserialize + handle_response) of the ``dlt645`` package."""
    from dlt645 import DLT645Protocol
    from dlt645.service.clientsvc.client_service import MeterClientService

    client = MeterClientService(None)  # no transport: only its decoding is used
    deserialize = DLT645Protocol.deserialize

    def full(raw: bytes) -> object:
        frame = deserialize(raw)
        assert frame is not None
        client.address = frame.addr  # as a client talking to this meter would hold
        return client.handle_response(frame)

    return deserialize, full


def dlt645_comparison(frames: Sequence[bytes], min_time: float, repeats: int) -> dict[str, Any]:
    peer_deserialize, peer_full = peer_decoders()
    ours = rate(decoder(frames, dlt645.decode_frame), min_time, repeats)
    ours_python = rate(decoder(frames, decode_frame_py), min_time, repeats)
    theirs = rate(decoder(frames, peer_full), min_time, repeats)
    theirs_framing = rate(decoder(frames, peer_deserialize), min_time, repeats)
    return {
        "frames": len(frames),
        "ours_decoder": "native" if native_module is not None else "python (no native module built)",
        "ours_fps": round(ours),
        "ours_python_fps": round(ours_python),
        "peer_fps": round(theirs),
        "peer_deserialize_only_fps": round(theirs_framing),
        "ratio": round(ours / theirs, 3),
        "ratio_vs_deserialize_only": round(ours / theirs_framing, 3),
    }


# --- profile --------------------------------------------------------------------------------------------


def hot_spots(batch: Callable[[], int], seconds: float, top: int = 12) -> list[dict[str, Any]]:
    """cProfile of ``batch`` for about ``seconds``: the functions with the most own time.

    Percentages are of the profiled wall time (own: in the function itself; cum: with its callees).
    """
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    while time.perf_counter() - start < seconds:
        batch()
    profiler.disable()
    wall = time.perf_counter() - start
    raw: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    rows = []
    for (filename, line, name), (_, calls, tottime, cumtime, _) in raw.items():
        short = filename
        for marker in ("/src/", "/site-packages/"):
            if marker in filename:
                short = filename.split(marker, 1)[1]
        rows.append(
            {
                "function": f"{short}:{line}:{name}",
                "own_pct": round(100 * tottime / wall, 1),
                "cum_pct": round(100 * cumtime / wall, 1),
                "calls": calls,
            }
        )
    rows.sort(key=lambda r: r["own_pct"], reverse=True)
    return rows[:top]


def cumulative_spots(
    batch: Callable[[], int], seconds: float, prefix: str, top: int = 12
) -> list[dict[str, Any]]:
    """Like :func:`hot_spots`, ranked by cumulative time, our own functions (path containing ``prefix``)."""
    rows = hot_spots(batch, seconds, top=10_000)
    ours = [r for r in rows if prefix in r["function"]]
    ours.sort(key=lambda r: r["cum_pct"], reverse=True)
    return ours[:top]


def decode_loop(which: str, frame_set: str, iterations: int) -> dict[str, Any]:
    """Decode the frames of ``frame_set`` ``iterations`` times with ``which`` (after one warm-up pass
    of both decoders, so that layouts and registries are built in every run, ``none`` included)."""
    frames = workload()["meter_replies" if frame_set == "meter" else "energy_replies"]
    _, peer = peer_decoders()
    for raw in frames:
        dlt645.decode_frame(raw)
        peer(raw)
    decode = {"ours": dlt645.decode_frame, "peer": peer, "none": None}[which]
    if decode is not None:
        batch = decoder(frames, decode)
        for _ in range(iterations):
            batch()
    return {}


# --- main -----------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="short run: 0.2 s per measurement, best of 2")
    parser.add_argument("--profile", action="store_true", help="add cProfile hot spots to the output")
    parser.add_argument("--loop", choices=["ours", "peer", "none"], help="only decode, for valgrind")
    parser.add_argument("--set", choices=["meter", "energy"], default="meter", help="frames of --loop")
    parser.add_argument("--iterations", type=int, default=10, help="passes over the frames of --loop")
    args = parser.parse_args(argv)
    if args.loop:
        return decode_loop(args.loop, args.set, args.iterations)
    min_time, repeats = (0.2, 2) if args.quick else (1.0, 3)

    w = workload()
    check_workload(w)
    uplink, downlink = w["uplink"], w["downlink"]
    out: dict[str, Any] = {
        "benchmark": "codec",
        "python": platform.python_version(),
        "machine": f"{platform.machine()} {os.cpu_count()} cpu",
        "quick": args.quick,
        "min_time_s": min_time,
        "best_of": repeats,
        "decode_mix": {
            "frames": len(uplink),
            "bytes_avg": round(sum(map(len, uplink)) / len(uplink), 1),
            "counts": w["counts"],
            "fps": round(rate(decoder(uplink, gdw1376.decode_frame), min_time, repeats)),
            "to_json_fps": round(rate(decoder(uplink, _decode_to_json), min_time, repeats)),
        },
        "encode_mix": {
            "frames": len(downlink),
            "counts": {"afn10_forward_request_dlt645_read": N_TERMINALS * METERS_PER_TERMINAL},
            "fps": round(rate(encoder(downlink), min_time, repeats)),
        },
    }
    out["encode_mix"]["counts"]["afn0d_f161_request_8_points"] = N_TERMINALS
    out["dlt645_vs_peer"] = {
        "frames_kind": "05060101 daily-freeze block replies (the mix's forwarded frames)",
        **dlt645_comparison(w["meter_replies"], min_time, repeats),
    }
    out["dlt645_vs_peer_energy"] = {
        "frames_kind": "00010000 total energy replies (the peer decodes their values)",
        **dlt645_comparison(w["energy_replies"], min_time, repeats),
    }
    ratio = out["dlt645_vs_peer"]["ratio"]
    out["goal"] = {"ratio_at_least": GOAL_RATIO, "met": ratio >= GOAL_RATIO}
    if args.profile:
        seconds = 1.0 if args.quick else 3.0
        meter_batch = decoder(w["meter_replies"], dlt645.decode_frame)
        out["profile"] = {
            "dlt645_decode_own_time": hot_spots(meter_batch, seconds),
            "dlt645_decode_cumulative": cumulative_spots(meter_batch, seconds, "gridcare/protocols"),
            "decode_mix_own_time": hot_spots(decoder(uplink, gdw1376.decode_frame), seconds),
            "encode_mix_own_time": hot_spots(encoder(downlink), seconds),
        }
    return out


if __name__ == "__main__":
    result = main()
    if result:
        json.dump(result, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
