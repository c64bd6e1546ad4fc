"""Security tables: accounts and roles, server-side sessions, the hash-chained audit trail, risk
warnings and maker-checker approval requests.

Timestamps are written as aware Beijing-time datetimes; read them through :func:`as_beijing` (SQLite
gives them back naive, in the same wall-clock time).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from gridcare.security.crypto import EncryptedText
from gridcare.security.roles import ADMIN_ROLES, Role
from gridcare.storage.base import Base
from gridcare.timeutil import to_beijing


def _enum(cls: type[StrEnum], name: str) -> Enum:
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


def as_beijing(value: datetime) -> datetime:
    """A timestamp read from the database as an aware Beijing-time datetime."""
    return to_beijing(value)


class AccountKind(StrEnum):
    STAFF = "staff"  # 内部员工
    CUSTOMER = "customer"  # 客户自助


class SessionChannel(StrEnum):
    CONSOLE = "console"  # cookie
    API = "api"  # Authorization: Bearer


class AlertSeverity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    EXECUTED = "executed"


_ADMIN_ROLE_LIST = ", ".join(f"'{r.value}'" for r in sorted(ADMIN_ROLES))


class User(Base):
    """An account: internal staff (organisation, roles) or customer self-service (one customer)."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'staff' AND org_id IS NOT NULL AND customer_id IS NULL) OR "
            "(kind = 'customer' AND customer_id IS NOT NULL)",
            name="kind_links",
        ),
        CheckConstraint("failed_attempts >= 0", name="failed_attempts_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    kind: Mapped[AccountKind] = mapped_column(_enum(AccountKind, "account_kind"))
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    password_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    totp_secret: Mapped[str | None] = mapped_column(EncryptedText())
    totp_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(64))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class UserRole(Base):
    """A role held by an account. The partial unique index lets an account hold at most one of the
    three administrator roles (三员分立), whatever writes the table."""

    __tablename__ = "user_roles"
    __table_args__ = (
        Index(
            "uq_user_roles_one_admin_role",
            "user_id",
            unique=True,
            sqlite_where=text(f"role IN ({_ADMIN_ROLE_LIST})"),
            postgresql_where=text(f"role IN ({_ADMIN_ROLE_LIST})"),
        ),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[Role] = mapped_column(_enum(Role, "role"), primary_key=True)


class AuthSession(Base):
    """A login session. Only the SHA-256 of the random token is stored; revoked or expired rows stay
    for the record until pruned."""

    __tablename__ = "auth_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    channel: Mapped[SessionChannel] = mapped_column(_enum(SessionChannel, "session_channel"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_reason: Mapped[str | None] = mapped_column(String(32))
    source_address: Mapped[str] = mapped_column(String(64), default="")


class AuditRecord(Base):
    """One audit record. ``hash`` = SHA-256 over the canonical JSON of every other column, including
    ``prev_hash`` (the previous record's hash), so a changed, inserted or deleted record breaks the chain.
    Append-only: only :mod:`gridcare.security.audit` writes it, and pruning keeps an anchor."""

    __tablename__ = "audit_records"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    org_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(64), index=True)
    object: Mapped[str] = mapped_column(String(200), default="")
    result: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditState(Base):
    """The chain's head and anchor (one row, id 1). Appending updates the head in the same transaction
    (which also serialises appends); pruning moves the anchor to the last removed record."""

    __tablename__ = "audit_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    head_seq: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[str] = mapped_column(String(64))
    anchor_seq: Mapped[int] = mapped_column(BigInteger)
    anchor_hash: Mapped[str] = mapped_column(String(64))
    pruned_total: Mapped[int] = mapped_column(BigInteger, default=0)


class Alert(Base):
    """A risk warning (风险预警). Repeats of an open alert (same rule and subject) bump ``count``."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_rule_subject", "rule", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(String(32))
    severity: Mapped[AlertSeverity] = mapped_column(_enum(AlertSeverity, "alert_severity"))
    subject: Mapped[str] = mapped_column(String(100))
    message: Mapped[str] = mapped_column(String(255))
    detail: Mapped[str] = mapped_column(Text, default="{}")
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    count: Mapped[int] = mapped_column(Integer, default=1)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    ack_note: Mapped[str | None] = mapped_column(String(255))


class RiskCounter(Base):
    """Event counts per key and fixed window, for rules whose events are not audited one by one
    (malformed frames per terminal)."""

    __tablename__ = "risk_counters"

    key: Mapped[str] = mapped_column(String(150), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class ApprovalRequest(Base):
    """A maker-checker request: remote trip/close, tariff change, ... The maker requests, a different
    user holding ``permission`` approves or rejects (also enforced by a check constraint); the caller
    executes an approved request and marks it executed."""

    __tablename__ = "approval_requests"
    __table_args__ = (
        CheckConstraint("decided_by IS NULL OR decided_by <> requested_by", name="maker_is_not_checker"),
        CheckConstraint(
            "status = 'pending' OR status = 'cancelled' OR decided_by IS NOT NULL", name="decided"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    permission: Mapped[str] = mapped_column(String(32))
    object: Mapped[str] = mapped_column(String(100))
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    payload: Mapped[str] = mapped_column(Text, default="{}")
    reason: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[ApprovalStatus] = mapped_column(_enum(ApprovalStatus, "approval_status"), index=True)
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_note: Mapped[str | None] = mapped_column(String(255))
    executed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
