"""Extra daily frozen registers of two-part tariff customers, read from the meter through the terminal.

AFN0D F161 carries only the forward active energy. A customer with billing terms (力调, a basic charge by
maximum demand) also needs, for each daily freeze, the combined reactive 1 register (组合无功1,
``05060301``) and the forward active maximum demand with its time (``05060901`` / ``05060901.t``). The
meter keeps its last 62 daily freezes; the master station reads them with DL/T 645-2007 read requests
forwarded by the terminal (AFN10 F1):

* ``050600NN`` the freeze time of the N-th last daily freeze, then ``050603NN`` and ``050609NN``, then
  ``050600NN`` again. ``NN`` = days between the freeze day and today (station clock) + 1. The values are
  kept only when both freeze-time reads name 00:00 of the day being collected: a meter whose clock is off
  may hold that day's freeze at another N (one second try at the N its answer implies), a meter that
  skipped the day does not hold it at all, and a freeze taken between the reads shifts N. Otherwise the
  outcome is "invalid data" with the reason in ``detail``.
* Values go to the readings lake through the write-ahead file, with the raw frames, before they count,
  as for F161; the freeze time stored is 00:00 Beijing of the frozen day, so a re-read merges.
* Outcomes are per (metering point, lake data item): no reply (terminal timeout, or the meter did not
  answer the forwarded frame), abnormal reply (terminal denial, meter abnormal reply), invalid data
  (no-data filler, undecodable frame, wrong meter or item, freeze time of another day). They do not touch
  the daily collection success rate, which is about the forward active reading (see
  :mod:`gridcare.acquisition.kpi`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from gridcare.acquisition import messages
from gridcare.acquisition.channel import Priority, RequestFailed
from gridcare.acquisition.directory import PointInfo
from gridcare.acquisition.frontend import FrontEnd, Session
from gridcare.acquisition.models import FailureReason, PointOutcome
from gridcare.mdm.schema import DI_FWD_DEMAND, DI_FWD_DEMAND_TIME, DI_FWD_REACTIVE
from gridcare.protocols import dlt645, gdw1376
from gridcare.protocols.errors import FrameError
from gridcare.storage.frames import RawFrame

log = logging.getLogger("gridcare.collection")

HELD_FREEZES = 62  # daily freezes a DL/T 645-2007 meter keeps (上1次 .. 上62次)
FREEZE_TIME = "050600"  # DI3..DI1 of the freeze time of the N-th last daily freeze
DLT645_OF = {DI_FWD_REACTIVE: "050603", DI_FWD_DEMAND: "050609"}
"""Lake data item -> DI3..DI1 of its N-th last daily freeze (DI0 = N)."""
_REASON = {"timeout": FailureReason.NO_REPLY, "offline": FailureReason.TERMINAL_OFFLINE}


class ReadFailed(Exception):
    def __init__(self, reason: FailureReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass
class _Reads:
    """What the reads of one point gathered: raw reply frames and frames that ask for confirmation."""

    refs: list[RawFrame] = field(default_factory=list)
    to_confirm: list[int] = field(default_factory=list)
    received: float | None = None


def held_index(freeze_day: date, today: date) -> int:
    """N of the freeze taken at 00:00 on ``freeze_day`` among the meter's last freezes on ``today``."""
    return (today - freeze_day).days + 1


def dlt645_di(base: str, n: int) -> str:
    """The DL/T 645 identifier of the N-th last daily freeze of ``base`` (DI3..DI1)."""
    return f"{base}{n:02X}"


