"""Exact numbers for billing: strict input types, rounding to the fen and number text.

Every quantity is a :class:`~decimal.Decimal`; binary floats never enter a calculation. Input types
accept JSON numbers (parsed exactly, see :mod:`gridcare.billing.jsonio`), Python ``int`` and
``Decimal``; they reject strings, booleans and Python floats with a message naming the reason.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, Strict, ValidationInfo, WithJsonSchema

FEN = Decimal("0.01")
ZERO = Decimal(0)


def round_yuan(value: Decimal) -> Decimal:
    """``value`` [yuan] rounded half-up to the fen (two decimals)."""
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def round_places(value: Decimal, places: int) -> Decimal:
    """``value`` rounded half-up to ``places`` decimals (0 = whole units)."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def plain(value: Decimal) -> Decimal:
    """``value`` without trailing zeros and never in exponent form when printed (460.0 -> 460)."""
    if value == 0:
        return ZERO
    normal = value.normalize()
    exponent = normal.as_tuple().exponent
    if isinstance(exponent, int) and exponent > 0:
        return normal.quantize(Decimal(1))
    return normal


def decimal_text(value: Decimal) -> str:
    """The JSON text of ``value``: its exact digits, no exponent (``Decimal('64.00')`` -> ``64.00``)."""
    if value == 0 and value.is_signed():
        value = -value
    return format(value, "f")


def exact_number(value: Any, info: ValidationInfo) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("must be a finite number")
        return value
    if isinstance(value, float):
        if info.mode == "json":
            # pydantic's own JSON parser hands floats over; their shortest repr is the JSON text.
            return Decimal(repr(value))
        raise ValueError("must be an exact number (int or Decimal), not a binary float")
    if isinstance(value, str):
        raise ValueError("must be a JSON number, not a string")
    raise ValueError(f"must be a number, not {type(value).__name__}")


def _iso_date(value: Any) -> date:
    if isinstance(value, datetime):
        raise ValueError("must be a date, not a date-time")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"must be a date written YYYY-MM-DD, got {value!r}")


_NUMBER_SCHEMA = WithJsonSchema({"type": "number"})

Num = Annotated[Decimal, BeforeValidator(exact_number), _NUMBER_SCHEMA]
"""An exact decimal number from JSON (or Python int/Decimal)."""

NonNegNum = Annotated[
    Decimal, BeforeValidator(exact_number), Field(ge=0), WithJsonSchema({"type": "number", "minimum": 0})
]
"""An exact decimal number >= 0."""

PosNum = Annotated[
    Decimal,
    BeforeValidator(exact_number),
    Field(gt=0),
    WithJsonSchema({"type": "number", "exclusiveMinimum": 0}),
]
"""An exact decimal number > 0."""

Share = Annotated[
    Decimal,
    BeforeValidator(exact_number),
    Field(gt=0, le=1),
    WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "maximum": 1}),
]
"""An exact decimal number in (0, 1]."""

Day = Annotated[date, BeforeValidator(_iso_date), WithJsonSchema({"type": "string", "format": "date"})]
"""A calendar date, ``YYYY-MM-DD``."""

StrictInt = Annotated[int, Strict()]
StrictStr = Annotated[str, Strict()]
StrictBool = Annotated[bool, Strict()]

Money = Annotated[Decimal, _NUMBER_SCHEMA]
"""Output number: yuan with exactly two decimals."""

OutNum = Annotated[Decimal, _NUMBER_SCHEMA]
"""Output number: exact decimal digits."""
