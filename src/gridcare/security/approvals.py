"""Maker-checker (双人复核) for dangerous actions: remote trip/close, tariff changes, ...

A maker who holds the permission files a request; a different user who also holds it, with the object in
scope, approves or rejects it; the calling service executes an approved request and marks it executed.
The maker can never approve their own request (checked here and by a database constraint). Every step is
audited.

    req = approvals.request(session, maker, "remote_control", Permission.REMOTE_CONTROL,
                            "meter 201000000012", org_id=17, payload={"command": "trip"})
    approvals.approve(session, checker, req.id)
    ...  # send the command
    approvals.mark_executed(session, checker, req.id)
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gridcare.archives.models import Organisation
from gridcare.security import audit
from gridcare.security.authz import NotInScope, PermissionDenied, require, require_in_scope
from gridcare.security.models import ApprovalRequest, ApprovalStatus
from gridcare.security.principal import Principal
from gridcare.timeutil import now_beijing, to_beijing


class ApprovalError(ValueError):
    """The request is not in a state that allows the step (e.g. already decided)."""


class SelfApproval(PermissionDenied):
    """The maker tried to approve or reject their own request."""

    def __init__(self, permission: str) -> None:
        super().__init__(permission, "the maker of a request may not approve or reject it (maker-checker)")


def _org_path(session: Session, org_id: int | None) -> str | None:
    if org_id is None:
        return None
    return session.scalar(select(Organisation.path).where(Organisation.id == org_id))


def request(
    session: Session,
    maker: Principal,
    kind: str,
    permission: str,
    object: str,
    *,
    org_id: int | None,
    payload: Mapping[str, Any] | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> ApprovalRequest:
    """File a request. The maker needs ``permission`` and the object's organisation in scope."""
    require(maker, permission)
    require_in_scope(maker, _org_path(session, org_id), object)
    now = to_beijing(now or now_beijing())
    req = ApprovalRequest(
        kind=kind[:32],
        permission=permission,
        object=object[:100],
        org_id=org_id,
        payload=json.dumps(dict(payload or {}), ensure_ascii=False, sort_keys=True),
        reason=reason[:255],
        status=ApprovalStatus.PENDING,
        requested_by=maker.username,
        requested_at=now,
    )
    session.add(req)
    session.flush()
    audit.record(
        session,
        maker,
        f"approval.request.{kind}"[:64],
        f"approval {req.id}: {object}",
        detail={"kind": kind, "payload": dict(payload or {})},
        now=now,
    )
    return req


def get(session: Session, principal: Principal, request_id: int) -> ApprovalRequest:
    """A request the principal may see: it holds the request's permission and the object is in scope."""
    req = session.get(ApprovalRequest, request_id)
    if req is None:
        raise NotInScope(f"approval request {request_id}")
    require(principal, req.permission)
    require_in_scope(principal, _org_path(session, req.org_id), f"approval request {request_id}")
    return req


def list_requests(
    session: Session,
    principal: Principal,
    *,
    kind: str | None = None,
    status: ApprovalStatus | None = ApprovalStatus.PENDING,
    page: int = 1,
    page_size: int = 50,
) -> tuple[Sequence[ApprovalRequest], int]:
    """Requests for permissions the principal holds, in its scope, oldest first."""
    from gridcare.archives.scope import scoped

    if principal.pending:
        require(principal, "*")
    stmt = select(ApprovalRequest).order_by(ApprovalRequest.requested_at, ApprovalRequest.id)
    if "*" not in principal.permissions:
        stmt = stmt.where(ApprovalRequest.permission.in_(sorted(principal.permissions)))
    if not principal.sees_everything:
        stmt = stmt.where(scoped(ApprovalRequest.org_id, principal))  # type: ignore[arg-type]
    if kind:
        stmt = stmt.where(ApprovalRequest.kind == kind)
    if status is not None:
        stmt = stmt.where(ApprovalRequest.status == status)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    page_size = max(1, min(page_size, 500))
    return session.scalars(stmt.limit(page_size).offset((max(page, 1) - 1) * page_size)).all(), total


def _decide(
    session: Session,
    checker: Principal,
    request_id: int,
    status: ApprovalStatus,
    note: str,
    now: datetime | None,
) -> ApprovalRequest:
    req = get(session, checker, request_id)
    if req.requested_by == checker.username:
        audit.record(
            session,
            checker,
            f"approval.{status.value}",
            f"approval {req.id}: {req.object}",
            audit.DENIED,
            detail={"reason": "maker may not decide"},
        )
        raise SelfApproval(req.permission)
    if req.status != ApprovalStatus.PENDING:
        raise ApprovalError(f"approval request {req.id} is {req.status.value}, not pending")
    now = to_beijing(now or now_beijing())
    req.status, req.decided_by, req.decided_at, req.decision_note = status, checker.username, now, note[:255]
    session.flush()
    audit.record(
        session,
        checker,
        f"approval.{status.value}",
        f"approval {req.id}: {req.object}",
        detail={"kind": req.kind, "maker": req.requested_by},
        now=now,
    )
    return req


def approve(
    session: Session, checker: Principal, request_id: int, note: str = "", now: datetime | None = None
) -> ApprovalRequest:
    """Approve a pending request (the checker is not the maker and holds the permission)."""
    return _decide(session, checker, request_id, ApprovalStatus.APPROVED, note, now)


def reject(
    session: Session, checker: Principal, request_id: int, note: str = "", now: datetime | None = None
) -> ApprovalRequest:
    """Reject a pending request."""
    return _decide(session, checker, request_id, ApprovalStatus.REJECTED, note, now)


def cancel(session: Session, maker: Principal, request_id: int) -> ApprovalRequest:
    """The maker withdraws a pending request."""
    req = get(session, maker, request_id)
    if req.requested_by != maker.username:
        raise PermissionDenied(req.permission, "only the maker may cancel a request")
    if req.status != ApprovalStatus.PENDING:
        raise ApprovalError(f"approval request {req.id} is {req.status.value}, not pending")
    req.status = ApprovalStatus.CANCELLED
    audit.record(session, maker, "approval.cancelled", f"approval {req.id}: {req.object}")
    return req


def mark_executed(
    session: Session, principal: Principal, request_id: int, detail: Mapping[str, Any] | None = None
) -> ApprovalRequest:
    """Record that an approved request was carried out (by the calling service)."""
    req = get(session, principal, request_id)
    if req.status != ApprovalStatus.APPROVED:
        raise ApprovalError(f"approval request {req.id} is {req.status.value}, not approved")
    req.status, req.executed_at = ApprovalStatus.EXECUTED, now_beijing()
    audit.record(
        session, principal, "approval.executed", f"approval {req.id}: {req.object}", detail=dict(detail or {})
    )
    return req


def payload_of(req: ApprovalRequest) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(req.payload or "{}")
    return value
