"""DL/T 645 framing, shared by the 2007 and 1997 editions.

::

    [FE ... FE]  68  A0 A1 A2 A3 A4 A5  68  C  L  D0 ... D(L-1)  CS  16

- any number of FEH wake-up bytes may precede the frame (not covered by the checksum);
- A0..A5: the meter address, 12 BCD digits sent low byte first. AAH (or an A nibble) in the high
  bytes is a wildcard (abbreviated addressing); 999999999999 is the broadcast address;
- C: control code (D7 direction, D6 abnormal reply, D5 follow-up, D4..D0 function);
- L: number of data bytes; each data byte is sent with 33H added (mod 256);
- CS: sum mod 256 of every byte from the first 68H to the last data byte.

Error positions are byte offsets in the buffer handed to the decoder.
"""

from __future__ import annotations

from dataclasses import dataclass

from gridcare.protocols.errors import (
    BadBcd,
    BadChecksum,
    BadField,
    BadLength,
    BadStartByte,
    TruncatedFrame,
)

START = 0x68
END = 0x16
PREAMBLE = 0xFE
OFFSET = 0x33
HEADER_LEN = 10  # 68 A0..A5 68 C L
OVERHEAD = 12  # header + CS + 16


def checksum(data: bytes) -> int:
    """Sum mod 256 of ``data`` (from the first 68H to the last data byte)."""
    return sum(data) & 0xFF


ADD_TABLE = bytes((b + OFFSET) & 0xFF for b in range(256))  # for bytes.translate: +33H
REMOVE_TABLE = bytes((b - OFFSET) & 0xFF for b in range(256))  # for bytes.translate: -33H


def add_offset(data: bytes) -> bytes:
    """Add 33H to every byte (what goes on the wire)."""
    return bytes(data).translate(ADD_TABLE)


def remove_offset(data: bytes) -> bytes:
    """Subtract 33H from every byte (what the wire carried -> the data)."""
    return bytes(data).translate(REMOVE_TABLE)


def _check_address_byte(b: int, position: int) -> None:
    for nibble in (b >> 4, b & 0x0F):
        if nibble > 9 and nibble != 0xA:
            raise BadBcd(f"address byte {b:02X} is neither BCD nor a wildcard (AH)", position)


def decode_address(raw: bytes, offset: int = 0) -> str:
    """Six address bytes (low byte first) -> 12 characters, most significant first.

    Digits 0-9 and the wildcard 'A' are allowed; wildcards may only fill the high-order positions
    (abbreviated addressing pads the high bytes with AAH), e.g. "AAAAAA000012".
    """
    if len(raw) != 6:
        raise BadLength(f"address needs 6 bytes, got {len(raw)}", offset)
    for i, b in enumerate(raw):
        _check_address_byte(b, offset + i)
    text = "".join(f"{b:02X}" for b in reversed(raw))
    seen_digit = False
    for i, ch in enumerate(text):
        if ch == "A":
            if seen_digit:
                raise BadField(
                    f"address {text}: wildcard A is only allowed in the high-order digits",
                    offset + 5 - i // 2,
                )
        else:
            seen_digit = True
    return text


def encode_address(address: str) -> bytes:
    """12 characters (0-9, leading 'A' wildcards) -> 6 bytes, low byte first."""
    if not isinstance(address, str) or len(address) != 12:
        raise BadField(f"address {address!r} must be 12 characters")
    text = address.upper()
    if any(ch not in "0123456789" for ch in text.lstrip("A")):
        raise BadField(f"address {address!r}: only digits, with optional leading wildcard 'A's")
    return bytes(int(text[i : i + 2], 16) for i in range(10, -1, -2))


def build_frame(address: str, control: int, payload: bytes, preamble: int = 0) -> bytes:
    """Frame ``payload`` (data without the 33H offset) for ``address`` with control code ``control``."""
    if not 0 <= control <= 0xFF:
        raise BadField(f"control code {control} is not a byte")
    if len(payload) > 0xFF:
        raise BadLength(f"data field of {len(payload)} bytes exceeds 255")
    if preamble < 0:
        raise BadField("preamble count must not be negative")
    body = (
        bytes([START]) + encode_address(address) + bytes([START, control, len(payload)]) + add_offset(payload)
    )
    return bytes([PREAMBLE]) * preamble + body + bytes([checksum(body), END])


def with_preamble(frame: bytes, count: int = 4) -> bytes:
    """Prefix ``count`` FEH wake-up bytes (RS-485 meters usually want four)."""
    return bytes([PREAMBLE]) * count + frame


def _check_header(buf: bytes, start: int) -> None:
    """Raise for header bytes already in ``buf`` that make a frame at ``start`` impossible."""
    if buf[start] != START:
        raise BadStartByte(f"expected start byte 68H, found {buf[start]:02X}", start)
    for k in range(1, 7):
        if start + k < len(buf):
            _check_address_byte(buf[start + k], start + k)
    if start + 7 < len(buf) and buf[start + 7] != START:
        raise BadStartByte(f"expected second start byte 68H, found {buf[start + 7]:02X}", start + 7)


def frame_length(buf: bytes, start: int) -> int | None:
    """Total length of the frame whose first 68H is at ``buf[start]``, or None while more bytes are needed.

    For a stream splitter: raises a :class:`FrameError` when the bytes already received rule out a frame
    at ``start`` (no 68H there, an address byte that is neither BCD nor AH, no second 68H), so the caller
    can skip ahead. The length counts from the first 68H to the closing 16H (preamble excluded).
    """
    if start < 0:
        raise BadField("start index must not be negative", start)
    if start >= len(buf):
        return None
    _check_header(buf, start)
    if len(buf) < start + HEADER_LEN:
        return None
    return OVERHEAD + buf[start + 9]


@dataclass(frozen=True)
class Envelope:
    """The framing fields of one frame; ``data_offset`` is the buffer position of the first data byte."""

    address: str
    control: int
    payload: bytes
    start: int
    data_offset: int


def parse_envelope(data: bytes, allow_trailing: bool = False) -> Envelope:
    """Check the framing of ``data`` and strip the 33H offset from the data field."""
    data = bytes(data)
    i = 0
    while i < len(data) and data[i] == PREAMBLE:
        i += 1
    if i == len(data):
        raise TruncatedFrame("no start byte 68H", len(data))
    _check_header(data, i)
    if len(data) < i + HEADER_LEN:
        raise TruncatedFrame(f"frame header needs {HEADER_LEN} bytes, buffer ends", len(data))
    length = data[i + 9]
    end = i + OVERHEAD + length
    if len(data) < end:
        raise TruncatedFrame(f"length field says {length} data bytes, buffer ends", len(data))
    cs_pos = i + HEADER_LEN + length
    expected = checksum(data[i:cs_pos])
    if data[cs_pos] != expected:
        raise BadChecksum(f"checksum {data[cs_pos]:02X}, computed {expected:02X}", cs_pos)
    if data[cs_pos + 1] != END:
        raise BadStartByte(f"expected end byte 16H, found {data[cs_pos + 1]:02X}", cs_pos + 1)
    if len(data) > end and not allow_trailing:
        raise BadLength(f"{len(data) - end} byte(s) after the end byte 16H", end)
    address = decode_address(data[i + 1 : i + 7], i + 1)
    return Envelope(
        address=address,
        control=data[i + 8],
        payload=remove_offset(data[i + HEADER_LEN : cs_pos]),
        start=i,
        data_offset=i + HEADER_LEN,
    )
