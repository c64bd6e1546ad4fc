"""Tables of the master station: terminal status, collection outcomes (daily frozen reading per point;
extra registers per point and data item), device jobs, events, clock checks.

Device jobs are rows: the API and CLI insert them, the front-end (possibly another process) picks up
pending ones, and every state change is written back, so a restart resumes where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gridcare.archives.models import _enum
from gridcare.mdm.schema import DI_FWD_ACTIVE
from gridcare.storage.base import Base

TZ_DATETIME = DateTime(timezone=True)


class PointStatus(StrEnum):
    OK = "ok"
    FAILED = "failed"


class FailureReason(StrEnum):
    TERMINAL_OFFLINE = "terminal_offline"  # 终端离线
    NO_REPLY = "no_reply"  # 终端无应答
    ABNORMAL_REPLY = "abnormal_reply"  # 否认 / 异常应答
    INVALID_DATA = "invalid_data"  # 数据无效 (missing EE bytes, undecodable)


DAILY_READING_DI: Final = DI_FWD_ACTIVE
"""The lake data item whose outcome is the point's daily collection outcome (forward active total, F161)."""


@dataclass(frozen=True)
class PointOutcome:
    """Outcome of a collection attempt for one metering point and freeze day: of its daily frozen
    reading (``di`` = :data:`DAILY_READING_DI`, what the success rate counts), or of one extra register
    (``di`` = its lake data item, e.g. reactive or maximum demand); ``detail`` explains a failure."""

    metering_point_id: int | None
    ok: bool
    reason: FailureReason | None = None
    di: str = DAILY_READING_DI
    detail: str = ""
    feeder_meter_id: int | None = None
    """Set (and ``metering_point_id`` None) for a feeder head meter (``feeder_meter_collections``)."""

    @property
    def daily(self) -> bool:
        """True for the daily frozen reading (``point_collections``), False for an extra register."""
        return self.di == DAILY_READING_DI


class JobKind(StrEnum):
    REMOTE_TRIP = "remote_trip"  # 远程跳闸
    REMOTE_CLOSE = "remote_close"  # 允许合闸
    CLOCK_SYNC = "clock_sync"  # 对时
    CLOCK_READ = "clock_read"  # 读时钟
    ON_DEMAND_READ = "on_demand_read"  # 召测


class JobState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    CONFIRMED = "confirmed"
    FAILED = "failed"
    TIMED_OUT = "timed_out"


class TerminalStatus(Base):
    """Live state of a terminal's connection, as the front-end last saw it."""

    __tablename__ = "terminal_status"

    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"), primary_key=True)
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    remote_address: Mapped[str] = mapped_column(String(64), default="")
    connected_since: Mapped[datetime | None] = mapped_column(TZ_DATETIME)
    last_heartbeat: Mapped[datetime | None] = mapped_column(TZ_DATETIME)
    last_seen: Mapped[datetime | None] = mapped_column(TZ_DATETIME)
    malformed_frames: Mapped[int] = mapped_column(Integer, default=0)


class PointCollection(Base):
    """Outcome of the daily frozen reading of one metering point for one freeze day."""

    __tablename__ = "point_collections"

    metering_point_id: Mapped[int] = mapped_column(ForeignKey("metering_points.id"), primary_key=True)
    business_date: Mapped[date] = mapped_column(Date, primary_key=True, index=True)
    status: Mapped[PointStatus] = mapped_column(_enum(PointStatus, "point_status"))
    reason: Mapped[FailureReason | None] = mapped_column(_enum(FailureReason, "failure_reason"))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(TZ_DATETIME)


class RegisterCollection(Base):
    """Outcome of one extra daily frozen register (data item ``di``, e.g. ``05060301`` reactive or
    ``05060901`` maximum demand of a two-part tariff customer) of one metering point for one freeze day.

    Kept apart from :class:`PointCollection`, whose rows alone define the daily collection success rate
    (the forward active daily frozen reading); ``detail`` says more about a failure (e.g. the meter's
    freeze time that did not match the day).
    """

    __tablename__ = "register_collections"

    metering_point_id: Mapped[int] = mapped_column(ForeignKey("metering_points.id"), primary_key=True)
    business_date: Mapped[date] = mapped_column(Date, primary_key=True, index=True)
    di: Mapped[str] = mapped_column(String(16), primary_key=True)
    status: Mapped[PointStatus] = mapped_column(_enum(PointStatus, "point_status"))
    reason: Mapped[FailureReason | None] = mapped_column(_enum(FailureReason, "failure_reason"))
    detail: Mapped[str | None] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(TZ_DATETIME)


class FeederMeterCollection(Base):
    """Outcome of the daily frozen reading of one feeder head meter (线路关口表, a ``feeder_meters`` row read
    through a terminal: a 关口计量点 with no 台区 and no customer) for one freeze day; counted with
    :class:`PointCollection` in the collection success rate."""

    __tablename__ = "feeder_meter_collections"

    feeder_meter_id: Mapped[int] = mapped_column(ForeignKey("feeder_meters.id"), primary_key=True)
    business_date: Mapped[date] = mapped_column(Date, primary_key=True, index=True)
    status: Mapped[PointStatus] = mapped_column(_enum(PointStatus, "point_status"))
    reason: Mapped[FailureReason | None] = mapped_column(_enum(FailureReason, "failure_reason"))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(TZ_DATETIME)


class DeviceJob(Base):
    """An asynchronous device request with an id: pending -> sent -> confirmed / failed / timed_out."""

    __tablename__ = "device_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[JobKind] = mapped_column(_enum(JobKind, "job_kind"))
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"), index=True)
    meter_address: Mapped[str | None] = mapped_column(String(12))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    priority: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[JobState] = mapped_column(
        _enum(JobState, "job_state"), index=True, default=JobState.PENDING
    )
    requested_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(TZ_DATETIME)
    sent_at: Mapped[datetime | None] = mapped_column(TZ_DATETIME)
    finished_at: Mapped[datetime | None] = mapped_column(TZ_DATETIME)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(String(255))


class TerminalEvent(Base):
    """A terminal event record (AFN0E ERC), stored once however often it is read."""

    __tablename__ = "terminal_events"
    __table_args__ = (
        UniqueConstraint("terminal_id", "erc", "occurred_at", name="uq_terminal_events_record"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"), index=True)
    erc: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(TZ_DATETIME, index=True)
    received_at: Mapped[datetime] = mapped_column(TZ_DATETIME)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ClockCheck(Base):
    """A clock reading of a terminal (meter_address None) or meter, and what was done about it."""

    __tablename__ = "clock_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"), index=True)
    meter_address: Mapped[str | None] = mapped_column(String(12))
    checked_at: Mapped[datetime] = mapped_column(TZ_DATETIME)
    device_time: Mapped[datetime | None] = mapped_column(TZ_DATETIME)
    error_s: Mapped[int | None] = mapped_column(Integer, doc="device minus master clock [s]")
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    action: Mapped[str] = mapped_column(String(32), default="none")
