"""Metering-asset services (计量资产): lifecycle transitions, replacements (换表), multiplier changes,
verifications and due / overdue lists, over the archive tables.

Every change needs ``edit_archives``, looks its meters up within the principal's organisation scope (a meter
outside it is :class:`~gridcare.archives.queries.NotFound`, exactly like an unknown one), is validated in
full before anything is written (:class:`~gridcare.mdm.schema.MdmInputError` naming the field), adds a
``meter_asset_events`` row per meter touched (who, when, why) and an audit record. The caller commits.

The pure rules (allowed transitions, due dates, multiplier history) are in :mod:`gridcare.mdm.assets`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import pyarrow as pa
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gridcare.archives import queries
from gridcare.archives.addresses import multiplier_of
from gridcare.archives.asset_models import (
    FeederMeter,
    MeterAssetEvent,
    MeterMultiplierChange,
    MeterReplacement,
)
from gridcare.archives.models import Feeder, Meter, MeteringPoint, MeterStatus, Organisation
from gridcare.archives.scope import scoped, subtree
from gridcare.mdm.assets import (
    INSTALLED,
    REMOVED,
    STOCK,
    VerificationPolicy,
    check_transition,
    due_date,
)
from gridcare.mdm.schema import TIMESTAMP, MdmInputError
from gridcare.security import audit
from gridcare.security.authz import require
from gridcare.security.principal import Principal
from gridcare.security.roles import Permission
from gridcare.timeutil import day_start, now_beijing, to_beijing

MAX_REGISTER_KWH = Decimal("999999.99")


# --- validation helpers -------------------------------------------------------------------------------
def _reason(reason: str) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise MdmInputError("reason: the reason for the change is required")
    return reason.strip()[:255]


def _address(value: str, field: str) -> str:
    if not (isinstance(value, str) and len(value) == 12 and value.isdigit()):
        raise MdmInputError(f"{field}: {value!r} is not a 12-digit meter address")
    return value


def _register(value: Decimal | float | str, field: str) -> Decimal:
    """A register reading [kWh] with at most two decimals, 0 .. 999999.99."""
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise MdmInputError(f"{field}: {value!r} is not a number") from exc
    if not d.is_finite():
        raise MdmInputError(f"{field}: must be a finite number")
    if d < 0:
        raise MdmInputError(f"{field}: a register reading cannot be negative, got {d}")
    if d > MAX_REGISTER_KWH:
        raise MdmInputError(f"{field}: {d} is above the register's largest value {MAX_REGISTER_KWH}")
    if d != d.quantize(Decimal("0.01")):
        raise MdmInputError(f"{field}: registers show two decimals, got {d}")
    return d.quantize(Decimal("0.01"))


def _not_future(day: date, today: date, field: str) -> None:
    if day > today:
        raise MdmInputError(f"{field}: {day} is in the future (today is {today})")


def _event(
    session: Session,
    meter: Meter,
    kind: str,
    who: str,
    why: str,
    effective_on: date,
    stamp: datetime,
    *,
    from_status: str | None = None,
    to_status: str | None = None,
    detail: dict[str, Any] | None = None,
) -> MeterAssetEvent:
    event = MeterAssetEvent(
        meter_id=meter.id,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        effective_on=effective_on,
        recorded_at=stamp,
        who=who[:64],
        why=why,
        detail=json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, default=str),
    )
    session.add(event)
    return event


def _current_points(session: Session, meter_id: int) -> list[MeteringPoint]:
    return list(
        session.scalars(
            select(MeteringPoint)
            .where(MeteringPoint.meter_id == meter_id, MeteringPoint.valid_to.is_(None))
            .order_by(MeteringPoint.code)
        )
    )


def _current_feeder_rows(session: Session, meter_id: int) -> list[tuple[FeederMeter, str]]:
    """The meter's open ``feeder_meters`` rows (线路关口表) with their feeder's code."""
    return [
        (row, code)
        for row, code in session.execute(
            select(FeederMeter, Feeder.code)
            .join(Feeder, Feeder.id == FeederMeter.feeder_id)
            .where(FeederMeter.meter_id == meter_id, FeederMeter.valid_to.is_(None))
            .order_by(Feeder.code, FeederMeter.id)
        )
    ]


def _status(meter: Meter) -> str:
    return meter.status.value if isinstance(meter.status, MeterStatus) else str(meter.status)


# --- lifecycle ----------------------------------------------------------------------------------------
def transition_meter(
    session: Session,
    principal: Principal,
    address: str,
    to_status: str,
    *,
    effective_on: date,
    reason: str,
    now: datetime | None = None,
) -> MeterAssetEvent:
    """Move a meter to ``to_status`` (see :data:`gridcare.mdm.assets.TRANSITIONS`) on ``effective_on``.

    installed: the meter must already be on a current metering point or feeder head row (a meter is put
    there by the archive import or by a replacement); removed: its current metering points and its current
    ``feeder_meters`` rows (线路关口表) are closed on ``effective_on`` (which must be after each one's start),
    so the master station no longer expects its readings and sold vs purchased stops using it. Returns the
    event (caller commits).
    """
    require(principal, Permission.EDIT_ARCHIVES)
    _address(address, "meter")
    meter = queries.get_meter(session, principal, address)
    why = _reason(reason)
    stamp = to_beijing(now or now_beijing())
    _not_future(effective_on, stamp.date(), "effective_on")
    current = _status(meter)
    check_transition(address, current, to_status)
    points = _current_points(session, meter.id)
    heads = _current_feeder_rows(session, meter.id)
    if to_status == INSTALLED:
        if not points and not heads:
            raise MdmInputError(
                f"to_status: meter {address} is on no current metering point; install it with a replacement "
                "(gridcare meter replace) or import its metering point first"
            )
        meter.install_date = effective_on
    if to_status == REMOVED:
        for p in points:
            if effective_on <= p.valid_from:
                raise MdmInputError(
                    f"effective_on: metering point {p.code} of meter {address} starts on {p.valid_from}; "
                    f"it can be closed only after that, not on {effective_on}"
                )
        for row, feeder in heads:
            if effective_on <= row.valid_from:
                raise MdmInputError(
                    f"effective_on: meter {address} is the head meter of feeder {feeder} from "
                    f"{row.valid_from}; it can be closed only after that, not on {effective_on}"
                )
        for p in points:
            p.valid_to = effective_on
        for row, _ in heads:
            row.valid_to = effective_on
    meter.status = MeterStatus(to_status)
    detail: dict[str, Any] = {}
    if to_status == REMOVED:
        detail["closed_points"] = [p.code for p in points]
        if heads:
            detail["closed_feeder_rows"] = [code for _, code in heads]
    event = _event(
        session,
        meter,
        "transition",
        principal.username,
        why,
        effective_on,
        stamp,
        from_status=current,
        to_status=to_status,
        detail=detail,
    )
    audit.record(
        session,
        principal,
        "meter.transition",
        f"meter {address}",
        detail={
            "from": current,
            "to": to_status,
            "effective_on": effective_on.isoformat(),
            "reason": why[:200],
            **(
                {"closed_feeder_rows": detail["closed_feeder_rows"]} if "closed_feeder_rows" in detail else {}
            ),
        },
        now=stamp,
    )
    session.flush()
    return event


def record_verification(
    session: Session,
    principal: Principal,
    address: str,
    *,
    verified_on: date,
    reason: str,
    now: datetime | None = None,
) -> MeterAssetEvent:
    """Record a verification (检定) or on-site inspection (现场检验): the meter's next due date counts from
    ``verified_on``. A scrapped meter cannot be verified."""
    require(principal, Permission.EDIT_ARCHIVES)
    _address(address, "meter")
    meter = queries.get_meter(session, principal, address)
    why = _reason(reason)
    stamp = to_beijing(now or now_beijing())
    _not_future(verified_on, stamp.date(), "verified_on")
    if _status(meter) == "scrapped":
        raise MdmInputError(f"meter: {address} is scrapped and cannot be verified")
    if meter.last_verified_on is not None and verified_on < meter.last_verified_on:
        raise MdmInputError(
            f"verified_on: {verified_on} is before the meter's last verification {meter.last_verified_on}"
        )
    before = meter.last_verified_on
    meter.last_verified_on = verified_on
    event = _event(
        session,
        meter,
        "verification",
        principal.username,
        why,
        verified_on,
        stamp,
        detail={"previous": before.isoformat() if before else None},
    )
    audit.record(
        session,
        principal,
        "meter.verification",
        f"meter {address}",
        detail={"verified_on": verified_on.isoformat(), "reason": why[:200]},
        now=stamp,
    )
    session.flush()
    return event


# --- replacement --------------------------------------------------------------------------------------
def replace_meter(
    session: Session,
    principal: Principal,
    *,
    old_address: str,
    new_address: str,
    replaced_at: datetime,
    old_final_kwh: Decimal | float | str,
    new_initial_kwh: Decimal | float | str,
    reason: str,
    now: datetime | None = None,
) -> MeterReplacement:
    """换表: remove ``old_address`` from its metering point at ``replaced_at`` (Beijing time) with its final
    forward active register, install ``new_address`` (a stock meter) with its initial register.

    The old meter's current point is closed on the change day and a copy opened for the new meter from
    that day (same code, purpose, customer, 台区, terminal, box and Pn), so billing and line loss see the
    old meter up to the change day and the new one from it; the readings are kept in
    ``meter_replacements`` and line loss takes the change day's energy from them
    (old final - old start) x old multiplier + (new end - new initial) x new multiplier.

    A feeder head meter (线路关口表, on a current ``feeder_meters`` row and no metering point) is replaced
    the same way on its row: the row is closed on the change day and a row opened for the new meter from
    that day (same feeder, terminal and Pn); the replacement refers to both rows and its ``point_code`` is
    the feeder's code. Sold vs purchased then counts the change day from the readings as for any meter.
    """
    require(principal, Permission.EDIT_ARCHIVES)
    _address(old_address, "meter")
    _address(new_address, "new_meter")
    if old_address == new_address:
        raise MdmInputError("new_meter: must differ from the meter being replaced")
    old = queries.get_meter(session, principal, old_address)
    try:
        new = queries.get_meter(session, principal, new_address)
    except queries.NotFound as exc:
        raise queries.NotFound(f"new meter {new_address}") from exc
    why = _reason(reason)
    final = _register(old_final_kwh, "old_final_kwh")
    initial = _register(new_initial_kwh, "new_initial_kwh")
    if not isinstance(replaced_at, datetime):
        raise MdmInputError(f"replaced_at: expected a date and time, got {type(replaced_at).__name__}")
    try:
        at = to_beijing(replaced_at)
    except OverflowError as exc:
        raise MdmInputError(f"replaced_at: {replaced_at.isoformat()} is out of range") from exc
    stamp = to_beijing(now or now_beijing())
    if at > stamp:
        raise MdmInputError(f"replaced_at: {at.isoformat()} is in the future")
    change_day = at.date()
    check_transition(old_address, _status(old), REMOVED)
    if _status(new) != STOCK:
        raise MdmInputError(
            f"new_meter: meter {new_address} is {_status(new)}, a replacement installs a meter from stock"
        )
    points = _current_points(session, old.id)
    heads = _current_feeder_rows(session, old.id)
    if points and heads:
        raise MdmInputError(
            f"meter: {old_address} is on metering point {points[0].code} and at the head of feeder "
            f"{heads[0][1]}; a replacement must be on one place only"
        )
    if heads:
        return _replace_head(
            session, principal, old, new, heads, at=at, final=final, initial=initial, why=why, stamp=stamp
        )
    if not points:
        raise MdmInputError(f"meter: {old_address} is on no current metering point or feeder head")
    if len(points) > 1:
        codes = ", ".join(p.code for p in points)
        raise MdmInputError(f"meter: {old_address} is on several current metering points ({codes})")
    point = points[0]
    if change_day <= point.valid_from:
        raise MdmInputError(
            f"replaced_at: metering point {point.code} holds meter {old_address} from {point.valid_from}; "
            f"a replacement must be on a later day, not {change_day}"
        )
    clash = session.scalar(
        select(MeteringPoint.id).where(
            MeteringPoint.code == point.code, MeteringPoint.valid_from == change_day
        )
    )
    if clash is not None:
        raise MdmInputError(
            f"replaced_at: metering point {point.code} already has a period from {change_day}"
        )
    point.valid_to = change_day
    opened = MeteringPoint(
        code=point.code,
        purpose=point.purpose,
        customer_id=point.customer_id,
        meter_id=new.id,
        transformer_area_id=point.transformer_area_id,
        terminal_id=point.terminal_id,
        meter_box_id=point.meter_box_id,
        point_number=point.point_number,
        valid_from=change_day,
    )
    session.add(opened)
    change = _Change(old, new, at, final, initial, why, stamp)
    return _record_replacement(session, principal, change, "point", point.code, point, opened)


def _replace_head(
    session: Session,
    principal: Principal,
    old: Meter,
    new: Meter,
    heads: list[tuple[FeederMeter, str]],
    *,
    at: datetime,
    final: Decimal,
    initial: Decimal,
    why: str,
    stamp: datetime,
) -> MeterReplacement:
    """换表 of a feeder head meter on its ``feeder_meters`` row (input checked by :func:`replace_meter`)."""
    change_day = at.date()
    if len(heads) > 1:
        feeders = ", ".join(code for _, code in heads)
        raise MdmInputError(f"meter: {old.address} is the head meter of several feeders ({feeders})")
    row, feeder = heads[0]
    if change_day <= row.valid_from:
        raise MdmInputError(
            f"replaced_at: meter {old.address} is the head meter of feeder {feeder} from {row.valid_from}; "
            f"a replacement must be on a later day, not {change_day}"
        )
    clash = session.scalar(
        select(FeederMeter.id).where(
            FeederMeter.feeder_id == row.feeder_id,
            FeederMeter.meter_id == new.id,
            FeederMeter.valid_from == change_day,
        )
    )
    if clash is not None:
        raise MdmInputError(
            f"replaced_at: feeder {feeder} already has meter {new.address} at its head from {change_day}"
        )
    row.valid_to = change_day
    opened = FeederMeter(
        feeder_id=row.feeder_id,
        meter_id=new.id,
        valid_from=change_day,
        terminal_id=row.terminal_id,
        point_number=row.point_number,
    )
    session.add(opened)
    change = _Change(old, new, at, final, initial, why, stamp)
    return _record_replacement(session, principal, change, "feeder", feeder, row, opened)


@dataclass(frozen=True)
class _Change:
    """A replacement's checked input: the meters, when (Beijing time), the registers [register kWh], why."""

    old: Meter
    new: Meter
    at: datetime
    final: Decimal
    initial: Decimal
    why: str
    stamp: datetime


def _record_replacement(
    session: Session,
    principal: Principal,
    change: _Change,
    place: str,
    code: str,
    closed: MeteringPoint | FeederMeter,
    opened: MeteringPoint | FeederMeter,
) -> MeterReplacement:
    """Hand the place over (statuses, install date, organisation) and record the replacement, both meters'
    events and the audit record. ``place`` is "point" (metering points ``closed`` / ``opened``, ``code``
    the point's) or "feeder" (``feeder_meters`` rows, ``code`` the feeder's)."""
    old, new, day = change.old, change.new, change.at.date()
    old.status = MeterStatus.REMOVED
    new.status = MeterStatus.INSTALLED
    new.install_date = day
    new.org_id = old.org_id  # the new meter now runs where the old one did
    session.flush()
    column = "point_id" if place == "point" else "feeder_meter_id"
    row = MeterReplacement(
        point_code=code,
        **{f"old_{column}": closed.id, f"new_{column}": opened.id},
        old_meter_id=old.id,
        new_meter_id=new.id,
        replaced_at=change.at,
        old_final_kwh=change.final,
        new_initial_kwh=change.initial,
        old_multiplier=old.multiplier,
        new_multiplier=new.multiplier,
        who=principal.username[:64],
        why=change.why,
        recorded_at=change.stamp,
    )
    session.add(row)
    detail = {
        place: code,
        "replaced_at": change.at.isoformat(),
        "old_meter": old.address,
        "new_meter": new.address,
        "old_final_kwh": str(change.final),
        "new_initial_kwh": str(change.initial),
        "old_multiplier": old.multiplier,
        "new_multiplier": new.multiplier,
    }
    who, why, stamp = principal.username, change.why, change.stamp
    _event(session, old, "replacement", who, why, day, stamp, from_status=INSTALLED, to_status=REMOVED,
           detail=detail)  # fmt: skip
    _event(session, new, "replacement", who, why, day, stamp, from_status=STOCK, to_status=INSTALLED,
           detail=detail)  # fmt: skip
    audited = {**detail, "reason": why[:200]}
    audit.record(session, principal, "meter.replace", f"meter {old.address}", detail=audited, now=stamp)
    session.flush()
    return row


# --- multiplier ---------------------------------------------------------------------------------------
def change_multiplier(
    session: Session,
    principal: Principal,
    address: str,
    *,
    effective_from: date,
    ct_ratio: str,
    pt_ratio: str,
    reason: str,
    now: datetime | None = None,
) -> MeterMultiplierChange:
    """A CT/PT change effective from 00:00 of ``effective_from`` (not in the future, after any earlier
    change); the meter's ratios and multiplier become the new ones, the old ones stay in the history."""
    require(principal, Permission.EDIT_ARCHIVES)
    _address(address, "meter")
    meter = queries.get_meter(session, principal, address)
    why = _reason(reason)
    stamp = to_beijing(now or now_beijing())
    _not_future(effective_from, stamp.date(), "effective_from")
    try:
        new_multiplier = multiplier_of(ct_ratio, "1/1")
    except ValueError as exc:
        raise MdmInputError(f"ct_ratio: {exc}") from exc
    try:
        new_multiplier *= multiplier_of("1/1", pt_ratio)
    except ValueError as exc:
        raise MdmInputError(f"pt_ratio: {exc}") from exc
    if _status(meter) == "scrapped":
        raise MdmInputError(f"meter: {address} is scrapped")
    last = session.scalar(
        select(func.max(MeterMultiplierChange.effective_from)).where(
            MeterMultiplierChange.meter_id == meter.id
        )
    )
    if last is not None and effective_from <= last:
        raise MdmInputError(f"effective_from: must be after the meter's last multiplier change ({last})")
    if (ct_ratio, pt_ratio) == (meter.ct_ratio, meter.pt_ratio):
        raise MdmInputError(f"ct_ratio: meter {address} already has CT {ct_ratio} and PT {pt_ratio}")
    row = MeterMultiplierChange(
        meter_id=meter.id,
        effective_from=effective_from,
        old_ct_ratio=meter.ct_ratio,
        old_pt_ratio=meter.pt_ratio,
        old_multiplier=meter.multiplier,
        new_ct_ratio=ct_ratio,
        new_pt_ratio=pt_ratio,
        new_multiplier=new_multiplier,
        who=principal.username[:64],
        why=why,
        recorded_at=stamp,
    )
    session.add(row)
    detail = {
        "effective_from": effective_from.isoformat(),
        "old": {"ct": meter.ct_ratio, "pt": meter.pt_ratio, "multiplier": meter.multiplier},
        "new": {"ct": ct_ratio, "pt": pt_ratio, "multiplier": new_multiplier},
    }
    meter.ct_ratio, meter.pt_ratio, meter.multiplier = ct_ratio, pt_ratio, new_multiplier
    _event(session, meter, "multiplier_change", principal.username, why, effective_from, stamp, detail=detail)
    audited = {**detail, "reason": why[:200]}
    audit.record(session, principal, "meter.multiplier", f"meter {address}", detail=audited, now=stamp)
    session.flush()
    return row


# --- reads ----------------------------------------------------------------------------------------------
def meter_history(session: Session, principal: Principal, address: str) -> list[MeterAssetEvent]:
    """The meter's asset events, oldest first (NotFound outside the scope)."""
    meter = queries.get_meter(session, principal, address)
    return list(
        session.scalars(
            select(MeterAssetEvent)
            .where(MeterAssetEvent.meter_id == meter.id)
            .order_by(MeterAssetEvent.recorded_at, MeterAssetEvent.id)
        )
    )


@dataclass(frozen=True)
class DueMeter:
    """A meter on a due or overdue list."""

    address: str
    meter_type: str
    status: str
    org_code: str
    install_date: date | None
    last_verified_on: date | None
    due_on: date | None
    kind: str
    days_left: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "meter_type": self.meter_type,
            "status": self.status,
            "org_code": self.org_code,
            "install_date": self.install_date,
            "last_verified_on": self.last_verified_on,
            "due_on": self.due_on,
            "kind": self.kind,
            "days_left": self.days_left,
        }


