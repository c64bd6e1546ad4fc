"""Demo supply company: a realistic, deterministic archive for trying gridcare (``gridcare demo init``).

``build_demo(customers, seed)`` generates every row in memory (pure, see :mod:`.demo_build`);
``insert_demo(session_factory, data)`` writes it with bulk inserts in one transaction (:mod:`.demo_store`);
``generate_demo`` does both and returns a :class:`DemoSummary`. The same customers and seed give the same
archive (personal columns are encrypted at rest with random nonces, so their stored bytes differ while their
values are equal). Only an empty archive is filled; :func:`reset_archives` empties it first.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from gridcare.archives.demo_build import build_demo
from gridcare.archives.demo_data import DemoData, Progress, Table
from gridcare.archives.demo_store import (
    ArchivesExistError,
    ArchivesInUseError,
    archive_counts,
    insert_demo,
    outside_references,
    reset_archives,
)

__all__ = [
    "ArchivesExistError",
    "ArchivesInUseError",
    "DemoData",
    "DemoSummary",
    "Progress",
    "Table",
    "archive_counts",
    "build_demo",
    "generate_demo",
    "insert_demo",
    "outside_references",
    "reset_archives",
    "summarise",
]


@dataclass(frozen=True)
class DemoSummary:
    """What ``generate_demo`` wrote: rows per table, customers per class, and how long it took [s]."""

    customers: int
    seed: int
    company: str
    counts: dict[str, int] = field(default_factory=dict)
    classes: dict[str, int] = field(default_factory=dict)
    public_areas: int = 0
    dedicated_areas: int = 0
    concentrators: int = 0
    large_customer_terminals: int = 0
    deleted: dict[str, int] = field(default_factory=dict)
    build_seconds: float = 0.0
    insert_seconds: float = 0.0

    @property
    def seconds(self) -> float:
        return self.build_seconds + self.insert_seconds


def summarise(
    data: DemoData,
    build_seconds: float = 0.0,
    insert_seconds: float = 0.0,
    deleted: dict[str, int] | None = None,
) -> DemoSummary:
    """The summary of generated data (without writing it)."""
    return DemoSummary(
        customers=data.customers,
        seed=data.seed,
        company=data.company,
        counts=data.counts(),
        classes=data.class_counts(),
        public_areas=data.public_areas,
        dedicated_areas=data.dedicated_areas,
        concentrators=data.public_areas,
        large_customer_terminals=data.dedicated_areas,
        deleted=dict(deleted or {}),
        build_seconds=build_seconds,
        insert_seconds=insert_seconds,
    )


def generate_demo(
    session_factory: sessionmaker[Session],
    customers: int,
    seed: int,
    progress: Progress | None = None,
    reset: bool = False,
) -> DemoSummary:
    """Build the demo utility for ``customers`` customers from ``seed`` and write it.

    Raises ValueError (bad ``customers``), :class:`ArchivesExistError` (archive not empty and no ``reset``)
    or :class:`ArchivesInUseError` (``reset`` while other data refers to the archives) before generating
    anything. Deleting (``reset``) and writing are one transaction: a failure changes nothing.
    """
    with session_factory() as session:
        if reset:
            references = outside_references(session)
            if references:
                raise ArchivesInUseError(references)
        else:
            existing = archive_counts(session)
            if any(existing.values()):
                raise ArchivesExistError(existing)
    started = time.perf_counter()
    data = build_demo(customers, seed, progress)
    built = time.perf_counter()
    deleted = insert_demo(session_factory, data, progress, reset=reset)
    return summarise(data, built - started, time.perf_counter() - built, deleted)
