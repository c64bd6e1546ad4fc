"""Collection KPIs: daily success rate by organisation, 台区, terminal and manufacturer; failures with
their reasons; terminal online rate; the 30-day trend.

Success rate of a freeze day = metering points with a valid daily frozen reading / points due, where a
point is due when it is current, read through a terminal, and in service on that day. The daily frozen
reading is the forward active one (``point_collections``); the extra registers read for customers with
billing terms (reactive energy, maximum demand) have their own outcomes per data item
(``register_collections``, :func:`register_counts`) and do not enter the rate.

Feeder head meters (线路关口表) read through a terminal (``feeder_meters`` rows with a terminal and Pn) are
metering points of the utility (关口计量点) and count among the points due (``feeder_meter_collections``).
They have no 台区 and no customer: they belong to their feeder's organisation; in the breakdown by 台区 each
is a group of its own keyed by its feeder's code (named "<feeder> 线路关口"); in the failures list their
``metering_point`` and ``transformer_area`` are None and ``feeder`` names the feeder.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from gridcare.acquisition.models import (
    FeederMeterCollection,
    PointCollection,
    PointStatus,
    RegisterCollection,
    TerminalStatus,
)
from gridcare.archives.asset_models import FeederMeter
from gridcare.archives.models import Feeder, Meter, MeteringPoint, Organisation, Terminal, TransformerArea
from gridcare.archives.scope import scoped
from gridcare.security.principal import Principal

DIMENSIONS = ("organisation", "transformer_area", "terminal", "manufacturer")


@dataclass(frozen=True)
class Rate:
    key: str
    name: str
    due: int
    collected: int

    @property
    def rate_pct(self) -> float:
        """Collected / due [%], two decimals; 0 when nothing was due."""
        return round(100.0 * self.collected / self.due, 2) if self.due else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "due": self.due,
            "collected": self.collected,
            "rate_pct": self.rate_pct,
        }


def _due(day: date, principal: Principal) -> Select[int, Any]:
    """Metering points read through a terminal and in service on ``day`` (valid_from <= day < valid_to),
    each with 1 when its freeze of ``day`` was collected: a point closed later still counts for the days
    it served, so a day's rate does not change when the archive does."""
    ok = and_(
        PointCollection.metering_point_id == MeteringPoint.id,
        PointCollection.business_date == day,
        PointCollection.status == PointStatus.OK,
    )
    stmt: Select[int, Any] = (
        select(MeteringPoint.id, func.max(case((PointCollection.metering_point_id.is_not(None), 1), else_=0)))
        .join(TransformerArea, TransformerArea.id == MeteringPoint.transformer_area_id)
        .join(Terminal, Terminal.id == MeteringPoint.terminal_id)
        .outerjoin(PointCollection, ok)
        .where(
            MeteringPoint.valid_from <= day,
            or_(MeteringPoint.valid_to.is_(None), MeteringPoint.valid_to > day),  # in service that day
            scoped(TransformerArea.org_id, principal),
        )
    )
    return stmt


def _due_heads(day: date, principal: Principal) -> Select[int, Any]:
    """Like :func:`_due` for the feeder head meters read through a terminal (scoped by their feeder's
    organisation)."""
    ok = and_(
        FeederMeterCollection.feeder_meter_id == FeederMeter.id,
        FeederMeterCollection.business_date == day,
        FeederMeterCollection.status == PointStatus.OK,
    )
    stmt: Select[int, Any] = (
        select(
            FeederMeter.id, func.max(case((FeederMeterCollection.feeder_meter_id.is_not(None), 1), else_=0))
        )
        .join(Feeder, Feeder.id == FeederMeter.feeder_id)
        .join(Terminal, Terminal.id == FeederMeter.terminal_id)
        .outerjoin(FeederMeterCollection, ok)
        .where(
            FeederMeter.valid_from <= day,
            or_(FeederMeter.valid_to.is_(None), FeederMeter.valid_to > day),
            FeederMeter.point_number.is_not(None),
            scoped(Feeder.org_id, principal),
        )
    )
    return stmt