def _org_by_code(session: Session, principal: Principal, code: str) -> Organisation:
    org = session.scalar(
        select(Organisation).where(Organisation.code == code, scoped(Organisation.id, principal))
    )
    if org is None:
        raise queries.NotFound(f"organisation {code}")
    return org


def verification_list(
    session: Session,
    principal: Principal,
    policy: VerificationPolicy,
    *,
    today: date,
    within_days: int | None = None,
    org_code: str | None = None,
) -> list[DueMeter]:
    """Installed meters in scope (under ``org_code`` when given) whose verification is overdue
    (``within_days`` None: due before ``today``, or with no install or verification date) or due within
    ``within_days`` days from ``today`` (today included, overdue ones excluded). Most urgent first."""
    if within_days is not None and not 0 <= within_days <= 3660:
        raise MdmInputError(f"within_days: must be between 0 and 3660, got {within_days}")
    stmt = (
        select(
            Meter.address,
            Meter.meter_type,
            Meter.status,
            Organisation.code,
            Meter.install_date,
            Meter.last_verified_on,
        )
        .join(Organisation, Organisation.id == Meter.org_id)
        .where(Meter.status == MeterStatus.INSTALLED, scoped(Meter.org_id, principal))
        .order_by(Meter.address)
    )
    if org_code is not None:
        unit = _org_by_code(session, principal, org_code)
        stmt = stmt.where(subtree(Meter.org_id, unit.path))
    out: list[DueMeter] = []
    for address, mtype, status, org, installed, verified in session.execute(stmt):
        kind_text = mtype.value if hasattr(mtype, "value") else str(mtype)
        due = due_date(kind_text, installed, verified, policy)
        left = None if due is None else (due - today).days
        if within_days is None:
            keep = left is None or left < 0
        else:
            keep = left is not None and 0 <= left <= within_days
        if keep:
            out.append(
                DueMeter(
                    address=address,
                    meter_type=kind_text,
                    status=status.value if hasattr(status, "value") else str(status),
                    org_code=org,
                    install_date=installed,
                    last_verified_on=verified,
                    due_on=due,
                    kind=policy.kind(kind_text),
                    days_left=left,
                )
            )
    out.sort(key=lambda d: (d.due_on is not None, d.due_on or date.min, d.address))
    return out


