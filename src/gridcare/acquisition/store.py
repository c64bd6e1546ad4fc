"""Database side of the master station (synchronous; the front-end calls it through a thread)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from gridcare.acquisition.models import (
    DeviceJob,
    FeederMeterCollection,
    JobState,
    PointCollection,
    PointStatus,
    RegisterCollection,
    TerminalStatus,
)
from gridcare.archives.asset_models import FeederMeter
from gridcare.archives.models import MeteringPoint
from gridcare.storage.database import Database
from gridcare.timeutil import now_beijing


def _upsert(
    engine: Engine, table: Any, rows: list[dict[str, Any]], keys: Sequence[str], update_cols: Sequence[str]
) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE, on SQLite and PostgreSQL alike."""
    if not rows:
        return
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys), set_={c: stmt.excluded[c] for c in update_cols}
    )
    with engine.begin() as conn:
        for i in range(0, len(rows), 5000):
            conn.execute(stmt, rows[i : i + 5000])


@dataclass(frozen=True)
class OutcomeRow:
    metering_point_id: int
    ok: bool
    reason: str | None


def record_outcomes(db: Database, freeze_day: date, outcomes: Iterable[Any]) -> None:
    """Store each point's outcome for ``freeze_day``; a later success replaces an earlier failure,
    and a failure never replaces a success (a re-read that times out does not undo a reading).

    Outcomes of the daily frozen reading go to ``point_collections`` (the success rate), those of feeder head
    meters (``feeder_meter_id`` set) to ``feeder_meter_collections``; those of extra registers (an outcome
    whose ``di`` is another data item) to ``register_collections``, per item."""
    daily: list[Any] = []
    heads: list[Any] = []
    extra: list[Any] = []
    for o in outcomes:
        if getattr(o, "feeder_meter_id", None) is not None:
            if getattr(o, "daily", True):
                heads.append(o)
        elif o.metering_point_id is not None:
            (daily if getattr(o, "daily", True) else extra).append(o)
    _record_daily(db, freeze_day, daily, PointCollection, "metering_point_id")
    _record_daily(db, freeze_day, heads, FeederMeterCollection, "feeder_meter_id")
    _record_registers(db, freeze_day, extra)


def _record_daily(db: Database, freeze_day: date, outcomes: list[Any], model: Any, key: str) -> None:
    """Daily frozen reading outcomes into ``model`` (keyed by ``key`` and the business date)."""
    if not outcomes:
        return
    now = now_beijing()
    column = getattr(model, key)
    with db.sessions() as session:
        done = set(
            session.scalars(
                select(column).where(model.business_date == freeze_day, model.status == PointStatus.OK)
            )
        )
        attempts: dict[int, int] = dict(
            session.execute(select(column, model.attempts).where(model.business_date == freeze_day)).all()
        )
    rows = [
        {
            key: getattr(o, key),
            "business_date": freeze_day,
            "status": (PointStatus.OK if o.ok else PointStatus.FAILED).value,
            "reason": None if o.ok else o.reason.value,
            "attempts": attempts.get(getattr(o, key), 0) + 1,
            "updated_at": now,
        }
        for o in outcomes
        if o.ok or getattr(o, key) not in done
    ]
    _upsert(
        db.engine,
        model.__table__,
        rows,
        (key, "business_date"),
        ("status", "reason", "attempts", "updated_at"),
    )


def _record_registers(db: Database, freeze_day: date, outcomes: list[Any]) -> None:
    """Per (point, data item), with the same rule: a failure never replaces a success."""
    if not outcomes:
        return
    now = now_beijing()
    with db.sessions() as session:
        known = {
            (mp, di): (status, attempts)
            for mp, di, status, attempts in session.execute(
                select(
                    RegisterCollection.metering_point_id,
                    RegisterCollection.di,
                    RegisterCollection.status,
                    RegisterCollection.attempts,
                ).where(RegisterCollection.business_date == freeze_day)
            )
        }
    rows = []
    for o in outcomes:
        status, attempts = known.get((o.metering_point_id, o.di), (None, 0))
        if not o.ok and status == PointStatus.OK:
            continue
        rows.append(
            {
                "metering_point_id": o.metering_point_id,
                "business_date": freeze_day,
                "di": o.di,
                "status": (PointStatus.OK if o.ok else PointStatus.FAILED).value,
                "reason": None if o.ok else o.reason.value,
                "detail": None if o.ok else (o.detail or None) and o.detail[:255],
                "attempts": attempts + 1,
                "updated_at": now,
            }
        )
    _upsert(
        db.engine,
        RegisterCollection.__table__,
        rows,
        ("metering_point_id", "business_date", "di"),
        ("status", "reason", "detail", "attempts", "updated_at"),
    )


