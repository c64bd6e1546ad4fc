"""Fast paths of the DL/T 645 decoder for the common, well-formed frame.

Everything here is an optimisation only: each function either returns exactly what the fully checking
decoder (:mod:`.frame`, :mod:`.values`, :mod:`.datablock`) returns for the same bytes, or returns
``None`` / :data:`FALLBACK` so that the caller runs the checking path, which then raises the documented
:class:`~gridcare.protocols.errors.FrameError` with its code and byte position. Anomalies (a non-BCD
byte, the no-data filler, a wildcard address, a length that does not match the identifier, an invalid
date, ...) therefore always take the slow path; the equivalence is checked by the property and fuzz tests.

Hot-path techniques: data bytes are checked to be BCD with one ``bytes.translate`` (deleting the 100 BCD
bytes must leave nothing); a whole data field is turned into digits with one reversed ``hex()``, so each
item is a string slice; per data identifier the layout of its items (slice bounds, kind, decimals) is
compiled once and cached; typed results are built without the frozen-dataclass ``__init__`` (same class,
same slots, so equality, hashing and repr are unchanged). The native module ``_accel`` (C) does the same
for read replies, in front of all of this, where it was built.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from gridcare.protocols.dlt645.datablock import DataSpec
from gridcare.protocols.dlt645.model import Dlt645Frame, Value
from gridcare.protocols.dlt645.values import Field
from gridcare.protocols.fastbcd import BCD_BYTES, FALLBACK, time_decoder

_new = object.__new__
_set = object.__setattr__


def make_frame(
    protocol: str,
    address: str,
    control: int,
    reply: bool,
    abnormal: bool,
    follow_up: bool,
    di: str | None,
    values: tuple[Value, ...],
    error_bits: int | None,
    payload: bytes,
    warnings: tuple[str, ...],
) -> Dlt645Frame:
    """``Dlt645Frame(...)`` without the frozen dataclass ``__init__`` (same object, fields in order)."""
    f = _new(Dlt645Frame)
    _set(f, "protocol", protocol)
    _set(f, "address", address)
    _set(f, "control", control)
    _set(f, "direction", "reply" if reply else "request")
    _set(f, "abnormal", abnormal)
    _set(f, "follow_up", follow_up)
    _set(f, "function", control & 0x1F)
    _set(f, "di", di)
    _set(f, "values", values)
    _set(f, "error_bits", error_bits)
    _set(f, "payload", payload)
    _set(f, "warnings", warnings)
    return f


# --- items of a data identifier --------------------------------------------------------------------------

# Item kinds of a compiled layout.
K_DECIMAL, K_INT, K_SIGNED, K_BIN, K_TEXT, K_TIME = range(6)

# One compiled item: (name, unit, kind, start, stop, exponent or time decoder) - start/stop index the
# digit string of the reversed data field.
Item = tuple[str, str, int, int, int, Any]
Layout = tuple[Item, ...]


def _compile(fields: tuple[Field, ...]) -> Layout | None:
    """The layout of ``fields`` (consecutive, wire order), or None when a kind has no fast decoding."""
    total = sum(f.length for f in fields)
    items: list[Item] = []
    pos = 0
    for f in fields:
        # the reversed hex holds this field at [2 * (total - pos - length), 2 * (total - pos))
        start, stop = 2 * (total - pos - f.length), 2 * (total - pos)
        pos += f.length
        if f.length == 0:
            return None
        if f.kind == "bcd":
            if f.signed:
                items.append((f.name, f.unit, K_SIGNED, start, stop, -f.decimals))
            elif f.decimals == 0:
                items.append((f.name, f.unit, K_INT, start, stop, 0))
            else:
                items.append((f.name, f.unit, K_DECIMAL, start, stop, f"E-{f.decimals}"))
        elif f.kind == "bin":
            items.append((f.name, f.unit, K_BIN, start, stop, 0))
        elif f.kind in ("digits", "hex"):
            items.append((f.name, f.unit, K_TEXT, start, stop, 0))
        elif f.kind == "time":
            items.append((f.name, f.unit, K_TIME, start, stop, time_decoder(f.fmt, None)))
        else:
            return None
    return tuple(items)


def compile_spec(spec: DataSpec | None) -> dict[int, Layout]:
    """Data length -> layout, for every data length ``spec`` accepts (empty: no fast path)."""
    if spec is None or spec.special is not None:
        return {}
    out: dict[int, Layout] = {}
    if not spec.variable:
        layout = _compile(spec.fields)
        if layout is not None:
            out[spec.length] = layout
        return out
    fields: tuple[Field, ...] = ()
    for group in spec.groups:
        fields += group
        layout = _compile(fields)
        if layout is None:
            break
        out[sum(f.length for f in fields)] = layout
    return out


LAYOUT_CACHE: dict[str, dict[int, Layout]] = {}  # also read by the native decoder (_accel.c)
_MAX_LAYOUTS = 4096  # bounded: random identifiers (fuzzing, noise) must not grow the cache forever


def layouts(di: str, find: Callable[[str], DataSpec | None]) -> dict[int, Layout]:
    """The compiled layouts of identifier ``di`` (cached per identifier)."""
    found = LAYOUT_CACHE.get(di)
    if found is None:
        found = compile_spec(find(di))
        if len(LAYOUT_CACHE) < _MAX_LAYOUTS:
            LAYOUT_CACHE[di] = found
    return found


def decode_items(layout: Layout, data: bytes) -> tuple[Value, ...] | None:
    """The values of ``data`` (the bytes after the identifier) by ``layout``; None -> use the slow path."""
    if data.translate(None, BCD_BYTES):
        return None  # a non-BCD byte: the filler, a bit field, or an error - the checking decoder knows
    h = data[::-1].hex()
    out: list[Value] = []
    append = out.append
    for name, unit, kind, a, b, arg in layout:
        s = h[a:b]
        value: object
        if kind == K_DECIMAL:
            value = Decimal(s + arg)  # "00012345E-2": exactly Decimal(12345).scaleb(-2)
        elif kind == K_INT:
            value = int(s)
        elif kind == K_SIGNED:
            # sign bit: BCD top nibble 8 or 9 (-0 is 0, as in bcd_to_decimal)
            n = -int(f"{int(s[0]) - 8}{s[1:]}") if s[0] >= "8" else int(s)
            value = n if arg == 0 else Decimal(f"{n}E{arg}")  # exact, as bcd_to_decimal
        elif kind == K_BIN:
            value = int(s, 16)
        elif kind == K_TEXT:
            value = s
        else:
            value = arg(s)
            if value is FALLBACK:
                return None
        v = _new(Value)
        _set(v, "name", name)
        _set(v, "value", value)
        _set(v, "unit", unit)
        append(v)
    return tuple(out)
