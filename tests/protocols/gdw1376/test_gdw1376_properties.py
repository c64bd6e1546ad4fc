"""Property tests: encode -> decode is the identity for every message type; decoding random or mutated bytes
raises only FrameError (never another exception, never hangs)."""

from __future__ import annotations

import contextlib
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridcare.protocols import gdw1376 as g
from gridcare.protocols.errors import FrameError
from gridcare.protocols.gdw1376 import formats as fm
from gridcare.protocols.gdw1376.json_codec import to_jsonable

SETTINGS = settings(max_examples=120, deadline=2000, suppress_health_check=[HealthCheck.too_slow])

addresses = st.builds(
    g.Address,
    st.integers(0, 9999).map(lambda n: f"{n:04d}"),
    st.integers(0, 0xFFFF),
    st.integers(0, 127),
    st.booleans(),
)
seqs = st.integers(0, 15)
tps = st.none() | st.builds(
    g.Tp,
    st.integers(0, 255),
    st.integers(1, 31),
    st.integers(0, 23),
    st.integers(0, 59),
    st.integers(0, 59),
    st.integers(0, 255),
)
ecs = st.none() | st.tuples(st.integers(0, 255), st.integers(0, 255))
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31, 23, 59, 59))
minutes = moments.map(lambda d: d.strftime("%Y-%m-%d %H:%M"))
days = moments.map(lambda d: d.strftime("%Y-%m-%d"))
months = moments.map(lambda d: d.strftime("%Y-%m"))
seconds = moments.map(lambda d: d.strftime("%Y-%m-%d %H:%M:%S"))


def num(fmt: fm.Num) -> st.SearchStrategy[Decimal | None]:
    top = 8 * 10 ** (2 * fmt.length - 1) - 1 if fmt.signed else 10 ** (2 * fmt.length) - 1
    low = -top if fmt.signed else 0
    return st.none() | st.integers(low, top).map(lambda n: Decimal(n).scaleb(-fmt.decimals))


def nums(fmt: fm.Num, n: int) -> st.SearchStrategy[list[Decimal | None]]:
    return st.lists(num(fmt), min_size=n, max_size=n)


def check_roundtrip(raw: bytes) -> dict[str, Any]:
    """decode -> no warnings; JSON -> encode gives the same bytes; returns the JSON object."""
    frame = g.decode_frame(raw)
    assert frame.warnings == []
    obj = g.frame_to_json(frame)
    assert g.encode_from_json(json.loads(json.dumps(obj))) == raw
    return obj


def data_of(obj: dict[str, Any], unit: int = 0) -> dict[str, Any]:
    data: dict[str, Any] = obj["units"][unit]["data"]
    return data


@SETTINGS
@given(addresses, seqs, tps, ecs, st.sampled_from([1, 2, 3]))
def test_link_frames(
    address: g.Address, seq: int, tp: g.Tp | None, ec: tuple[int, int] | None, fn: int
) -> None:
    obj = check_roundtrip(g.build_link(fn, address, seq, tp=tp, ec=ec))
    assert obj["address"] == {
        "area": address.area,
        "terminal": address.terminal,
        "msa": address.msa,
        "group": address.group,
    }
    assert (obj["afn"], obj["units"][0]["fn"], obj["seq"]["seq"], obj["seq"]["con"]) == (2, [fn], seq, 1)
    assert (obj["tp"] is None) == (tp is None)
    assert obj.get("ec") == (None if ec is None else {"ec1": ec[0], "ec2": ec[1]})


pn_groups = st.integers(0, 254).flatmap(
    lambda grp: st.lists(st.integers(1, 8), min_size=1, max_size=8, unique=True).map(
        lambda bits: sorted(grp * 8 + b for b in bits)
    )
)
fn_groups = st.integers(0, 30).flatmap(
    lambda grp: st.lists(st.integers(1, 8), min_size=1, max_size=8, unique=True).map(
        lambda bits: sorted(grp * 8 + b for b in bits)
    )
)


