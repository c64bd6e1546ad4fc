"""Writing the demo archive to the database (bulk Core inserts) and clearing the archives (``--reset``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table as SqlTable
from sqlalchemy import delete, func, insert, inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from gridcare.archives.demo_data import DemoData, Progress
from gridcare.archives.models import (
    Customer,
    Feeder,
    Meter,
    MeterBox,
    MeteringPoint,
    Organisation,
    Substation,
    Terminal,
    TransformerArea,
)

CHUNK_ROWS = 5000

ARCHIVE_TABLES: tuple[SqlTable, ...] = tuple(
    m.__table__  # type: ignore[misc]
    for m in (
        Organisation,
        Substation,
        Feeder,
        TransformerArea,
        MeterBox,
        Customer,
        Meter,
        Terminal,
        MeteringPoint,
    )
)
"""The archive tables, parents before children (insert order; delete in reverse)."""
ARCHIVE_NAMES = frozenset(t.name for t in ARCHIVE_TABLES)


class ArchivesExistError(RuntimeError):
    """The database already holds archive rows; the demo only fills an empty archive."""

    def __init__(self, counts: dict[str, int]) -> None:
        self.counts = counts
        held = ", ".join(f"{name} {n}" for name, n in counts.items() if n)
        super().__init__(f"the database already holds archives ({held})")


class ArchivesInUseError(RuntimeError):
    """Rows outside the archives refer to archive rows, so the archives cannot be deleted."""

    def __init__(self, references: dict[str, int]) -> None:
        self.references = references
        held = ", ".join(f"{ref} ({n} rows)" for ref, n in references.items())
        super().__init__(f"other data refers to the archives and would be orphaned: {held}")


def archive_counts(session: Session) -> dict[str, int]:
    """Rows per archive table."""
    return {t.name: session.scalar(select(func.count()).select_from(t)) or 0 for t in ARCHIVE_TABLES}


def outside_references(session: Session) -> dict[str, int]:
    """``"table.column" -> rows`` for every non-archive table column (found in the live schema, so also
    tables this module does not know) that points at an archive table and is set in some row."""
    conn = session.connection()
    inspector = inspect(conn)
    found: dict[str, int] = {}
    for table in sorted(inspector.get_table_names()):
        if table in ARCHIVE_NAMES:
            continue
        for fk in inspector.get_foreign_keys(table):
            if fk["referred_table"] not in ARCHIVE_NAMES:
                continue
            for column in fk["constrained_columns"]:
                quoted = conn.dialect.identifier_preparer.quote
                sql = f"SELECT COUNT(*) FROM {quoted(table)} WHERE {quoted(column)} IS NOT NULL"
                rows = conn.execute(text(sql)).scalar() or 0
                if rows:
                    found[f"{table}.{column}"] = rows
    return found


def delete_archives(session: Session) -> dict[str, int]:
    """Delete every archive row, children first, in the caller's transaction; returns rows deleted per table.

    Raises :class:`ArchivesInUseError` (deleting nothing) when other rooms' rows (accounts, alerts, collection
    state...) refer to the archives.
    """
    references = outside_references(session)
    if references:
        raise ArchivesInUseError(references)
    counts = archive_counts(session)
    for table in reversed(ARCHIVE_TABLES):
        # one statement per table: the organisation tree's self-reference is checked at its end
        session.execute(delete(table))
    return counts


def reset_archives(session_factory: sessionmaker[Session]) -> dict[str, int]:
    """Delete all archives in one transaction (all or nothing); returns rows deleted per table."""
    with session_factory() as session, session.begin():
        return delete_archives(session)


def insert_demo(
    session_factory: sessionmaker[Session],
    data: DemoData,
    progress: Progress | None = None,
    reset: bool = False,
) -> dict[str, int]:
    """Write ``data`` in one transaction with executemany Core inserts of ``CHUNK_ROWS`` rows.

    With ``reset`` the existing archives are deleted first in the same transaction (so a failure keeps
    them) and the rows deleted per table are returned; without it a non-empty archive raises
    :class:`ArchivesExistError` and nothing is written.
    """
    report = progress or (lambda _step, _done, _total: None)
    total = sum(len(data.tables[t.name]) for t in ARCHIVE_TABLES)
    done = 0
    with session_factory() as session, session.begin():
        deleted = {t.name: 0 for t in ARCHIVE_TABLES}
        if reset:
            deleted = delete_archives(session)
        else:
            existing = archive_counts(session)
            if any(existing.values()):
                raise ArchivesExistError(existing)
        for table in ARCHIVE_TABLES:
            rows = data.tables[table.name]
            for start in range(0, len(rows), CHUNK_ROWS):
                chunk: list[dict[str, Any]] = rows.rows(start, start + CHUNK_ROWS)
                session.execute(insert(table), chunk)
                done += len(chunk)
                report(table.name, done, total)
        _advance_sequences(session)
    return deleted


def _advance_sequences(session: Session) -> None:
    """Ids were given explicitly; on PostgreSQL move each id sequence past them so later inserts work."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in ARCHIVE_TABLES:
        session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
            )
        )
