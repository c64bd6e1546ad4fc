"""The decoders' fast paths give exactly what the fully checking decoders give (seeded, reproducible).

``gridcare.protocols.fastbcd.ENABLED`` switches the fast paths (the native DL/T 645 read-reply decoder
``dlt645._accel``, the Python DL/T 645 framing and read replies, the Q/GDW 1376.1 A.14/A.15/A.20-style
fields) off; ``codec.decode_frame_py`` is the DL/T 645 decoder without the native module in front.
Every frame of the fuzz corpus and a few thousand mutants of it - valid frames with random values
(negative, missing, zero, invalid dates), bit flips, truncations, fixed-up checksums - are decoded both
ways (DL/T 645 frames also natively and by ``decode_frame_py``): the frames must be equal (repr, so
Decimal exponents count) or both must raise the same FrameError subclass with the same code, position
and message.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from decimal import Decimal, localcontext
from typing import Any

import pytest

from gridcare.protocols import dlt645 as d
from gridcare.protocols import fastbcd
from gridcare.protocols import gdw1376 as g
from gridcare.protocols.detect import decode_any
from gridcare.protocols.dlt645 import codec
from gridcare.protocols.dlt645.codec import _json_value
from gridcare.protocols.errors import FrameError
from gridcare.protocols.gdw1376.json_codec import to_jsonable
from tests.protocols.test_fuzz import TERMINALS, dlt645_corpus, gdw1376_corpus, mutate

MUTANTS = 6_000


def outcome(decode: Callable[[bytes], Any], data: bytes) -> tuple[Any, ...]:
    try:
        return ("ok", repr(decode(data)))
    except FrameError as exc:
        return ("error", type(exc).__name__, exc.code, exc.position, str(exc))


def both_ways(decode: Callable[[bytes], Any], data: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = outcome(decode, data)
    monkeypatch.setattr(fastbcd, "ENABLED", False)
    try:
        checked = outcome(decode, data)
    finally:
        monkeypatch.setattr(fastbcd, "ENABLED", True)
    assert fast == checked, data.hex()


@pytest.fixture(scope="module")
def corpus() -> tuple[list[bytes], list[bytes]]:
    rng = random.Random(0)
    meters = dlt645_corpus(rng)
    return meters, gdw1376_corpus(rng, meters)


def test_fast_paths_agree_with_the_checking_decoders(
    corpus: tuple[list[bytes], list[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    meters, terminals = corpus
    rng = random.Random(645)
    cases: list[tuple[bool, bytes]] = [(False, m) for m in meters] + [(True, t) for t in terminals]
    for n in range(MUTANTS):
        kind = rng.random()
        if kind < 0.4:
            cases.append((True, mutate(rng.choice(terminals), True, rng)))
        elif kind < 0.5:
            inner = mutate(rng.choice(meters), False, rng)
            cases.append((True, g.build_forward_reply(rng.choice(TERMINALS), 1, inner, n & 0x0F)))
        else:
            cases.append((False, mutate(rng.choice(meters), False, rng)))
    fast_frames = 0
    for gdw, data in cases:
        if gdw:
            both_ways(g.decode_frame, data, monkeypatch)
        else:
            for variant in (data, b"\xfe\xfe" + data):
                both_ways(d.decode_frame, variant, monkeypatch)
                assert outcome(d.decode_frame, variant) == outcome(codec.decode_frame_py, variant)
            for variant in (data, data + b"\x00"):
                native = outcome(lambda x: d.decode_frame(x, allow_trailing=True), variant)
                assert native == outcome(lambda x: codec.decode_frame_py(x, True), variant)
                both_ways(lambda x: d.decode_frame(x, allow_trailing=True), variant, monkeypatch)
            fast_frames += data[8:9] in (b"\x91", b"\x81")
        both_ways(lambda x: json.dumps(decode_any(x)), data, monkeypatch)
    assert fast_frames > 500  # the fast path was exercised


def test_the_native_decoder_is_built() -> None:
    """setup.py builds it wherever a C compiler is at hand (CI has one); without it the codec is slower."""
    assert codec._accel is not None
    assert d.decode_frame is codec._accel.decode_frame


def test_decoded_values_are_exact_whatever_the_decimal_context(monkeypatch: pytest.MonkeyPatch) -> None:
    """A meter's digits are never rounded to the caller's precision (Decimal(int).scaleb would round)."""
    frame = d.build_read_reply("201000000012", "0001FF00", [Decimal("123456.78")] * 5)
    with localcontext() as ctx:
        ctx.prec = 5
        both_ways(d.decode_frame, frame, monkeypatch)
        assert repr(d.decode_frame(frame)) == repr(codec.decode_frame_py(frame))
        assert d.decode_frame(frame).values[0].value.as_tuple() == Decimal("123456.78").as_tuple()


def test_the_native_decoder_takes_what_python_takes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Its argument handling: bytes-likes go to the Python decoder, a wrong call is a TypeError."""
    frame = d.build_read_reply("201000000012", "05060101", [Decimal("12.34")] * 5)
    expected = repr(codec.decode_frame_py(frame))
    assert repr(d.decode_frame(bytearray(frame))) == expected
    assert repr(d.decode_frame(memoryview(frame))) == expected
    assert repr(d.decode_frame(frame + b"\x16", allow_trailing=True)) == expected
    with pytest.raises(TypeError):
        d.decode_frame(frame, trailing=True)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        d.decode_frame()  # type: ignore[call-arg]


@pytest.mark.parametrize("convert", [_json_value, to_jsonable])
def test_decimal_to_json_without_as_tuple(convert: Callable[[Any], Any]) -> None:
    """int when the exponent is >= 0, else float - now found from str(), checked against as_tuple()."""
    rng = random.Random(7)
    texts = ["0", "0.00", "-0", "-0.00", "1E+2", "1.23E+5", "123E+2", "1E-7", "1.5E-9", "0E-10", "0E+3"]
    texts += [str(Decimal(rng.randrange(-(10**12), 10**12)).scaleb(rng.randint(-12, 8))) for _ in range(3000)]
    for text in texts:
        value = Decimal(text)
        exponent = value.as_tuple().exponent
        assert isinstance(exponent, int)
        expected = int(value) if exponent >= 0 else float(value)
        got = convert(value)
        assert type(got) is type(expected) and got == expected, text