@SETTINGS
@given(
    addresses,
    seqs,
    st.booleans(),
    st.integers(0, 255),
    st.lists(st.tuples(st.just([0]) | pn_groups, fn_groups, st.booleans()), max_size=6),
)
def test_confirm_deny(
    address: g.Address, seq: int, uplink: bool, afn: int, entries: list[tuple[list[int], list[int], bool]]
) -> None:
    for raw in (g.build_confirm(address, seq, uplink=uplink), g.build_deny(address, seq, uplink=uplink)):
        check_roundtrip(raw)
    obj = check_roundtrip(g.build_unit_confirm(address, afn, entries, seq, uplink=uplink))
    assert data_of(obj) == {"afn": afn, "entries": [{"pn": p, "fn": f, "ok": ok} for p, f, ok in entries]}


@SETTINGS
@given(
    addresses,
    seqs,
    st.lists(st.integers(1, 8), min_size=1, max_size=8, unique=True),
    st.integers(0, 15),
    st.integers(0, 15),
    seconds,
    st.binary(min_size=16, max_size=16),
    tps,
)
def test_control_commands(
    address: g.Address,
    seq: int,
    rounds: list[int],
    delay: int,
    duration: int,
    clock: str,
    pw: bytes,
    tp: g.Tp | None,
) -> None:
    rounds = sorted(rounds)
    obj = check_roundtrip(
        g.build_remote_trip(
            address, rounds, alarm_delay_min=delay, trip_duration_half_h=duration, seq=seq, pw=pw, tp=tp
        )
    )
    assert obj["units"][0]["pn"] == rounds and obj["pw"] == pw.hex()
    items = data_of(obj)["items"] if len(rounds) > 1 else [{"data": data_of(obj)}]
    assert all(i["data"] == {"trip_duration_half_h": duration, "alarm_delay_min": delay} for i in items)
    check_roundtrip(g.build_allow_close(address, rounds, seq=seq, pw=pw))
    obj = check_roundtrip(g.build_clock_set(address, clock, seq=seq, pw=pw))
    assert data_of(obj) == {"clock": clock, "weekday": datetime.fromisoformat(clock).isoweekday()}


@st.composite
def f25(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "read_time": draw(st.none() | minutes),
        "active_power_kw": draw(nums(fm.A9, 4)),
        "reactive_power_kvar": draw(nums(fm.A9, 4)),
        "power_factor_pct": draw(nums(fm.A5, 4)),
        "voltage_v": draw(nums(fm.A7, 3)),
        "current_a": draw(nums(fm.A25, 3)),
        "zero_sequence_current_a": draw(num(fm.A25)),
        "apparent_power_kva": draw(nums(fm.A9, 4)),
    }


FIELDS = {
    33: ("forward_active_kwh", "forward_reactive_kvarh", "q1_reactive_kvarh", "q4_reactive_kvarh"),
    34: ("reverse_active_kwh", "reverse_reactive_kvarh", "q2_reactive_kvarh", "q3_reactive_kvarh"),
    129: ("forward_active_kwh",),
    131: ("reverse_active_kwh",),
}


@st.composite
def energy(draw: st.DrawFn, fn: int) -> dict[str, Any]:
    m = draw(st.integers(1, 12))
    out: dict[str, Any] = {"read_time": draw(st.none() | minutes), "tariff_count": m}
    for key in FIELDS[fn]:
        out[key] = draw(nums(fm.A14 if key.endswith("active_kwh") else fm.A11, m + 1))
    return out


@SETTINGS
@given(addresses, seqs, ecs, tps, st.data())
def test_class1_replies(
    address: g.Address, seq: int, ec: tuple[int, int] | None, tp: g.Tp | None, data: st.DataObject
) -> None:
    items: list[tuple[int, int, dict[str, Any]]] = []
    for _ in range(data.draw(st.integers(1, 4))):
        pn = data.draw(st.integers(1, 2040))
        fn = data.draw(st.sampled_from([2, 25, 33, 34, 129, 131]))
        if fn == 2:
            clock = data.draw(seconds)
            body: dict[str, Any] = {"clock": clock, "weekday": datetime.fromisoformat(clock).isoweekday()}
        elif fn == 25:
            body = data.draw(f25())
        else:
            body = data.draw(energy(fn))
        items.append((pn, fn, body))
    obj = check_roundtrip(g.build_class1_reply(address, items, seq, ec=ec, tp=tp))
    for i, (pn, fn, body) in enumerate(items):
        assert (obj["units"][i]["pn"], obj["units"][i]["fn"]) == ([pn], [fn])
        assert data_of(obj, i) == to_jsonable(body)


