"""Binary-coded decimal helpers shared by the DL/T 645 and Q/GDW 1376.1 codecs.

Byte order: both standards send multi-byte BCD values low byte first. ``digits`` strings here are the
human order (most significant digit first), e.g. meter address "201000000012".
"""

from __future__ import annotations

from decimal import Decimal

from gridcare.protocols.errors import BadBcd, BadField


def is_bcd_byte(b: int) -> bool:
    """True when both nibbles of ``b`` are 0..9."""
    return (b >> 4) <= 9 and (b & 0x0F) <= 9


def bcd_to_int(data: bytes, offset: int = 0) -> int:
    """Decode little-endian packed BCD ``data`` to an int. ``offset`` is only used in error positions."""
    text = data[::-1].hex()
    if text.isdigit():  # the common case, done in C: every nibble is 0..9
        return int(text)
    for i, b in enumerate(data):
        if not is_bcd_byte(b):
            raise BadBcd(f"byte {b:02X} is not BCD", offset + i)
    return 0  # empty data


def int_to_bcd(value: int, length: int) -> bytes:
    """Encode a non-negative int as ``length`` bytes of little-endian packed BCD."""
    if value < 0 or value >= 10 ** (2 * length):
        raise BadField(f"value {value} does not fit in {length} BCD bytes")
    out = bytearray(length)
    for i in range(length):
        value, two = divmod(value, 100)
        out[i] = ((two // 10) << 4) | (two % 10)
    return bytes(out)


def digits_to_bcd(digits: str) -> bytes:
    """ "201000000012" -> b'\\x12\\x00\\x00\\x00\\x10\\x20' (low byte first)."""
    if len(digits) % 2 or not digits.isdigit():
        raise BadField(f"{digits!r} is not an even number of decimal digits")
    return bytes(int(digits[i : i + 2], 16) for i in range(len(digits) - 2, -1, -2))


def bcd_to_digits(data: bytes, offset: int = 0) -> str:
    """Little-endian BCD bytes -> digit string, most significant first."""
    text = data[::-1].hex().upper()
    if text.isdigit() or not data:
        return text
    bcd_to_int(data, offset)  # raises BadBcd naming the first bad byte
    return text


def bcd_to_decimal(data: bytes, decimals: int, signed: bool = False, offset: int = 0) -> Decimal:
    """Decode BCD with ``decimals`` implied decimal places; when ``signed`` the top bit is the sign.

    Exact whatever the decimal context (a meter's digits are never rounded): 12345 with 2 decimals is
    ``Decimal("123.45")``, exponent -2; a negative zero is 0."""
    if signed and data:
        top = data[-1]
        raw = bcd_to_int(data[:-1] + bytes([top & 0x7F]), offset)
        n = -raw if top & 0x80 else raw
    else:
        n = bcd_to_int(data, offset)
    return Decimal(f"{n}E-{decimals}")


def decimal_to_bcd(
    value: Decimal | int | float | str, length: int, decimals: int, signed: bool = False
) -> bytes:
    """Encode ``value`` with ``decimals`` implied places into ``length`` BCD bytes (sign in the top bit)."""
    d = Decimal(str(value)).scaleb(decimals)
    if d != d.to_integral_value():
        raise BadField(f"value {value} has more than {decimals} decimal places")
    n = int(d)
    negative = n < 0
    if negative and not signed:
        raise BadField(f"value {value} is negative but the field is unsigned")
    n = abs(n)
    if signed and n >= 8 * 10 ** (2 * length - 1):
        raise BadField(f"value {value} does not fit in {length} signed BCD bytes (top bit is the sign)")
    out = bytearray(int_to_bcd(n, length))
    if negative:
        out[-1] |= 0x80
    return bytes(out)