class RegisterReader:
    """Reads the extra daily frozen registers of a terminal's points through AFN10 F1."""

    def __init__(self, frontend: FrontEnd, timeout_s: float = 15.0, retries: int = 1) -> None:
        self.frontend = frontend
        self.timeout_s = timeout_s
        self.retries = retries

    async def read_point(
        self,
        session: Session,
        point: PointInfo,
        dis: tuple[str, ...],
        freeze_day: date,
        priority: Priority = Priority.BULK,
    ) -> list[PointOutcome]:
        """Read ``dis`` (lake data items) of ``point`` for the freeze at 00:00 on ``freeze_day``; store
        the readings durably, then confirm and return the outcomes."""
        dis = tuple(di for di in dis if di in DLT645_OF)
        if not dis:
            return []
        reads = _Reads()
        rows: list[dict[str, Any]] = []
        outcomes: list[PointOutcome] = []
        n = held_index(freeze_day, self.frontend.clock().date())
        try:
            if not 1 <= n <= HELD_FREEZES:
                raise ReadFailed(
                    FailureReason.INVALID_DATA,
                    f"the meter keeps the last {HELD_FREEZES} daily freezes; {freeze_day} would be N={n}",
                )
            n = await self._locate(session, point.meter_address, freeze_day, n, reads, priority)
            values: dict[str, tuple[list[dlt645.Value], str]] = {}
            for di in dis:
                try:
                    values[di] = await self._values(session, point.meter_address, di, n, reads, priority)
                except ReadFailed as exc:
                    outcomes.append(PointOutcome(point.metering_point_id, False, exc.reason, di, exc.detail))
            if values:
                again = await self._freeze_time(session, point.meter_address, n, reads, priority)
                if again != _midnight(freeze_day):
                    raise ReadFailed(
                        FailureReason.INVALID_DATA,
                        f"freeze N={n} moved from {freeze_day} 00:00 to {again} during the read",
                    )
            freeze = messages.freeze_instant_of(messages.td_of(freeze_day))
            for di, (items, ref) in values.items():
                got = _rows(point.meter_address, di, items, freeze, ref)
                if got:
                    rows.extend(got)
                    outcomes.append(PointOutcome(point.metering_point_id, True, di=di))
                else:
                    outcomes.append(
                        PointOutcome(
                            point.metering_point_id, False, FailureReason.INVALID_DATA, di, "no data (无数据)"
                        )
                    )
        except ReadFailed as exc:
            rows = []
            done = {o.di for o in outcomes}
            outcomes += [
                PointOutcome(point.metering_point_id, False, exc.reason, di, exc.detail)
                for di in dis
                if di not in done
            ]
        await self._store(session, rows, reads)
        return outcomes

    async def _store(self, session: Session, rows: list[dict[str, Any]], reads: _Reads) -> None:
        if rows or reads.refs:
            received = reads.received if reads.received is not None else 0.0
            await self.frontend.ingestor.write(rows, reads.refs, received)
        for seq in reads.to_confirm:  # durable now
            await self.frontend.send(session, messages.confirm(session.address, seq, link=False))

    async def _locate(
        self, session: Session, meter: str, freeze_day: date, n: int, reads: _Reads, priority: Priority
    ) -> int:
        """The N at which the meter holds the freeze of ``freeze_day`` (a second try where the first
        answer names another day)."""
        want = _midnight(freeze_day)
        got = await self._freeze_time(session, meter, n, reads, priority)
        if got == want:
            return n
        held = _day_of(got)
        if held is not None:
            other = n + (held - freeze_day).days
            if other != n and 1 <= other <= HELD_FREEZES:
                again = await self._freeze_time(session, meter, other, reads, priority)
                if again == want:
                    return other
                got = f"{got} (N={n}), {again} (N={other})"
        raise ReadFailed(
            FailureReason.INVALID_DATA, f"the meter holds no freeze of {freeze_day} 00:00: freeze time {got}"
        )

    async def _freeze_time(
        self, session: Session, meter: str, n: int, reads: _Reads, priority: Priority
    ) -> str:
        values, _ref = await self._read(session, meter, dlt645_di(FREEZE_TIME, n), reads, priority)
        value = next((v.value for v in values if v.name == "freeze_time"), None)
        if not isinstance(value, str):
            raise ReadFailed(FailureReason.INVALID_DATA, f"no freeze time for N={n} (无数据)")
        return value

    async def _values(
        self, session: Session, meter: str, di: str, n: int, reads: _Reads, priority: Priority
    ) -> tuple[list[dlt645.Value], str]:
        return await self._read(session, meter, dlt645_di(DLT645_OF[di], n), reads, priority)

    async def _read(
        self, session: Session, meter: str, di: str, reads: _Reads, priority: Priority
    ) -> tuple[list[dlt645.Value], str]:
        """One DL/T 645 read of ``di`` forwarded to ``meter``: the decoded values and the id of the raw
        reply frame that carried them, or ReadFailed."""
        request = dlt645.build_read_request(meter, di)

        def build(seq: int) -> bytes:
            return gdw1376.encode_frame(messages.forward(session.address, seq, request))

        try:
            replies = await session.channel.submit(
                build, priority, timeout_s=self.timeout_s, retries=self.retries, label=f"AFN10 read {di}"
            )
        except RequestFailed as exc:
            reason = _REASON.get(exc.reason, FailureReason.NO_REPLY)
            raise ReadFailed(reason, f"{di}: {exc}") from None
        content, carrier = "", ""
        denied = False
        for frame, ref, received in replies:
            reads.refs.append(ref)
            reads.received = received if reads.received is None else reads.received
            if frame.seq.con:
                reads.to_confirm.append(frame.seq.seq)
            if frame.afn == messages.AFN_CONFIRM:
                denied = True
                continue
            for unit in frame.units:
                for item in unit.items:
                    if item.data.get("content_hex"):
                        content, carrier = item.data["content_hex"], ref.frame_id
        if denied and not content:
            raise ReadFailed(FailureReason.ABNORMAL_REPLY, f"{di}: the terminal denied the forward (否认)")
        if not content:
            raise ReadFailed(FailureReason.NO_REPLY, f"{di}: the meter did not answer (电表无应答)")
        try:
            answer = dlt645.decode_frame(bytes.fromhex(content), allow_trailing=True)
        except (FrameError, ValueError) as exc:
            raise ReadFailed(FailureReason.INVALID_DATA, f"{di}: undecodable meter reply ({exc})") from None
        if answer.abnormal:
            raise ReadFailed(
                FailureReason.ABNORMAL_REPLY,
                f"{di}: the meter refused (异常应答), error bits {answer.error_bits or 0:#04x}",
            )
        if answer.address != meter or (answer.di or "").upper() != di.upper():
            raise ReadFailed(
                FailureReason.INVALID_DATA, f"{di}: reply from {answer.address} for {answer.di} (答非所问)"
            )
        return list(answer.values), carrier


