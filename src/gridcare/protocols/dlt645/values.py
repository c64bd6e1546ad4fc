"""Value formats of DL/T 645 data items: one :class:`Field` describes one item, low byte first on the wire.

Kinds:

- ``bcd``: packed BCD number with ``decimals`` implied decimal places (format "XXXXXX.XX"); when ``signed``
  the highest bit of the top byte is the sign. Decodes to ``Decimal`` (``int`` when there are no decimals).
- ``bin``: unsigned binary integer (status words, feature bytes).
- ``digits``: BCD digit string, most significant first (addresses, meter numbers).
- ``hex``: any bytes as hex text, most significant first (operator codes "C3C2C1C0", data identifiers).
- ``time``: BCD date/time; ``fmt`` is one of YYMMDDhhmmss, YYMMDDhhmm, YYMMDD, MMDDhhmm, MMDD, hhmmss,
  hhmm. Text form: "2017-06-05 10:22:51", "2015-10-09 00:00", "2016-01-11", "10-09 00:00", "21:53:55".
  The century is 20xx.

Every kind decodes the "no data" filler - all bytes FFH, or all EEH as some meters send - to ``None``,
never to 0. A date that is all zeros (meters use it for "never happened") also decodes to ``None``.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from gridcare.protocols.bcd import bcd_to_decimal, bcd_to_digits, bcd_to_int, decimal_to_bcd
from gridcare.protocols.dlt645.model import Value, ValueType
from gridcare.protocols.errors import BadBcd, BadField, BadLength

KINDS = ("bcd", "bin", "digits", "hex", "time")
TIME_FORMATS = ("YYMMDDhhmmss", "YYMMDDhhmm", "YYMMDD", "MMDDhhmm", "MMDD", "hhmmss", "hhmm")
_RANGES = {"YY": (0, 99), "MM": (1, 12), "DD": (1, 31), "hh": (0, 23), "mm": (0, 59), "ss": (0, 59)}


@dataclass(frozen=True)
class Field:
    """One data item: English ``name``, ``kind``, ``length`` in bytes, the standard's format text ``fmt``,
    ``unit``, implied ``decimals``, ``signed`` (sign in the top bit) and the Chinese name ``name_zh``."""

    name: str
    kind: str
    length: int
    fmt: str = ""
    unit: str = ""
    decimals: int = 0
    signed: bool = False
    name_zh: str = ""


def number(name: str, fmt: str, unit: str = "", signed: bool = False, name_zh: str = "") -> Field:
    """A BCD number field from a format such as "XXXXXX.XX" (length and decimals follow from it)."""
    digits = fmt.replace(".", "")
    decimals = len(fmt) - fmt.index(".") - 1 if "." in fmt else 0
    return Field(name, "bcd", (len(digits) + 1) // 2, fmt, unit, decimals, signed, name_zh)


def when(name: str, fmt: str, name_zh: str = "") -> Field:
    """A date/time field ("YYMMDDhhmmss", "YYMMDDhhmm", ...)."""
    if fmt not in TIME_FORMATS:
        raise ValueError(f"unknown time format {fmt}")
    return Field(name, "time", len(fmt) // 2, fmt, "", 0, False, name_zh)


def is_missing(data: bytes) -> bool:
    """True for the "no data" filler: all FFH or all EEH."""
    return len(data) > 0 and (all(b == 0xFF for b in data) or all(b == 0xEE for b in data))


def _pairs(fmt: str) -> list[str]:
    return [fmt[i : i + 2] for i in range(0, len(fmt), 2)]


def render_time(fmt: str, parts: dict[str, int]) -> str:
    """Token values -> ISO-like text for ``fmt``."""
    date = ""
    if "YY" in parts:
        date = f"20{parts['YY']:02d}-{parts['MM']:02d}-{parts['DD']:02d}"
    elif "MM" in parts:
        date = f"{parts['MM']:02d}-{parts['DD']:02d}"
    clock = ""
    if "hh" in parts:
        clock = f"{parts['hh']:02d}:{parts['mm']:02d}"
        if "ss" in parts:
            clock += f":{parts['ss']:02d}"
    return " ".join(p for p in (date, clock) if p)


def _check_time(fmt: str, parts: dict[str, int], what: str, position: int | None) -> None:
    for token, v in parts.items():
        lo, hi = _RANGES[token]
        if not lo <= v <= hi:
            raise BadField(f"{what}: {token}={v:02d} out of range in {fmt}", position)
    if "DD" in parts:
        year = 2000 + parts.get("YY", 0)  # without a year, allow 29 February (2000 is a leap year)
        if parts["DD"] > calendar.monthrange(year, parts["MM"])[1]:
            raise BadField(f"{what}: day {parts['DD']} does not exist in month {parts['MM']}", position)


def decode_time(fmt: str, raw: bytes, offset: int, what: str = "time") -> str | None:
    """BCD date/time, low byte first, -> text; None for the filler or an all-zero date."""
    if is_missing(raw):
        return None
    for i, b in enumerate(raw):
        if (b >> 4) > 9 or (b & 0x0F) > 9:
            raise BadBcd(f"{what}: byte {b:02X} is not BCD", offset + i)
    if ("MM" in fmt or "DD" in fmt) and not any(raw):
        return None
    tokens = _pairs(fmt)
    values = [(b >> 4) * 10 + (b & 0x0F) for b in reversed(raw)]
    parts = dict(zip(tokens, values, strict=True))
    _check_time(fmt, parts, what, offset)
    return render_time(fmt, parts)


def encode_time(fmt: str, text: str, what: str = "time") -> bytes:
    """Text in the form :func:`render_time` writes -> BCD bytes, low byte first."""
    if not isinstance(text, str):
        raise BadField(f"{what}: expected text like {render_time(fmt, _example(fmt))!r}, got {text!r}")
    digits = "".join(ch for ch in text if ch.isdigit())
    tokens = _pairs(fmt)
    if "YY" in tokens:
        if not digits.startswith("20"):
            raise BadField(f"{what}: {text!r} must be a year 2000..2099")
        digits = digits[2:]
    if len(digits) != len(fmt):
        raise BadField(f"{what}: {text!r} does not match {fmt}")
    parts = {tok: int(digits[2 * i : 2 * i + 2]) for i, tok in enumerate(tokens)}
    if render_time(fmt, parts) != text:
        raise BadField(f"{what}: {text!r} is not written as {render_time(fmt, parts)!r}")
    _check_time(fmt, parts, what, None)
    return bytes(int(f"{parts[tok]:02d}", 16) for tok in reversed(tokens))


def _example(fmt: str) -> dict[str, int]:
    return {tok: _RANGES[tok][0] for tok in _pairs(fmt)}


def decode_field(field: Field, raw: bytes, offset: int) -> ValueType:
    """Decode one field's bytes (``offset``: buffer position of ``raw[0]``, for error positions)."""
    if len(raw) != field.length:
        raise BadLength(f"{field.name} needs {field.length} bytes, got {len(raw)}", offset)
    if is_missing(raw):
        return None
    kind = field.kind
    if kind == "bcd":
        if field.decimals == 0 and not field.signed:
            return bcd_to_int(raw, offset)
        value = bcd_to_decimal(raw, field.decimals, field.signed, offset)
        return int(value) if field.decimals == 0 else value
    if kind == "bin":
        return int.from_bytes(raw, "little")
    if kind == "digits":
        return bcd_to_digits(raw, offset)
    if kind == "hex":
        return raw[::-1].hex().upper()
    if kind == "time":
        return decode_time(field.fmt, raw, offset, field.name)
    raise BadField(f"{field.name}: unknown field kind {kind}", offset)


