"""Risk warnings (风险预警, handle_alerts): list them and acknowledge them."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from gridcare.api.deps import ObjectId, PageNo, Requires, SessionDep
from gridcare.api.schemas import PageOut
from gridcare.security import risk
from gridcare.security.models import Alert, as_beijing
from gridcare.security.principal import Principal
from gridcare.security.roles import Permission

router = APIRouter(prefix="/alerts", tags=["alerts"])

HandleAlerts = Annotated[Principal, Requires(Permission.HANDLE_ALERTS)]


class AlertOut(BaseModel):
    id: int
    rule: str
    severity: str
    subject: str
    message: str
    detail: dict[str, Any]
    org_id: int | None
    count: int
    first_seen_at: datetime
    last_seen_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    ack_note: str | None


class AckIn(BaseModel):
    note: str = Field(default="", max_length=255, description="what was done about it")


def alert_out(a: Alert) -> AlertOut:
    return AlertOut(
        id=a.id,
        rule=a.rule,
        severity=a.severity.value,
        subject=a.subject,
        message=a.message,
        detail=json.loads(a.detail or "{}"),
        org_id=a.org_id,
        count=a.count,
        first_seen_at=as_beijing(a.first_seen_at),
        last_seen_at=as_beijing(a.last_seen_at),
        acknowledged_at=as_beijing(a.acknowledged_at) if a.acknowledged_at else None,
        acknowledged_by=a.acknowledged_by,
        ack_note=a.ack_note,
    )


@router.get("", response_model=PageOut[AlertOut])
def list_alerts(
    session: SessionDep,
    principal: HandleAlerts,
    open_only: Annotated[bool, Query(description="only alerts not acknowledged yet")] = False,
    rule: Annotated[str | None, Query(max_length=32)] = None,
    page: PageNo = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> PageOut[AlertOut]:
    """Alerts in the caller's organisation scope, latest first."""
    items, total = risk.list_alerts(
        session, principal, open_only=open_only, rule=rule, page=page, page_size=page_size
    )
    return PageOut(items=[alert_out(a) for a in items], total=total, page=page, page_size=page_size)


@router.post("/{alert_id}/ack", response_model=AlertOut)
def acknowledge(
    alert_id: ObjectId, session: SessionDep, principal: HandleAlerts, body: AckIn | None = None
) -> AlertOut:
    """A person acknowledges the alert (audited); acknowledging twice is a conflict (409)."""
    try:
        alert = risk.acknowledge(session, principal, alert_id, body.note if body else "")
    except risk.AlreadyAcknowledged as exc:
        raise HTTPException(409, detail=str(exc)) from exc
    out = alert_out(alert)
    session.commit()
    return out