def due_points(db: Database, freeze_day: date) -> set[int]:
    """Current metering points read through a terminal and in service on ``freeze_day``."""
    with db.sessions() as session:
        return set(
            session.scalars(
                select(MeteringPoint.id).where(
                    MeteringPoint.valid_to.is_(None),
                    MeteringPoint.terminal_id.is_not(None),
                    MeteringPoint.valid_from <= freeze_day,
                )
            )
        )


def due_feeder_meters(db: Database, freeze_day: date) -> set[int]:
    """Current feeder head meters (``feeder_meters`` ids) read through a terminal and in service on
    ``freeze_day``."""
    with db.sessions() as session:
        return set(
            session.scalars(
                select(FeederMeter.id).where(
                    FeederMeter.valid_to.is_(None),
                    FeederMeter.terminal_id.is_not(None),
                    FeederMeter.point_number.is_not(None),
                    FeederMeter.valid_from <= freeze_day,
                )
            )
        )


def feeder_meters_missing(db: Database, freeze_day: date) -> set[int]:
    """Current feeder head meters (read through a terminal) without a successful reading for the day."""
    due = due_feeder_meters(db, freeze_day)
    with db.sessions() as session:
        ok = set(
            session.scalars(
                select(FeederMeterCollection.feeder_meter_id).where(
                    FeederMeterCollection.business_date == freeze_day,
                    FeederMeterCollection.status == PointStatus.OK,
                )
            )
        )
    return due - ok


def registers_done(db: Database, freeze_day: date) -> set[tuple[int, str]]:
    """(metering point, data item) of the extra registers collected for ``freeze_day``."""
    with db.sessions() as session:
        return {
            (mp, di)
            for mp, di in session.execute(
                select(RegisterCollection.metering_point_id, RegisterCollection.di).where(
                    RegisterCollection.business_date == freeze_day,
                    RegisterCollection.status == PointStatus.OK,
                )
            )
        }


def points_missing(db: Database, freeze_day: date) -> set[int]:
    """Current metering points (read through a terminal) without a successful reading for the day."""
    due = due_points(db, freeze_day)
    with db.sessions() as session:
        ok = set(
            session.scalars(
                select(PointCollection.metering_point_id).where(
                    PointCollection.business_date == freeze_day, PointCollection.status == PointStatus.OK
                )
            )
        )
    return due - ok


@dataclass(frozen=True)
class StatusRow:
    terminal_id: int
    online: bool
    remote_address: str
    connected_since: datetime | None
    last_heartbeat: datetime | None
    last_seen: datetime | None
    malformed_frames: int


def write_status(db: Database, rows: Iterable[StatusRow], all_terminal_ids: Iterable[int]) -> None:
    """Store the session table: the given terminals as in ``rows``, every other terminal offline."""
    by_id = {r.terminal_id: r for r in rows}
    payload = []
    for tid in all_terminal_ids:
        r = by_id.get(tid)
        payload.append(
            {
                "terminal_id": tid,
                "online": r is not None and r.online,
                "remote_address": r.remote_address if r else "",
                "connected_since": r.connected_since if r else None,
                "last_heartbeat": r.last_heartbeat if r else None,
                "last_seen": r.last_seen if r else None,
                "malformed_frames": r.malformed_frames if r else 0,
            }
        )
    engine = db.engine
    cols: tuple[str, ...] = (
        "online",
        "remote_address",
        "connected_since",
        "last_heartbeat",
        "last_seen",
        "malformed_frames",
    )
    if not by_id:
        cols = ("online",)
    _upsert(engine, TerminalStatus.__table__, payload, ("terminal_id",), cols)


def take_pending_jobs(db: Database, limit: int = 100) -> list[DeviceJob]:
    """Pending device jobs, highest priority (lowest number) and oldest first, marked as sent."""
    now = now_beijing()
    with db.sessions() as session, session.begin():
        jobs = list(
            session.scalars(
                select(DeviceJob)
                .where(DeviceJob.state == JobState.PENDING)
                .order_by(DeviceJob.priority, DeviceJob.id)
                .limit(limit)
            )
        )
        for job in jobs:
            job.state = JobState.SENT
            job.sent_at = now
    return jobs


def finish_job(
    db: Database, job_id: int, state: JobState, result: dict[str, Any] | None, error: str | None
) -> None:
    with db.sessions() as session, session.begin():
        session.execute(
            update(DeviceJob)
            .where(DeviceJob.id == job_id)
            .values(
                state=state, result=result, error=(error or None) and error[:255], finished_at=now_beijing()
            )
        )


def create_job(db: Database, **values: Any) -> int:
    """Insert a pending device job; returns its id."""
    values.setdefault("created_at", now_beijing())
    values.setdefault("state", JobState.PENDING)
    with db.sessions() as session, session.begin():
        result = session.execute(insert(DeviceJob).values(**values).returning(DeviceJob.id))
        return int(result.scalar_one())
