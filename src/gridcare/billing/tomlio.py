"""TOML in and out for tariff documents, with exact decimals.

:func:`loads_toml` parses floats as ``Decimal`` (``tomllib`` with ``parse_float``); :func:`dumps_toml`
writes a nested mapping as TOML 1.0: scalars first, then sub-tables (``[a.b]``) and arrays of tables
(``[[a.b]]``). ``None`` values are left out (TOML has no null; every nullable tariff field defaults to
null). Pure text transformations.
"""

from __future__ import annotations

import json
import re
import tomllib
from datetime import date
from decimal import Decimal
from typing import Any

from gridcare.billing.errors import BillingInputError
from gridcare.billing.numbers import decimal_text

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def loads_toml(text: str | bytes) -> dict[str, Any]:
    """Parse TOML text; numbers with a fraction become ``Decimal``; errors as :class:`BillingInputError`."""
    try:
        source = text.decode("utf-8") if isinstance(text, bytes) else text
        return tomllib.loads(source, parse_float=Decimal)
    except UnicodeDecodeError as exc:
        raise BillingInputError.at((), f"body is not UTF-8 text: {exc.reason}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise BillingInputError.at((), f"invalid TOML: {exc}") from exc


def _key(name: str) -> str:
    return name if _BARE_KEY.match(name) else json.dumps(name, ensure_ascii=False)


def _is_table_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _inline(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        items = [f"{_key(str(k))} = {_inline(v)}" for k, v in value.items() if v is not None]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _table(path: list[str], table: dict[str, Any], out: list[str]) -> None:
    nested: list[tuple[str, Any]] = []
    for key, value in table.items():
        if value is None:
            continue
        if isinstance(value, dict) or _is_table_list(value):
            nested.append((key, value))
        else:
            out.append(f"{_key(key)} = {_inline(value)}")
    for key, value in nested:
        sub = [*path, _key(key)]
        if isinstance(value, dict):
            out.extend(["", f"[{'.'.join(sub)}]"])
            _table(sub, value, out)
        else:
            for item in value:
                out.extend(["", f"[[{'.'.join(sub)}]]"])
                _table(sub, item, out)


def dumps_toml(document: dict[str, Any]) -> str:
    """TOML text of ``document`` (a mapping of mappings, lists, str, int, Decimal, bool, date)."""
    out: list[str] = []
    _table([], document, out)
    return "\n".join(out).lstrip("\n") + "\n"
