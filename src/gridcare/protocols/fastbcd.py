"""Building blocks of the codecs' fast paths: BCD checks, exact decimals and dates from digit strings.

A fast path decodes the common, well-formed case and must return exactly what the fully checking decoder
returns for the same bytes; on anything unusual it gives up (``None`` or :data:`FALLBACK`) and the caller
runs the checking decoder, which then produces the result or raises the documented FrameError.

* :data:`BCD_BYTES`: ``raw.translate(None, BCD_BYTES)`` deletes every BCD byte, so it is empty iff all of
  ``raw`` is BCD (and then ``raw[::-1].hex()`` is the value's digits, most significant first). The no-data
  fillers FFH and EEH are not BCD, so a BCD field is never "missing".
* ``Decimal(digits + "E-2")`` is exact whatever the decimal context, as :func:`..bcd.bcd_to_decimal` is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

# Tests switch the fast paths off to compare them with the checking decoders on the same inputs.
ENABLED = True

BCD_BYTES: Final = bytes(b for b in range(256) if (b >> 4) <= 9 and (b & 0x0F) <= 9)

FALLBACK: Final = object()  # "this needs the checking decoder"


# --- dates and times from digit strings ------------------------------------------------------------------

_TWO = [f"{n:02d}" for n in range(100)]
_VALID: Final = {
    "YY": frozenset(_TWO),
    "MM": frozenset(_TWO[1:13]),
    "DD": frozenset(_TWO[1:32]),
    "hh": frozenset(_TWO[0:24]),
    "mm": frozenset(_TWO[0:60]),
    "ss": frozenset(_TWO[0:60]),
}
# Last day of each month in a leap year (29 February is checked against the year separately).
_LAST_DAY: Final = {
    _TWO[m]: _TWO[d]
    for m, d in zip(range(1, 13), (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31), strict=True)
}


def _time_decoder(fmt: str, zero_date: object) -> Callable[[str], object]:
    """digits (most significant first, already known to be decimal) -> text, ``zero_date`` or FALLBACK.

    ``fmt`` is a DL/T 645 time format (YYMMDDhhmmss, ...); the text is what
    :func:`gridcare.protocols.dlt645.values.render_time` writes. A date of all zeros gives ``zero_date``
    (None for DL/T 645 "never happened"; FALLBACK where the standard calls it an error)."""
    tokens = [fmt[i : i + 2] for i in range(0, len(fmt), 2)]
    checks = [(2 * k, 2 * k + 2, _VALID[t]) for k, t in enumerate(tokens)]
    has_date = "MM" in tokens or "DD" in tokens
    zeros = "0" * len(fmt)
    at = {t: 2 * k for k, t in enumerate(tokens)}
    yy, mm, dd = at.get("YY"), at.get("MM"), at.get("DD")
    hh, mi, ss = at.get("hh"), at.get("mm"), at.get("ss")

    def render(s: str) -> str:
        date = ""
        if yy is not None:
            date = f"20{s[yy : yy + 2]}-{s[mm : mm + 2]}-{s[dd : dd + 2]}"  # type: ignore[operator]
        elif mm is not None:
            date = f"{s[mm : mm + 2]}-{s[dd : dd + 2]}"  # type: ignore[operator]
        if hh is None:
            return date
        clock = f"{s[hh : hh + 2]}:{s[mi : mi + 2]}"  # type: ignore[operator]
        if ss is not None:
            clock += f":{s[ss : ss + 2]}"
        return f"{date} {clock}" if date else clock

    def decode(s: str) -> object:
        if has_date and s == zeros:
            return zero_date
        for a, b, ok in checks:
            if s[a:b] not in ok:
                return FALLBACK
        if dd is not None:
            day, last = s[dd : dd + 2], _LAST_DAY[s[mm : mm + 2]]  # type: ignore[operator]
            if day > last:
                return FALLBACK
            if day == "29" and last == "29" and yy is not None and int(s[yy : yy + 2]) % 4:
                return FALLBACK  # 29 February of a common year (2000..2099: leap iff YY % 4 == 0)
        return render(s)

    return decode


_TIME_DECODERS: dict[tuple[str, object], Callable[[str], object]] = {}


def time_decoder(fmt: str, zero_date: object) -> Callable[[str], object]:
    """The (shared) decoder of :func:`_time_decoder`."""
    dec = _TIME_DECODERS.get((fmt, zero_date))
    if dec is None:
        dec = _TIME_DECODERS[fmt, zero_date] = _time_decoder(fmt, zero_date)
    return dec
