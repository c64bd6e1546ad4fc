"""Risk warnings (风险预警): rules with configurable thresholds that raise alerts for a person to
acknowledge.

Rules:

- ``login_failures``: failed logins for one username, or from one address, within the window;
- ``night_new_address``: a successful login at night (22:00-06:00 Beijing) from an address the account
  never logged in from before;
- ``personal_data_bulk``: full views/exports of personal data by one user within the window;
- ``remote_control_burst``: remote-control commands (audit actions ``remote.*``) by one user in the window;
- ``malformed_frames``: malformed frames from one terminal within the window
  (:func:`record_malformed_frames`, called by the acquisition front-end).

The audited rules run from :func:`on_audit`, which :func:`gridcare.security.audit.record` calls for
every record, so a room only has to audit its actions to be watched. Thresholds come from the settings
(``alert_*``) through :func:`configure`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from gridcare.config import Settings
from gridcare.security.models import Alert, AlertSeverity, AuditRecord, RiskCounter
from gridcare.security.principal import Principal
from gridcare.timeutil import now_beijing, to_beijing

NIGHT_START, NIGHT_END = time(22, 0), time(6, 0)

LOGIN_FAILURES = "login_failures"
NIGHT_NEW_ADDRESS = "night_new_address"
PERSONAL_DATA_BULK = "personal_data_bulk"
REMOTE_CONTROL_BURST = "remote_control_burst"
MALFORMED_FRAMES = "malformed_frames"
RULES = (LOGIN_FAILURES, NIGHT_NEW_ADDRESS, PERSONAL_DATA_BULK, REMOTE_CONTROL_BURST, MALFORMED_FRAMES)

PERSONAL_DATA_ACTIONS = ("personal.view", "personal.export")
REMOTE_PREFIX = "remote."


@dataclass(frozen=True)
class Thresholds:
    window_minutes: int = 15
    login_failures: int = 5
    personal_data_views: int = 20
    remote_commands: int = 20
    malformed_frames: int = 100

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        return cls(
            window_minutes=settings.alert_window_minutes,
            login_failures=settings.alert_login_failures,
            personal_data_views=settings.alert_personal_data_views,
            remote_commands=settings.alert_remote_commands,
            malformed_frames=settings.alert_malformed_frames,
        )

    @property
    def window(self) -> timedelta:
        return timedelta(minutes=self.window_minutes)


_thresholds = Thresholds()


def configure(settings: Settings) -> Thresholds:
    """Use the settings' thresholds in this process (the app and the CLI call it at start)."""
    global _thresholds
    _thresholds = Thresholds.from_settings(settings)
    return _thresholds


def thresholds() -> Thresholds:
    return _thresholds


def is_night(at: datetime) -> bool:
    """22:00-06:00 Beijing time."""
    t = to_beijing(at).time()
    return t >= NIGHT_START or t < NIGHT_END


