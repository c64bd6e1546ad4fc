"""The stream splitter: garbage, split frames, several frames per read (with a toy length rule)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gridcare.protocols.errors import BadLength
from gridcare.protocols.stream import StreamSplitter


def toy_length(buf: bytes, start: int) -> int | None:
    """68 N <N payload bytes> 16 ; N must be < 100."""
    if len(buf) < start + 2:
        return None
    if buf[start + 1] >= 100:
        raise BadLength("length too large", start + 1)
    return buf[start + 1] + 3


def frame(payload: bytes) -> bytes:
    return bytes([0x68, len(payload)]) + payload + b"\x16"


A, B, C = frame(b"abc"), frame(b""), frame(bytes(range(20)))


def test_several_frames_in_one_read_with_garbage() -> None:
    s = StreamSplitter(toy_length)
    assert s.feed(b"\x00\x01" + A + b"\xff" + B + C) == [A, B, C]
    assert s.garbage_bytes == 3
    assert s.pending == 0


def test_frame_split_across_reads() -> None:
    s = StreamSplitter(toy_length)
    assert s.feed(A[:1]) == []
    assert s.feed(A[1:4]) == []
    assert s.feed(A[4:] + B[:2]) == [A]
    assert s.feed(B[2:]) == [B]


def test_false_start_byte_is_skipped() -> None:
    s = StreamSplitter(toy_length)
    # 68 C8: impossible length; 68 02 xx xx 00: no end byte -> both are garbage, then a real frame
    assert s.feed(b"\x68\xc8" + b"\x68\x02\x68\x00\x00" + A) == [A]


def test_buffer_is_bounded() -> None:
    s = StreamSplitter(lambda buf, start: None, max_buffer=64)
    s.feed(b"\x68" + bytes(200))
    assert s.pending <= 64


@given(st.lists(st.one_of(st.sampled_from([A, B, C]), st.binary(max_size=8)), max_size=20), st.data())
def test_any_chunking_yields_the_same_frames(parts: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(parts)
    whole = StreamSplitter(toy_length).feed(stream)
    s = StreamSplitter(toy_length)
    got: list[bytes] = []
    i = 0
    while i < len(stream):
        n = data.draw(st.integers(1, 7))
        got += s.feed(stream[i : i + n])
        i += n
    assert got == whole
    clean = [p for p in parts if p in (A, B, C)]
    # with no start byte inside the garbage, exactly the real frames come out, in order
    if all(0x68 not in p for p in parts if p not in (A, B, C)):
        assert whole == clean
