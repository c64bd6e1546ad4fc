"""The audit trail (view_audit): search it and verify its hash chain."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from gridcare.api.deps import PageNo, Requires, SessionDep
from gridcare.api.schemas import PageOut
from gridcare.security import audit
from gridcare.security.models import AuditRecord, as_beijing
from gridcare.security.principal import Principal
from gridcare.security.roles import Permission

router = APIRouter(prefix="/audit", tags=["audit"])

ViewAudit = Annotated[Principal, Requires(Permission.VIEW_AUDIT)]


class AuditOut(BaseModel):
    seq: int
    occurred_at: datetime = Field(description="Beijing time with its UTC offset")
    actor: str
    action: str
    object: str
    result: str
    source: str
    detail: dict[str, Any]
    hash: str


class VerifyOut(BaseModel):
    ok: bool
    checked: int
    anchor_seq: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None
    reason: str | None


def audit_out(rec: AuditRecord) -> AuditOut:
    import json

    return AuditOut(
        seq=rec.seq,
        occurred_at=as_beijing(rec.occurred_at),
        actor=rec.actor,
        action=rec.action,
        object=rec.object,
        result=rec.result,
        source=rec.source,
        detail=json.loads(rec.detail or "{}"),
        hash=rec.hash,
    )


@router.get("", response_model=PageOut[AuditOut])
def list_audit(
    session: SessionDep,
    principal: ViewAudit,
    action: Annotated[str | None, Query(max_length=64, description="action prefix, e.g. auth.")] = None,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    result: Annotated[str | None, Query(pattern="^(success|failure|denied)$")] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: PageNo = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> PageOut[AuditOut]:
    """Audit records in the caller's organisation scope, newest first."""
    items, total = audit.list_records(
        session,
        principal,
        action=action,
        actor=actor,
        result=result,
        since=since,
        until=until,
        page=page,
        page_size=page_size,
    )
    return PageOut(items=[audit_out(r) for r in items], total=total, page=page, page_size=page_size)


@router.get("/verify", response_model=VerifyOut)
def verify_chain(session: SessionDep, principal: ViewAudit) -> VerifyOut:
    """Walk the hash chain: the first changed, inserted or deleted record and why."""
    report = audit.verify(session)
    return VerifyOut(**report.__dict__)
