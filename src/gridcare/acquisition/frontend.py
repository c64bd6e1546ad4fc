"""The master station front-end: an asyncio TCP server for terminals speaking Q/GDW 1376.1.

A connection is anonymous until the terminal logs in (AFN02 F1) with an address the archives know;
unknown terminals are refused and logged. Heartbeats are confirmed, idle connections closed, and a
terminal that reconnects replaces its old session. Frames that cannot be decoded are archived with their
error and counted per terminal; they never stop the session. Replies are matched to the outstanding
request of the terminal's :class:`TerminalChannel`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from gridcare.acquisition import messages
from gridcare.acquisition.channel import TerminalChannel
from gridcare.acquisition.directory import Directory, TerminalInfo, terminal_key
from gridcare.acquisition.ingest import Ingestor
from gridcare.protocols import gdw1376
from gridcare.protocols.errors import FrameError
from gridcare.protocols.gdw1376.model import Address, Gdw1376Frame
from gridcare.protocols.stream import StreamSplitter
from gridcare.storage.frames import RawFrame
from gridcare.timeutil import now_beijing

log = logging.getLogger("gridcare.frontend")

AFN_LINK = 0x02
DIRECTORY_RELOAD_S = 5.0  # an unknown terminal makes the archives be read again, at most this often
F_LOGIN, F_LOGOUT, F_HEARTBEAT = 1, 2, 3


@dataclass
class Session:
    """One logged-in terminal connection."""

    terminal: TerminalInfo
    address: Address
    remote: str
    writer: asyncio.StreamWriter
    channel: TerminalChannel
    connected_since: datetime
    last_heartbeat: datetime | None = None
    last_seen: datetime | None = None
    malformed_frames: int = 0


@dataclass
class FrontEndCounters:
    connections: int = 0
    logins: int = 0
    refused: int = 0
    malformed_frames: int = 0
    frames_in: int = 0
    frames_out: int = 0
    malformed_by_terminal: dict[str, int] = field(default_factory=dict)


class FrontEnd:
    """Accepts terminal connections and keeps the session table."""

    _frame_ids = itertools.count(1)

    def __init__(
        self,
        directory: Directory,
        ingestor: Ingestor,
        idle_timeout_s: float = 300.0,
        clock: Callable[[], datetime] = now_beijing,
    ) -> None:
        self.directory = directory
        self.ingestor = ingestor
        self.idle_timeout_s = idle_timeout_s
        self.clock = clock
        self.sessions: dict[str, Session] = {}
        self.counters = FrontEndCounters()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self.on_login: Callable[[str], None] | None = None
        self._directory_loaded = time.monotonic()
        self._boot = f"{int(time.time()):x}"

    async def start(self, host: str, port: int) -> int:
        """Listen on ``host``:``port`` (0 = any free port); returns the port."""
        self._server = await asyncio.start_server(self._handle, host, port, limit=1 << 16, backlog=4096)
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop listening, end every session and close every connection."""
        if self._server:
            self._server.close()
        for session in list(self.sessions.values()):
            await self._end(session, "server stopping")
        for writer in list(self._writers):
            writer.close()
        if self._handlers:
            await asyncio.wait(list(self._handlers), timeout=5)
        if self._server:
            await self._server.wait_closed()

    # -- frames ---------------------------------------------------------------------------------
    def frame_id(self) -> str:
        return f"{self._boot}-{next(self._frame_ids)}"

    def raw(
        self, frame: bytes, direction: str, remote: str, terminal: str | None, error: FrameError | None = None
    ) -> RawFrame:
        return RawFrame(
            self.frame_id(),
            self.clock(),
            terminal,
            remote,
            direction,
            frame,
            error.code if error else None,
            str(error) if error else None,
        )

    async def send(self, session: Session, frame: Gdw1376Frame) -> None:
        """Encode, archive and write a frame to the terminal."""
        data = gdw1376.encode_frame(frame)
        self.ingestor.archive(self.raw(data, "down", session.remote, session.terminal.key))
        self.counters.frames_out += 1
        session.writer.write(data)
        await session.writer.drain()

    # -- connections ----------------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        remote = f"{peer[0]}:{peer[1]}" if peer else "?"
        self.counters.connections += 1
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        self._writers.add(writer)
        splitter = StreamSplitter(gdw1376.frame_length)
        session: Session | None = None
        try:
            while True:
                data = await asyncio.wait_for(reader.read(1 << 16), self.idle_timeout_s)
                if not data:
                    break
                received = time.monotonic()
                for raw in splitter.feed(data):
                    session = await self._on_frame(raw, remote, writer, session, received)
                    if session is not None and session.writer is not writer:
                        return  # replaced by a newer connection
        except TimeoutError:
            log.info("idle timeout %s", remote)
        except (ConnectionError, OSError):
            pass
        except _Refused:
            pass
        finally:
            if session is not None and self.sessions.get(session.terminal.key) is session:
                await self._end(session, "disconnected")
            writer.close()
            self._writers.discard(writer)
            if task is not None:
                self._handlers.discard(task)

    async def _on_frame(
        self, raw: bytes, remote: str, writer: asyncio.StreamWriter, session: Session | None, received: float
    ) -> Session | None:
        self.counters.frames_in += 1
        key = session.terminal.key if session else None
        try:
            frame = gdw1376.decode_frame(raw)
        except FrameError as exc:
            self._malformed(raw, remote, session, exc)
            return session
        if frame.afn == AFN_LINK and frame.control.prm == 1:
            return await self._on_link(frame, raw, remote, writer, session)
        if session is None:
            self.ingestor.archive(self.raw(raw, "up", remote, None))
            return None  # data before login: archived, ignored
        session.last_seen = self.clock()
        if frame.afn == 0x00 and frame.control.prm == 0 and not session.channel.expects(frame.seq.seq):
            self.ingestor.archive(self.raw(raw, "up", remote, key))
            return session
        if frame.control.prm == 0:
            frame_ref = self.raw(raw, "up", remote, key)
            session.channel.deliver(frame.seq.seq, (frame, frame_ref, received), bool(frame.seq.fin))
        else:
            self.ingestor.archive(self.raw(raw, "up", remote, key))
            if frame.seq.con:
                await self.send(session, messages.confirm(session.address, frame.seq.seq, link=False))
        return session

    def _malformed(self, raw: bytes, remote: str, session: Session | None, exc: FrameError) -> None:
        key = session.terminal.key if session else None
        self.counters.malformed_frames += 1
        if session is not None:
            session.malformed_frames += 1
            self.counters.malformed_by_terminal[key or remote] = session.malformed_frames
        self.ingestor.archive(self.raw(raw, "up", remote, key, exc))
        log.warning("undecodable frame from %s (%s): %s", key or remote, exc.code, exc)

    async def _on_link(
        self,
        frame: Gdw1376Frame,
        raw: bytes,
        remote: str,
        writer: asyncio.StreamWriter,
        session: Session | None,
    ) -> Session | None:
        fn = frame.units[0].fn[0] if frame.units and frame.units[0].fn else 0
        info = self.directory.find(frame.address.area, frame.address.terminal)
        if info is None and time.monotonic() - self._directory_loaded > DIRECTORY_RELOAD_S:
            self._directory_loaded = time.monotonic()  # the archives may have gained it since
            await asyncio.to_thread(self.directory.load)
            info = self.directory.find(frame.address.area, frame.address.terminal)
        key = terminal_key(frame.address.area, frame.address.terminal)
        self.ingestor.archive(self.raw(raw, "up", remote, key if info else None))
        if info is None:
            self.counters.refused += 1
            log.warning("refused unknown terminal %s from %s", key, remote)
            raise _Refused(key)
        now = self.clock()
        if fn == F_LOGIN or session is None or session.terminal is not info:
            session = await self._login(info, frame.address, remote, writer, now)
        if fn == F_HEARTBEAT:
            session.last_heartbeat = now
        session.last_seen = now
        await self.send(session, messages.confirm(frame.address, frame.seq.seq, link=True))
        if fn == F_LOGOUT:
            await self._end(session, "logout")
            raise _Refused(key)
        return session

    async def _login(
        self, info: TerminalInfo, address: Address, remote: str, writer: asyncio.StreamWriter, now: datetime
    ) -> Session:
        old = self.sessions.get(info.key)
        if old is not None:
            await self._end(old, "replaced by a new connection")
            old.writer.close()
        session = Session(info, address, remote, writer, None, now, now, now)  # type: ignore[arg-type]

        async def write(data: bytes) -> None:
            self.ingestor.archive(self.raw(data, "down", remote, info.key))
            self.counters.frames_out += 1
            writer.write(data)
            await writer.drain()

        session.channel = TerminalChannel(write)
        session.channel.start()
        self.sessions[info.key] = session
        self.counters.logins += 1
        log.info("login %s from %s", info.key, remote)
        if self.on_login is not None:
            self.on_login(info.key)
        return session

    async def _end(self, session: Session, reason: str) -> None:
        if self.sessions.get(session.terminal.key) is session:
            del self.sessions[session.terminal.key]
        await session.channel.close("offline")
        log.info("session %s ended: %s", session.terminal.key, reason)


class _Refused(Exception):
    """Close the connection (unknown terminal, or logout)."""