def _midnight(day: date) -> str:
    """A freeze time as the codec gives it: "YYYY-MM-DD hh:mm"."""
    return f"{day.isoformat()} 00:00"


def _day_of(freeze_time: str) -> date | None:
    try:
        return datetime.strptime(freeze_time, "%Y-%m-%d %H:%M").date()
    except ValueError:
        return None


def _rows(
    meter: str, di: str, values: list[dlt645.Value], freeze: datetime, frame_ref: str
) -> list[dict[str, Any]]:
    """Lake rows of one register reply: the total (first value) and, for the maximum demand, its time as
    the number YYYYMMDDhhmm (kept when there is a demand and the time is a valid one)."""
    total = values[0].value if values else None
    if not isinstance(total, Decimal):
        return []
    out = [{"meter": meter, "di": di, "freeze_time": freeze, "value": total, "frame_ref": frame_ref}]
    if di == DI_FWD_DEMAND and total > 0 and len(values) > 1 and isinstance(values[1].value, str):
        try:
            when = datetime.strptime(values[1].value, "%Y-%m-%d %H:%M")
        except ValueError:
            return out
        out.append(
            {
                "meter": meter,
                "di": DI_FWD_DEMAND_TIME,
                "freeze_time": freeze,
                "value": Decimal(when.strftime("%Y%m%d%H%M")),
                "frame_ref": frame_ref,
            }
        )
    return out
