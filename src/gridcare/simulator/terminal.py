"""A simulated acquisition terminal (集中器) that speaks Q/GDW 1376.1 over TCP to the master station.

It logs in, sends heartbeats, and answers the requests a master station sends: daily frozen readings
(AFN0D F161), its clock (AFN0C F2), clock set (AFN05 F31), and DL/T 645 frames forwarded to its meters
(AFN10 F1). Data replies ask for confirmation (CON = 1); a reading goes into the ledger only when the
master station confirms the frame that carried it, so the ledger lists exactly what was acknowledged.
Faults come from a :class:`TerminalFaults` (offline periods, dropped, corrupted and slow replies).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import IO, Any, Protocol

from gridcare.mdm.schema import DI_FWD_ACTIVE, DI_FWD_ACTIVE_TARIFFS
from gridcare.protocols import gdw1376
from gridcare.protocols.errors import FrameError
from gridcare.protocols.gdw1376.model import (
    UP,
    Address,
    Control,
    DataUnit,
    Gdw1376Frame,
    Seq,
    UnitItem,
)
from gridcare.protocols.stream import StreamSplitter
from gridcare.timeutil import BEIJING

log = logging.getLogger("gridcare.simulator")

AFN_CONFIRM, AFN_LINK, AFN_CONTROL, AFN_CLASS1, AFN_CLASS2, AFN_CLASS3, AFN_FORWARD = (
    0x00,
    0x02,
    0x05,
    0x0C,
    0x0D,
    0x0E,
    0x10,
)
FUNC_LINK_TEST, FUNC_RESPONSE, FUNC_CONFIRM = 9, 8, 0
DIS = (DI_FWD_ACTIVE, *DI_FWD_ACTIVE_TARIFFS)  # lake data items of an F161 reply: total, T1..T4


class MeterSource(Protocol):
    """What a terminal needs of its meters."""

    def daily_frozen(self, meter: str, freeze_day: date) -> list[Decimal | None] | None:
        """Registers frozen at 00:00 on ``freeze_day``: total, T1..T4 [kWh]; None if not held."""

    def forward(self, meter: str, frame: bytes, now: datetime) -> bytes | None:
        """Answer a DL/T 645 frame addressed to ``meter``; None = the meter does not answer."""


class TerminalFaults(Protocol):
    def is_offline(self, terminal: str, t: datetime) -> bool: ...
    def drop_reply(self, terminal: str, t: datetime, rng: random.Random) -> bool: ...
    def corrupt(self, terminal: str, t: datetime, rng: random.Random) -> bool: ...
    def reply_delay_s(self, terminal: str, t: datetime, rng: random.Random) -> float: ...


class NoFaults:
    def is_offline(self, terminal: str, t: datetime) -> bool:
        return False

    def drop_reply(self, terminal: str, t: datetime, rng: random.Random) -> bool:
        return False

    def corrupt(self, terminal: str, t: datetime, rng: random.Random) -> bool:
        return False

    def reply_delay_s(self, terminal: str, t: datetime, rng: random.Random) -> float:
        return 0.0


class Ledger:
    """JSON lines of the readings the master station confirmed."""

    def __init__(self, out: IO[str] | None) -> None:
        self.out = out
        self.lines = 0

    def write(self, rows: list[dict[str, Any]]) -> None:
        self.lines += len(rows)
        if self.out is not None:
            for row in rows:
                self.out.write(json.dumps(row) + "\n")
            self.out.flush()


@dataclass
class SimTerminal:
    """One terminal: ``points`` maps measuring point number Pn -> meter address."""

    area: str
    number: int
    points: dict[int, str]
    meters: MeterSource
    clock: Callable[[], datetime]
    ledger: Ledger
    faults: TerminalFaults = field(default_factory=NoFaults)
    heartbeat_s: float = 60.0
    clock_offset_s: float = 0.0
    seed: int = 0
    connected: bool = False
    frames_sent: int = 0
    last_request: float = 0.0  # time.monotonic() of the last request from the master station
    _pseq: int = 0
    _unconfirmed: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)  # important event records (ERC), oldest first
    _offline_since: datetime | None = None

    def record_event(self, record: dict[str, Any]) -> None:
        """Add an important event record; the terminal keeps the last 255 (EC1 wraps at 256)."""
        self.events.append(record)
        del self.events[:-255]

    @property
    def key(self) -> str:
        return f"{self.area}-{self.number:05d}"

    @property
    def address(self) -> Address:
        return Address(self.area, self.number, 0, False)

    async def run(self, host: str, port: int, stop: asyncio.Event) -> None:
        """Stay connected until ``stop`` is set: reconnect after a drop, stay away while 'offline'."""
        rng = random.Random(f"{self.seed}-{self.key}")
        backoff = 0.5
        while not stop.is_set():
            if self.faults.is_offline(self.key, self.clock()):
                self._offline_since = self._offline_since or self.now()
                await _sleep_or_stop(stop, 1.0)
                continue
            if self._offline_since is not None:  # power came back: ERC14 power off / on
                self.record_event(
                    {
                        "erc": 14,
                        "power_off_time": self._offline_since.strftime("%Y-%m-%d %H:%M"),
                        "power_on_time": self.now().strftime("%Y-%m-%d %H:%M"),
                    }
                )
                self._offline_since = None
            try:
                reader, writer = await asyncio.open_connection(host, port)
            except OSError:
                await _sleep_or_stop(stop, backoff + rng.random() * backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            backoff = 0.5
            try:
                await self._session(reader, writer, stop, rng)
            except (ConnectionError, OSError, asyncio.IncompleteReadError):
                pass
            finally:
                self.connected = False
                self._unconfirmed.clear()  # unconfirmed readings are not in the ledger; re-read later
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()

    async def _session(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        stop: asyncio.Event,
        rng: random.Random,
    ) -> None:
        self.connected = True
        await self._send(writer, self._link(1))
        splitter = StreamSplitter(gdw1376.frame_length)
        heartbeat = asyncio.create_task(self._heartbeats(writer))
        stopper = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                read = asyncio.create_task(reader.read(1 << 16))
                await asyncio.wait({read, stopper}, return_when=asyncio.FIRST_COMPLETED)
                if not read.done():
                    read.cancel()
                    return
                data = read.result()
                if not data:
                    return
                if self.faults.is_offline(self.key, self.clock()):
                    return  # the channel drops
                for raw in splitter.feed(data):
                    await self._on_frame(raw, writer, rng)
        finally:
            heartbeat.cancel()
            stopper.cancel()

    async def _heartbeats(self, writer: asyncio.StreamWriter) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            await self._send(writer, self._link(3))

    def _next_pseq(self) -> int:
        self._pseq = (self._pseq + 1) % 16
        return self._pseq

    def _link(self, fn: int) -> Gdw1376Frame:
        return Gdw1376Frame(
            control=Control(UP, 1, 0, 0, FUNC_LINK_TEST),
            address=self.address,
            afn=AFN_LINK,
            seq=Seq(0, 1, 1, 1, self._next_pseq()),
            units=[DataUnit([0], [fn], [UnitItem(0, fn, {})])],
        )

    def _reply(self, afn: int, seq: int, units: list[DataUnit], con: int = 0) -> Gdw1376Frame:
        return Gdw1376Frame(
            control=Control(UP, 0, 0, 0, FUNC_RESPONSE),
            address=self.address,
            afn=afn,
            seq=Seq(0, 1, 1, con, seq),
            units=units,
        )

    def _confirm(self, seq: int) -> Gdw1376Frame:
        return self._reply(AFN_CONFIRM, seq, [DataUnit([0], [1], [UnitItem(0, 1, {})])])

    async def _send(self, writer: asyncio.StreamWriter, frame: Gdw1376Frame, corrupt: bool = False) -> None:
        data = bytearray(gdw1376.encode_frame(frame))
        if corrupt and len(data) > 8:
            data[len(data) // 2] ^= 0x5A
        writer.write(bytes(data))
        self.frames_sent += 1
        await writer.drain()

    def now(self) -> datetime:
        """The terminal's own clock (simulated time plus its offset)."""
        return self.clock() + timedelta(seconds=self.clock_offset_s)

    async def _on_frame(self, raw: bytes, writer: asyncio.StreamWriter, rng: random.Random) -> None:
        try:
            frame = gdw1376.decode_frame(raw)
        except FrameError:
            return
        if frame.afn == AFN_CONFIRM:
            rows = self._unconfirmed.pop(frame.seq.seq, None)
            if rows:
                self.ledger.write(rows)
            return
        if frame.control.prm != 1:
            return
        self.last_request = time.monotonic()
        t = self.clock()
        if self.faults.drop_reply(self.key, t, rng):
            return
        delay = self.faults.reply_delay_s(self.key, t, rng)
        if delay:
            await asyncio.sleep(delay)
        reply, rows = self.answer(frame)
        if reply is None:
            return
        if rows:
            self._unconfirmed[reply.seq.seq] = rows
        await self._send(writer, reply, corrupt=self.faults.corrupt(self.key, t, rng))

    # -- answers ---------------------------------------------------------------------------------
    def answer(self, frame: Gdw1376Frame) -> tuple[Gdw1376Frame | None, list[dict[str, Any]]]:
        """The reply to a master-station request, and the ledger rows it carries (if confirmed)."""
        seq = frame.seq.seq
        if frame.afn == AFN_CLASS2:
            return self._daily_frozen(frame)
        if frame.afn == AFN_CLASS1 and frame.units and frame.units[0].fn == [2]:
            now = self.now().strftime("%Y-%m-%d %H:%M:%S")
            unit = DataUnit([0], [2], [UnitItem(0, 2, {"clock": now, "weekday": self.now().isoweekday()})])
            return self._reply(AFN_CLASS1, seq, [unit]), []
        if frame.afn == AFN_CONTROL:
            for unit in frame.units:
                for item in unit.items:
                    if item.fn == 31 and item.data.get("clock"):
                        wanted = datetime.fromisoformat(item.data["clock"]).replace(tzinfo=BEIJING)
                        self.clock_offset_s = (wanted - self.clock()).total_seconds()
            return self._confirm(seq), []
        if frame.afn == AFN_FORWARD:
            return self._forward(frame), []
        if frame.afn == AFN_CLASS3 and frame.units and frame.units[0].fn == [1]:
            return self._events(frame), []
        return None, []

    def _events(self, frame: Gdw1376Frame) -> Gdw1376Frame:
        """AFN0E F1: important events from pointer pm up to pn (at most what the terminal holds)."""
        data = frame.units[0].items[0].data if frame.units[0].items else {}
        ec1 = len(self.events) % 256
        pm = int(data.get("pm", 0))
        wanted = (int(data.get("pn", 0)) - pm) % 256
        held = (ec1 - pm) % 256
        count = min(wanted, held, 8)  # a frame carries a few records; the master asks again for more
        first = len(self.events) - held
        records = self.events[first : first + count] if held <= len(self.events) else []
        item = UnitItem(
            0, 1, {"ec1": ec1, "ec2": 0, "pm": pm, "pn": (pm + len(records)) % 256, "events": records}
        )
        return self._reply(AFN_CLASS3, frame.seq.seq, [DataUnit([0], [1], [item])])

    def _daily_frozen(self, frame: Gdw1376Frame) -> tuple[Gdw1376Frame, list[dict[str, Any]]]:
        units: list[DataUnit] = []
        rows: list[dict[str, Any]] = []
        for unit in frame.units:
            items: list[UnitItem] = []
            for item in unit.items:
                if item.fn != 161 or item.pn not in self.points:
                    continue
                td = date.fromisoformat(item.data["td"])
                freeze_day = td + timedelta(days=1)
                meter = self.points[item.pn]
                registers = self.meters.daily_frozen(meter, freeze_day)
                values: list[Decimal | None] = registers if registers is not None else [None] * 5
                items.append(
                    UnitItem(
                        item.pn,
                        161,
                        {
                            "td": td.isoformat(),
                            "read_time": self.now().strftime("%Y-%m-%d %H:%M"),
                            "tariff_count": 4,
                            "forward_active_kwh": values,
                        },
                    )
                )
                freeze = datetime(freeze_day.year, freeze_day.month, freeze_day.day, tzinfo=BEIJING)
                rows.extend(
                    {"meter": meter, "di": di, "freeze_time": freeze.isoformat(), "value": float(v)}
                    for di, v in zip(DIS, values, strict=True)
                    if v is not None
                )
            if items:
                units.append(DataUnit([i.pn for i in items], [161], items))
        return self._reply(AFN_CLASS2, frame.seq.seq, units, con=1), rows

    def _forward(self, frame: Gdw1376Frame) -> Gdw1376Frame:
        data = frame.units[0].items[0].data if frame.units and frame.units[0].items else {}
        request = bytes.fromhex(data.get("content_hex") or "")
        meter = (data.get("forwarded") or {}).get("address", "")
        answer = self.meters.forward(meter, request, self.now()) if meter in self.points.values() else None
        item = UnitItem(0, 1, {"port": data.get("port", 2), "content_hex": (answer or b"").hex()})
        return self._reply(AFN_FORWARD, frame.seq.seq, [DataUnit([0], [1], [item])])


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
