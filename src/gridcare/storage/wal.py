"""Write-ahead files: durable, append-only Arrow IPC segments.

A batch handed to :meth:`ArrowWal.append` is on disk (written and fsync'd) when the call returns; only
then may the front-end confirm the frame that carried it. Segments are rotated by :meth:`rotate`; a
consumer turns closed segments into Parquet and then removes them with :meth:`release`. After a crash,
:meth:`closed_segments` plus the segment that was open are replayed; a torn last batch (the process died
mid-write, so it was never acknowledged) is dropped.
"""

from __future__ import annotations

import fcntl
import os
import re
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc as ipc

_SEGMENT = re.compile(r"^(?P<name>[a-z_]+)-(?P<seq>\d{12})-(?P<token>[0-9a-f]{12})\.arrows$")


class WalLocked(RuntimeError):
    """Another process is writing this write-ahead directory."""


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ArrowWal:
    """A directory of numbered Arrow IPC stream segments for one ``schema``."""

    def __init__(self, directory: Path, name: str, schema: pa.Schema) -> None:
        self.directory = directory
        self.name = name
        self.schema = schema
        self._lock = threading.Lock()
        directory.mkdir(parents=True, exist_ok=True)
        existing = self._segments()
        self._seq = (int(existing[-1].split("-")[0]) + 1) if existing else 1
        self._open_id: str | None = None
        self._file: pa.OSFile | None = None
        self._writer: ipc.RecordBatchStreamWriter | None = None
        self._lock_fd: int | None = None

    def lock(self) -> None:
        """Become the only writer of this directory (an flock held until the process ends).

        Two writers would release each other's open segments; the second one is refused instead.
        """
        if self._lock_fd is not None:
            return
        fd = os.open(self.directory / f"{self.name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise WalLocked(f"{self.directory}: another gridcare process is writing here") from None
        self._lock_fd = fd

    def _path(self, segment_id: str) -> Path:
        return self.directory / f"{self.name}-{segment_id}.arrows"

    def segments(self) -> list[str]:
        """Every segment id on disk (closed or open), oldest first. Reading them is safe while
        another process appends: only complete batches are returned.

        An id is "<sequence>-<random token>": unique for ever, so whatever is derived from it (the name
        of the Parquet file a segment becomes) never collides with an earlier segment's, even when the
        sequence starts again from 1 after every segment was released.
        """
        return self._segments()

    def _segments(self) -> list[str]:
        ids = []
        for entry in self.directory.iterdir():
            match = _SEGMENT.match(entry.name)
            if match and match.group("name") == self.name:
                ids.append(f"{match.group('seq')}-{match.group('token')}")
        return sorted(ids)

    def _open(self) -> ipc.RecordBatchStreamWriter:
        if self._writer is None:
            self._open_id = f"{self._seq:012d}-{uuid.uuid4().hex[:12]}"
            path = self._path(self._open_id)
            self._file = pa.OSFile(str(path), "wb")
            self._writer = ipc.new_stream(self._file, self.schema)
            _fsync_dir(self.directory)
        return self._writer

    def append(self, batch: pa.RecordBatch | pa.Table) -> None:
        """Write ``batch`` and fsync it. When this returns the rows survive a crash."""
        with self._lock:
            writer = self._open()
            writer.write(batch)
            assert self._file is not None
            self._file.flush()
            os.fsync(self._file.fileno())

    def rotate(self) -> list[str]:
        """Close the open segment (if any) and return every closed segment id, oldest first."""
        with self._lock:
            if self._writer is not None:
                self._writer.close()
                assert self._file is not None
                self._file.close()
                self._writer = None
                self._file = None
                self._open_id = None
                self._seq += 1
            return [s for s in self._segments() if int(s.split("-")[0]) < self._seq]

    def read(self, segment_id: str) -> pa.Table:
        """All complete batches of a segment; a torn tail is dropped."""
        return pa.Table.from_batches(list(self._batches(self._path(segment_id))), schema=self.schema)

    def _batches(self, path: Path) -> Iterator[pa.RecordBatch]:
        try:
            reader = ipc.open_stream(pa.memory_map(str(path)))
        except (pa.ArrowInvalid, OSError):
            return  # died before the schema was written: nothing was acknowledged
        while True:
            try:
                yield reader.read_next_batch()
            except StopIteration:
                return
            except (pa.ArrowInvalid, OSError):
                return  # torn last batch: never acknowledged

    def release(self, segment_ids: list[str]) -> None:
        """Delete segments whose rows are now durable elsewhere."""
        for segment_id in segment_ids:
            self._path(segment_id).unlink(missing_ok=True)
        _fsync_dir(self.directory)

    def close(self) -> None:
        self.rotate()