def success_rates(session: Session, day: date, principal: Principal, by: str) -> list[Rate]:
    """Success rate of ``day``'s freeze grouped ``by`` one of DIMENSIONS (worst first)."""
    groupings: dict[str, tuple[Any, Any]] = {
        "organisation": (Organisation.code, Organisation.name),
        "transformer_area": (TransformerArea.code, TransformerArea.name),
        "terminal": (Terminal.area_code, Terminal.terminal_number),
        "manufacturer": (Terminal.manufacturer, Terminal.manufacturer),
    }
    if by not in groupings:
        raise ValueError(f"by: expected one of {', '.join(DIMENSIONS)}, got {by!r}")
    key, name = groupings[by]
    stmt = _due(day, principal)
    if by == "organisation":
        stmt = stmt.join(Organisation, Organisation.id == TransformerArea.org_id)
    inner = stmt.add_columns(key.label("k"), name.label("n")).group_by(MeteringPoint.id, key, name).subquery()
    rows: list[Any] = list(
        session.execute(
            select(inner.c.k, inner.c.n, func.count(), func.sum(inner.c[1])).group_by(inner.c.k, inner.c.n)
        ).all()
    )
    head_key, head_name = (
        (Feeder.code, Feeder.name + " 线路关口") if by == "transformer_area" else (key, name)
    )
    heads = _due_heads(day, principal)
    if by == "organisation":
        heads = heads.join(Organisation, Organisation.id == Feeder.org_id)
    inner_heads = (
        heads.add_columns(head_key.label("k"), head_name.label("n"))
        .group_by(FeederMeter.id, head_key, head_name)
        .subquery()
    )
    rows += session.execute(
        select(inner_heads.c.k, inner_heads.c.n, func.count(), func.sum(inner_heads.c[1])).group_by(
            inner_heads.c.k, inner_heads.c.n
        )
    ).all()
    merged: dict[tuple[str, str], tuple[int, int]] = {}
    for k, n, due, got in rows:
        label = (f"{k}-{n:05d}", f"{k}-{n:05d}") if by == "terminal" else (str(k), str(n))
        was = merged.get(label, (0, 0))
        merged[label] = (was[0] + int(due), was[1] + int(got or 0))
    rates = [Rate(k, n, due, got) for (k, n), (due, got) in merged.items()]
    return sorted(rates, key=lambda r: (r.rate_pct, r.key))


def overall_rate(session: Session, day: date, principal: Principal) -> Rate:
    inner = _due(day, principal).group_by(MeteringPoint.id).subquery()
    due, got = session.execute(select(func.count(), func.sum(inner.c[1]))).one()
    heads = _due_heads(day, principal).group_by(FeederMeter.id).subquery()
    head_due, head_got = session.execute(select(func.count(), func.sum(heads.c[1]))).one()
    return Rate("all", "全部 all", int(due) + int(head_due), int(got or 0) + int(head_got or 0))


def failures(session: Session, day: date, principal: Principal, limit: int = 1000) -> list[dict[str, Any]]:
    """Points that failed (or were never tried) on ``day``, with the reason."""
    inner = _due(day, principal).group_by(MeteringPoint.id).subquery()
    missing = select(inner.c.id).where(inner.c[1] == 0)
    stmt = (
        select(
            MeteringPoint.code,
            Meter.address,
            TransformerArea.code,
            Terminal.area_code,
            Terminal.terminal_number,
            PointCollection.reason,
            PointCollection.attempts,
        )
        .join(Meter, Meter.id == MeteringPoint.meter_id)
        .join(TransformerArea, TransformerArea.id == MeteringPoint.transformer_area_id)
        .join(Terminal, Terminal.id == MeteringPoint.terminal_id)
        .outerjoin(
            PointCollection,
            and_(PointCollection.metering_point_id == MeteringPoint.id, PointCollection.business_date == day),
        )
        .where(MeteringPoint.id.in_(missing))
        .order_by(MeteringPoint.code)
        .limit(limit)
    )
    out: list[dict[str, Any]] = [
        {
            "metering_point": mp,
            "meter": addr,
            "transformer_area": tq,
            "terminal": f"{area}-{num:05d}",
            "reason": reason.value if reason else "not_attempted",
            "attempts": attempts or 0,
        }
        for mp, addr, tq, area, num, reason, attempts in session.execute(stmt)
    ]
    heads = _due_heads(day, principal).group_by(FeederMeter.id).subquery()
    head_stmt = (
        select(
            Feeder.code,
            Meter.address,
            Terminal.area_code,
            Terminal.terminal_number,
            FeederMeterCollection.reason,
            FeederMeterCollection.attempts,
        )
        .select_from(FeederMeter)
        .join(Meter, Meter.id == FeederMeter.meter_id)
        .join(Feeder, Feeder.id == FeederMeter.feeder_id)
        .join(Terminal, Terminal.id == FeederMeter.terminal_id)
        .outerjoin(
            FeederMeterCollection,
            and_(
                FeederMeterCollection.feeder_meter_id == FeederMeter.id,
                FeederMeterCollection.business_date == day,
            ),
        )
        .where(FeederMeter.id.in_(select(heads.c.id).where(heads.c[1] == 0)))
        .order_by(Feeder.code)
        .limit(max(0, limit - len(out)))
    )
    out += [
        {
            "metering_point": None,
            "feeder": feeder,
            "meter": addr,
            "transformer_area": None,
            "terminal": f"{area}-{num:05d}",
            "reason": reason.value if reason else "not_attempted",
            "attempts": attempts or 0,
        }
        for feeder, addr, area, num, reason, attempts in session.execute(head_stmt)
    ]
    return out