@SETTINGS
@given(addresses, seqs, pn_groups, st.sampled_from([1, 2, 17, 18, 161, 163, 177, 179]), st.data())
def test_class2_requests_and_replies(
    address: g.Address, seq: int, pns: list[int], fn: int, data: st.DataObject
) -> None:
    daily = fn in (1, 2, 161, 163)
    td = data.draw(days if daily else months)
    obj = check_roundtrip(g.build_class2_request(address, pns, [fn], td, seq))
    items = data_of(obj)["items"] if len(pns) > 1 else [{"data": data_of(obj)}]
    assert [i["data"] for i in items] == [{"td": td}] * len(pns)
    base = {1: 33, 17: 33, 2: 34, 18: 34, 161: 129, 177: 129, 163: 131, 179: 131}[fn]
    body = {"td": td, **data.draw(energy(base))}
    obj = check_roundtrip(g.build_class2_reply(address, [(pns[0], fn, body)], seq))
    assert data_of(obj) == to_jsonable(body)


@st.composite
def erc_record(draw: st.DrawFn) -> dict[str, Any]:
    erc = draw(st.sampled_from([1, 3, 10, 12, 13, 14, 21, 37, 40, 99]))
    t = draw(st.none() | minutes)
    point = {"pn": draw(st.integers(0, 0x0FFF)), "start": draw(st.booleans())}
    a11 = num(fm.A11)
    records: dict[int, dict[str, Any]] = {
        1: {
            "time": t,
            "init": draw(st.booleans()),
            "version_changed": draw(st.booleans()),
            "old_version": draw(st.text("V0123456789.", min_size=4, max_size=4)),
            "new_version": draw(st.text("V0123456789.", min_size=4, max_size=4)),
        },
        3: {
            "time": t,
            "master_address": draw(st.integers(0, 255)),
            "changed": draw(
                st.lists(st.tuples(pn_groups, fn_groups), max_size=5).map(
                    lambda xs: [{"pn": p, "fn": f} for p, f in xs]
                )
            ),
        },
        10: {
            "time": t,
            **point,
            "phases": draw(st.sets(st.sampled_from("ABC")).map(sorted)),
            "kind_code": draw(st.integers(0, 3)),
            "voltage_v": draw(nums(fm.A7, 3)),
            "current_a": draw(nums(fm.A25, 3)),
            "forward_active_kwh": draw(num(fm.A14)),
        },
        12: {"time": t, **point},
        13: {
            "time": t,
            **point,
            "battery_low": draw(st.booleans()),
            "power_off_count_changed": draw(st.booleans()),
        },
        14: {"power_off_time": t, "power_on_time": draw(st.none() | minutes)},
        21: {"time": t, "fault_code": draw(st.integers(0, 255))},
        37: {
            "time": t,
            **point,
            "open_count": draw(st.none() | st.integers(0, 999999)),
            "open_time": draw(st.none() | seconds),
            "close_time": draw(st.none() | seconds),
            "before": {"forward_active_kwh": draw(a11), "q2_reactive_kvarh": draw(a11)},
            "after": {"reverse_active_kwh": draw(a11)},
        },
        40: {
            "time": t,
            **point,
            "device_type": draw(st.integers(0, 255)),
            "device_address": draw(st.none() | st.integers(0, 10**12 - 1).map(lambda n: f"{n:012d}")),
            "anomaly_type": draw(st.integers(0, 255)),
        },
        99: {"raw": draw(st.binary(max_size=20)).hex()},
    }
    return {"erc": erc, **records[erc]}