def _as_decimal(field: Field, value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int | float | str):
        raise BadField(f"{field.name}: expected a number, got {value!r}")
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise BadField(f"{field.name}: {value!r} is not a number") from exc


def encode_field(field: Field, value: object) -> bytes:
    """Encode one field's value (None -> the FFH filler)."""
    if value is None:
        return b"\xff" * field.length
    kind = field.kind
    if kind == "bcd":
        d = _as_decimal(field, value)
        if not d.is_finite():
            raise BadField(f"{field.name}: {value!r} is not a finite number")
        try:
            return decimal_to_bcd(d, field.length, field.decimals, field.signed)
        except BadField as exc:
            raise BadField(f"{field.name}: {exc.message}") from exc
    if kind == "bin":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 256**field.length:
            raise BadField(f"{field.name}: expected an integer 0..{256**field.length - 1}, got {value!r}")
        raw = value.to_bytes(field.length, "little")
    elif kind in ("digits", "hex"):
        if not isinstance(value, str) or len(value) != 2 * field.length:
            raise BadField(f"{field.name}: expected {2 * field.length} characters, got {value!r}")
        allowed = "0123456789" if kind == "digits" else "0123456789ABCDEFabcdef"
        if any(ch not in allowed for ch in value):
            raise BadField(f"{field.name}: {value!r} holds a character other than {kind}")
        raw = bytes.fromhex(value)[::-1]
    elif kind == "time":
        return encode_time(field.fmt, value, field.name)  # type: ignore[arg-type]
    else:
        raise BadField(f"{field.name}: unknown field kind {kind}")
    if is_missing(raw):
        raise BadField(f"{field.name}: {value!r} is the no-data filler (all FFH or EEH); send None instead")
    return raw


def decode_fields(fields: tuple[Field, ...], raw: bytes, offset: int) -> list[Value]:
    """Decode consecutive fields; ``raw`` must hold exactly their bytes."""
    total = sum(f.length for f in fields)
    if len(raw) != total:
        raise BadLength(f"expected {total} data bytes, got {len(raw)}", offset)
    out: list[Value] = []
    pos = 0
    for f in fields:
        out.append(Value(f.name, decode_field(f, raw[pos : pos + f.length], offset + pos), f.unit))
        pos += f.length
    return out


def encode_fields(fields: tuple[Field, ...], values: list[Value]) -> bytes:
    """Encode ``values`` for ``fields`` in order; names must match."""
    if len(values) != len(fields):
        raise BadField(
            f"expected {len(fields)} values ({', '.join(f.name for f in fields)}), got {len(values)}"
        )
    out = bytearray()
    for f, v in zip(fields, values, strict=True):
        if v.name != f.name:
            raise BadField(f"expected value {f.name!r}, got {v.name!r}")
        out += encode_field(f, v.value)
    return bytes(out)
