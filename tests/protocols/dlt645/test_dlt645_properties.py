"""Property tests (hypothesis): encode -> decode is the identity for every function and random values, the
JSON contract round-trips to the same bytes, and random or mutated bytes raise only FrameError, quickly."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridcare.protocols.dlt645 import (
    REMOTE_COMMANDS,
    Value,
    build_abnormal_reply,
    build_broadcast_time,
    build_change_baud,
    build_change_baud_reply,
    build_change_password,
    build_change_password_reply,
    build_demand_clear,
    build_event_clear,
    build_frame,
    build_freeze,
    build_meter_clear,
    build_read_address_reply,
    build_read_follow_up_reply,
    build_read_follow_up_request,
    build_read_reply,
    build_read_request,
    build_remote_control,
    build_write_address_request,
    build_write_request,
    decode_frame,
    encode_from_json,
    frame_length,
    frame_to_json,
    lookup,
    lookup_1997,
)
from gridcare.protocols.dlt645.loadprofile import CLASSES, RECORD_TIME
from gridcare.protocols.dlt645.values import Field, is_missing, render_time
from gridcare.protocols.errors import FrameError

DIGITS = "0123456789"
HEX = "0123456789ABCDEF"
FUZZ = settings(max_examples=400, deadline=timedelta(seconds=1), suppress_health_check=[HealthCheck.too_slow])

plain_addresses = st.text(DIGITS, min_size=12, max_size=12)
addresses = st.builds(lambda k, d: "A" * k + d[k:], st.integers(0, 12), plain_addresses)
hex8 = st.text(HEX, min_size=8, max_size=8)
times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31, 23, 59, 59))

DIS_2007 = [
    "00000000", "00010000", "0001FF00", "000100FF", "00020300", "00030000", "00050000", "000A0000",
    "00150000", "003D0000", "01010000", "0101FF00", "01030000", "010100FF", "02010100", "0201FF00",
    "02020200", "0202FF00", "02030000", "0203FF00", "02040300", "0205FF00", "02060000", "0206FF00",
    "02070100", "02800001", "02800002", "02800007", "0280000A", "04000101", "04000102", "04000103",
    "04000401", "04000402", "04000409", "04000501", "040005FF", "00900100", "00900200", "00900201",
    "03300000", "03300001", "03300100", "03300101", "03300301",
    "03300401", "03300D00", "03300D01", "03300E05", "1D000001", "1D000101", "1D00FF01", "1E00FF0A",
    "10000001", "10000002", "10000101", "10000201", "10030002", "10020105", "05060001", "05060101",
    "0506013E", "05060201", "05060301", "05060901", "05061001", "05000101", "05010003", "05040001",
    "05040101", "05040202",
]  # fmt: skip
DIS_1997 = [
    "9010", "901F", "902F", "9110", "913F", "9410", "A010", "A01F", "B010", "B01F", "B611", "B61F", "B62F",
    "B630", "B63F", "B64F", "B65F", "C010", "C011", "C020", "C030", "C032",
]  # fmt: skip


def field_value(field: Field) -> st.SearchStrategy:
    n = field.length
    if field.kind == "bcd":
        hi = 8 * 10 ** (2 * n - 1) - 1 if field.signed else 10 ** (2 * n) - 1
        ints = st.integers(-hi if field.signed else 0, hi)
        value = ints.map(lambda x: Decimal(x).scaleb(-field.decimals)) if field.decimals else ints
    elif field.kind == "bin":
        value = st.integers(0, 256**n - 1).filter(lambda v: not is_missing(v.to_bytes(n, "little")))
    elif field.kind == "digits":
        value = st.text(DIGITS, min_size=2 * n, max_size=2 * n)
    elif field.kind == "hex":
        value = st.text(HEX, min_size=2 * n, max_size=2 * n).filter(
            lambda s: not is_missing(bytes.fromhex(s))
        )
    else:
        tokens = [field.fmt[i : i + 2] for i in range(0, len(field.fmt), 2)]
        attrs = {"YY": "year", "MM": "month", "DD": "day", "hh": "hour", "mm": "minute", "ss": "second"}
        value = times.map(
            lambda t: render_time(field.fmt, {tok: getattr(t, attrs[tok]) % 100 for tok in tokens})
        )
    return st.one_of(st.none(), value) if n else value


def values_for(fields: tuple[Field, ...]) -> st.SearchStrategy:
    return st.tuples(*(field_value(f) for f in fields)).map(
        lambda vals: [Value(f.name, v, f.unit) for f, v in zip(fields, vals, strict=True)]
    )


@st.composite
def registry_reply(draw, dis, find, di_len):
    di = draw(st.sampled_from(dis))
    spec = find(di)
    groups = spec.groups
    if spec.variable:
        size = sum(f.length for f in groups[0])
        count = draw(st.integers(1, min(len(groups), (255 - di_len) // size)))
        groups = groups[:count]
    fields = tuple(f for g in groups for f in g)
    return di, draw(values_for(fields))


@st.composite
def load_records(draw):
    values: list[Value] = []
    for _ in range(draw(st.integers(1, 2))):
        values += draw(values_for((RECORD_TIME,)))
        for fields in CLASSES:
            if draw(st.booleans()):
                values += draw(values_for(fields))
    return values


def assert_identity(frame: bytes, expect_values: list[Value] | None = None) -> None:
    decoded = decode_frame(frame)
    if expect_values is not None:
        assert list(decoded.values) == expect_values
    assert decoded.warnings == ()
    assert encode_from_json(frame_to_json(decoded)) == frame
    assert decode_frame(b"\xfe\xfe\xfe\xfe" + frame) == decoded


@given(addresses, registry_reply(DIS_2007, lookup, 4), st.booleans())
def test_2007_read_reply_identity(address, di_values, follow_up):
    di, values = di_values
    frame = build_read_reply(address, di, values, follow_up=follow_up)
    decoded = decode_frame(frame)
    assert (decoded.address, decoded.di, decoded.follow_up) == (address, di, follow_up)
    assert_identity(frame, values)


@given(addresses, registry_reply(DIS_1997, lookup_1997, 2))
def test_1997_read_reply_identity(address, di_values):
    di, values = di_values
    frame = build_read_reply(address, di, values)
    assert decode_frame(frame).protocol == "dlt645-1997"
    assert_identity(frame, values)


@given(addresses, load_records(), st.sampled_from(["06000000", "06000001", "06000002", "06010001"]))
def test_load_profile_identity(address, values, di):
    frame = build_read_reply(address, di, values)
    assert_identity(frame, values)


@given(addresses, registry_reply(DIS_2007, lookup, 16), hex8, hex8)
def test_write_request_identity(address, di_values, password, operator):
    di, values = di_values
    frame = build_write_request(address, di, values, password, operator)
    assert_identity(frame, [Value("password", password), Value("operator", operator), *values])


@given(addresses, registry_reply(DIS_2007, lookup, 5), st.integers(0, 255))
def test_follow_up_identity(address, di_values, seq):
    di, values = di_values
    assert_identity(build_read_follow_up_request(address, di, seq), [Value("seq", seq)])
    assert_identity(build_read_follow_up_reply(address, di, values, seq), [*values, Value("seq", seq)])


@st.composite
def freeze_patterns(draw):
    wild = draw(st.integers(0, 4))
    t = draw(times)
    pairs = [t.month, t.day, t.hour, t.minute]
    return "".join("99" if i < wild else f"{v:02d}" for i, v in enumerate(pairs))


@given(
    addresses,
    plain_addresses,
    times,
    freeze_patterns(),
    st.sampled_from([600, 1200, 2400, 4800, 9600, 19200]),
    hex8,
    hex8,
    hex8,
    st.sampled_from(sorted(REMOTE_COMMANDS.values())),
    st.sampled_from(["dlt645-2007", "dlt645-1997"]),
)
def test_every_function_identity(
    address, plain, t, pattern, baud, password, operator, new_password, command, edition
):
    text = t.strftime("%Y-%m-%d %H:%M:%S")
    assert_identity(build_broadcast_time(t), [Value("time", text)])
    assert_identity(build_freeze(address, pattern), [Value("pattern", pattern)])
    assert_identity(build_read_address_reply(plain), [Value("address", plain)])
    assert_identity(build_write_address_request(plain, edition, address), [Value("address", plain)])
    assert_identity(build_change_baud(address, baud, edition), [Value("baud_rate", baud, "bps")])
    assert_identity(build_change_baud_reply(address, baud, edition), [Value("baud_rate", baud, "bps")])
    pw = [Value("old_password", password), Value("new_password", new_password)]
    assert_identity(build_change_password(address, password, new_password, edition), pw)
    assert_identity(build_change_password_reply(address, new_password, edition), pw[1:])
    auth = [Value("password", password), Value("operator", operator)]
    assert_identity(build_demand_clear(address, password, operator), auth)
    assert_identity(build_meter_clear(address, password, operator), auth)
    assert_identity(build_event_clear(address, password, operator, new_password), auth)
    remote = [*auth, Value("command", command), Value("valid_until", text)]
    assert_identity(build_remote_control(address, command, text, password, operator), remote)
    assert_identity(build_read_request(address, "06000001", block_count=t.second, start_time=text), None)


@given(
    addresses,
    st.sampled_from([0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1C]),
    st.integers(0, 255),
)
def test_abnormal_reply_identity(address, function, error_bits):
    frame = build_abnormal_reply(address, function, error_bits)
    decoded = decode_frame(frame)
    assert (decoded.error_bits, decoded.abnormal, decoded.values) == (error_bits, True, ())
    assert_identity(frame)


# ---- robustness ------------------------------------------------------------------------------------------


def decode_only_frame_errors(data: bytes) -> None:
    with contextlib.suppress(FrameError):
        decode_frame(data)
    with contextlib.suppress(FrameError):
        decode_frame(data, allow_trailing=True)


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_frame_errors(data):
    decode_only_frame_errors(data)
    decode_only_frame_errors(b"\xfe\x68" + data)


@FUZZ
@given(addresses, st.integers(0, 255), st.binary(max_size=255))
def test_random_payload_in_a_valid_frame_raises_only_frame_errors(address, control, payload):
    decode_only_frame_errors(build_frame(address, control, payload))


@FUZZ
@given(
    addresses,
    st.sampled_from([0x91, 0xB1, 0x92, 0x94, 0x14, 0x11, 0x81, 0x01]),
    st.sampled_from(DIS_2007 + DIS_1997),
    st.binary(max_size=120),
)
def test_known_identifier_with_random_data_raises_only_frame_errors(address, control, di, data):
    decode_only_frame_errors(build_frame(address, control, bytes.fromhex(di)[::-1] + data))
    decode_only_frame_errors(build_frame(address, 0x91, bytes.fromhex("01000006") + b"\xa0\xa0" + data))


SAMPLE_FRAMES = [
    build_read_request("201000000012", "00010000"),
    build_read_reply("201000000012", "0001FF00", [Decimal("1.00")] * 5),
    build_read_reply("201000000012", "03300D01", [None] * 14),
    build_remote_control("201000000012", "trip", "2017-06-05 10:22:51", "02000000", "12345678"),
    build_read_reply("201000000012", "9010", [Decimal("1.00")]),
    build_read_reply("201000000012", "06000001", [Value("record_time", "2015-10-09 12:15")]),
]


@FUZZ
@given(
    st.sampled_from(SAMPLE_FRAMES),
    st.lists(
        st.tuples(st.sampled_from(["set", "insert", "delete"]), st.integers(0, 300), st.integers(0, 255)),
        min_size=1,
        max_size=4,
    ),
    st.booleans(),
)
def test_mutated_frames_raise_only_frame_errors(frame, mutations, fix_checksum):
    data = bytearray(frame)
    for op, pos, byte in mutations:
        i = pos % (len(data) + 1)
        if op == "set" and i < len(data):
            data[i] = byte
        elif op == "insert":
            data.insert(i, byte)
        elif data and i < len(data):
            del data[i]
    if fix_checksum and len(data) >= 12 and data[0] == 0x68:
        end = 10 + data[9]
        if end < len(data):
            data[end] = sum(data[:end]) & 0xFF
    decode_only_frame_errors(bytes(data))


@FUZZ
@given(st.binary(max_size=40), st.integers(0, 45))
def test_frame_length_returns_none_a_length_or_a_frame_error(buf, start):
    try:
        n = frame_length(buf, start)
    except FrameError:
        return
    assert n is None or 12 <= n <= 267
    if n is not None:
        assert buf[start] == 0x68 and buf[start + 7] == 0x68 and n == 12 + buf[start + 9]


@given(st.sampled_from(SAMPLE_FRAMES), st.integers(0, 5))
def test_frame_length_agrees_with_the_decoder(frame, preamble):
    stream = b"\xfe" * preamble + frame + b"\x68"
    assert frame_length(stream, preamble) == len(frame)
    decode_frame(stream[: preamble + len(frame)])
