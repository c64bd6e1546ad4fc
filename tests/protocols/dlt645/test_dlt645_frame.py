"""DL/T 645 framing: preamble, address (broadcast, wildcard), checksum, 33H offset, splitter, every error
class with the byte position it names. Expected bytes are computed by hand in the comments."""

from __future__ import annotations

import pytest

from gridcare.protocols.dlt645 import (
    build_frame,
    build_read_address_request,
    build_read_request,
    decode_frame,
    frame_length,
    with_preamble,
)
from gridcare.protocols.dlt645.frame import decode_address, encode_address
from gridcare.protocols.errors import (
    BadBcd,
    BadChecksum,
    BadField,
    BadLength,
    BadStartByte,
    FrameError,
    TruncatedFrame,
    UnsupportedFrame,
)

# Read 00 01 00 00 (forward active total) from meter 201000000012.
# Address low byte first: 12 00 00 00 10 20; DI0..DI3 = 00 00 01 00, +33H -> 33 33 34 33.
# CS = 68+12+10+20+68 (=274) + 11 + 04 + 33+33+34+33 (=205) = 500 = 0x1F4 -> F4.
READ_REQUEST = bytes.fromhex("68 120000001020 68 11 04 33333433 F4 16".replace(" ", ""))

# The well-known read-address frame: 2*68 + 6*AA + 13 = 208 + 1020 + 19 = 1247 = 0x4DF -> DF.
READ_ADDRESS = bytes.fromhex("68AAAAAAAAAAAA681300DF16")


def test_read_request_bytes_match_hand_computed_frame():
    assert build_read_request("201000000012", "00010000") == READ_REQUEST


def test_read_address_request_is_the_classic_frame():
    assert build_read_address_request() == READ_ADDRESS
    frame = decode_frame(READ_ADDRESS)
    assert frame.address == "AAAAAAAAAAAA"
    assert (frame.control, frame.function, frame.direction) == (0x13, 0x13, "request")


@pytest.mark.parametrize("count", [0, 1, 2, 4, 7])
def test_any_number_of_fe_preamble_bytes_is_accepted(count):
    frame = decode_frame(b"\xfe" * count + READ_REQUEST)
    assert frame.address == "201000000012"
    assert frame.di == "00010000"
    assert frame.payload == bytes.fromhex("00000100")  # 33H removed from every data byte


def test_with_preamble_prefixes_four_fe_by_default():
    assert with_preamble(READ_REQUEST) == b"\xfe\xfe\xfe\xfe" + READ_REQUEST
    assert (
        build_frame("201000000012", 0x11, bytes.fromhex("00000100"), preamble=2) == b"\xfe\xfe" + READ_REQUEST
    )


def test_address_is_sent_low_byte_first():
    assert encode_address("201000000012") == bytes.fromhex("120000001020")
    assert decode_address(bytes.fromhex("120000001020")) == "201000000012"


def test_broadcast_and_wildcard_addresses():
    assert encode_address("999999999999") == b"\x99" * 6
    assert encode_address("AAAAAAAAAAAA") == b"\xaa" * 6
    assert encode_address("AAAAAA000012") == bytes.fromhex("120000AAAAAA")
    assert decode_address(bytes.fromhex("120000AAAAAA")) == "AAAAAA000012"
    # nibble-wise wildcard: A in the high nibble only
    assert decode_address(bytes.fromhex("12000000A0AA")) == "AAA000000012"


def test_wildcard_below_a_digit_is_rejected_with_its_byte_position():
    raw = bytes.fromhex("68 1200AA001020 68 11 04 33333433".replace(" ", ""))
    frame = raw + bytes([sum(raw) & 0xFF, 0x16])
    with pytest.raises(BadField) as exc:
        decode_frame(frame)
    assert exc.value.position == 3  # address byte A2 (AAH) sits at buffer offset 3


def test_address_byte_that_is_neither_bcd_nor_wildcard_is_bad_bcd():
    raw = bytes.fromhex("68 12000000B020 68 11 04 33333433".replace(" ", ""))
    frame = raw + bytes([sum(raw) & 0xFF, 0x16])
    with pytest.raises(BadBcd) as exc:
        decode_frame(frame)
    assert exc.value.position == 5
    assert exc.value.code == "bad_bcd"


@pytest.mark.parametrize("bad", ["20100000001", "2010000000123", "20100000001X", "2A1000000012", "aaaa"])
def test_encode_address_rejects_malformed_text(bad):
    with pytest.raises(BadField):
        encode_address(bad)


def test_lower_case_wildcard_is_accepted():
    assert encode_address("aaaaaa000012") == bytes.fromhex("120000AAAAAA")


