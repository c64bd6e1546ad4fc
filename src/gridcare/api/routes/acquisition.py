"""Master-station endpoints: terminal session table, device jobs (召测, 对时, 费控) and collection KPIs."""

from __future__ import annotations

import time as wall
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from gridcare.acquisition import events, kpi, service
from gridcare.acquisition.models import JobKind, JobState
from gridcare.api.deps import CurrentPrincipal, ObjectId, Requires, SessionDep
from gridcare.archives.queries import NotFound
from gridcare.security.approvals import ApprovalError
from gridcare.security.principal import Principal
from gridcare.security.roles import Permission
from gridcare.timeutil import today_beijing

router = APIRouter(tags=["acquisition"])


class JobIn(BaseModel):
    kind: JobKind
    meter_address: str | None = Field(default=None, pattern=r"^\d{12}$")
    terminal: str | None = Field(default=None, description="AAAA-NNNNN", pattern=r"^\d{4}-\d{1,5}$")
    params: dict[str, Any] = Field(default_factory=dict)


class JobOut(BaseModel):
    id: int
    kind: JobKind
    state: JobState
    meter_address: str | None
    requested_by: str
    created_at: datetime
    sent_at: datetime | None
    finished_at: datetime | None
    result: dict[str, Any] | None
    error: str | None


def _job_out(job: Any) -> JobOut:
    return JobOut.model_validate(job, from_attributes=True)


@router.get("/terminals/status")
def terminal_status(
    session: SessionDep, principal: CurrentPrincipal, online: Annotated[bool | None, Query()] = None
) -> list[dict[str, Any]]:
    """The session table: online state, remote address, connected since, last heartbeat."""
    return [s.__dict__ for s in service.terminal_states(session, principal, online)]


@router.get("/terminals/events")
def terminal_events(
    session: SessionDep,
    principal: CurrentPrincipal,
    terminal: Annotated[str | None, Query(pattern=r"^\d{4}-\d{1,5}$", description="AAAA-NNNNN")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    """Terminal events (ERC records: power off/on, meter cover open, clock fault, ...), newest first."""
    terminal_id = None
    if terminal:
        try:
            terminal_id = service.terminal_by_address(session, principal, terminal).id
        except service.JobRequestError as exc:
            raise HTTPException(422, detail=str(exc)) from exc
    return events.list_events(session, principal, terminal_id, limit)


@router.post("/devices/jobs", status_code=202)
def create_job(body: JobIn, session: SessionDep, principal: CurrentPrincipal) -> JobOut:
    """Queue a device job; poll ``GET /devices/jobs/{id}`` for its outcome."""
    try:
        job = service.request_job(
            session, principal, body.kind, body.meter_address, body.terminal, body.params
        )
    except service.JobRequestError as exc:
        raise HTTPException(422, detail=str(exc)) from exc
    except NotFound as exc:
        raise HTTPException(404, detail=f"not found: {exc}") from exc
    return _job_out(job)


class RemoteControlIn(BaseModel):
    meter_address: str = Field(pattern=r"^\d{12}$")
    command: str = Field(pattern="^(trip|allow_close)$", description="trip (跳闸) or allow_close (允许合闸)")
    reason: str = Field(min_length=1, max_length=255)


@router.post("/devices/remote-control", status_code=202)
def request_remote_control(
    body: RemoteControlIn,
    session: SessionDep,
    principal: Annotated[Principal, Requires(Permission.REMOTE_CONTROL)],
) -> dict[str, Any]:
    """File a remote trip / allow-close (费控); a second person must approve it before it is sent."""
    try:
        req = service.request_remote_control(
            session, principal, body.meter_address, body.command, body.reason
        )
    except service.JobRequestError as exc:
        raise HTTPException(422, detail=str(exc)) from exc
    return {"approval_id": req.id, "status": req.status.value, "requested_by": req.requested_by}


@router.post("/devices/remote-control/{approval_id}/approve", status_code=202)
def approve_remote_control(
    approval_id: ObjectId,
    session: SessionDep,
    principal: Annotated[Principal, Requires(Permission.REMOTE_CONTROL)],
) -> JobOut:
    """Approve a remote-control request (not by its maker): the command is queued as a device job."""
    try:
        return _job_out(service.approve_remote_control(session, principal, approval_id))
    except ApprovalError as exc:
        raise HTTPException(409, detail=str(exc)) from exc


@router.get("/devices/jobs/{job_id}")
def get_job(
    job_id: ObjectId,
    session: SessionDep,
    principal: CurrentPrincipal,
    wait_s: Annotated[float, Query(ge=0, le=30, description="wait up to this long for a final state")] = 0,
) -> JobOut:
    deadline = wall.monotonic() + wait_s
    while True:
        try:
            job = service.get_job(session, principal, job_id)
        except NotFound as exc:
            raise HTTPException(404, detail=f"not found: {exc}") from exc
        if job.state not in (JobState.PENDING, JobState.SENT) or wall.monotonic() >= deadline:
            return _job_out(job)
        session.expire_all()
        wall.sleep(0.2)


@router.get("/kpi/collection")
def collection_kpi(
    session: SessionDep,
    principal: CurrentPrincipal,
    day: Annotated[date | None, Query(alias="date", description="freeze day, default today")] = None,
    by: Annotated[
        str, Query(pattern="^(organisation|transformer_area|terminal|manufacturer)$")
    ] = "organisation",
) -> dict[str, Any]:
    """Daily collection success rate with its breakdown and the failed points with their reasons."""
    return kpi.collection_report(session, day or today_beijing(), principal, by)


@router.get("/kpi/collection/trend")
def collection_trend(
    session: SessionDep,
    principal: CurrentPrincipal,
    end: Annotated[date | None, Query(description="last freeze day, default today")] = None,
    days: Annotated[int, Query(ge=1, le=90)] = 30,
) -> list[dict[str, Any]]:
    """Overall success rate of each of the last ``days`` freeze days."""
    return kpi.trend(session, end or today_beijing(), principal, days)
