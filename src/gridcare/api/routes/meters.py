"""Metering-asset endpoints (计量资产): lifecycle transitions, replacements (换表), multiplier changes,
verifications, the asset history, and verification due / overdue lists (``/meters/verification/due``,
``/meters/verification/overdue``).

Reads need ``read_data``, changes ``edit_archives``; every meter is looked up within the caller's
organisation scope (outside it: 404). Changes are audited (``meter.*`` actions) and recorded in the meter's
asset history; bad input is a 422 whose detail starts with the field name.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from gridcare.api.deps import CurrentPrincipal, Requires, SessionDep, SettingsDep
from gridcare.archives import meter_assets, queries
from gridcare.mdm.assets import VerificationPolicy
from gridcare.mdm.schema import MdmInputError
from gridcare.security.principal import Principal
from gridcare.security.roles import Permission
from gridcare.timeutil import today_beijing

router = APIRouter(prefix="/meters", tags=["meters"])

Editor = Annotated[Principal, Requires(Permission.EDIT_ARCHIVES)]
Reason = Annotated[
    str, Field(min_length=1, max_length=255, description="why (kept in the history and audit)")
]
Register = Annotated[
    Decimal, Field(ge=0, le=Decimal("999999.99"), decimal_places=2, description="register reading [kWh]")
]
OrgCode = Annotated[str | None, Query(max_length=32, description="organisation code (its whole subtree)")]


class EventOut(BaseModel):
    kind: str
    from_status: str | None
    to_status: str | None
    effective_on: date
    recorded_at: datetime
    who: str
    why: str
    detail: dict[str, Any]


class TransitionIn(BaseModel):
    to_status: str = Field(max_length=16, description="installed | removed | scrapped | stock")
    effective_on: date = Field(description="business date the step takes effect (Beijing)")
    reason: Reason


class ReplacementIn(BaseModel):
    new_meter: str = Field(max_length=12, description="address of the stock meter installed")
    replaced_at: datetime = Field(description="instant of the change (naive = Beijing time)")
    old_final_kwh: Register
    new_initial_kwh: Register
    reason: Reason


class ReplacementOut(BaseModel):
    point_code: str
    old_meter: str
    new_meter: str
    replaced_at: datetime
    old_final_kwh: Decimal
    new_initial_kwh: Decimal
    old_multiplier: int
    new_multiplier: int
    who: str
    why: str
    recorded_at: datetime


class MultiplierIn(BaseModel):
    ct_ratio: str = Field(max_length=16, description='CT ratio, e.g. "200/5"')
    pt_ratio: str = Field(default="1/1", max_length=16, description='PT ratio, e.g. "10000/100"')
    effective_from: date = Field(description="first day (from 00:00 Beijing time) of the new ratio")
    reason: Reason


class MultiplierOut(BaseModel):
    meter: str
    effective_from: date
    old_ct_ratio: str
    old_pt_ratio: str
    old_multiplier: int
    new_ct_ratio: str
    new_pt_ratio: str
    new_multiplier: int
    who: str
    why: str
    recorded_at: datetime


class VerificationIn(BaseModel):
    verified_on: date = Field(description="day of the verification or on-site inspection")
    reason: Reason


class DueOut(BaseModel):
    address: str
    meter_type: str
    status: str
    org_code: str
    install_date: date | None
    last_verified_on: date | None
    due_on: date | None
    kind: str
    days_left: int | None


class DueListOut(BaseModel):
    today: date
    within_days: int | None
    org: str | None
    items: list[DueOut]


def _bad(exc: MdmInputError) -> HTTPException:
    return HTTPException(status_code=422, detail=str(exc))


def _not_found(exc: queries.NotFound) -> HTTPException:
    return HTTPException(status_code=404, detail=f"not found: {exc}")


def _event(e: Any) -> EventOut:
    return EventOut(
        kind=e.kind,
        from_status=e.from_status,
        to_status=e.to_status,
        effective_on=e.effective_on,
        recorded_at=e.recorded_at,
        who=e.who,
        why=e.why,
        detail=json.loads(e.detail or "{}"),
    )


def _run(session: Any, action: Any) -> Any:
    """Run a change; 404 / 422 roll it back, success commits."""
    try:
        result = action()
    except queries.NotFound as exc:
        session.rollback()
        raise _not_found(exc) from exc
    except MdmInputError as exc:
        session.rollback()
        raise _bad(exc) from exc
    session.commit()
    return result


AsOf = Annotated[date | None, Query(description="the day the list is for (YYYY-MM-DD) [today]")]


def _due(
    session: Any,
    settings: Any,
    principal: Principal,
    within_days: int | None,
    org: str | None,
    as_of: date | None,
) -> DueListOut:
    today = as_of or today_beijing()
    try:
        policy = VerificationPolicy.from_settings(settings.meter_verification_months)
        items = meter_assets.verification_list(
            session, principal, policy, today=today, within_days=within_days, org_code=org
        )
    except queries.NotFound as exc:
        raise _not_found(exc) from exc
    except MdmInputError as exc:
        raise _bad(exc) from exc
    return DueListOut(
        today=today,
        within_days=within_days,
        org=org,
        items=[DueOut.model_validate(i.to_json()) for i in items],
    )


@router.get("/verification/due")
def due(
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    org: OrgCode = None,
    within_days: Annotated[int, Query(ge=0, le=3660, description="days ahead, today included")] = 30,
    as_of: AsOf = None,
) -> DueListOut:
    """Installed meters in scope whose verification / inspection falls due within ``within_days``."""
    return _due(session, settings, principal, within_days, org, as_of)


@router.get("/verification/overdue")
def overdue(
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    org: OrgCode = None,
    as_of: AsOf = None,
) -> DueListOut:
    """Installed meters in scope whose verification / inspection is overdue, or has no date to count from."""
    return _due(session, settings, principal, None, org, as_of)


@router.get("/{address}/history")
def history(address: str, session: SessionDep, principal: CurrentPrincipal) -> list[EventOut]:
    """The meter's asset events, oldest first."""
    try:
        return [_event(e) for e in meter_assets.meter_history(session, principal, address)]
    except queries.NotFound as exc:
        raise _not_found(exc) from exc


