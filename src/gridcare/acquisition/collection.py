"""Collection of daily frozen readings (AFN0D F161) with outcomes per metering point.

A reading counts as received only once it is durable; then (and only then) the reply frames that asked
for confirmation are confirmed. Each point's outcome for the freeze day is recorded with the reason of a
failure: terminal offline, no reply, abnormal reply (deny), or invalid data (no-data filler EEH).

Points of customers with billing terms (two-part tariff, 力调) also need the reactive and maximum-demand
registers of the freeze: after a terminal's F161 round they are read from the meters through AFN10 F1 at
bulk priority (:mod:`gridcare.acquisition.registers`), with outcomes per point and data item.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import date
from typing import Any

from gridcare.acquisition import messages
from gridcare.acquisition.channel import Priority, RequestFailed
from gridcare.acquisition.directory import TerminalInfo
from gridcare.acquisition.frontend import FrontEnd, Session
from gridcare.acquisition.models import FailureReason, PointOutcome
from gridcare.acquisition.registers import RegisterReader
from gridcare.mdm.schema import DI_FWD_ACTIVE, DI_FWD_ACTIVE_TARIFFS
from gridcare.protocols import gdw1376
from gridcare.protocols.gdw1376.model import Gdw1376Frame
from gridcare.storage.frames import RawFrame

log = logging.getLogger("gridcare.collection")

DIS = (DI_FWD_ACTIVE, *DI_FWD_ACTIVE_TARIFFS)
"""Lake data items of one F161 reply, in the order the terminal sends them: total, T1..T4 [kWh]."""

_REASON = {"timeout": FailureReason.NO_REPLY, "offline": FailureReason.TERMINAL_OFFLINE}


def da_groups(pns: Iterable[int]) -> list[list[int]]:
    """Split measuring points into DA groups of up to 8 (one DA2 byte addresses Pn 8k+1..8k+8)."""
    groups: dict[int, list[int]] = {}
    for pn in sorted(set(pns)):
        groups.setdefault((pn - 1) // 8, []).append(pn)
    return list(groups.values())


def readings_of(
    frame: Gdw1376Frame, terminal: TerminalInfo, freeze_day: date, frame_ref: str
) -> tuple[list[dict[str, Any]], dict[int, bool]]:
    """Readings carried by an F161 reply, and per Pn whether it held a valid total register."""
    freeze = messages.freeze_instant_of(messages.td_of(freeze_day))
    rows: list[dict[str, Any]] = []
    valid: dict[int, bool] = {}
    for unit in frame.units:
        for item in unit.items:
            point = terminal.points.get(item.pn)
            if item.fn != messages.F_DAILY_FORWARD_ACTIVE or point is None:
                continue
            values = item.data.get("forward_active_kwh") or []
            valid[item.pn] = bool(values) and values[0] is not None
            for di, value in zip(DIS, values, strict=False):
                if value is not None:
                    rows.append(
                        {
                            "meter": point.meter_address,
                            "di": di,
                            "freeze_time": freeze,
                            "value": value,
                            "frame_ref": frame_ref,
                        }
                    )
    return rows, valid


class Collector:
    """Daily frozen collection over the front-end's sessions."""

    def __init__(self, frontend: FrontEnd, concurrency: int = 2000) -> None:
        self.frontend = frontend
        self.registers = RegisterReader(frontend)
        self._limit = asyncio.Semaphore(concurrency)

    async def collect_group(
        self, session: Session, pns: list[int], freeze_day: date, priority: Priority = Priority.BULK
    ) -> list[PointOutcome]:
        """Read one DA group of points for the freeze taken at 00:00 on ``freeze_day``."""
        terminal = session.terminal
        td = messages.td_of(freeze_day)
        points = [terminal.points[pn] for pn in pns]

        def build(seq: int) -> bytes:
            return gdw1376.encode_frame(messages.daily_frozen_request(session.address, seq, pns, td))

        try:
            replies = await session.channel.submit(
                build, priority, timeout_s=15.0, retries=2, label="AFN0D F161"
            )
        except RequestFailed as exc:
            reason = _REASON.get(exc.reason, FailureReason.NO_REPLY)
            return [p.outcome(False, reason) for p in points]
        rows: list[dict[str, Any]] = []
        refs: list[RawFrame] = []
        valid: dict[int, bool] = {}
        denied = False
        received = replies[0][2]
        for frame, ref, _ in replies:
            refs.append(ref)
            if frame.afn == messages.AFN_CONFIRM:
                denied = True
                continue
            got, ok = readings_of(frame, terminal, freeze_day, ref.frame_id)
            rows.extend(got)
            valid.update(ok)
        await self.frontend.ingestor.write(rows, refs, received)
        for frame, _ref, _ in replies:  # durable now: confirm what asked for it
            if frame.seq.con:
                await self.frontend.send(
                    session, messages.confirm(session.address, frame.seq.seq, link=False)
                )
        outcomes = []
        for p in points:
            if valid.get(p.pn):
                outcomes.append(p.outcome(True))
            else:
                reason = FailureReason.ABNORMAL_REPLY if denied else FailureReason.INVALID_DATA
                outcomes.append(p.outcome(False, reason))
        return outcomes

    async def collect_terminal(
        self,
        terminal: TerminalInfo,
        freeze_day: date,
        pns: Iterable[int] | None = None,
        priority: Priority = Priority.BULK,
        registers: dict[int, tuple[str, ...]] | None = None,
    ) -> list[PointOutcome]:
        """Every (or the given) point of one terminal; offline terminals fail all points at once.

        Then, at bulk priority, the extra registers: ``registers`` (Pn -> lake data items), by default
        those the directory lists for the points read (customers with billing terms). The outcomes of
        those carry their data item (``PointOutcome.di``)."""
        wanted = sorted(terminal.points) if pns is None else sorted(set(pns) & set(terminal.points))
        if registers is None:
            registers = {pn: terminal.points[pn].registers for pn in wanted if terminal.points[pn].registers}
        extra = {pn: dis for pn, dis in registers.items() if dis and pn in terminal.points}
        session = self.frontend.sessions.get(terminal.key)
        if session is None:
            offline = FailureReason.TERMINAL_OFFLINE
            return [terminal.points[pn].outcome(False, offline) for pn in wanted] + [
                terminal.points[pn].outcome(False, offline, di)
                for pn, dis in sorted(extra.items())
                for di in dis
            ]
        async with self._limit:
            groups = await asyncio.gather(
                *(self.collect_group(session, g, freeze_day, priority) for g in da_groups(wanted))
            )
        outcomes = [o for g in groups for o in g]
        for pn, dis in sorted(extra.items()):  # after the F161 round; one point at a time
            outcomes += await self.registers.read_point(
                session, terminal.points[pn], dis, freeze_day, Priority.BULK
            )
        return outcomes

    async def collect_day(
        self,
        freeze_day: date,
        wanted: dict[str, set[int]] | None = None,
        priority: Priority = Priority.BULK,
        registers: dict[str, dict[int, tuple[str, ...]]] | None = None,
    ) -> list[PointOutcome]:
        """All terminals (or ``wanted``: terminal key -> Pns) for the freeze at 00:00 on ``freeze_day``.

        ``registers`` (terminal key -> Pn -> lake data items): the extra registers to read; by default
        those of the points read. Returns the daily reading outcomes, then the extra registers' ones."""
        terminals = list(self.frontend.directory.terminals.values())
        if wanted is not None:
            keys = set(wanted) | set(registers or {})
            terminals = [t for t in terminals if t.key in keys]
        results = await asyncio.gather(
            *(
                self.collect_terminal(
                    t,
                    freeze_day,
                    None if wanted is None else wanted.get(t.key, set()),
                    priority,
                    None if registers is None else registers.get(t.key, {}),
                )
                for t in terminals
                if t.points
            )
        )
        outcomes = [o for r in results for o in r]
        daily = [o for o in outcomes if o.daily]
        extra = [o for o in outcomes if not o.daily]
        log.info(
            "collected freeze %s: %d of %d points; extra registers %d of %d",
            freeze_day,
            sum(o.ok for o in daily),
            len(daily),
            sum(o.ok for o in extra),
            len(extra),
        )
        return daily + extra
