"""Small field helpers shared by the 2007 and 1997 function bodies: identifiers, passwords, operator codes.

Text conventions (what :class:`Value` holds and ``encode_from_json`` accepts):

- data identifier: hex, most significant byte first ("0001FF00", 1997: "9010"); sent low byte first;
- password: 8 hex characters "LLPPPPPP": the authority level PA, then the password P2 P1 P0 most
  significant first ("02123456" = level 02, password 123456; on the wire PA P0 P1 P2 = 02 56 34 12);
- operator code: 8 hex characters, most significant first ("12345678" is sent 78 56 34 12).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from gridcare.protocols.dlt645.model import Value, ValueType
from gridcare.protocols.errors import BadField, BadLength

_HEX = set("0123456789ABCDEFabcdef")


def di_from_wire(raw: bytes) -> str:
    """Identifier bytes (DI0 first) -> display text."""
    return raw[::-1].hex().upper()


def di_to_wire(di: object, length: int) -> bytes:
    """Display text -> identifier bytes (DI0 first); ``length`` is 4 (2007) or 2 (1997)."""
    if not isinstance(di, str) or len(di) != 2 * length or any(ch not in _HEX for ch in di):
        raise BadField(f"data identifier {di!r} must be {2 * length} hex characters")
    return bytes.fromhex(di)[::-1]


def password_from_wire(raw: bytes) -> str:
    """PA P0 P1 P2 -> "LLPPPPPP"."""
    return f"{raw[0]:02X}{raw[3]:02X}{raw[2]:02X}{raw[1]:02X}"


def password_to_wire(text: object, what: str = "password") -> bytes:
    """ "LLPPPPPP" -> PA P0 P1 P2."""
    if not isinstance(text, str) or len(text) != 8 or any(ch not in _HEX for ch in text):
        raise BadField(f"{what} {text!r} must be 8 hex characters: level then password")
    raw = bytes.fromhex(text)
    return bytes([raw[0], raw[3], raw[2], raw[1]])


def operator_from_wire(raw: bytes) -> str:
    """C0 C1 C2 C3 -> "C3C2C1C0"."""
    return raw[::-1].hex().upper()


def operator_to_wire(text: object) -> bytes:
    """ "12345678" -> 78 56 34 12."""
    if not isinstance(text, str) or len(text) != 8 or any(ch not in _HEX for ch in text):
        raise BadField(f"operator code {text!r} must be 8 hex characters")
    return bytes.fromhex(text)[::-1]


def need_length(payload: bytes, lengths: Sequence[int], what: str, offset: int) -> None:
    """Raise BadLength unless ``len(payload)`` is one of ``lengths``."""
    if len(payload) not in lengths:
        allowed = " or ".join(str(n) for n in lengths)
        raise BadLength(f"{what} carries {allowed} data bytes, got {len(payload)}", offset)


def expect(values: Sequence[Value], names: Sequence[str], what: str) -> list[ValueType]:
    """The values named ``names``, in that order and nothing else; BadField otherwise."""
    got = [v.name for v in values]
    if got != list(names):
        raise BadField(f"{what} takes values {list(names)}, got {got}")
    return [v.value for v in values]


def as_int(value: ValueType, name: str, lo: int, hi: int) -> int:
    """``value`` as an int in lo..hi (floats with no fraction are accepted, e.g. from JSON)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal) or int(value) != value:
        raise BadField(f"{name} must be an integer, got {value!r}")
    n = int(value)
    if not lo <= n <= hi:
        raise BadField(f"{name} must be {lo}..{hi}, got {n}")
    return n