def terminal_online_rate(session: Session, principal: Principal) -> Rate:
    """Terminals online now / terminals in the archives."""
    total = (
        session.scalar(select(func.count()).select_from(Terminal).where(scoped(Terminal.org_id, principal)))
        or 0
    )
    online = (
        session.scalar(
            select(func.count())
            .select_from(TerminalStatus)
            .join(Terminal, Terminal.id == TerminalStatus.terminal_id)
            .where(TerminalStatus.online.is_(True), scoped(Terminal.org_id, principal))
        )
        or 0
    )
    return Rate("terminals", "终端在线 terminals online", total, online)


def trend(session: Session, end: date, principal: Principal, days: int = 30) -> list[dict[str, Any]]:
    """Overall success rate of each freeze day in the ``days`` up to ``end``."""
    out = []
    for i in range(days - 1, -1, -1):
        day = end - timedelta(days=i)
        out.append({"date": day.isoformat(), **overall_rate(session, day, principal).to_json()})
    return out


def collectable_rate(overall: Rate, reasons: dict[str, int]) -> Rate:
    """Success among the points that could be collected: terminal offline is not the reading's fault."""
    offline = reasons.get("terminal_offline", 0)
    return Rate("collectable", "可采 collectable", overall.due - offline, overall.collected)


def reason_counts(session: Session, day: date, principal: Principal) -> dict[str, int]:
    """Failed (or never tried) points of ``day`` per reason, most frequent first."""
    inner = _due(day, principal).group_by(MeteringPoint.id).subquery()
    missing = select(inner.c.id).where(inner.c[1] == 0)
    rows: list[Any] = list(
        session.execute(
            select(PointCollection.reason, func.count())
            .select_from(MeteringPoint)
            .outerjoin(
                PointCollection,
                and_(
                    PointCollection.metering_point_id == MeteringPoint.id,
                    PointCollection.business_date == day,
                ),
            )
            .where(MeteringPoint.id.in_(missing))
            .group_by(PointCollection.reason)
        ).all()
    )
    heads = _due_heads(day, principal).group_by(FeederMeter.id).subquery()
    rows += session.execute(
        select(FeederMeterCollection.reason, func.count())
        .select_from(FeederMeter)
        .outerjoin(
            FeederMeterCollection,
            and_(
                FeederMeterCollection.feeder_meter_id == FeederMeter.id,
                FeederMeterCollection.business_date == day,
            ),
        )
        .where(FeederMeter.id.in_(select(heads.c.id).where(heads.c[1] == 0)))
        .group_by(FeederMeterCollection.reason)
    ).all()
    counts: dict[str, int] = {}
    for reason, n in rows:
        key = reason.value if reason else "not_attempted"
        counts[key] = counts.get(key, 0) + int(n)
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def register_counts(session: Session, day: date, principal: Principal) -> dict[str, dict[str, int]]:
    """Outcomes of the extra registers of ``day``'s freeze per data item: ``ok`` and each failure reason
    (the points that need them and were attempted; not part of the success rate)."""
    rows = session.execute(
        select(RegisterCollection.di, RegisterCollection.status, RegisterCollection.reason, func.count())
        .join(MeteringPoint, MeteringPoint.id == RegisterCollection.metering_point_id)
        .join(TransformerArea, TransformerArea.id == MeteringPoint.transformer_area_id)
        .where(RegisterCollection.business_date == day, scoped(TransformerArea.org_id, principal))
        .group_by(RegisterCollection.di, RegisterCollection.status, RegisterCollection.reason)
    ).all()
    out: dict[str, dict[str, int]] = {}
    for di, status, reason, n in rows:
        key = "ok" if status == PointStatus.OK else (reason.value if reason else "failed")
        counts = out.setdefault(di, {})
        counts[key] = counts.get(key, 0) + int(n)
    return dict(sorted(out.items()))


def collection_report(session: Session, day: date, principal: Principal, by: str) -> dict[str, Any]:
    """The daily collection report of the API and the CLI: success rate overall, of the collectable points
    and per ``by`` group, failure reasons and failed points, terminals online, and the extra registers
    (reactive, maximum demand) of two-part customers per data item."""
    overall = overall_rate(session, day, principal)
    reasons = reason_counts(session, day, principal)
    return {
        "date": day.isoformat(),
        "overall": overall.to_json(),
        "collectable": collectable_rate(overall, reasons).to_json(),
        "by": by,
        "groups": [r.to_json() for r in success_rates(session, day, principal, by)],
        "failure_reasons": reasons,
        "failures": failures(session, day, principal),
        "terminal_online": terminal_online_rate(session, principal).to_json(),
        "extra_registers": register_counts(session, day, principal),
    }
