"""Mutation fuzzing of both codecs, the protocol detector and the stream splitter (seeded, reproducible).

A corpus of valid frames covers every message type of both codecs (each DL/T 645 function and edition,
request, normal and abnormal reply, registry identifiers of every family, load-profile records; each
supported Q/GDW 1376.1 AFN/Fn in both directions, with Tp, EC and PW; AFN 10H carrying DL/T 645 frames).
Mutants get bit flips, byte overwrites, insertions, deletions, duplications and truncations, then -
most of the time - their length fields and checksums are fixed up so the mutation reaches the body
decoders instead of dying at the checksum. Every decode must return a frame whose contract JSON is
serialisable, or raise a FrameError subclass with a ``code`` string and an int-or-None ``position``
inside the buffer; a decoded object must encode back to bytes that decode again (or raise a FrameError).
The mutants are also concatenated and fed to a StreamSplitter in random chunk sizes; every frame it
yields is decoded under the same rule.

Reproduce a failure with the seed printed in the assertion message (``SEEDS`` x ``PER_SEED`` mutants).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from gridcare.protocols import dlt645 as d
from gridcare.protocols import gdw1376 as g
from gridcare.protocols.detect import decode_any, encode_any
from gridcare.protocols.dlt645 import REMOTE_COMMANDS, Value
from gridcare.protocols.dlt645.loadprofile import CLASSES, RECORD_TIME
from gridcare.protocols.dlt645.values import Field, is_missing, render_time
from gridcare.protocols.errors import FrameError
from gridcare.protocols.gdw1376 import formats as fm
from gridcare.protocols.gdw1376.registry import SPECS
from gridcare.protocols.stream import StreamSplitter

pytestmark = pytest.mark.slow

SEEDS = (1376, 645, 2013, 2007)
PER_SEED = 25_000  # 4 x 25,000 = 100,000 mutants

DIS_2007 = [
    "00000000", "00010000", "0001FF00", "000100FF", "00020300", "00030000", "00050000", "000A0000",
    "00150000", "003D0000", "01010000", "0101FF00", "01030000", "010100FF", "02010100", "0201FF00",
    "02020200", "0202FF00", "02030000", "0203FF00", "02040300", "0205FF00", "02060000", "0206FF00",
    "02070100", "02800001", "02800002", "02800007", "0280000A", "04000101", "04000102", "04000103",
    "04000401", "04000402", "04000409", "04000501", "040005FF", "00900100", "00900200", "00900201",
    "03300000", "03300001", "03300100", "03300101", "03300301", "03300401", "03300D00", "03300D01",
    "03300E05", "1D000001", "1D000101", "1D00FF01", "1E00FF0A", "10000001", "10000002", "10000101",
    "10000201", "10030002", "10020105", "05060001", "05060101", "0506013E", "05060201", "05060301",
    "05060901", "05061001", "05000101", "05010003", "05040001", "05040101", "05040202",
]  # fmt: skip
DIS_1997 = [
    "9010", "901F", "902F", "9110", "913F", "9410", "A010", "A01F", "B010", "B01F", "B611", "B61F", "B62F",
    "B630", "B63F", "B64F", "B65F", "C010", "C011", "C020", "C030", "C032",
]  # fmt: skip
LOAD_PROFILE_DIS = ["06000000", "06000001", "06000002", "06010001", "06030002"]
METERS = ["201000000012", "000000000001", "123456789012", "AAAAAA000012"]
TERMINALS = [g.Address("0171", 2082), g.Address("4401", 65535, 127, True), g.Address("1100", 1, 3)]
T0 = datetime(2018, 8, 28, 16, 18, 39)


# --- corpus ----------------------------------------------------------------------------------------------


def _moment(rng: random.Random) -> datetime:
    return T0 + timedelta(seconds=rng.randrange(0, 80 * 365 * 86400))


def field_value(rng: random.Random, item: Field) -> Any:
    """A valid value for one DL/T 645 field (None - the FFH filler - one time in eight)."""
    n = item.length
    if n and rng.random() < 0.125:
        return None
    if item.kind == "bcd":
        top = 8 * 10 ** (2 * n - 1) - 1 if item.signed else 10 ** (2 * n) - 1
        x = rng.randint(-top if item.signed else 0, top)
        return Decimal(x).scaleb(-item.decimals) if item.decimals else x
    if item.kind == "bin":
        while True:
            v = rng.randrange(256**n)
            if not is_missing(v.to_bytes(n, "little")):
                return v
    if item.kind == "digits":
        return "".join(rng.choice("0123456789") for _ in range(2 * n))
    if item.kind == "hex":
        while True:
            text = "".join(rng.choice("0123456789ABCDEF") for _ in range(2 * n))
            if not is_missing(bytes.fromhex(text)):
                return text
    t = _moment(rng)
    tokens = [item.fmt[i : i + 2] for i in range(0, len(item.fmt), 2)]
    attrs = {"YY": "year", "MM": "month", "DD": "day", "hh": "hour", "mm": "minute", "ss": "second"}
    return render_time(item.fmt, {tok: getattr(t, attrs[tok]) % 100 for tok in tokens})


def registry_values(rng: random.Random, di: str, edition: str) -> list[Value]:
    spec = (d.lookup_1997 if edition == d.PROTOCOL_1997 else d.lookup)(di)
    assert spec is not None, di
    groups = spec.groups
    if spec.variable:
        size = sum(f.length for f in groups[0])
        groups = groups[: rng.randint(1, min(len(groups), (255 - 5) // size))]
    return [Value(f.name, field_value(rng, f), f.unit) for grp in groups for f in grp]


def load_records(rng: random.Random) -> list[Value]:
    values: list[Value] = []
    for _ in range(rng.randint(1, 2)):
        values.append(Value(RECORD_TIME.name, field_value(rng, RECORD_TIME) or "2018-08-28 16:15"))
        for fields in CLASSES:
            if rng.random() < 0.6:
                values += [Value(f.name, field_value(rng, f), f.unit) for f in fields]
    return values


def dlt645_corpus(rng: random.Random) -> list[bytes]:
    """Valid DL/T 645 frames: every function of both editions, requests and replies."""
    out: list[bytes] = []
    for di in DIS_2007:
        a = rng.choice(METERS)
        out += [d.build_read_request(a, di), d.build_read_reply(a, di, registry_values(rng, di, "2007"))]
        out.append(d.build_read_follow_up_request(a, di, rng.randrange(256)))
        out.append(d.build_read_follow_up_reply(a, di, registry_values(rng, di, "2007"), rng.randrange(256)))
        if di.startswith("04"):
            out.append(d.build_write_request(a, di, registry_values(rng, di, "2007"), "02123456", "AB12CD34"))
    for di in DIS_1997:
        a = rng.choice(METERS)
        values = registry_values(rng, di, d.PROTOCOL_1997)
        out += [d.build_read_request(a, di), d.build_read_reply(a, di, values)]
        out += [d.build_read_follow_up_request(a, di), d.build_reread_reply(a, di, values, follow_up=True)]
    for di in LOAD_PROFILE_DIS:
        out.append(d.build_read_reply(METERS[0], di, load_records(rng)))
        start = T0 if di.endswith("01") else None
        out.append(d.build_read_request(METERS[0], di, block_count=rng.randint(1, 99), start_time=start))
    a = METERS[0]
    for edition in (d.PROTOCOL_2007, d.PROTOCOL_1997):
        out += [
            d.build_write_reply(a, edition),
            d.build_write_address_request("201000000099", edition),
            d.build_write_address_reply(a, edition),
            d.build_change_baud(a, 9600, edition),
            d.build_change_baud_reply(a, 2400, edition),
            d.build_change_password(a, "02000000", "04123456", edition),
            d.build_change_password_reply(a, "04123456", edition),
            d.build_demand_clear(a, protocol=edition),
            d.build_demand_clear_reply(a, edition),
        ]
    out += [
        d.build_reread_request(a),
        d.build_read_address_request(),
        d.build_read_address_reply(a),
        d.build_broadcast_time(T0),
        d.build_freeze(a, "99999999"),
        d.build_freeze(d.BROADCAST_ADDRESS, "9928" + "0000"),
        d.build_freeze_reply(a),
        d.build_meter_clear(a, "02000000"),
        d.build_meter_clear_reply(a),
        d.build_event_clear(a, "02000000", di="03300DFF"),
        d.build_event_clear_reply(a),
        d.build_remote_control_reply(a),
    ]
    out += [
        d.build_remote_control(a, cmd, T0, "02000000", "0000ABCD") for cmd in sorted(REMOTE_COMMANDS.values())
    ]
    for fn in (0x11, 0x12, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1B):
        out.append(d.build_abnormal_reply(a, fn, rng.randint(1, 255)))
    out.append(d.build_abnormal_reply(a, 0x1C, 0x0102))
    for fn in (0x01, 0x02, 0x04):
        out.append(d.build_abnormal_reply(a, fn, 0x02, d.PROTOCOL_1997))
    return out


def _nums(rng: random.Random, fmt: fm.Num, n: int) -> list[Decimal | None]:
    top = 8 * 10 ** (2 * fmt.length - 1) - 1 if fmt.signed else 10 ** (2 * fmt.length) - 1
    return [
        None
        if rng.random() < 0.1
        else Decimal(rng.randint(-top if fmt.signed else 0, top)).scaleb(-fmt.decimals)
        for _ in range(n)
    ]


ENERGY_KEYS = {
    33: ("forward_active_kwh", "forward_reactive_kvarh", "q1_reactive_kvarh", "q4_reactive_kvarh"),
    34: ("reverse_active_kwh", "reverse_reactive_kvarh", "q2_reactive_kvarh", "q3_reactive_kvarh"),
    129: ("forward_active_kwh",),
    131: ("reverse_active_kwh",),
}
FROZEN_BASE = {1: 33, 17: 33, 2: 34, 18: 34, 161: 129, 177: 129, 163: 131, 179: 131}


def energy(rng: random.Random, fn: int) -> dict[str, Any]:
    m = rng.randint(1, 8)
    out: dict[str, Any] = {"read_time": _moment(rng).strftime("%Y-%m-%d %H:%M"), "tariff_count": m}
    for key in ENERGY_KEYS[fn]:
        out[key] = _nums(rng, fm.A14 if key.endswith("active_kwh") else fm.A11, m + 1)
    return out


def class1_body(rng: random.Random, fn: int) -> dict[str, Any]:
    if fn == 2:
        clock = _moment(rng)
        return {"clock": clock.strftime("%Y-%m-%d %H:%M:%S"), "weekday": clock.isoweekday()}
    if fn == 25:
        return {
            "read_time": _moment(rng).strftime("%Y-%m-%d %H:%M"),
            "active_power_kw": _nums(rng, fm.A9, 4),
            "reactive_power_kvar": _nums(rng, fm.A9, 4),
            "power_factor_pct": _nums(rng, fm.A5, 4),
            "voltage_v": _nums(rng, fm.A7, 3),
            "current_a": _nums(rng, fm.A25, 3),
            "zero_sequence_current_a": _nums(rng, fm.A25, 1)[0],
            "apparent_power_kva": _nums(rng, fm.A9, 4),
        }
    return energy(rng, fn)


def erc_records(rng: random.Random) -> list[dict[str, Any]]:
    t = _moment(rng).strftime("%Y-%m-%d %H:%M")
    point = {"pn": rng.randrange(0x1000), "start": rng.random() < 0.5}
    return [
        {
            "erc": 1,
            "time": t,
            "init": True,
            "version_changed": False,
            "old_version": "V1.0",
            "new_version": "V1.1",
        },
        {"erc": 3, "time": t, "master_address": 7, "changed": [{"pn": [0], "fn": [1, 3]}]},
        {
            "erc": 10,
            "time": t,
            **point,
            "phases": ["A", "C"],
            "kind_code": 1,
            "voltage_v": _nums(rng, fm.A7, 3),
            "current_a": _nums(rng, fm.A25, 3),
            "forward_active_kwh": _nums(rng, fm.A14, 1)[0],
        },
        {"erc": 12, "time": t, **point},
        {"erc": 13, "time": t, **point, "battery_low": True, "power_off_count_changed": False},
        {"erc": 14, "power_off_time": t, "power_on_time": t},
        {"erc": 21, "time": t, "fault_code": rng.randrange(256)},
        {
            "erc": 37,
            "time": t,
            **point,
            "open_count": rng.randrange(10**6),
            "open_time": T0.strftime("%Y-%m-%d %H:%M:%S"),
            "close_time": None,
            "before": {"forward_active_kwh": _nums(rng, fm.A11, 1)[0]},
            "after": {"reverse_active_kwh": _nums(rng, fm.A11, 1)[0]},
        },
        {
            "erc": 40,
            "time": t,
            **point,
            "device_type": 1,
            "device_address": "201000000012",
            "anomaly_type": 2,
        },
    ]


def gdw1376_corpus(rng: random.Random, meter_frames: list[bytes]) -> list[bytes]:
    """Valid Q/GDW 1376.1 frames: every supported AFN/Fn, both directions, with Tp, EC and PW."""
    out: list[bytes] = []
    for addr in TERMINALS:
        tp = g.make_tp(rng.randrange(256), T0, rng.randrange(10))
        ec = (rng.randrange(256), rng.randrange(256))
        seq = rng.randrange(16)
        for fn in (1, 2, 3):
            out += [g.build_link(fn, addr, seq), g.build_link(fn, addr, seq, tp=tp, ec=ec)]
        out += [
            g.build_confirm(addr, seq, link=True),
            g.build_confirm(addr, seq, uplink=True, ec=ec),
            g.build_deny(addr, seq),
            g.build_deny(addr, seq, uplink=True, tp=tp),
            g.build_unit_confirm(addr, 0x0C, [([1], [129], True), ([1, 2, 3], [33, 34], False)], seq),
        ]
        for fn in (2, 25, 33, 34, 129, 131):
            pns = [0] if fn == 2 else [1, 2, 3, 4, 5, 6, 7, 8][: rng.randint(1, 8)]
            out.append(g.build_class1_request(addr, pns, [fn], seq, tp=tp if rng.random() < 0.5 else None))
            items = [(0 if fn == 2 else p, fn, class1_body(rng, fn)) for p in pns[:3]]
            out.append(g.build_class1_reply(addr, items, seq, ec=ec if rng.random() < 0.5 else None))
        for fn, base in FROZEN_BASE.items():
            daily = fn in (1, 2, 161, 163)
            td = "2018-08-27" if daily else "2018-07"
            out.append(g.build_class2_request(addr, [1, 2, 3, 4, 5, 6, 7, 8], [fn], td, seq))
            items = [(p, fn, {"td": td, **energy(rng, base)}) for p in range(1, rng.randint(2, 9))]
            out.append(g.build_class2_reply(addr, items, seq, tp=tp if rng.random() < 0.5 else None))
        for fn in (1, 2):
            events = erc_records(rng)
            out.append(g.build_event_request(addr, fn, 0, len(events), seq))
            out.append(g.build_event_reply(addr, fn, 9, 3, 0, events, seq, ec=ec))
        out += [
            g.build_remote_trip(addr, [1, 2], alarm_delay_min=5, trip_duration_half_h=2, seq=seq),
            g.build_allow_close(addr, [1], seq=seq, tp=tp),
            g.build_control(addr, 25, [0], {"duration_half_h": 4}, seq),
            g.build_control(addr, 26, [0], {"alarm_hours": [0, 8, 23]}, seq),
            g.build_clock_set(addr, _moment(rng), seq=seq, pw=bytes(range(16))),
        ]
        out += [g.build_control(addr, fn, [0], None, seq) for fn in (29, 33, 34, 37, 38, 39)]
        for meter in rng.sample(meter_frames, 6):
            content = b"\xfe" * rng.randint(0, 4) + meter
            out.append(g.build_forward_request(addr, content, baud=rng.choice([1200, 2400, 9600]), seq=seq))
            out.append(g.build_forward_reply(addr, 1, content, seq))
        out.append(g.build_forward_reply(addr, 2, b"", seq))
        out.append(g.build_forward_request(addr, bytes(range(10)), parity="odd", seq=seq))
    return out


# --- mutation ----------------------------------------------------------------------------------------------

INTERESTING = (0x00, 0xFF, 0xEE, 0x68, 0x16, 0xFE, 0x99, 0xAA, 0xA0, 0xE5, 0x33, 0x32, 0x7F, 0x80)


def _body_range(data: bytearray, gdw: bool) -> tuple[int, int]:
    """The span worth mutating most: the data units (1376.1) or the data field (DL/T 645)."""
    if gdw:
        return 14, max(15, len(data) - 2)
    i = 0
    while i < len(data) and data[i] == 0xFE:
        i += 1
    return i + 10, max(i + 11, len(data) - 2)


def fix_up(data: bytearray, gdw: bool, rng: random.Random) -> None:
    """Make the length fields, start/end bytes and checksum agree with the mutated bytes (some or all)."""
    fix_length, fix_checksum = rng.random() < 0.9, rng.random() < 0.9
    if gdw:
        if len(data) < 16:
            return
        user = len(data) - 8
        if fix_length and user <= 0x3FFF:
            proto = data[1] & 0x03 if data[1] & 0x03 in (1, 2) else 2
            lf = (user << 2 | proto).to_bytes(2, "little")
            data[1:3] = lf
            data[3:5] = lf
            data[0] = data[5] = 0x68
        if fix_checksum:
            data[-2] = sum(data[6:-2]) & 0xFF
            data[-1] = 0x16
        return
    i = 0
    while i < len(data) and data[i] == 0xFE:
        i += 1
    if len(data) < i + 12:
        return
    n = len(data) - i - 12
    if fix_length and n <= 0xFF:
        data[i + 9] = n
        data[i] = data[i + 7] = 0x68
    if fix_checksum:
        data[-2] = sum(data[i:-2]) & 0xFF
        data[-1] = 0x16


def mutate(frame: bytes, gdw: bool, rng: random.Random) -> bytes:
    data = bytearray(frame)
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 5))):
        if not data:
            break
        lo, hi = _body_range(data, gdw)
        in_body = rng.random() < 0.7 and hi <= len(data)
        pos = rng.randrange(lo, hi) if in_body and lo < hi else rng.randrange(len(data))
        pos = min(pos, len(data) - 1)
        op = rng.random()
        if op < 0.30:
            data[pos] ^= 1 << rng.randrange(8)
        elif op < 0.55:
            data[pos] = rng.choice(INTERESTING) if rng.random() < 0.5 else rng.randrange(256)
        elif op < 0.70:
            data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
        elif op < 0.85:
            del data[pos : pos + rng.randint(1, 4)]
        elif op < 0.93:
            start = rng.randrange(len(data))
            data[pos:pos] = data[start : start + rng.randint(1, 8)]
        else:
            del data[rng.randrange(len(data)) :]
    if rng.random() < 0.8:
        fix_up(data, gdw, rng)
    return bytes(data)


# --- the contract ------------------------------------------------------------------------------------------


@dataclass
class Tally:
    decoded: int = 0
    rejected: int = 0
    failures: list[str] = field(default_factory=list)

    def fail(self, what: str) -> None:
        if len(self.failures) < 10:
            self.failures.append(what)


def check(
    decode: Callable[[bytes], dict[str, Any]], data: bytes, tally: Tally, label: str, reencode: bool = True
) -> None:
    """``decode`` returns a JSON-serialisable object or raises a well-formed FrameError, nothing else."""
    try:
        obj = decode(data)
    except FrameError as exc:
        tally.rejected += 1
        position = exc.position
        if not isinstance(exc.code, str) or not exc.code:
            tally.fail(f"{label} {data.hex()}: code {exc.code!r}")
        if position is not None and (
            isinstance(position, bool) or not isinstance(position, int) or not 0 <= position <= len(data)
        ):
            tally.fail(f"{label} {data.hex()}: position {position!r} outside 0..{len(data)} ({exc})")
        return
    except Exception as exc:
        tally.fail(f"{label} {data.hex()}: {type(exc).__name__}: {exc}")
        return
    tally.decoded += 1
    try:
        text = json.dumps(obj, allow_nan=False)
    except (TypeError, ValueError) as exc:
        tally.fail(f"{label} {data.hex()}: JSON contract not serialisable: {exc}")
        return
    if not reencode:
        return
    # what the decoder printed, the encoder takes back: bytes that decode again, or a FrameError
    try:
        again = encode_any(json.loads(text))
    except FrameError:
        return
    except Exception as exc:
        tally.fail(f"{label} {data.hex()}: re-encoding raised {type(exc).__name__}: {exc}")
        return
    try:
        decode_any(again)
    except Exception as exc:
        tally.fail(f"{label} {data.hex()}: re-encoded as {again.hex()}, which does not decode: {exc}")


def test_the_oracle_flags_foreign_exceptions_bad_positions_and_unserialisable_json() -> None:
    def crash(data: bytes) -> dict[str, Any]:
        raise IndexError("index out of range")

    def far(data: bytes) -> dict[str, Any]:
        raise FrameError("past the end", len(data) + 1)

    def fine(data: bytes) -> dict[str, Any]:
        raise FrameError("no position")

    tally = Tally()
    check(crash, b"\x68", tally, "crash")
    check(far, b"\x68\x00", tally, "far")
    check(lambda data: {"value": Decimal(1)}, b"\x68", tally, "json")
    check(fine, b"\x68", tally, "fine")
    assert [f.split(":")[0] for f in tally.failures] == ["crash 68", "far 6800", "json 68"]
    assert (tally.decoded, tally.rejected) == (1, 2)


def decode_gdw(data: bytes) -> dict[str, Any]:
    return g.frame_to_json(g.decode_frame(data))


def decode_dlt(data: bytes) -> dict[str, Any]:
    return d.frame_to_json(d.decode_frame(data))


@pytest.fixture(scope="module")
def corpus() -> tuple[list[bytes], list[bytes]]:
    rng = random.Random(0)
    meters = dlt645_corpus(rng)
    terminals = gdw1376_corpus(rng, meters)
    return meters, terminals


def test_corpus_is_valid_and_covers_every_message_type(corpus: tuple[list[bytes], list[bytes]]) -> None:
    meters, terminals = corpus
    dlt = [d.decode_frame(f) for f in meters]
    gdw = [g.decode_frame(f) for f in terminals]
    assert all(f.warnings == () for f in dlt)
    # only the raw (non-DL/T 645) forwarded content warns, once per terminal
    raw_warning = "AFN10 F1 p0: forwarded bytes are not a DL/T 645 frame; kept as raw hex"
    assert [w for f in gdw for w in f.warnings] == [raw_warning] * len(TERMINALS)
    functions = {(f.protocol, f.function, f.direction, f.abnormal) for f in dlt}
    expected_2007 = {0x08, *range(0x11, 0x1D)}
    assert {fn for p, fn, _, _ in functions if p == d.PROTOCOL_2007} == expected_2007
    assert {fn for p, fn, _, _ in functions if p == d.PROTOCOL_1997} == {
        0x01,
        0x02,
        0x03,
        0x04,
        0x0A,
        0x0C,
        0x0F,
        0x10,
    }
    assert {(fn, direction) for p, fn, direction, ab in functions if p == d.PROTOCOL_2007 and not ab} >= {
        (fn, "reply") for fn in range(0x11, 0x1D)
    }
    pairs = {(f.afn, fn, f.control.direction) for f in gdw for u in f.units for fn in u.fn}
    for afn, fn in SPECS:
        assert (afn, fn, 0) in pairs or (afn, fn, 1) in pairs, (afn, fn)
    forwarded = [item.data["forwarded"] for f in gdw if f.afn == 0x10 for u in f.units for item in u.items]
    assert sum(x is not None for x in forwarded) == 3 * 12


@pytest.mark.parametrize("seed", SEEDS)
def test_mutated_frames_decode_or_raise_frame_errors(
    seed: int, corpus: tuple[list[bytes], list[bytes]]
) -> None:
    meters, terminals = corpus
    rng = random.Random(seed)
    tally = Tally()
    streams: dict[bool, list[bytes]] = {True: [], False: []}
    for n in range(PER_SEED):
        kind = rng.random()
        if kind < 0.45:
            gdw, frame = True, rng.choice(terminals)
            mutant = mutate(frame, True, rng)
        elif kind < 0.55:  # a mutated DL/T 645 frame inside an intact AFN 10H frame: the nested decoder
            inner = mutate(rng.choice(meters), False, rng)
            gdw = True
            mutant = g.build_forward_reply(rng.choice(TERMINALS), 1, inner, n & 0x0F)
        else:
            gdw, frame = False, rng.choice(meters)
            if rng.random() < 0.2:
                frame = b"\xfe" * rng.randint(1, 4) + frame
            mutant = mutate(frame, False, rng)
        check(
            decode_gdw if gdw else decode_dlt, mutant, tally, f"seed {seed} #{n} {'1376' if gdw else '645'}"
        )
        if n % 4 == 0:
            check(decode_any, mutant, tally, f"seed {seed} #{n} detect", reencode=False)
        streams[gdw].append(mutant)
        if rng.random() < 0.1:
            streams[gdw].append(bytes(rng.randrange(256) for _ in range(rng.randint(1, 6))))
    assert tally.failures == []
    # with checksums fixed up most of the time, a good share of mutants reaches a decoded frame
    assert tally.decoded > PER_SEED // 10, tally
    assert tally.rejected > PER_SEED // 10, tally

    for gdw, parts in streams.items():
        stream = b"".join(parts)
        splitter = StreamSplitter(g.frame_length if gdw else d.frame_length)
        frames: list[bytes] = []
        i = 0
        while i < len(stream):
            step = rng.randint(1, 300)
            frames += splitter.feed(stream[i : i + step])
            i += step
        assert splitter.garbage_bytes + sum(map(len, frames)) + splitter.pending == len(stream)
        assert len(frames) > len(parts) // 10
        for k, f in enumerate(frames):
            assert f[0] == 0x68 and f[-1] == 0x16
            check(
                decode_gdw if gdw else decode_dlt,
                f,
                tally,
                f"seed {seed} stream {'1376' if gdw else '645'} #{k}",
                reencode=False,
            )
        assert tally.failures == []