def raise_alert(
    session: Session,
    rule: str,
    subject: str,
    message: str,
    *,
    severity: AlertSeverity = AlertSeverity.MEDIUM,
    org_id: int | None = None,
    detail: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> Alert:
    """Store an alert; while an alert of the same rule and subject is open (not acknowledged), repeats
    bump its count and time instead of adding rows. The caller commits."""
    now = to_beijing(now or now_beijing())
    open_alert = session.scalar(
        select(Alert)
        .where(Alert.rule == rule, Alert.subject == subject[:100], Alert.acknowledged_at.is_(None))
        .order_by(Alert.id.desc())
        .limit(1)
    )
    if open_alert is not None:
        open_alert.count += 1
        open_alert.last_seen_at = now
        open_alert.message = message[:255]
        session.flush()
        return open_alert
    alert = Alert(
        rule=rule,
        severity=severity,
        subject=subject[:100],
        message=message[:255],
        detail=json.dumps(dict(detail or {}), ensure_ascii=False, sort_keys=True),
        org_id=org_id,
        count=1,
        first_seen_at=now,
        last_seen_at=now,
    )
    session.add(alert)
    session.flush()
    return alert


def _count_audit(session: Session, since: datetime, *conditions: Any) -> int:
    stmt = select(func.count()).select_from(AuditRecord).where(AuditRecord.occurred_at >= since, *conditions)
    return session.scalar(stmt) or 0


def on_audit(session: Session, rec: AuditRecord) -> Alert | None:
    """Run the rules an audit record can trigger (called by :func:`gridcare.security.audit.record`)."""
    th = _thresholds
    now = to_beijing(rec.occurred_at)
    since = now - th.window
    if rec.action == "auth.login" and rec.result == "failure":
        by_user = _count_audit(
            session,
            since,
            AuditRecord.action == "auth.login",
            AuditRecord.result == "failure",
            AuditRecord.actor == rec.actor,
        )
        if by_user >= th.login_failures:
            return raise_alert(
                session,
                LOGIN_FAILURES,
                f"user:{rec.actor}",
                f"{by_user} failed logins for {rec.actor} within {th.window_minutes} min",
                severity=AlertSeverity.HIGH,
                org_id=rec.org_id,
                detail={"count": by_user},
                now=now,
            )
        if rec.source:
            by_source = _count_audit(
                session,
                since,
                AuditRecord.action == "auth.login",
                AuditRecord.result == "failure",
                AuditRecord.source == rec.source,
            )
            if by_source >= th.login_failures:
                return raise_alert(
                    session,
                    LOGIN_FAILURES,
                    f"addr:{rec.source}",
                    f"{by_source} failed logins from {rec.source} within {th.window_minutes} min",
                    severity=AlertSeverity.HIGH,
                    detail={"count": by_source},
                    now=now,
                )
        return None
    if rec.action == "auth.login" and rec.result == "success" and is_night(now):
        seen_before = _count_audit(
            session,
            datetime(1970, 1, 1, tzinfo=now.tzinfo),
            AuditRecord.action == "auth.login",
            AuditRecord.result == "success",
            AuditRecord.actor == rec.actor,
            AuditRecord.source == rec.source,
            AuditRecord.seq < rec.seq,
        )
        if seen_before == 0:
            return raise_alert(
                session,
                NIGHT_NEW_ADDRESS,
                f"user:{rec.actor}@{rec.source}",
                f"night login of {rec.actor} from a new address {rec.source}",
                org_id=rec.org_id,
                detail={"at": now.isoformat()},
                now=now,
            )
        return None
    if rec.action in PERSONAL_DATA_ACTIONS and rec.result == "success":
        views = _count_audit(
            session,
            since,
            AuditRecord.action.in_(PERSONAL_DATA_ACTIONS),
            AuditRecord.result == "success",
            AuditRecord.actor == rec.actor,
        )
        if views >= th.personal_data_views:
            return raise_alert(
                session,
                PERSONAL_DATA_BULK,
                f"user:{rec.actor}",
                f"{views} full views of personal data by {rec.actor} within {th.window_minutes} min",
                severity=AlertSeverity.HIGH,
                org_id=rec.org_id,
                detail={"count": views},
                now=now,
            )
        return None
    if rec.action.startswith(REMOTE_PREFIX):
        commands = _count_audit(
            session, since, AuditRecord.action.startswith(REMOTE_PREFIX), AuditRecord.actor == rec.actor
        )
        if commands >= th.remote_commands:
            return raise_alert(
                session,
                REMOTE_CONTROL_BURST,
                f"user:{rec.actor}",
                f"{commands} remote-control commands by {rec.actor} within {th.window_minutes} min",
                severity=AlertSeverity.HIGH,
                org_id=rec.org_id,
                detail={"count": commands},
                now=now,
            )
    return None


def record_malformed_frames(
    session: Session,
    terminal: str,
    count: int,
    *,
    org_id: int | None = None,
    now: datetime | None = None,
) -> Alert | None:
    """Count ``count`` malformed frames from ``terminal`` (its address, "3301-00001"); raise an alert
    when the window's total reaches the threshold. The caller commits."""
    if count <= 0:
        return None
    th = _thresholds
    now = to_beijing(now or now_beijing())
    window_seconds = th.window_minutes * 60
    epoch = int(now.timestamp())
    window_start = datetime.fromtimestamp(epoch - epoch % window_seconds, tz=now.tzinfo)
    key = f"frames:{terminal}"[:150]
    row = session.get(RiskCounter, (key, window_start))
    if row is None:
        row = RiskCounter(key=key, window_start=window_start, count=0)
        session.add(row)
        session.flush()
    session.execute(
        update(RiskCounter)
        .where(RiskCounter.key == key, RiskCounter.window_start == window_start)
        .values(count=RiskCounter.count + count)
    )
    session.refresh(row)
    if row.count >= th.malformed_frames:
        return raise_alert(
            session,
            MALFORMED_FRAMES,
            f"terminal:{terminal}",
            f"{row.count} malformed frames from terminal {terminal} within {th.window_minutes} min",
            org_id=org_id,
            detail={"count": row.count},
            now=now,
        )
    return None


def list_alerts(
    session: Session,
    principal: Principal,
    *,
    open_only: bool = False,
    rule: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> tuple[Sequence[Alert], int]:
    """Alerts in the principal's scope, newest first (needs handle_alerts)."""
    from gridcare.archives.scope import scoped
    from gridcare.security.authz import require
    from gridcare.security.roles import Permission

    require(principal, Permission.HANDLE_ALERTS)
    stmt = select(Alert).order_by(Alert.last_seen_at.desc(), Alert.id.desc())
    if not principal.sees_everything:
        stmt = stmt.where(scoped(Alert.org_id, principal))  # type: ignore[arg-type]
    if open_only:
        stmt = stmt.where(Alert.acknowledged_at.is_(None))
    if rule:
        stmt = stmt.where(Alert.rule == rule)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    page_size = max(1, min(page_size, 500))
    items = session.scalars(stmt.limit(page_size).offset((max(page, 1) - 1) * page_size)).all()
    return items, total


def open_alert_counts(session: Session, principal: Principal) -> dict[str, int]:
    """Open alerts in the principal's scope by rule (needs read_data): managers see that alerts are
    waiting without seeing their details, which stay with the alert handlers."""
    from gridcare.archives.scope import scoped
    from gridcare.security.authz import require
    from gridcare.security.roles import Permission

    require(principal, Permission.READ_DATA)
    stmt = select(Alert.rule, func.count()).where(Alert.acknowledged_at.is_(None)).group_by(Alert.rule)
    if not principal.sees_everything:
        stmt = stmt.where(scoped(Alert.org_id, principal))  # type: ignore[arg-type]
    return {rule: count for rule, count in session.execute(stmt).all()}


class AlreadyAcknowledged(ValueError):
    """The alert was acknowledged before."""


def get_alert(session: Session, principal: Principal, alert_id: int) -> Alert:
    """One alert in scope (needs handle_alerts); NotInScope when missing or out of scope."""
    from gridcare.archives.models import Organisation
    from gridcare.security.authz import NotInScope, require, require_in_scope
    from gridcare.security.roles import Permission

    require(principal, Permission.HANDLE_ALERTS)
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotInScope(f"alert {alert_id}")
    path = session.scalar(select(Organisation.path).where(Organisation.id == alert.org_id))
    require_in_scope(principal, path, f"alert {alert_id}")
    return alert


def acknowledge(
    session: Session, principal: Principal, alert_id: int, note: str = "", now: datetime | None = None
) -> Alert:
    """A person acknowledges an alert (audited). The caller commits."""
    from gridcare.security import audit

    alert = get_alert(session, principal, alert_id)
    if alert.acknowledged_at is not None:
        raise AlreadyAcknowledged(f"alert {alert_id} was acknowledged by {alert.acknowledged_by}")
    now = to_beijing(now or now_beijing())
    alert.acknowledged_at, alert.acknowledged_by, alert.ack_note = now, principal.username, note[:255]
    audit.record(session, principal, "alert.ack", f"alert {alert_id}", detail={"rule": alert.rule}, now=now)
    return alert
