"""Device jobs: remote control (费控 trip / allow close), clock read and sync, on-demand reads (召测).

Jobs are rows in ``device_jobs`` (see :mod:`gridcare.acquisition.models`): whoever asks inserts a pending
row; the runner here sends it through the terminal's channel at high priority and writes the outcome:
confirmed, failed (with the reason) or timed_out. Remote control is confirmed only when a re-read of the
meter's run status word 3 shows the relay in the commanded state.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

from gridcare.acquisition import messages, store
from gridcare.acquisition.channel import Priority, RequestFailed
from gridcare.acquisition.frontend import FrontEnd, Session
from gridcare.acquisition.models import ClockCheck, DeviceJob, JobKind, JobState
from gridcare.protocols import dlt645, gdw1376
from gridcare.protocols.errors import FrameError
from gridcare.storage.database import Database
from gridcare.timeutil import BEIJING

log = logging.getLogger("gridcare.jobs")

TERMINAL_CLOCK_LIMIT_S = 5
METER_CLOCK_LIMIT_S = 10
RELAY_OPEN_BIT = 1 << 4  # run status word 3, bit 4: relay state (0 closed, 1 open)
CONTROL_PASSWORD = "02000000"  # level-2 password as the meter expects it (PA then P0..P2)
COMMANDS = {JobKind.REMOTE_TRIP: ("trip", True), JobKind.REMOTE_CLOSE: ("allow_close", False)}


class JobFailed(Exception):
    """The job cannot complete; the message says why."""


class JobRunner:
    """Executes pending device jobs on the front-end's sessions."""

    def __init__(
        self, frontend: FrontEnd, db: Database, poll_s: float = 1.0, offline_grace_s: float = 60.0
    ) -> None:
        self.frontend = frontend
        self.db = db
        self.poll_s = poll_s
        self.offline_grace_s = offline_grace_s  # how long a job waits for its terminal to come online
        self._running: set[asyncio.Task[None]] = set()

    async def poll(self) -> None:
        """Pick up pending jobs and start them; call repeatedly."""
        for job in await asyncio.to_thread(store.take_pending_jobs, self.db):
            task = asyncio.create_task(self.execute(job))
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        await asyncio.sleep(self.poll_s)

    async def _session(self, terminal_id: int) -> Session:
        deadline = asyncio.get_running_loop().time() + self.offline_grace_s
        while True:
            for session in self.frontend.sessions.values():
                if session.terminal.terminal_id == terminal_id:
                    return session
            if asyncio.get_running_loop().time() >= deadline:
                raise JobFailed("terminal offline (终端离线)")
            await asyncio.sleep(0.5)

    async def execute(self, job: DeviceJob) -> None:
        state, result, error = JobState.CONFIRMED, None, None
        try:
            session = await self._session(job.terminal_id)
            if job.kind in COMMANDS:
                result = await self.remote_control(session, job)
            elif job.kind == JobKind.CLOCK_READ:
                result = await self.clock(session, job, sync=False)
            elif job.kind == JobKind.CLOCK_SYNC:
                result = await self.clock(session, job, sync=True)
            elif job.kind == JobKind.ON_DEMAND_READ:
                result = await self.read_meter(session, _meter(job), job.params.get("di", "0001FF00"))
            else:
                raise JobFailed(f"unknown job kind {job.kind}")
        except RequestFailed as exc:
            state = JobState.TIMED_OUT if exc.reason == "timeout" else JobState.FAILED
            error = str(exc)
        except (JobFailed, FrameError) as exc:
            state, error = JobState.FAILED, str(exc)
        log.info("job %s %s on terminal %s: %s %s", job.id, job.kind, job.terminal_id, state, error or "")
        await asyncio.to_thread(store.finish_job, self.db, job.id, state, result, error)

    # -- through the terminal -------------------------------------------------------------------
    async def _request(self, session: Session, build: Any, label: str, timeout_s: float = 10.0) -> list[Any]:
        replies = await session.channel.submit(
            build, Priority.CONTROL, timeout_s=timeout_s, retries=1, label=label
        )
        return [frame for frame, _ref, _t in replies]

    async def forward(self, session: Session, frame645: bytes, label: str) -> dlt645.Dlt645Frame:
        """Send a DL/T 645 frame to a meter through the terminal (AFN10 F1) and decode the answer."""

        def build(seq: int) -> bytes:
            return gdw1376.encode_frame(messages.forward(session.address, seq, frame645))

        frames = await self._request(session, build, label, timeout_s=15.0)
        content = ""
        for frame in frames:
            for unit in frame.units:
                for item in unit.items:
                    content = item.data.get("content_hex") or content
        if not content:
            raise JobFailed("the meter did not answer (电表无应答)")
        answer = dlt645.decode_frame(bytes.fromhex(content), allow_trailing=True)
        if answer.abnormal:
            raise JobFailed(f"the meter refused (异常应答), error bits {answer.error_bits:#04x}")
        return answer

    async def read_meter(self, session: Session, meter: str, di: str) -> dict[str, Any]:
        answer = await self.forward(session, dlt645.build_read_request(meter, di), f"read {di}")
        return {"meter": meter, "di": di, "values": dlt645.frame_to_json(answer)["values"]}

    async def remote_control(self, session: Session, job: DeviceJob) -> dict[str, Any]:
        meter = _meter(job)
        command, want_open = COMMANDS[job.kind]
        valid_until = datetime.now(BEIJING) + timedelta(minutes=30)
        frame = dlt645.build_remote_control(meter, command, valid_until, CONTROL_PASSWORD)
        await self.forward(session, frame, f"remote {command}")
        status = await self.forward(session, dlt645.build_read_request(meter, "04000503"), "relay state")
        word = int(status.values[0].value or 0) if status.values else 0
        is_open = bool(word & RELAY_OPEN_BIT)
        if is_open != want_open:
            raise JobFailed(f"relay is {'open' if is_open else 'closed'} after {command} (继电器状态不符)")
        return {"meter": meter, "command": command, "relay": "open" if is_open else "closed"}

    async def clock(self, session: Session, job: DeviceJob, sync: bool) -> dict[str, Any]:
        """Read the terminal clock (or a meter's, when the job names one); set it when off by more than the
        limit and ``sync``; record the check."""
        if job.meter_address:
            return await self._meter_clock(session, job.meter_address, sync)
        error_s, device_time = await self._terminal_error(session)
        action = "none"
        if sync and abs(error_s) > TERMINAL_CLOCK_LIMIT_S:
            await self._request(
                session,
                lambda seq: gdw1376.encode_frame(
                    messages.clock_set(session.address, seq, self.frontend.clock())
                ),
                "clock set",
            )
            action = "set"
            error_s, device_time = await self._terminal_error(session)
        flagged = abs(error_s) > TERMINAL_CLOCK_LIMIT_S
        await asyncio.to_thread(
            self._record_clock, session.terminal.terminal_id, None, device_time, error_s, flagged, action
        )
        return {
            "device_time": device_time.isoformat(),
            "error_s": error_s,
            "flagged": flagged,
            "action": action,
        }

    async def _terminal_error(self, session: Session) -> tuple[int, datetime]:
        frames = await self._request(
            session, lambda seq: gdw1376.encode_frame(messages.clock_request(session.address, seq)), "clock"
        )
        value = frames[0].units[0].items[0].data.get("clock") if frames and frames[0].units else None
        if not value:
            raise JobFailed("the terminal sent no clock (无时钟数据)")
        device_time = datetime.fromisoformat(value).replace(tzinfo=BEIJING)
        return round((device_time - self.frontend.clock()).total_seconds()), device_time

    async def _meter_clock(self, session: Session, meter: str, sync: bool) -> dict[str, Any]:
        date_answer = await self.forward(session, dlt645.build_read_request(meter, "04000101"), "meter date")
        time_answer = await self.forward(session, dlt645.build_read_request(meter, "04000102"), "meter time")
        day = str(next(v.value for v in date_answer.values if v.name == "date"))
        clock = str(time_answer.values[0].value)
        device_time = datetime.fromisoformat(f"{day} {clock}").replace(tzinfo=BEIJING)
        error_s = round((device_time - self.frontend.clock()).total_seconds())
        action = "none"
        if sync and abs(error_s) > METER_CLOCK_LIMIT_S:
            broadcast = dlt645.build_broadcast_time(self.frontend.clock())
            await self._request(
                session,
                lambda seq: gdw1376.encode_frame(messages.forward(session.address, seq, broadcast)),
                "broadcast time",
            )
            action = "broadcast"
        flagged = abs(error_s) > METER_CLOCK_LIMIT_S
        await asyncio.to_thread(
            self._record_clock, session.terminal.terminal_id, meter, device_time, error_s, flagged, action
        )
        return {
            "meter": meter,
            "device_time": device_time.isoformat(),
            "error_s": error_s,
            "flagged": flagged,
            "action": action,
        }

    def _record_clock(
        self,
        terminal_id: int,
        meter: str | None,
        device_time: datetime,
        error_s: int,
        flagged: bool,
        action: str,
    ) -> None:
        with self.db.sessions() as session, session.begin():
            session.add(
                ClockCheck(
                    terminal_id=terminal_id,
                    meter_address=meter,
                    checked_at=self.frontend.clock(),
                    device_time=device_time,
                    error_s=error_s,
                    flagged=flagged,
                    action=action,
                )
            )


def _meter(job: DeviceJob) -> str:
    if not job.meter_address:
        raise JobFailed("meter_address: this job needs a meter")
    return job.meter_address
