"""Exact JSON in and out: numbers are parsed to ``Decimal`` and written with their exact digits.

Python's ``json`` writes ``Decimal`` only through ``float``; bills must show ``64.00`` and never
``64.0`` or ``63.99999``. :func:`dumps` writes ``Decimal`` values as their own text instead.
:func:`loads` parses every non-integer number as ``Decimal``, rejects ``NaN``/``Infinity`` and
duplicate keys. Pure text transformations; no file or network I/O.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from gridcare.billing.errors import BillingInputError, from_validation_error
from gridcare.billing.numbers import decimal_text

M = TypeVar("M", bound=BaseModel)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def loads(text: str | bytes) -> Any:
    """Parse JSON text with exact decimals; a syntax error raises :class:`BillingInputError`."""
    try:
        return json.loads(
            text,
            parse_float=Decimal,
            parse_constant=_reject_constant,
            object_pairs_hook=_no_duplicates,
        )
    except UnicodeDecodeError as exc:
        raise BillingInputError.at((), f"body is not UTF-8 text: {exc.reason}") from exc
    except json.JSONDecodeError as exc:
        raise BillingInputError.at(
            (), f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    except ValueError as exc:
        raise BillingInputError.at((), f"invalid JSON: {exc}") from exc


def parse_model(model: type[M], text: str | bytes) -> M:
    """``text`` parsed exactly and validated as ``model``; any problem raises :class:`BillingInputError`."""
    data = loads(text)
    return validate_model(model, data)


def validate_model(model: type[M], data: Any) -> M:
    """``data`` (already parsed) validated as ``model``, errors as :class:`BillingInputError`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc) from exc


def dumps(value: Any, indent: int | None = None) -> str:
    """JSON text of ``value``; ``Decimal`` keeps its digits, ``date`` becomes ``YYYY-MM-DD``.

    ``value`` may be a pydantic model (dumped in Python mode), dict, list, str, int, bool or None.
    """
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="python")
    return _write(value, indent, 0)


def _write(value: Any, indent: int | None, depth: int) -> str:
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, date):
        return json.dumps(value.isoformat())
    if isinstance(value, BaseModel):
        return _write(value.model_dump(mode="python"), indent, depth)
    if isinstance(value, dict):
        items = [
            f"{json.dumps(str(k), ensure_ascii=False)}: {_write(v, indent, depth + 1)}"
            for k, v in value.items()
        ]
        return _join(items, "{", "}", indent, depth)
    if isinstance(value, list | tuple):
        return _join([_write(v, indent, depth + 1) for v in value], "[", "]", indent, depth)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _join(items: list[str], open_: str, close: str, indent: int | None, depth: int) -> str:
    if not items:
        return open_ + close
    if indent is None:
        return open_ + ", ".join(items) + close
    pad = " " * (indent * (depth + 1))
    return open_ + "\n" + ",\n".join(pad + i for i in items) + "\n" + " " * (indent * depth) + close
