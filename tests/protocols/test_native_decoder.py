"""The native DL/T 645 read-reply decoder (``dlt645._accel``, C) against the Python decoders, kind by kind.

For identifiers of every item kind the native module decodes itself (decimal, integer, signed with its
sign bit and negative zero, binary, digit text, dates and times) and both editions, random data fields -
mostly valid BCD, with zeros, sign bits, invalid dates, fillers and non-BCD bytes mixed in - are framed
as normal read replies (with and without the follow-up bit) and decoded three ways: native, the Python
decoder with its own fast path (``codec.decode_frame_py``), and the fully checking decoder (fast paths
off). All three must give the same frame (repr: Decimal exponents count) or the same FrameError.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridcare.protocols import dlt645 as d
from gridcare.protocols import fastbcd
from gridcare.protocols.dlt645 import codec
from gridcare.protocols.dlt645.fast import K_BIN, K_DECIMAL, K_SIGNED, K_TEXT, K_TIME, Layout, compile_spec
from gridcare.protocols.dlt645.registry_events import lookup
from gridcare.protocols.dlt645.v1997 import lookup_1997
from gridcare.protocols.errors import FrameError

# identifier -> the item kinds it exercises
IDENTIFIERS_2007 = [
    "00000000",  # combined active energy: signed decimal (sign bit)
    "0001FF00",  # forward active energy block: decimals
    "05060101",  # last daily freeze, forward active block
    "02030000",  # total active power: signed XX.XXXX
    "02020100",  # phase A current: signed XXX.XXX
    "0201FF00",  # voltage block: decimals
    "02060000",  # total power factor: signed X.XXX
    "01010000",  # forward active maximum demand and its time
    "04000101",  # date and week day
    "04000102",  # time
    "04000401",  # meter address: digit text
    "04000501",  # status word 1: binary
    "03300000",  # programming count: integer
    "03300001",  # last programming record: time, operator code, identifiers
    "05060001",  # last daily freeze time
]
IDENTIFIERS_1997 = ["9010", "B611", "B630", "C010"]


def _layouts(di: str) -> dict[int, Layout]:
    return compile_spec((lookup_1997 if len(di) == 4 else lookup)(di))


def test_the_identifiers_cover_every_native_item_kind() -> None:
    kinds = {
        item[2] for di in IDENTIFIERS_2007 + IDENTIFIERS_1997 for lay in _layouts(di).values() for item in lay
    }
    assert {K_DECIMAL, K_SIGNED, K_BIN, K_TEXT, K_TIME} <= kinds


def _outcome(decode: Callable[[bytes], Any], raw: bytes) -> tuple[Any, ...]:
    try:
        return ("ok", repr(decode(raw)))
    except FrameError as exc:
        return ("error", type(exc).__name__, exc.code, exc.position, str(exc))


_BCD = [b for b in range(256) if b >> 4 <= 9 and b & 0x0F <= 9]
_BYTE = st.one_of(
    st.sampled_from(_BCD),  # most of the time: valid digits
    st.sampled_from([0x00, 0x80, 0x99, 0x89, 0x90]),  # zeros, sign bits, negative zero
    st.sampled_from([0xFF, 0xEE]),  # the no-data fillers
    st.integers(0, 255),  # anything
)


@st.composite
def read_replies(draw: st.DrawFn) -> bytes:
    di = draw(st.sampled_from(IDENTIFIERS_2007 + IDENTIFIERS_1997))
    lengths = sorted(_layouts(di))[:4]
    length = draw(st.sampled_from(lengths))
    anything = draw(st.integers(0, 3)) == 3  # a quarter of the fields may hold any byte
    byte = _BYTE if anything else st.one_of(st.sampled_from(_BCD), st.sampled_from([0x00, 0x80, 0x99]))
    data = bytes(draw(st.lists(byte, min_size=length, max_size=length)))
    control = draw(st.sampled_from([0x81, 0xA1] if len(di) == 4 else [0x91, 0xB1]))  # with follow-up or not
    payload = bytes.fromhex(di)[::-1] + data
    return d.build_frame(draw(st.sampled_from(["201000000012", "000000000001"])), control, payload)


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=read_replies())
def test_native_python_and_checking_decoders_agree(raw: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    native = _outcome(d.decode_frame, raw)
    assert native == _outcome(codec.decode_frame_py, raw), raw.hex()
    monkeypatch.setattr(fastbcd, "ENABLED", False)
    try:
        assert native == _outcome(d.decode_frame, raw), raw.hex()
    finally:
        monkeypatch.setattr(fastbcd, "ENABLED", True)


def test_signed_values_and_negative_zero() -> None:
    """Power 02030000 (signed XX.XXXX): the top bit of the last byte is the sign; 80 00 00 is 0, not -0."""
    cases = {
        bytes([0x56, 0x34, 0x12]): "12.3456",
        bytes([0x56, 0x34, 0x92]): "-12.3456",
        bytes([0x00, 0x00, 0x80]): "0.0000",
        bytes([0x00, 0x00, 0x00]): "0.0000",
        bytes([0x01, 0x00, 0x80]): "-0.0001",
    }
    for data, text in cases.items():
        raw = d.build_frame("201000000012", 0x91, bytes.fromhex("02030000")[::-1] + data)
        value = d.decode_frame(raw).values[0].value
        assert str(value) == text, data.hex()


def test_layouts_it_cannot_decode_go_to_python() -> None:
    """A layout with an item kind or bounds the native module does not take is left to the Python decoder."""
    from gridcare.protocols.dlt645.fast import layouts

    frame = d.build_frame("201000000012", 0x91, bytes.fromhex("02030000")[::-1] + bytes([0x00, 0x50, 0x81]))
    expected = repr(codec.decode_frame_py(frame))
    assert "Decimal('-1.5000')" in expected
    real = layouts("02030000", lookup)[3]
    name, unit, _, start, stop, arg = real[0]
    odd_layouts = [
        ((name, unit, 99, start, stop, arg),),  # an unknown kind
        ((name, unit, K_SIGNED, start, stop, 0),),  # a signed integer
        ((name, unit, K_DECIMAL, start, stop, "E-9"),),  # more decimals than digits
        ((name, unit, K_DECIMAL, start, stop + 2, "E-2"),),  # beyond the data field
        ((name, unit, K_TIME, start, stop, str), (name, unit, K_DECIMAL, 1, stop, "E-2")),  # odd bounds
        ("not a tuple",),
    ]
    try:
        for odd in odd_layouts:
            codec._setup_native(lambda control, di, odd=odd: {3: odd})
            assert repr(d.decode_frame(frame)) == expected, odd
    finally:
        codec._setup_native()
    assert repr(d.decode_frame(frame)) == expected


def test_threads_decoding_at_once_get_what_python_gets() -> None:
    """Threads share the native layout cache; a thread switch inside a Python time decoder (demand and
    event records carry times) while another thread replaces the slot must not touch freed memory."""
    import sys
    import threading

    identifiers = [f"0101{k:02X}00" for k in range(64)] + [f"0102{k:02X}00" for k in range(64)] + ["03300001"]
    frames = []
    for di in identifiers:
        layout = _layouts(di)
        if not layout:
            continue
        size = min(layout)
        data = bytes([0x23, 0x01, 0x00, 0x00, 0x05, 0x12, 0x01, 0x24] * (size // 8 + 1))[:size]
        frames.append(d.build_frame("201000000012", 0x91, bytes.fromhex(di)[::-1] + data))
    expected = [_outcome(codec.decode_frame_py, raw) for raw in frames]
    failures: list[str] = []

    def work() -> None:
        for _ in range(40):
            for raw, want in zip(frames, expected, strict=True):
                if _outcome(d.decode_frame, raw) != want:
                    failures.append(raw.hex())

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert len(frames) > 100 and failures == []
