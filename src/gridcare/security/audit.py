"""Tamper-evident audit trail: append-only records in a SHA-256 hash chain.

Every record carries the previous record's hash; its own hash covers the canonical JSON of all its fields
(:func:`canonical_json`). ``audit_state`` holds the head (last sequence number and hash) and the anchor
(the last pruned record), so :func:`verify` finds a changed record (its hash), an inserted one (a broken
link or a record past the head) and a deleted one (a gap, or a head that is no longer there).

Other rooms call :func:`record` inside their own transaction, so the record commits or rolls back with
the change it describes. Never put personal data (ID numbers, phones, addresses) in ``object`` or
``detail``: name the object by its number (户号, meter address) instead.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.orm import Session

from gridcare.config import MIN_AUDIT_RETENTION_DAYS
from gridcare.security import risk
from gridcare.security.models import AuditRecord, AuditState
from gridcare.security.principal import Principal
from gridcare.timeutil import now_beijing, to_beijing

GENESIS_HASH = "0" * 64
SUCCESS, FAILURE, DENIED = "success", "failure", "denied"
RESULTS = (SUCCESS, FAILURE, DENIED)

Actor = Principal | str | None
"""Who acted: a principal, a bare name (e.g. the username a failed login tried), or None (anonymous)."""


def canonical_json(fields: Mapping[str, Any]) -> str:
    """Sorted keys, no whitespace, UTF-8 text: the exact bytes the hash is taken over."""
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _fields(
    seq: int,
    occurred_at: datetime,
    actor: str,
    actor_id: int | None,
    org_id: int | None,
    action: str,
    obj: str,
    result: str,
    source: str,
    detail: str,
    prev_hash: str,
) -> dict[str, Any]:
    return {
        "seq": seq,
        "occurred_at": to_beijing(occurred_at).isoformat(timespec="microseconds"),
        "actor": actor,
        "actor_id": actor_id,
        "org_id": org_id,
        "action": action,
        "object": obj,
        "result": result,
        "source": source,
        "detail": detail,
        "prev_hash": prev_hash,
    }


def record_hash(rec: Any) -> str:
    """SHA-256 (hex) of the record's canonical JSON (every column but ``hash``); ``rec`` is an
    :class:`AuditRecord` or a row of its table."""
    fields = _fields(
        rec.seq,
        rec.occurred_at,
        rec.actor,
        rec.actor_id,
        rec.org_id,
        rec.action,
        rec.object,
        rec.result,
        rec.source,
        rec.detail,
        rec.prev_hash,
    )
    return hashlib.sha256(canonical_json(fields).encode("utf-8")).hexdigest()


def _ensure_state(session: Session) -> None:
    if session.scalar(select(func.count()).select_from(AuditState)) == 0:
        session.add(
            AuditState(
                id=1,
                head_seq=0,
                head_hash=GENESIS_HASH,
                anchor_seq=0,
                anchor_hash=GENESIS_HASH,
                pruned_total=0,
            )
        )
        session.flush()


def record(
    session: Session,
    principal: Actor,
    action: str,
    object: str = "",
    result: str = SUCCESS,
    source: str | None = None,
    detail: Mapping[str, Any] | None = None,
    *,
    now: datetime | None = None,
) -> AuditRecord:
    """Append one audit record in ``session``'s transaction (the caller commits).

    ``action`` is a dotted verb ("auth.login", "billing.release", "remote.trip"); ``object`` names what
    it acted on ("meter 201000000012"); ``result`` is success / failure / denied; ``source`` is the client
    address (default: the principal's); ``detail`` is a small JSON-able mapping without personal data.
    """
    if result not in RESULTS:
        raise ValueError(f"result: must be one of {', '.join(RESULTS)}, got {result!r}")
    if isinstance(principal, Principal):
        actor, actor_id, org_id = principal.username, principal.user_id, principal.org_id
        source = source if source is not None else principal.source_address
    else:
        actor, actor_id, org_id = (principal or "anonymous"), None, None
    occurred_at = to_beijing(now or now_beijing())
    detail_text = canonical_json(dict(detail or {}))
    _ensure_state(session)
    # Bump the head first: this takes the write lock (SQLite) / row lock (PostgreSQL) before reading it,
    # so concurrent appends queue up instead of forking the chain.
    session.execute(update(AuditState).where(AuditState.id == 1).values(head_seq=AuditState.head_seq + 1))
    seq, prev_hash = session.execute(
        select(AuditState.head_seq, AuditState.head_hash).where(AuditState.id == 1)
    ).one()
    rec = AuditRecord(
        seq=seq,
        occurred_at=occurred_at,
        actor=actor[:64],
        actor_id=actor_id,
        org_id=org_id,
        action=action[:64],
        object=object[:200],
        result=result,
        source=(source or "")[:64],
        detail=detail_text,
        prev_hash=prev_hash,
    )
    rec.hash = record_hash(rec)
    session.add(rec)
    session.flush()
    session.execute(update(AuditState).where(AuditState.id == 1).values(head_hash=rec.hash))
    risk.on_audit(session, rec)
    return rec


@dataclass(frozen=True)
class VerifyReport:
    """Outcome of :func:`verify`. ``first_bad_seq`` and ``reason`` are None when the chain is intact."""

    ok: bool
    checked: int
    anchor_seq: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    reason: str | None = None


def verify(session: Session, batch: int = 2000) -> VerifyReport:
    """Walk the chain from the anchor to the head; report the first bad sequence number and why."""
    state = session.execute(select(AuditState.__table__).where(AuditState.id == 1)).first()
    if state is None:
        return VerifyReport(False, 0, 0, 0, GENESIS_HASH, 1, "audit_state row is missing")
    anchor_seq, head_seq, head_hash = state.anchor_seq, state.head_seq, state.head_hash
    expected, prev = anchor_seq + 1, state.anchor_hash
    checked = 0

    def bad(seq: int, reason: str) -> VerifyReport:
        return VerifyReport(False, checked, anchor_seq, head_seq, head_hash, seq, reason)

    first = session.scalar(select(func.min(AuditRecord.seq)))
    if first is not None and first <= anchor_seq:
        return bad(first, f"record {first} lies at or before the anchor {anchor_seq} (inserted)")
    last_seen = anchor_seq
    table = AuditRecord.__table__
    while True:
        rows = session.execute(
            select(table).where(table.c.seq > last_seen).order_by(table.c.seq).limit(batch)
        ).all()
        if not rows:
            break
        for rec in rows:
            if rec.seq > head_seq:
                return bad(rec.seq, f"record {rec.seq} lies past the recorded head {head_seq} (inserted)")
            if rec.seq != expected:
                return bad(expected, f"record {expected} is missing (deleted)")
            if record_hash(rec) != rec.hash:
                return bad(rec.seq, "hash does not match the record's content (changed)")
            if rec.prev_hash != prev:
                return bad(
                    rec.seq, "prev_hash does not match the previous record (inserted, changed or reordered)"
                )
            prev, expected, checked = rec.hash, expected + 1, checked + 1
        last_seen = rows[-1].seq
    if expected - 1 != head_seq:
        return bad(expected, f"records {expected}..{head_seq} are missing (deleted at the end)")
    if prev != head_hash:
        return bad(head_seq, "the last record's hash differs from the recorded head (changed)")
    return VerifyReport(True, checked, anchor_seq, head_seq, head_hash)


def _anchor_hash(session: Session) -> str:
    return session.scalar(select(AuditState.anchor_hash).where(AuditState.id == 1)) or GENESIS_HASH


class AuditChainBroken(RuntimeError):
    """The chain does not verify; pruning would destroy the evidence."""


@dataclass(frozen=True)
class PruneReport:
    removed: int
    anchor_seq: int
    anchor_hash: str
    cutoff: datetime


def prune(
    session: Session, retention_days: int, *, actor: Actor = None, now: datetime | None = None
) -> PruneReport:
    """Remove the records older than ``retention_days`` (at least 180) from the start of the chain.

    The chain is verified first (a broken chain is not pruned); the last removed record becomes the
    anchor, so the remaining records still verify; the prune itself is audited. The caller commits.
    """
    if retention_days < MIN_AUDIT_RETENTION_DAYS:
        raise ValueError(
            f"audit_retention_days: must be at least {MIN_AUDIT_RETENTION_DAYS} days, got {retention_days}"
        )
    report = verify(session)
    if not report.ok:
        raise AuditChainBroken(f"audit chain broken at record {report.first_bad_seq}: {report.reason}")
    cutoff = to_beijing(now or now_beijing()) - timedelta(days=retention_days)
    # The chain is pruned as a prefix: up to the first record that is not old enough.
    keep_from = session.scalar(select(func.min(AuditRecord.seq)).where(AuditRecord.occurred_at >= cutoff))
    upto_stmt = select(func.max(AuditRecord.seq))
    if keep_from is not None:
        upto_stmt = upto_stmt.where(AuditRecord.seq < keep_from)
    upto = session.scalar(upto_stmt)
    if upto is None:
        return PruneReport(0, report.anchor_seq, _anchor_hash(session), cutoff)
    anchor_hash = session.scalar(select(AuditRecord.hash).where(AuditRecord.seq == upto))
    assert anchor_hash is not None
    result = cast(CursorResult[Any], session.execute(delete(AuditRecord).where(AuditRecord.seq <= upto)))
    removed = int(result.rowcount or 0)
    session.execute(
        update(AuditState)
        .where(AuditState.id == 1)
        .values(anchor_seq=upto, anchor_hash=anchor_hash, pruned_total=AuditState.pruned_total + removed)
    )
    record(
        session,
        actor,
        "audit.prune",
        f"audit records ..{upto}",
        detail={"removed": removed, "anchor_seq": upto, "anchor_hash": anchor_hash, "days": retention_days},
        now=now,
    )
    return PruneReport(removed, upto, anchor_hash, cutoff)


def list_records(
    session: Session,
    principal: Principal,
    *,
    action: str | None = None,
    actor: str | None = None,
    result: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: int = 1,
    page_size: int = 50,
) -> tuple[Sequence[AuditRecord], int]:
    """Records in the principal's organisation scope, newest first (needs view_audit)."""
    from gridcare.archives.scope import scoped
    from gridcare.security.authz import require
    from gridcare.security.roles import Permission

    require(principal, Permission.VIEW_AUDIT)
    stmt = select(AuditRecord).order_by(AuditRecord.seq.desc())
    if not principal.sees_everything:
        stmt = stmt.where(scoped(AuditRecord.org_id, principal))  # type: ignore[arg-type]
    if action:
        stmt = stmt.where(AuditRecord.action.startswith(action))
    if actor:
        stmt = stmt.where(AuditRecord.actor == actor)
    if result:
        stmt = stmt.where(AuditRecord.result == result)
    if since is not None:
        stmt = stmt.where(AuditRecord.occurred_at >= to_beijing(since))
    if until is not None:
        stmt = stmt.where(AuditRecord.occurred_at < to_beijing(until))
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    page_size = max(1, min(page_size, 500))
    items = session.scalars(stmt.limit(page_size).offset((max(page, 1) - 1) * page_size)).all()
    return items, total
