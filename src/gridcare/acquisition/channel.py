"""One terminal's request channel: a priority queue with one outstanding request at a time.

On-demand reads and remote control jump ahead of bulk collection. Each request is sent, then waits for
its reply (matched by the frame sequence number); no reply within the timeout means a retry after a
backoff, until the retries are spent. Replies that come as several frames (FIR/FIN) are gathered into one
answer by the caller's ``accept`` function.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any


class Priority(IntEnum):
    """Lower runs first."""

    CONTROL = 0  # remote trip / close, clock set
    ON_DEMAND = 1  # 召测 by an operator
    REREAD = 2  # 补抄
    BULK = 3  # scheduled collection


class RequestFailed(Exception):
    """No usable reply: ``reason`` is "timeout", "offline", "deny" or "abnormal"."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(order=True)
class Request:
    """A request to a terminal. ``build(seq)`` makes the frame for a sequence number 0..15."""

    priority: int
    order: int
    build: Callable[[int], bytes] = field(compare=False)
    timeout_s: float = field(default=10.0, compare=False)
    retries: int = field(default=2, compare=False)
    backoff_s: float = field(default=1.0, compare=False)
    label: str = field(default="", compare=False)
    future: asyncio.Future[list[Any]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future(), compare=False
    )


class TerminalChannel:
    """Serialises requests to one terminal. ``send(frame)`` writes bytes to its connection."""

    _orders = itertools.count()

    def __init__(self, send: Callable[[bytes], Awaitable[None]]) -> None:
        self._send = send
        self._queue: asyncio.PriorityQueue[Request] = asyncio.PriorityQueue()
        self._seq = 0
        self._waiting: tuple[int, list[Any], asyncio.Future[None]] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._current: Request | None = None  # the request being sent / waiting for its reply
        self.closed = False

    def start(self) -> None:
        self._worker = asyncio.create_task(self._run())

    async def close(self, reason: str = "offline") -> None:
        """Stop the worker and fail the request in flight and everything still queued (the caller may
        re-queue elsewhere)."""
        self.closed = True
        if self._worker:
            self._worker.cancel()
        if self._current is not None:  # cancelling the worker would leave its caller waiting for ever
            _fail(self._current, RequestFailed(reason))
            self._current = None
        while not self._queue.empty():
            _fail(self._queue.get_nowait(), RequestFailed(reason))

    def submit(
        self,
        build: Callable[[int], bytes],
        priority: Priority = Priority.BULK,
        timeout_s: float = 10.0,
        retries: int = 2,
        label: str = "",
        backoff_s: float = 1.0,
    ) -> asyncio.Future[list[Any]]:
        """Queue a request; the future resolves to the reply frames (decoded objects) or RequestFailed."""
        request = Request(int(priority), next(self._orders), build, timeout_s, retries, backoff_s, label)
        if self.closed:
            _fail(request, RequestFailed("offline"))
        else:
            self._queue.put_nowait(request)
        return request.future

    def expects(self, seq: int) -> bool:
        """True when a request with sequence number ``seq`` is waiting for its reply."""
        return self._waiting is not None and self._waiting[0] == seq

    def deliver(self, seq: int, reply: Any, fin: bool = True) -> bool:
        """Hand a reply to the outstanding request; True when it was expected.

        The request completes with the reply whose FIN bit is set (a single frame normally).
        """
        if self._waiting is None or self._waiting[0] != seq:
            return False
        _seq, replies, done = self._waiting
        replies.append(reply)
        if fin and not done.done():
            done.set_result(None)
        return True

    @property
    def depth(self) -> int:
        """Requests waiting to be sent."""
        return self._queue.qsize()

    async def _run(self) -> None:
        while True:
            request = await self._queue.get()
            if request.future.cancelled():
                continue
            self._current = request
            try:
                await self._execute(request)
            finally:
                self._current = None

    async def _execute(self, request: Request) -> None:
        attempt = 0
        while True:
            seq = self._seq
            self._seq = (self._seq + 1) % 16
            frames: list[Any] = []
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiting = (seq, frames, done)
            try:
                await self._send(request.build(seq))
                await asyncio.wait_for(done, request.timeout_s)
            except TimeoutError:
                attempt += 1
                if attempt > request.retries:
                    _fail(request, RequestFailed("timeout", request.label))
                    return
                await asyncio.sleep(request.backoff_s * 2 ** (attempt - 1))
                continue
            except (ConnectionError, OSError) as exc:
                _fail(request, RequestFailed("offline", str(exc)))
                return
            finally:
                self._waiting = None
            if not request.future.done():
                request.future.set_result(frames)
            return


def _fail(request: Request, error: RequestFailed) -> None:
    if not request.future.done():
        request.future.set_exception(error)
