"""Raw frame archive: every frame sent or received, as bytes, kept append-only by day.

It is the bottom of the "why is my bill this" chain (a reading's ``frame_ref`` is a ``frame_id`` here),
and where undecodable frames are kept with their error for an operator to inspect.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import pyarrow as pa

from gridcare.storage.lake import TZ, DayPartitionedStore

FRAMES_SCHEMA = pa.schema(
    [
        pa.field("frame_id", pa.string(), nullable=False),
        pa.field("ts", pa.timestamp("ms", tz=TZ), nullable=False),
        pa.field("terminal", pa.string()),  # "AAAA-NNNNN", or None before login
        pa.field("remote", pa.string()),  # peer address "ip:port"
        pa.field("direction", pa.string(), nullable=False),  # "up" (from terminal) | "down"
        pa.field("frame", pa.binary(), nullable=False),
        pa.field("error_code", pa.string()),  # FrameError code when it could not be decoded
        pa.field("error", pa.string()),
    ]
)


class RawFrame(NamedTuple):
    frame_id: str
    ts: datetime
    terminal: str | None
    remote: str | None
    direction: str
    frame: bytes
    error_code: str | None = None
    error: str | None = None


def frames_table(frames: Iterable[RawFrame]) -> pa.Table:
    rows = list(frames)
    return pa.table(
        {name: [getattr(f, name) for f in rows] for name in FRAMES_SCHEMA.names},
        schema=FRAMES_SCHEMA,
    )


class FrameArchive(DayPartitionedStore):
    """Raw frames under ``<lake>/frames/day=YYYY-MM-DD/``."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, "frames", FRAMES_SCHEMA, "ts")