@router.post("/{address}/transitions", status_code=201)
def transition(address: str, body: TransitionIn, session: SessionDep, principal: Editor) -> EventOut:
    """A lifecycle step (stock -> installed -> removed -> scrapped; removed -> stock; stock -> scrapped).
    Removing closes the meter's metering points and feeder head rows on ``effective_on``."""
    event = _run(
        session,
        lambda: meter_assets.transition_meter(
            session, principal, address, body.to_status, effective_on=body.effective_on, reason=body.reason
        ),
    )
    return _event(event)


@router.post("/{address}/replacements", status_code=201)
def replacement(address: str, body: ReplacementIn, session: SessionDep, principal: Editor) -> ReplacementOut:
    """换表: ``address`` leaves its metering point (or, a feeder head meter, its feeder head row) at
    ``replaced_at`` with its final register; ``new_meter`` (from stock) takes it over with its initial
    register."""
    row = _run(
        session,
        lambda: meter_assets.replace_meter(
            session,
            principal,
            old_address=address,
            new_address=body.new_meter,
            replaced_at=body.replaced_at,
            old_final_kwh=body.old_final_kwh,
            new_initial_kwh=body.new_initial_kwh,
            reason=body.reason,
        ),
    )
    return ReplacementOut(
        point_code=row.point_code,
        old_meter=address,
        new_meter=body.new_meter,
        replaced_at=row.replaced_at,
        old_final_kwh=row.old_final_kwh,
        new_initial_kwh=row.new_initial_kwh,
        old_multiplier=row.old_multiplier,
        new_multiplier=row.new_multiplier,
        who=row.who,
        why=row.why,
        recorded_at=row.recorded_at,
    )


@router.post("/{address}/multiplier-changes", status_code=201)
def multiplier_change(
    address: str, body: MultiplierIn, session: SessionDep, principal: Editor
) -> MultiplierOut:
    """CT/PT change from 00:00 of ``effective_from``; energy before it keeps the old multiplier."""
    row = _run(
        session,
        lambda: meter_assets.change_multiplier(
            session,
            principal,
            address,
            effective_from=body.effective_from,
            ct_ratio=body.ct_ratio,
            pt_ratio=body.pt_ratio,
            reason=body.reason,
        ),
    )
    return MultiplierOut(
        meter=address,
        effective_from=row.effective_from,
        old_ct_ratio=row.old_ct_ratio,
        old_pt_ratio=row.old_pt_ratio,
        old_multiplier=row.old_multiplier,
        new_ct_ratio=row.new_ct_ratio,
        new_pt_ratio=row.new_pt_ratio,
        new_multiplier=row.new_multiplier,
        who=row.who,
        why=row.why,
        recorded_at=row.recorded_at,
    )


@router.post("/{address}/verifications", status_code=201)
def verification(address: str, body: VerificationIn, session: SessionDep, principal: Editor) -> EventOut:
    """Record a verification (检定) or on-site inspection (现场检验); the next due date counts from it."""
    event = _run(
        session,
        lambda: meter_assets.record_verification(
            session, principal, address, verified_on=body.verified_on, reason=body.reason
        ),
    )
    return _event(event)
