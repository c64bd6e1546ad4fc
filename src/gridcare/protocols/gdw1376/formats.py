"""Data formats of Q/GDW 1376.1-2013 appendix A (the subset the supported messages use).

Numbers are packed BCD, low byte first, with implied decimals; in the signed formats the top bit of the
last byte is the sign. A field whose bytes are all EEH is "no data" and decodes to None (all FFH, which
some terminals send instead, also decodes to None, with a warning). Encoding None gives EEH filler.

=====  ===================  =====  ==============================================
A.1    ss mm hh DD WW|MM YY   6     date-time with weekday (D7..D5 of the month byte)
A.5    (+/-)XXX.X             2     power factor [%]
A.7    XXX.X                  2     voltage [V]
A.9    (+/-)XX.XXXX           3     active [kW] / reactive [kvar] / apparent [kVA] power
A.10   XXXXXX                 3     counts
A.11   XXXXXX.XX              4     reactive energy [kvarh]
A.12   12 BCD digits          6     meter / device address
A.13   XXXX.XXXX              4     energy [kWh] (4 decimals)
A.14   XXXXXX.XXXX            5     active energy [kWh]
A.15   mm hh DD MM YY         5     read time "YYYY-MM-DD HH:MM"
A.16   ss mm hh DD            4     time label (Tp)
A.17   mm hh DD MM            4     "MM-DD HH:MM"
A.20   DD MM YY               3     daily freeze date td_d "YYYY-MM-DD"
A.21   MM YY                  2     monthly freeze month td_m "YYYY-MM"
A.25   (+/-)XXX.XXX           3     current [A]
A.26   X.XXX                  2     ratio
=====  ===================  =====  ==============================================
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from gridcare.protocols import fastbcd
from gridcare.protocols.bcd import bcd_to_decimal, bcd_to_digits, bcd_to_int, decimal_to_bcd, digits_to_bcd
from gridcare.protocols.errors import BadField
from gridcare.protocols.fastbcd import BCD_BYTES, FALLBACK, time_decoder
from gridcare.protocols.gdw1376.reader import Reader

NO_DATA = 0xEE
_POSITIVE = bytes(range(0x80))  # translate(None, _POSITIVE) keeps only bytes with the sign bit set


@dataclass(frozen=True)
class Num:
    """A numeric appendix-A format: ``length`` bytes of BCD with ``decimals`` implied places."""

    ref: str
    length: int
    decimals: int
    signed: bool = False


A5 = Num("A.5", 2, 1, True)
A7 = Num("A.7", 2, 1)
A9 = Num("A.9", 3, 4, True)
A10 = Num("A.10", 3, 0)
A11 = Num("A.11", 4, 2)
A13 = Num("A.13", 4, 4)
A14 = Num("A.14", 5, 4)
A25 = Num("A.25", 3, 3, True)
A26 = Num("A.26", 2, 3)


def filler(n: int) -> bytes:
    """``n`` bytes of the no-data filler EEH."""
    return bytes([NO_DATA]) * n


def read_field(r: Reader, n: int, what: str) -> bytes | None:
    """The next ``n`` bytes, or None when they are all EEH (or all FFH, with a warning)."""
    raw = r.take(n, what)
    if raw.count(NO_DATA) == n:
        return None
    if raw.count(0xFF) == n:
        r.warn(f"{what}: all FFH used as no-data filler (the standard says EEH)")
        return None
    return raw


def to_decimal(value: object, what: str) -> Decimal:
    """A JSON or Python number (or numeric string) as Decimal; floats go through ``str`` (1234.56 stays)."""
    if isinstance(value, bool):
        raise BadField(f"{what}: expected a number, got {value!r}")
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, int):
        d = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise BadField(f"{what}: {value!r} is not a finite number")
        d = Decimal(str(value))
    elif isinstance(value, str):
        try:
            d = Decimal(value.strip())
        except InvalidOperation:
            raise BadField(f"{what}: {value!r} is not a number") from None
    else:
        raise BadField(f"{what}: expected a number, got {type(value).__name__}")
    if not d.is_finite():
        raise BadField(f"{what}: {value!r} is not a finite number")
    return d


def to_int(value: object, what: str, low: int = 0, high: int = 255) -> int:
    """An integer in ``low..high`` (JSON ints, integral floats/strings accepted)."""
    d = to_decimal(value, what)
    if d != d.to_integral_value():
        raise BadField(f"{what}: {value!r} is not an integer")
    n = int(d)
    if not low <= n <= high:
        raise BadField(f"{what}: {n} is outside {low}..{high}")
    return n


def read_num(r: Reader, fmt: Num, what: str) -> Decimal | None:
    """Decode one numeric field (None for no data)."""
    pos = r.pos
    end = pos + fmt.length
    if (
        end <= r.end and fastbcd.ENABLED
    ):  # fast path: all BCD (so no filler) and not negative -> what the code below gives
        field = r.data[pos:end]
        if not field.translate(None, BCD_BYTES) and not (fmt.signed and field[-1] & 0x80):
            r.pos = end
            return Decimal(f"{field[::-1].hex()}E-{fmt.decimals}")
    raw = read_field(r, fmt.length, what)
    if raw is None:
        return None
    return bcd_to_decimal(raw, fmt.decimals, fmt.signed, offset=pos)


def num_bytes(value: object, fmt: Num, what: str) -> bytes:
    """Encode one numeric field; None gives the EEH filler."""
    if value is None:
        return filler(fmt.length)
    d = to_decimal(value, what)
    try:
        return decimal_to_bcd(d, fmt.length, fmt.decimals, fmt.signed)
    except BadField as exc:
        raise BadField(f"{what} ({fmt.ref}): {exc.message}") from None


def read_nums(r: Reader, fmt: Num, count: int, what: str) -> list[Decimal | None]:
    n = fmt.length
    pos, end = r.pos, r.pos + n * count
    if (
        count > 0 and end <= r.end and fastbcd.ENABLED
    ):  # fast path: every value BCD (no filler), none negative
        raw = r.data[pos:end]
        if not raw.translate(None, BCD_BYTES) and not (
            fmt.signed and raw[n - 1 :: n].translate(None, _POSITIVE)
        ):
            r.pos = end
            digits = raw[::-1].hex()  # the last value first, each most significant digit first
            exp = f"E-{fmt.decimals}"
            return [Decimal(digits[k - 2 * n : k] + exp) for k in range(len(digits), 0, -2 * n)]
    return [read_num(r, fmt, f"{what}[{i}]") for i in range(count)]


def nums_bytes(values: object, fmt: Num, count: int, what: str) -> bytes:
    """Encode exactly ``count`` values (a shorter list is padded with no-data)."""
    items = _as_list(values, what)
    if len(items) > count:
        raise BadField(f"{what}: {len(items)} values given, the field holds {count}")
    items = items + [None] * (count - len(items))
    return b"".join(num_bytes(v, fmt, f"{what}[{i}]") for i, v in enumerate(items))


def _as_list(values: object, what: str) -> list[object]:
    if values is None:
        return []
    if not isinstance(values, list | tuple):
        raise BadField(f"{what}: expected a list, got {type(values).__name__}")
    return list(values)


def read_count(r: Reader, what: str) -> int | None:
    """A.10 XXXXXX count."""
    pos = r.pos
    raw = read_field(r, 3, what)
    return None if raw is None else bcd_to_int(raw, pos)


def count_bytes(value: object, what: str) -> bytes:
    return num_bytes(value, A10, what)


# --- dates and times ---------------------------------------------------------------------------------


# Fast paths of A.15 and A.20: BCD bytes low byte first are, reversed, the digits YYMMDDhhmm / YYMMDD, and
# a valid date renders as the DL/T 645 time text of that format ("2018-08-28 16:18", "2018-08-27"). An
# all-zero date (an error here) or any invalid part gives FALLBACK: the checking code below then decides.
_A15 = time_decoder("YYMMDDhhmm", FALLBACK)
_A20 = time_decoder("YYMMDD", FALLBACK)


def _fast_time(r: Reader, n: int, decode: Callable[[str], object]) -> str | None:
    """The text of the next ``n`` bytes when they are a valid BCD date (the cursor then moves on)."""
    pos = r.pos
    if pos + n <= r.end and fastbcd.ENABLED:
        raw = r.data[pos : pos + n]
        if not raw.translate(None, BCD_BYTES):
            text = decode(raw[::-1].hex())
            if isinstance(text, str):
                r.pos = pos + n
                return text
    return None


def _bcd_parts(raw: bytes, pos: int, masks: tuple[int, ...]) -> list[int]:
    """BCD bytes -> ints, each byte first masked with ``masks[i]``."""
    parts = []
    for i, (b, m) in enumerate(zip(raw, masks, strict=True)):
        v = b & m
        if (v >> 4) > 9 or (v & 0x0F) > 9:
            bcd_to_int(bytes([v]), pos + i)  # raises BadBcd naming the byte
        parts.append((v >> 4) * 10 + (v & 0x0F))
    return parts


def _check(parts: dict[str, int], what: str, pos: int) -> datetime:
    try:
        return datetime(
            parts.get("year", 2000),
            parts.get("month", 1),
            parts.get("day", 1),
            parts.get("hour", 0),
            parts.get("minute", 0),
            parts.get("second", 0),
        )
    except ValueError as exc:
        raise BadField(f"{what}: invalid date/time {parts} ({exc})", pos) from None


def _parse(value: object, formats: tuple[str, ...], what: str) -> datetime:
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        for fmt in formats:
            try:
                dt = datetime.strptime(value.strip(), fmt)
                break
            except ValueError:
                continue
        else:
            raise BadField(f"{what}: {value!r} does not match {' or '.join(formats)}")
    else:
        raise BadField(f"{what}: expected a date/time string, got {type(value).__name__}")
    if not 2000 <= dt.year <= 2099:
        raise BadField(f"{what}: year {dt.year} is outside 2000..2099 (two BCD digits)")
    return dt


def _bcd(n: int) -> int:
    return (n // 10) << 4 | (n % 10)


def read_a1(r: Reader, what: str) -> tuple[str, int] | None:
    """A.1 -> ("YYYY-MM-DD HH:MM:SS", weekday 1..7 Monday..Sunday, 0 = not given)."""
    pos = r.pos
    raw = read_field(r, 6, what)
    if raw is None:
        return None
    sec, minute, hour, day, month, year = _bcd_parts(raw, pos, (0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0xFF))
    weekday = raw[4] >> 5
    dt = _check(
        {"year": 2000 + year, "month": month, "day": day, "hour": hour, "minute": minute, "second": sec},
        what,
        pos,
    )
    return dt.strftime("%Y-%m-%d %H:%M:%S"), weekday


def a1_bytes(value: object, weekday: object = None, what: str = "clock") -> bytes:
    """Encode A.1; ``weekday`` None computes it from the date (1 = Monday .. 7 = Sunday)."""
    if value is None:
        return filler(6)
    dt = _parse(value, ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"), what)
    wd = dt.isoweekday() if weekday is None else to_int(weekday, f"{what} weekday", 0, 7)
    return bytes(
        [
            _bcd(dt.second),
            _bcd(dt.minute),
            _bcd(dt.hour),
            _bcd(dt.day),
            wd << 5 | _bcd(dt.month),
            _bcd(dt.year - 2000),
        ]
    )


def read_a15(r: Reader, what: str) -> str | None:
    """A.15 mm hh DD MM YY -> "YYYY-MM-DD HH:MM"."""
    pos = r.pos
    text = _fast_time(r, 5, _A15)
    if text is not None:
        return text
    raw = read_field(r, 5, what)
    if raw is None:
        return None
    minute, hour, day, month, year = _bcd_parts(raw, pos, (0xFF,) * 5)
    dt = _check({"year": 2000 + year, "month": month, "day": day, "hour": hour, "minute": minute}, what, pos)
    return dt.strftime("%Y-%m-%d %H:%M")


def a15_bytes(value: object, what: str = "time") -> bytes:
    if value is None:
        return filler(5)
    dt = _parse(value, ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M"), what)
    return bytes([_bcd(dt.minute), _bcd(dt.hour), _bcd(dt.day), _bcd(dt.month), _bcd(dt.year - 2000)])


def read_a17(r: Reader, what: str) -> str | None:
    """A.17 mm hh DD MM -> "MM-DD HH:MM" (no year)."""
    pos = r.pos
    raw = read_field(r, 4, what)
    if raw is None:
        return None
    minute, hour, day, month = _bcd_parts(raw, pos, (0xFF,) * 4)
    dt = _check({"year": 2000, "month": month, "day": day, "hour": hour, "minute": minute}, what, pos)
    return dt.strftime("%m-%d %H:%M")


def a17_bytes(value: object, what: str = "time") -> bytes:
    if value is None:
        return filler(4)
    if not isinstance(value, str):
        raise BadField(f'{what}: expected "MM-DD HH:MM", got {type(value).__name__}')
    try:
        dt = datetime.strptime("2000-" + value.strip(), "%Y-%m-%d %H:%M")
    except ValueError:
        raise BadField(f"{what}: {value!r} does not match MM-DD HH:MM") from None
    return bytes([_bcd(dt.minute), _bcd(dt.hour), _bcd(dt.day), _bcd(dt.month)])


def read_a20(r: Reader, what: str) -> str | None:
    """A.20 DD MM YY -> "YYYY-MM-DD" (td_d)."""
    pos = r.pos
    text = _fast_time(r, 3, _A20)
    if text is not None:
        return text
    raw = read_field(r, 3, what)
    if raw is None:
        return None
    day, month, year = _bcd_parts(raw, pos, (0xFF,) * 3)
    return _check({"year": 2000 + year, "month": month, "day": day}, what, pos).strftime("%Y-%m-%d")


def a20_bytes(value: object, what: str = "td") -> bytes:
    if value is None:
        return filler(3)
    dt = _parse(value, ("%Y-%m-%d",), what)
    return bytes([_bcd(dt.day), _bcd(dt.month), _bcd(dt.year - 2000)])


def read_a21(r: Reader, what: str) -> str | None:
    """A.21 MM YY -> "YYYY-MM" (td_m)."""
    pos = r.pos
    raw = read_field(r, 2, what)
    if raw is None:
        return None
    month, year = _bcd_parts(raw, pos, (0xFF,) * 2)
    return _check({"year": 2000 + year, "month": month}, what, pos).strftime("%Y-%m")


def a21_bytes(value: object, what: str = "td") -> bytes:
    if value is None:
        return filler(2)
    dt = _parse(value, ("%Y-%m",), what)
    return bytes([_bcd(dt.month), _bcd(dt.year - 2000)])


def read_a12(r: Reader, what: str) -> str | None:
    """A.12: 12 BCD digits (a meter or device address), most significant digit first."""
    pos = r.pos
    raw = read_field(r, 6, what)
    return None if raw is None else bcd_to_digits(raw, pos)


def a12_bytes(value: object, what: str = "address") -> bytes:
    if value is None:
        return filler(6)
    if not isinstance(value, str) or len(value) != 12:
        raise BadField(f"{what}: expected 12 decimal digits, got {value!r}")
    return digits_to_bcd(value)
