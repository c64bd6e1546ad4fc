"""The stream splitter with the real length rules, gdw1376.frame_length and dlt645.frame_length: garbage
between frames, frames split across reads, several frames per read."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from gridcare.protocols import dlt645 as d
from gridcare.protocols import gdw1376 as g
from gridcare.protocols.stream import StreamSplitter

TERMINAL = g.Address("0171", 2082)
METER = "201000000012"

# Hand-checked golden frames (see tests/protocols/test_frame_cli.py for the byte-by-byte sums).
HEARTBEAT = bytes.fromhex("68 32 00 32 00 68 C9 71 01 22 08 00 02 78 00 00 04 00 E3 16")
LOGIN = bytes.fromhex("68 32 00 32 00 68 C9 71 01 22 08 00 02 71 00 00 01 00 D9 16")
ENERGY_REPLY = bytes.fromhex("68 12 00 00 00 10 20 68 91 08 33 33 34 33 89 67 45 33 E0 16")
READ_REQUEST = bytes.fromhex("68 12 00 00 00 10 20 68 11 04 33 33 34 33 F4 16")
FORWARD_REPLY = g.build_forward_reply(TERMINAL, 1, ENERGY_REPLY, 5)
F161_REPLY = g.build_class2_reply(
    TERMINAL,
    [
        (
            p,
            161,
            {
                "td": "2018-08-27",
                "read_time": "2018-08-28 00:05",
                "tariff_count": 4,
                "forward_active_kwh": [Decimal("1234.5600")] + [Decimal(p)] * 4,
            },
        )
        for p in range(1, 9)
    ],
    3,
)
BLOCK_REPLY = d.build_read_reply(METER, "0001FF00", [Decimal("1234.56"), Decimal("300"), None, 500, 434])


def feed_in_chunks(splitter: StreamSplitter, stream: bytes, sizes: list[int]) -> list[bytes]:
    frames: list[bytes] = []
    i = 0
    k = 0
    while i < len(stream):
        n = sizes[k % len(sizes)]
        frames += splitter.feed(stream[i : i + n])
        i += n
        k += 1
    return frames


# --- Q/GDW 1376.1 ------------------------------------------------------------------------------------------


def test_gdw_several_frames_per_read_with_garbage_between() -> None:
    garbage = [b"\x00\x01\x02", b"\x16\x16", b"\xfe\xfe\xfe\xfe", b"\x55"]
    stream = (
        garbage[0] + HEARTBEAT + garbage[1] + LOGIN + F161_REPLY + garbage[2] + FORWARD_REPLY + garbage[3]
    )
    s = StreamSplitter(g.frame_length)
    assert s.feed(stream) == [HEARTBEAT, LOGIN, F161_REPLY, FORWARD_REPLY]
    assert s.garbage_bytes == 3 + 2 + 4 + 1
    assert s.pending == 0


def test_gdw_frame_split_across_reads() -> None:
    s = StreamSplitter(g.frame_length)
    assert s.feed(HEARTBEAT[:1]) == []  # 68: need the length field
    assert s.feed(HEARTBEAT[1:5]) == []  # L L: need the second 68
    assert s.pending == 5
    assert s.feed(HEARTBEAT[5:19]) == []  # all but the end byte
    assert s.feed(HEARTBEAT[19:] + LOGIN[:7]) == [HEARTBEAT]
    assert s.pending == 7
    assert s.feed(LOGIN[7:]) == [LOGIN]
    assert (s.pending, s.garbage_bytes) == (0, 0)


def test_gdw_byte_by_byte_and_decoded() -> None:
    s = StreamSplitter(g.frame_length)
    stream = b"\x99" + F161_REPLY + FORWARD_REPLY + b"\x68\x00" + HEARTBEAT
    frames = feed_in_chunks(s, stream, [1])
    assert frames == [F161_REPLY, FORWARD_REPLY, HEARTBEAT]
    assert s.garbage_bytes == 3
    f161 = g.frame_to_json(g.decode_frame(frames[0]))
    units = f161["units"]  # one data unit per point
    assert [(u["pn"], u["data"]["forward_active_kwh"][1]) for u in units] == [([p], p) for p in range(1, 9)]
    forwarded = g.frame_to_json(g.decode_frame(frames[1]))["units"][0]["data"]["forwarded"]
    assert forwarded["values"] == [{"name": "forward_active_total", "value": 1234.56, "unit": "kWh"}]


def test_gdw_truncated_frame_is_skipped_and_the_next_one_found() -> None:
    # The first 10 bytes of a heartbeat, then a login: the heartbeat's header claims 20 bytes, whose last
    # (login byte 9, 22H) is no end byte, so the splitter resynchronises and finds the login whole.
    s = StreamSplitter(g.frame_length)
    assert s.feed(HEARTBEAT[:10] + LOGIN) == [LOGIN]
    assert s.garbage_bytes == 10
    assert s.pending == 0


def test_gdw_impossible_headers_are_dropped_without_waiting() -> None:
    s = StreamSplitter(g.frame_length)
    # 68 33 00: protocol id 3 in the length field; 68 32 00 33 00: the two length fields differ;
    # 68 12 00 12 00: a user-data length of 4 is below the minimum 8
    assert s.feed(b"\x68\x33\x00" + b"\x68\x32\x00\x33\x00" + b"\x68\x12\x00\x12\x00") == []
    assert (s.garbage_bytes, s.pending) == (13, 0)
    assert s.feed(HEARTBEAT) == [HEARTBEAT]


def test_gdw_does_not_take_dlt645_frames() -> None:
    s = StreamSplitter(g.frame_length)
    assert s.feed(ENERGY_REPLY + HEARTBEAT + READ_REQUEST) == [HEARTBEAT]
    assert s.garbage_bytes == len(ENERGY_REPLY) + len(READ_REQUEST)


# --- DL/T 645 ----------------------------------------------------------------------------------------------


def test_dlt_preambles_and_garbage_between_frames() -> None:
    pre = b"\xfe\xfe\xfe\xfe"
    stream = pre + READ_REQUEST + b"\x00\x16" + pre + ENERGY_REPLY + BLOCK_REPLY + b"\x68\x12\xff" + pre[:2]
    s = StreamSplitter(d.frame_length)
    assert s.feed(stream) == [READ_REQUEST, ENERGY_REPLY, BLOCK_REPLY]
    # preambles are not part of a frame; 68 12 FF: FFH is no address byte, dropped at once
    assert s.garbage_bytes == 4 + 2 + 4 + 3 + 2
    assert s.pending == 0


def test_dlt_frame_split_across_reads_and_decoded() -> None:
    s = StreamSplitter(d.frame_length)
    assert s.feed(b"\xfe\xfe" + ENERGY_REPLY[:8]) == []  # up to the second 68: length unknown
    assert s.pending == 8
    assert s.feed(ENERGY_REPLY[8:12]) == []  # length known (8 data bytes), frame incomplete
    assert s.feed(ENERGY_REPLY[12:] + BLOCK_REPLY[:3]) == [ENERGY_REPLY]
    assert s.pending == 3
    (block,) = s.feed(BLOCK_REPLY[3:])
    values = d.frame_to_json(d.decode_frame(block))["values"]
    assert [v["value"] for v in values] == [1234.56, 300, None, 500, 434]
    assert s.garbage_bytes == 2


def test_dlt_false_start_inside_garbage() -> None:
    # 68 + six BCD bytes + 68 looks like a header; its length byte (05) points at a byte that is not 16H
    fake = bytes.fromhex("68 01 02 03 04 05 06 68 11 05 00 00 00 00 00 00 00")
    s = StreamSplitter(d.frame_length)
    assert s.feed(fake + READ_REQUEST) == [READ_REQUEST]
    assert s.garbage_bytes == len(fake)


def test_dlt_wrong_second_start_byte_is_dropped_early() -> None:
    s = StreamSplitter(d.frame_length)
    assert s.feed(bytes.fromhex("68 12 00 00 00 10 20 69")) == []
    assert (s.garbage_bytes, s.pending) == (8, 0)


# --- any chunking, both protocols ------------------------------------------------------------------------

GDW_FRAMES = [HEARTBEAT, LOGIN, F161_REPLY, FORWARD_REPLY]
DLT_FRAMES = [READ_REQUEST, ENERGY_REPLY, BLOCK_REPLY]
# garbage without 68H cannot open a candidate frame, so every real frame must come out
garbage = st.binary(max_size=12).map(lambda b: b.replace(b"\x68", b"\x00"))


@given(
    st.lists(st.tuples(garbage, st.sampled_from(GDW_FRAMES)), max_size=12),
    st.lists(st.integers(1, 64), min_size=1, max_size=10),
)
def test_gdw_any_chunking_yields_every_frame(parts: list[tuple[bytes, bytes]], sizes: list[int]) -> None:
    stream = b"".join(junk + frame for junk, frame in parts)
    s = StreamSplitter(g.frame_length)
    assert feed_in_chunks(s, stream, sizes) == [frame for _, frame in parts]
    assert s.garbage_bytes == sum(len(junk) for junk, _ in parts)
    assert s.pending == 0


@given(
    st.lists(st.tuples(garbage, st.integers(0, 4), st.sampled_from(DLT_FRAMES)), max_size=12),
    st.lists(st.integers(1, 64), min_size=1, max_size=10),
)
def test_dlt_any_chunking_yields_every_frame(parts: list[tuple[bytes, int, bytes]], sizes: list[int]) -> None:
    stream = b"".join(junk + b"\xfe" * fe + frame for junk, fe, frame in parts)
    s = StreamSplitter(d.frame_length)
    frames = feed_in_chunks(s, stream, sizes)
    assert frames == [frame for _, _, frame in parts]
    assert s.garbage_bytes == sum(len(junk) + fe for junk, fe, _ in parts)
    assert all(d.decode_frame(f).address == METER for f in frames)