@SETTINGS
@given(
    addresses,
    seqs,
    st.sampled_from([1, 2]),
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 255),
    st.lists(erc_record(), max_size=5),
)
def test_event_requests_and_replies(
    address: g.Address, seq: int, fn: int, ec1: int, ec2: int, pm: int, events: list[dict[str, Any]]
) -> None:
    obj = check_roundtrip(g.build_event_request(address, fn, pm, (pm + 7) % 256, seq))
    assert data_of(obj) == {"pm": pm, "pn": (pm + 7) % 256}
    frame = g.decode_frame(g.build_event_reply(address, fn, ec1, ec2, pm, events, seq))
    unknown = sum(1 for e in events if e["erc"] == 99)
    assert len(frame.warnings) == unknown  # only the unknown ERC99 warns
    obj = g.frame_to_json(frame)
    got = data_of(obj)
    assert (got["ec1"], got["ec2"], got["pm"], got["pn"]) == (ec1, ec2, pm, (pm + len(events)) % 256)
    for sent, back in zip(events, got["events"], strict=True):
        expected = to_jsonable(sent)
        for key, value in expected.items():
            if isinstance(value, dict):  # ERC37 before/after: absent energies come back as null
                assert {k: back[key][k] for k in value} == value
            else:
                assert back[key] == value, key
    assert g.encode_from_json(obj) == g.encode_frame(frame)


@SETTINGS
@given(
    addresses,
    seqs,
    st.integers(0, 255),
    st.sampled_from([300, 600, 1200, 2400, 4800, 7200, 9600, 19200]),
    st.sampled_from(["none", "even", "odd"]),
    st.integers(5, 8),
    st.integers(1, 2),
    st.integers(0, 127),
    st.sampled_from(["10ms", "s"]),
    st.integers(0, 255),
    st.binary(max_size=200).filter(lambda b: not b.lstrip(b"\xfe").startswith(b"\x68")),
)
def test_forwarding_raw_content(
    address: g.Address,
    seq: int,
    port: int,
    baud: int,
    parity: str,
    data_bits: int,
    stop_bits: int,
    timeout: int,
    unit: str,
    byte_timeout: int,
    content: bytes,
) -> None:
    raw = g.build_forward_request(
        address,
        content,
        port=port,
        baud=baud,
        parity=parity,
        data_bits=data_bits,
        stop_bits=stop_bits,
        frame_timeout_value=timeout,
        frame_timeout_unit=unit,
        byte_timeout_10ms=byte_timeout,
        seq=seq,
    )
    frame = g.decode_frame(raw)
    data = frame.units[0].items[0].data
    assert (data["port"], data["baud"], data["parity"], data["data_bits"], data["stop_bits"]) == (
        port,
        baud,
        parity,
        data_bits,
        stop_bits,
    )
    assert (data["frame_timeout_value"], data["frame_timeout_unit"], data["byte_timeout_10ms"]) == (
        timeout,
        unit,
        byte_timeout,
    )
    assert data["content_hex"] == content.hex() and data["forwarded"] is None
    assert g.encode_from_json(g.frame_to_json(frame)) == raw
    reply = g.build_forward_reply(address, port, content, seq)
    back = g.decode_frame(reply).units[0].items[0].data
    assert (back["port"], back["content_hex"]) == (port, content.hex())


@SETTINGS
@given(
    addresses,
    st.integers(0, 10**12 - 1).map(lambda n: f"{n:012d}"),
    st.integers(0, 4),
    st.sampled_from(["00010000", "00020000", "02010100"]),
)
def test_forwarding_nested_dlt645(address: g.Address, meter: str, fe: int, di: str) -> None:
    from gridcare.protocols import dlt645

    meter_frame = dlt645.build_read_request(meter, di)
    obj = check_roundtrip(g.build_forward_request(address, b"\xfe" * fe + meter_frame, seq=1))
    nested = data_of(obj)["forwarded"]
    assert (nested["address"], nested["di"], data_of(obj)["fe_preamble"]) == (meter, di, fe)


# --- robustness: random and mutated bytes -------------------------------------------------------------