def test_truncated_frame_names_the_buffer_end():
    for cut in (1, 5, 9, 10, 14, 15):
        with pytest.raises(TruncatedFrame) as exc:
            decode_frame(READ_REQUEST[:cut])
        assert exc.value.position == cut
    with pytest.raises(TruncatedFrame) as exc:
        decode_frame(b"\xfe\xfe")
    assert exc.value.position == 2


def test_missing_first_start_byte():
    with pytest.raises(BadStartByte) as exc:
        decode_frame(b"\xfe\x69" + READ_REQUEST[1:])
    assert exc.value.position == 1
    assert exc.value.code == "bad_delimiter"


def test_missing_second_start_byte_even_when_the_frame_is_short():
    bad = READ_REQUEST[:7] + b"\x00" + READ_REQUEST[8:]
    with pytest.raises(BadStartByte) as exc:
        decode_frame(b"\xfe" + bad)
    assert exc.value.position == 8
    with pytest.raises(BadStartByte):
        decode_frame(bad[:9])  # header impossible already: reported before "truncated"


def test_bad_end_byte():
    with pytest.raises(BadStartByte) as exc:
        decode_frame(READ_REQUEST[:-1] + b"\x17")
    assert exc.value.position == 15


def test_bad_checksum_names_the_checksum_byte():
    with pytest.raises(BadChecksum) as exc:
        decode_frame(b"\xfe\xfe" + READ_REQUEST[:-2] + b"\xf5\x16")
    assert exc.value.position == 16
    assert "F5" in str(exc.value) and "F4" in str(exc.value)


def test_trailing_bytes_are_bad_length_unless_allowed():
    with pytest.raises(BadLength) as exc:
        decode_frame(READ_REQUEST + b"\x00\x68")
    assert exc.value.position == 16
    frame = decode_frame(READ_REQUEST + b"\x00\x68", allow_trailing=True)
    assert frame.di == "00010000"


def test_unknown_function_code_is_unsupported_at_the_control_byte():
    raw = bytes.fromhex("68 120000001020 68 05 00".replace(" ", ""))
    with pytest.raises(UnsupportedFrame) as exc:
        decode_frame(b"\xfe" + raw + bytes([sum(raw) & 0xFF, 0x16]))
    assert exc.value.position == 9
    assert exc.value.code == "unsupported"


def test_request_with_abnormal_or_follow_up_bit_is_a_bad_field():
    for control in (0x51, 0x31):
        raw = bytes.fromhex(f"68120000001020 68 {control:02X} 04 33333433".replace(" ", ""))
        with pytest.raises(BadField) as exc:
            decode_frame(raw + bytes([sum(raw) & 0xFF, 0x16]))
        assert exc.value.position == 8


def test_broadcast_time_has_no_reply():
    raw = bytes.fromhex("68 999999999999 68 88 00".replace(" ", ""))
    with pytest.raises(UnsupportedFrame):
        decode_frame(raw + bytes([sum(raw) & 0xFF, 0x16]))


def test_follow_up_bit_only_on_read_replies():
    raw = bytes.fromhex("68 120000001020 68 B4 00".replace(" ", ""))  # write reply with D5 set
    with pytest.raises(BadField) as exc:
        decode_frame(raw + bytes([sum(raw) & 0xFF, 0x16]))
    assert exc.value.position == 8


def test_every_error_is_a_frame_error_subclass():
    for cls in (TruncatedFrame, BadStartByte, BadLength, BadChecksum, BadBcd, BadField, UnsupportedFrame):
        assert issubclass(cls, FrameError)


# ---- frame_length (stream splitter) ---------------------------------------------------------------------


def test_frame_length_needs_the_length_byte():
    for n in range(10):
        assert frame_length(READ_REQUEST[:n], 0) is None
    assert frame_length(READ_REQUEST[:10], 0) == 16
    assert frame_length(READ_REQUEST, 0) == 16


def test_frame_length_at_an_offset_in_a_stream():
    stream = b"\xfe\xfe\xfe\xfe" + READ_REQUEST + READ_ADDRESS
    assert frame_length(stream, 4) == 16
    assert frame_length(stream, 20) == 12
    assert frame_length(stream, 99) is None


def test_frame_length_rejects_impossible_headers_early():
    with pytest.raises(BadStartByte) as exc:
        frame_length(b"\x00\x68", 0)
    assert exc.value.position == 0
    with pytest.raises(BadStartByte) as exc:
        frame_length(b"\x55" + READ_REQUEST[:7] + b"\x11", 1)
    assert exc.value.position == 8
    with pytest.raises(BadBcd) as exc:
        frame_length(b"\x68\x12\xcd", 0)  # CDH cannot be an address byte
    assert exc.value.position == 2


def test_frame_length_counts_the_data_length():
    header = bytes.fromhex("68120000001020689108")
    assert frame_length(header, 0) == 20  # 12 + L
