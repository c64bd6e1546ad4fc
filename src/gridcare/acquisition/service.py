"""Services the API and CLI call for the master station: device jobs and the terminal session table.

Every call takes the acting principal; a meter or terminal outside their organisation scope is "not
found", exactly like one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridcare.acquisition.models import DeviceJob, JobKind, JobState, TerminalStatus
from gridcare.archives.models import Meter, MeteringPoint, Terminal
from gridcare.archives.queries import NotFound
from gridcare.archives.scope import scoped
from gridcare.security import approvals, audit
from gridcare.security.authz import require
from gridcare.security.models import ApprovalRequest
from gridcare.security.principal import Principal
from gridcare.security.roles import Permission
from gridcare.timeutil import now_beijing

METER_JOBS = {JobKind.REMOTE_TRIP, JobKind.REMOTE_CLOSE, JobKind.ON_DEMAND_READ}
REMOTE_COMMANDS = {"trip": JobKind.REMOTE_TRIP, "allow_close": JobKind.REMOTE_CLOSE}
APPROVAL_KIND = "remote_control"
PRIORITY = {
    JobKind.REMOTE_TRIP: 0,
    JobKind.REMOTE_CLOSE: 0,
    JobKind.CLOCK_SYNC: 0,
    JobKind.ON_DEMAND_READ: 1,
    JobKind.CLOCK_READ: 1,
}


class JobRequestError(ValueError):
    """A job request that names a bad field; nothing was created."""


def terminal_by_address(session: Session, principal: Principal, address: str) -> Terminal:
    """A terminal by "AAAA-NNNNN" (area code, terminal number), within scope."""
    area, _, number = address.partition("-")
    if len(area) != 4 or not area.isdigit() or not number.isdigit():
        raise JobRequestError(f"terminal: expected AAAA-NNNNN (area code - terminal number), got {address!r}")
    terminal = session.scalar(
        select(Terminal).where(
            Terminal.area_code == area,
            Terminal.terminal_number == int(number),
            scoped(Terminal.org_id, principal),
        )
    )
    if terminal is None:
        raise NotFound(f"terminal {address}")
    return terminal


def terminal_of_meter(session: Session, principal: Principal, meter_address: str) -> Terminal:
    """The terminal the meter is currently read through, within scope."""
    terminal = session.scalar(
        select(Terminal)
        .join(MeteringPoint, MeteringPoint.terminal_id == Terminal.id)
        .join(Meter, Meter.id == MeteringPoint.meter_id)
        .where(
            Meter.address == meter_address, MeteringPoint.valid_to.is_(None), scoped(Meter.org_id, principal)
        )
    )
    if terminal is None:
        raise NotFound(f"meter {meter_address} (or the terminal that reads it)")
    return terminal


def request_job(
    session: Session,
    principal: Principal,
    kind: JobKind,
    meter_address: str | None = None,
    terminal_address: str | None = None,
    params: dict[str, Any] | None = None,
) -> DeviceJob:
    """Create a pending device job and commit it. Meter jobs resolve the terminal from the archives.

    Remote trip / close never come this way: they need a second person (:func:`request_remote_control`).
    Setting a clock is a control command and needs the remote-control permission.
    """
    if kind in (JobKind.REMOTE_TRIP, JobKind.REMOTE_CLOSE):
        raise JobRequestError(f"kind: {kind.value} needs approval; use POST /devices/remote-control")
    require(principal, Permission.REMOTE_CONTROL if kind == JobKind.CLOCK_SYNC else Permission.READ_DATA)
    if kind in METER_JOBS and not meter_address:
        raise JobRequestError(f"meter_address: required for {kind.value}")
    if meter_address:
        terminal = terminal_of_meter(session, principal, meter_address)
        if terminal_address and terminal_by_address(session, principal, terminal_address).id != terminal.id:
            raise JobRequestError(f"terminal: meter {meter_address} is not read through {terminal_address}")
    elif terminal_address:
        terminal = terminal_by_address(session, principal, terminal_address)
    else:
        raise JobRequestError("terminal: give a terminal address or a meter address")
    job = _new_job(session, principal, kind, terminal.id, meter_address, params or {})
    session.commit()
    return job


def _new_job(
    session: Session,
    principal: Principal,
    kind: JobKind,
    terminal_id: int,
    meter: str | None,
    params: dict[str, Any],
) -> DeviceJob:
    job = DeviceJob(
        kind=kind,
        terminal_id=terminal_id,
        meter_address=meter,
        params=params,
        priority=PRIORITY[kind],
        state=JobState.PENDING,
        requested_by=principal.username,
        created_at=now_beijing(),
    )
    session.add(job)
    session.flush()
    return job


def request_remote_control(
    session: Session, maker: Principal, meter_address: str, command: str, reason: str
) -> ApprovalRequest:
    """File a remote trip / allow-close for approval by a second person (maker-checker); commits."""
    if command not in REMOTE_COMMANDS:
        raise JobRequestError(f"command: expected trip or allow_close, got {command!r}")
    if not reason.strip():
        raise JobRequestError("reason: say why the meter is to be switched")
    terminal_of_meter(session, maker, meter_address)
    org_id = session.scalar(select(Meter.org_id).where(Meter.address == meter_address))
    req = approvals.request(
        session,
        maker,
        APPROVAL_KIND,
        Permission.REMOTE_CONTROL,
        f"meter {meter_address}",
        org_id=org_id,
        payload={"meter_address": meter_address, "command": command},
        reason=reason,
    )
    session.commit()
    return req


def approve_remote_control(session: Session, checker: Principal, approval_id: int) -> DeviceJob:
    """A second person approves: the job is queued, the approval marked executed, both audited; commits."""
    req = approvals.get(session, checker, approval_id)
    if req.kind != APPROVAL_KIND:
        raise NotFound(f"remote-control request {approval_id}")
    approvals.approve(session, checker, approval_id)
    payload = approvals.payload_of(req)
    meter, command = payload["meter_address"], payload["command"]
    terminal = terminal_of_meter(session, checker, meter)
    job = _new_job(
        session,
        checker,
        REMOTE_COMMANDS[command],
        terminal.id,
        meter,
        {"approval_id": approval_id, "maker": req.requested_by},
    )
    approvals.mark_executed(session, checker, approval_id, {"job_id": job.id})
    audit.record(
        session,
        checker,
        f"remote.{command}",
        f"meter {meter}",
        detail={"job_id": job.id, "approval_id": approval_id, "maker": req.requested_by},
    )
    session.commit()
    return job


def get_job(session: Session, principal: Principal, job_id: int) -> DeviceJob:
    job = session.scalar(
        select(DeviceJob)
        .join(Terminal, Terminal.id == DeviceJob.terminal_id)
        .where(DeviceJob.id == job_id, scoped(Terminal.org_id, principal))
    )
    if job is None:
        raise NotFound(f"job {job_id}")
    return job


@dataclass(frozen=True)
class TerminalState:
    address: str
    terminal_type: str
    online: bool
    remote_address: str
    connected_since: datetime | None
    last_heartbeat: datetime | None
    malformed_frames: int


def terminal_states(
    session: Session, principal: Principal, online: bool | None = None
) -> list[TerminalState]:
    """The session table as last written by the front-end, within scope."""
    stmt = (
        select(Terminal, TerminalStatus)
        .outerjoin(TerminalStatus, TerminalStatus.terminal_id == Terminal.id)
        .where(scoped(Terminal.org_id, principal))
        .order_by(Terminal.area_code, Terminal.terminal_number)
    )
    out = []
    for terminal, status in session.execute(stmt):
        is_online = bool(status and status.online)
        if online is not None and is_online != online:
            continue
        out.append(
            TerminalState(
                terminal.address,
                terminal.terminal_type.value,
                is_online,
                status.remote_address if status else "",
                status.connected_since if status else None,
                status.last_heartbeat if status else None,
                status.malformed_frames if status else 0,
            )
        )
    return out