# --- feeds for MDM ----------------------------------------------------------------------------------------
def replacements_table(session: Session, first: date, last: date) -> pa.Table:
    """Replacements whose change day is in ``first .. last``, in the layout of
    :func:`gridcare.mdm.meter_change.apply_meter_changes` (old_meter, new_meter, change_time, old_final,
    new_initial, old_multiplier) plus ``change_day`` and ``point_code``."""
    lo = day_start(first)
    hi = lo + timedelta(days=(last - first).days + 1)
    old_meter = Meter.__table__.alias("old_meter")
    new_meter = Meter.__table__.alias("new_meter")
    rows = session.execute(
        select(
            old_meter.c.address,
            new_meter.c.address,
            MeterReplacement.replaced_at,
            MeterReplacement.old_final_kwh,
            MeterReplacement.new_initial_kwh,
            MeterReplacement.old_multiplier,
            MeterReplacement.point_code,
        )
        .join(old_meter, old_meter.c.id == MeterReplacement.old_meter_id)
        .join(new_meter, new_meter.c.id == MeterReplacement.new_meter_id)
        .where(MeterReplacement.replaced_at >= lo, MeterReplacement.replaced_at < hi)
        .order_by(MeterReplacement.replaced_at, MeterReplacement.id)
    ).all()
    at = [to_beijing(r[2]) for r in rows]
    return pa.table(
        {
            "old_meter": pa.array([r[0] for r in rows], pa.string()),
            "new_meter": pa.array([r[1] for r in rows], pa.string()),
            "change_time": pa.array(at, TIMESTAMP),
            "change_day": pa.array([a.date() for a in at], pa.date32()),
            "old_final": pa.array([float(r[3]) for r in rows], pa.float64()),
            "new_initial": pa.array([float(r[4]) for r in rows], pa.float64()),
            "old_multiplier": pa.array([float(r[5]) for r in rows], pa.float64()),
            "point_code": pa.array([r[6] for r in rows], pa.string()),
        }
    )


def multiplier_history(session: Session, meters: Sequence[str] | None = None) -> pa.Table:
    """Every multiplier change (meter, effective_from, old_multiplier, new_multiplier), oldest first."""
    stmt = (
        select(
            Meter.address,
            MeterMultiplierChange.effective_from,
            MeterMultiplierChange.old_multiplier,
            MeterMultiplierChange.new_multiplier,
        )
        .join(Meter, Meter.id == MeterMultiplierChange.meter_id)
        .order_by(Meter.address, MeterMultiplierChange.effective_from)
    )
    if meters is not None:
        stmt = stmt.where(Meter.address.in_(list(meters)))
    rows = session.execute(stmt).all()
    return pa.table(
        {
            "meter": pa.array([r[0] for r in rows], pa.string()),
            "effective_from": pa.array([r[1] for r in rows], pa.date32()),
            "old_multiplier": pa.array([float(r[2]) for r in rows], pa.float64()),
            "new_multiplier": pa.array([float(r[3]) for r in rows], pa.float64()),
        }
    )