GOLDEN = [
    bytes.fromhex("68 32 00 32 00 68 C9 71 01 22 08 00 02 78 00 00 04 00 E3 16"),
    bytes.fromhex("68 4A 00 4A 00 68 C9 71 01 22 08 00 02 F8 00 00 04 00 02 39 19 16 28 00 F5 16"),
    bytes.fromhex("68 52 00 52 00 68 A8 71 01 22 08 00 0C 61 00 00 02 00 39 19 16 28 48 18 03 01 A7 16"),
    bytes.fromhex(
        "68 5E 00 5E 00 68 80 71 01 22 08 00 00 64 00 00 04 00 04 00 00 01 00 00 01 01 02 01 01 8F 16"
    ),
    bytes.fromhex(
        "68 AE 00 AE 00 68 88 71 01 22 08 00 0C 61 01 01 01 10 18 16 28 08 18 04"
        " 78 56 34 12 00 34 12 00 03 00 00 00 00 05 00 44 44 34 04 00 EE EE EE EE EE E6 16"
    ),
    bytes.fromhex(
        "68 72 00 72 00 68 88 71 01 22 08 00 0E 65 00 00 01 00"
        " 01 00 00 01 0E 0A 05 23 27 08 18 30 06 28 08 18 9F 16"
    ),
    bytes.fromhex(
        "68 DA 00 DA 00 68 4A 71 01 22 08 00 10 65 00 00 01 00 01 6B 85 0A 14 00"
        " FE FE FE FE 68 12 00 00 00 10 20 68 11 04 33 33 34 33 F4 16" + " 00" * 16 + " 61 16"
    ),
]


def survive(raw: bytes) -> None:
    """Decoding ``raw`` either raises FrameError or gives a frame whose JSON serialises and re-encodes
    (or is refused with FrameError)."""
    try:
        frame = g.decode_frame(raw)
    except FrameError as exc:
        assert exc.code and (exc.position is None or 0 <= exc.position <= len(raw))
        return
    obj = g.frame_to_json(frame)
    json.dumps(obj)
    with contextlib.suppress(FrameError):
        g.encode_from_json(obj)


def seal(user: bytes, protocol_id: int = 2) -> bytes:
    """A frame around ``user`` with consistent L and CS, so the decoder gets past the envelope checks."""
    l_field = (len(user) << 2 | protocol_id).to_bytes(2, "little")
    return b"\x68" + l_field + l_field + b"\x68" + user + bytes([sum(user) & 0xFF, 0x16])


@settings(max_examples=400, deadline=2000)
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_frame_errors(raw: bytes) -> None:
    survive(raw)
    survive(b"\x68" + raw)


@settings(max_examples=400, deadline=2000)
@given(st.binary(min_size=8, max_size=300))
def test_random_user_data_in_a_valid_envelope(user: bytes) -> None:
    survive(seal(user))


@settings(max_examples=400, deadline=2000)
@given(
    st.sampled_from(GOLDEN),
    st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), min_size=1, max_size=6),
    st.booleans(),
)
def test_mutated_frames_raise_only_frame_errors(
    raw: bytes, edits: list[tuple[int, int]], reseal: bool
) -> None:
    buf = bytearray(raw)
    for pos, value in edits:
        buf[pos % len(buf)] = value
    survive(bytes(buf))
    if reseal:  # keep the envelope valid so the mutation reaches the data units
        user = bytes(buf[6:-2])
        survive(seal(user))


@settings(max_examples=200, deadline=2000)
@given(st.sampled_from(GOLDEN), st.integers(0, 300), st.binary(max_size=20))
def test_truncated_and_extended_user_data(raw: bytes, cut: int, extra: bytes) -> None:
    user = raw[6:-2]
    survive(seal(user[: max(8, cut % len(user))]))
    survive(seal(user + extra))
    for n in range(len(raw)):
        try:
            g.decode_frame(raw[:n])
        except FrameError as exc:
            assert exc.code in ("truncated", "bad_delimiter", "bad_length", "bad_field")
        else:
            raise AssertionError(f"prefix of {n} bytes decoded")


@settings(max_examples=300, deadline=2000)
@given(st.binary(max_size=12))
def test_frame_length_contract(buf: bytes) -> None:
    for data in (buf, b"\x68" + buf):
        try:
            n = g.frame_length(data, 0)
        except FrameError:
            continue
        assert n is None or n >= 6 + 8 + 2
