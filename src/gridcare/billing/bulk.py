"""Bulk inserts for billing runs: column-oriented, inside the caller's transaction.

SQLite (the embedded default) gets a raw ``executemany`` on the session's own connection with values
in the storage format SQLAlchemy itself uses (dates ``YYYY-MM-DD``, date-times
``YYYY-MM-DD HH:MM:SS.ffffff`` in Beijing time, numerics as text); other databases get a Core
``insert`` with the same values as Python objects. Ids are reserved up front so that child rows can
name their parents without a round trip per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from itertools import repeat
from typing import Any

import numpy as np
from sqlalchemy import Table, func, select, text
from sqlalchemy.orm import Session

from gridcare.timeutil import to_beijing

SQLITE_CACHE_KIB = 512 * 1024


@dataclass(frozen=True)
class Const:
    """The same value in every row."""

    value: Any


@dataclass(frozen=True)
class KwhE4:
    """kWh given as integers in units of 0.0001 kWh; ``null`` marks rows without kWh."""

    values: np.ndarray
    null: np.ndarray | None = None


def is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def reserve_ids(session: Session, table: Table, count: int) -> list[int]:
    """``count`` new primary keys for ``table``. SQLite: after the current maximum (the caller holds the
    write lock: it has written in this transaction); PostgreSQL: from the table's sequence."""
    if count == 0:
        return []
    if is_sqlite(session):
        top = session.scalar(select(func.max(table.c.id))) or 0
        return list(range(top + 1, top + 1 + count))
    rows = session.execute(
        text(f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) FROM generate_series(1, :n)"),
        {"n": count},
    )
    return [int(r[0]) for r in rows]


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return to_beijing(value).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bool):
        return int(value)
    return value


def _column(values: Any, n: int, sqlite: bool) -> Any:
    if isinstance(values, Const):
        return repeat(_sqlite_value(values.value) if sqlite else values.value, n)
    if isinstance(values, KwhE4):
        if sqlite:
            out: list[Any] = (values.values / 10_000).tolist()
        else:
            out = [Decimal(int(v)).scaleb(-4) for v in values.values.tolist()]
        if values.null is not None:
            for i in np.flatnonzero(values.null).tolist():
                out[i] = None
        return out
    if isinstance(values, np.ndarray):
        values = values.tolist()
    if sqlite:
        sample = next((v for v in values if v is not None), None)
        if isinstance(sample, Decimal):  # few distinct values (prices): convert each once
            texts: dict[Decimal, str] = {}
            return [None if v is None else texts.get(v) or texts.setdefault(v, str(v)) for v in values]
        if isinstance(sample, date | bool):
            return [_sqlite_value(v) for v in values]
    return values


def insert_columns(session: Session, table: Table, columns: dict[str, Any], n: int) -> None:
    """Insert ``n`` rows given column by column: sequences of length ``n``, :class:`Const`,
    :class:`KwhE4`."""
    if n == 0:
        return
    for name, values in columns.items():
        if not isinstance(values, Const) and len(values.values if isinstance(values, KwhE4) else values) != n:
            raise ValueError(f"{table.name}.{name}: {n} rows expected")
    if all(isinstance(v, Const) for v in columns.values()):
        raise ValueError(f"{table.name}: at least one column must vary")
    sqlite = is_sqlite(session)
    names = list(columns)
    cols = [_column(columns[name], n, sqlite) for name in names]
    connection = session.connection()
    if sqlite:
        raw = connection.connection.driver_connection
        assert raw is not None
        sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        cursor = raw.cursor()
        # a page cache that holds the indexes being filled (the default 2 MiB thrashes at a million rows)
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        try:
            cursor.executemany(sql, zip(*cols, strict=False))
        finally:
            cursor.close()
        return
    rows = [dict(zip(names, row, strict=True)) for row in zip(*cols, strict=False)]
    for start in range(0, len(rows), 10_000):
        connection.execute(table.insert(), rows[start : start + 10_000])
