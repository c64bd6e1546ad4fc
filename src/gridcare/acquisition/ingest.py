"""Durable ingestion with group commit.

Callers hand over readings and raw frames and await :meth:`Ingestor.write`; it returns once they are in
the write-ahead files (fsync'd). Many callers' rows share one fsync: a batch is written as soon as the
previous one is done, so under load batches grow and the fsync cost per reading falls.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from gridcare.storage.frames import FrameArchive, RawFrame, frames_table
from gridcare.storage.lake import ReadingsLake, readings_table


@dataclass
class _Batch:
    readings: list[dict[str, Any]] = field(default_factory=list)
    frames: list[RawFrame] = field(default_factory=list)
    done: asyncio.Future[None] | None = None
    queued_at: list[float] = field(default_factory=list)


class Ingestor:
    """Group-committing writer of readings (lake) and raw frames (frame archive)."""

    def __init__(self, lake: ReadingsLake, frames: FrameArchive, max_rows: int = 20000) -> None:
        self.lake = lake
        self.frames = frames
        self.max_rows = max_rows
        self._batch = _Batch()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.durable_readings = 0
        self.latencies_s: list[float] = []  # receive-to-durable per batch, for the benchmark

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Write what is pending, then stop."""
        if self._batch.readings or self._batch.frames:
            await self._commit(self._take())
        if self._task:
            self._task.cancel()

    def archive(self, frame: RawFrame) -> None:
        """Queue a raw frame without waiting (frames that carry no acknowledged data)."""
        self._batch.frames.append(frame)
        self._wakeup.set()

    async def write(self, readings: list[dict[str, Any]], frames: list[RawFrame], received_at: float) -> None:
        """Queue rows and wait until they are durable. ``received_at``: time.monotonic() of arrival."""
        batch = self._batch
        if batch.done is None:
            batch.done = asyncio.get_running_loop().create_future()
        batch.readings.extend(readings)
        batch.frames.extend(frames)
        batch.queued_at.append(received_at)
        self._wakeup.set()
        await asyncio.shield(batch.done)

    def _take(self) -> _Batch:
        batch, self._batch = self._batch, _Batch()
        return batch

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            batch = self._take()
            if batch.readings or batch.frames:
                await self._commit(batch)

    async def _commit(self, batch: _Batch) -> None:
        try:
            await asyncio.to_thread(self._write_sync, batch)
        except Exception as exc:  # a failed fsync must fail every waiter: nothing gets confirmed
            if batch.done and not batch.done.done():
                batch.done.set_exception(exc)
            return
        now = time.monotonic()
        self.durable_readings += len(batch.readings)
        self.latencies_s.extend(now - t for t in batch.queued_at)
        if batch.done and not batch.done.done():
            batch.done.set_result(None)

    def _write_sync(self, batch: _Batch) -> None:
        if batch.frames:
            self.frames.append(frames_table(batch.frames))
        if batch.readings:
            self.lake.append(readings_table(batch.readings))
