"""Maker-checker: a different user with the permission approves; the maker never approves their own."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from gridcare.config import Settings
from gridcare.security import approvals
from gridcare.security.authz import NotInScope, PermissionDenied
from gridcare.security.models import ApprovalStatus, AuditRecord
from gridcare.security.principal import Principal
from gridcare.security.roles import Permission
from gridcare.storage.database import Database
from tests.security.helpers import make_staff, principal_of
from tests.support.archive import STATION_A, STATION_B


@pytest.fixture
def people(settings: Settings, archive: Database) -> dict[str, Principal]:
    names = {
        "maker": (["operator"], "S010101"),
        "checker": (["manager"], "S010101"),
        "far_checker": (["manager"], "S010102"),
        "analyst": (["analyst"], "S010101"),
    }
    return {
        key: principal_of(archive, settings, make_staff(archive, settings, key, roles, org))
        for key, (roles, org) in names.items()
    }


def _trip(session, maker: Principal, org_id: int = STATION_A):  # type: ignore[no-untyped-def]
    return approvals.request(
        session,
        maker,
        "remote_control",
        Permission.REMOTE_CONTROL,
        "meter 201000000001",
        org_id=org_id,
        payload={"command": "trip"},
        reason="arrears",
    )


def test_request_approve_execute(archive: Database, people: dict[str, Principal]) -> None:
    with archive.sessions() as session:
        req = _trip(session, people["maker"])
        assert req.status == ApprovalStatus.PENDING
        pending, total = approvals.list_requests(session, people["checker"])
        assert [r.id for r in pending] == [req.id] and total == 1
        assert approvals.list_requests(session, people["far_checker"])[1] == 0
        approvals.approve(session, people["checker"], req.id, "checked the arrears")
        assert (req.status, req.decided_by) == (ApprovalStatus.APPROVED, "checker")
        assert approvals.payload_of(req) == {"command": "trip"}
        with pytest.raises(approvals.ApprovalError, match="not pending"):
            approvals.reject(session, people["checker"], req.id)
        approvals.mark_executed(session, people["checker"], req.id)
        assert req.status == ApprovalStatus.EXECUTED
        session.commit()
        actions = session.scalars(select(AuditRecord.action).order_by(AuditRecord.seq)).all()
    assert [a for a in actions if a.startswith("approval.")] == [
        "approval.request.remote_control",
        "approval.approved",
        "approval.executed",
    ]


def test_maker_cannot_approve_or_reject_own_request(archive: Database, people: dict[str, Principal]) -> None:
    with archive.sessions() as session:
        req = _trip(session, people["maker"])
        with pytest.raises(approvals.SelfApproval):
            approvals.approve(session, people["maker"], req.id)
        with pytest.raises(approvals.SelfApproval):
            approvals.reject(session, people["maker"], req.id)
        assert req.status == ApprovalStatus.PENDING
        approvals.cancel(session, people["maker"], req.id)
        assert req.status == ApprovalStatus.CANCELLED


def test_database_refuses_maker_as_checker(archive: Database, people: dict[str, Principal]) -> None:
    with archive.sessions() as session:
        req = _trip(session, people["maker"])
        session.commit()
        with pytest.raises(IntegrityError):
            session.execute(
                text("UPDATE approval_requests SET status='approved', decided_by=requested_by WHERE id=:i"),
                {"i": req.id},
            )


def test_checker_needs_the_permission_and_the_scope(archive: Database, people: dict[str, Principal]) -> None:
    with archive.sessions() as session:
        req = _trip(session, people["maker"])
        with pytest.raises(PermissionDenied):
            approvals.approve(session, people["analyst"], req.id)
        with pytest.raises(NotInScope):
            approvals.approve(session, people["far_checker"], req.id)
        with pytest.raises(PermissionDenied):
            _trip(session, people["analyst"])
        with pytest.raises(NotInScope):  # a maker cannot file for another station's meter
            _trip(session, people["maker"], org_id=STATION_B)
        approvals.reject(session, people["checker"], req.id, "customer paid")
        assert (req.status, req.decision_note) == (ApprovalStatus.REJECTED, "customer paid")
        with pytest.raises(approvals.ApprovalError):
            approvals.mark_executed(session, people["checker"], req.id)
