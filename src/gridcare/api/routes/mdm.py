"""Meter data management endpoints: data quality (VEE flags), 台区 line loss, reading versions and edits.

Every read is limited to the caller's organisation scope (a 台区 or meter outside it answers 404); an edit
needs ``edit_archives`` and is audited. Days are Beijing dates: data quality is per freeze day, line loss per
business day (closed by the next day's freeze). Results come from the latest ``gridcare vee run`` /
``gridcare lineloss compute`` of that day; ``run`` is null when none has run.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from gridcare.api.deps import CurrentPrincipal, Requires, SessionDep, SettingsDep
from gridcare.mdm import results, tasks
from gridcare.mdm.schema import MdmInputError
from gridcare.security.principal import Principal
from gridcare.security.roles import Permission
from gridcare.timeutil import today_beijing

router = APIRouter(prefix="/mdm", tags=["mdm"])

Day = Annotated[date | None, Query(description="day (YYYY-MM-DD) [yesterday]")]
Page = Annotated[int, Query(ge=1, le=1_000_000)]
PageSize = Annotated[int, Query(ge=1, le=results.MAX_PAGE_SIZE)]


def _day(day: date | None) -> date:
    return day or (today_beijing() - timedelta(days=1))


def _bad(exc: MdmInputError) -> HTTPException:
    return HTTPException(status_code=422, detail=str(exc))


class RunOut(BaseModel):
    run_at: datetime
    who: str | None
    meters: int
    readings: int
    results: int
    estimates: int
    seconds: float


class RuleCountOut(BaseModel):
    rule: str
    title_zh: str
    title_en: str
    severity: str
    count: int


class QualityOut(BaseModel):
    day: date
    run: RunOut | None
    flags: int
    meters_flagged: int
    by_severity: dict[str, int]
    rules: list[RuleCountOut]


class FlagOut(BaseModel):
    meter: str
    di: str
    freeze_time: datetime
    version: int | None
    rule: str
    title_zh: str
    severity: str
    detail: str | None
    observed: float | None
    threshold: float | None
    tg: str | None
    org: str | None


class FlagPageOut(BaseModel):
    day: date
    run: RunOut | None
    total: int
    page: int
    page_size: int
    items: list[FlagOut]


class LineLossOut(BaseModel):
    tg: str
    name: str = ""
    day: date
    supply_kwh: float | None
    sold_kwh: float | None
    loss_kwh: float | None
    loss_rate: float | None
    status: str
    status_label: str = ""
    reason: str | None
    reason_label: str = ""
    customers: int
    missing_points: int
    feeder: str | None
    org: str | None


class RankingOut(BaseModel):
    day: date
    run: RunOut | None
    by_status: dict[str, int]
    items: list[LineLossOut]


class CurvePointOut(BaseModel):
    day: date
    supply_kwh: float | None
    sold_kwh: float | None
    loss_kwh: float | None
    loss_rate: float | None
    status: str


class MeterEnergyOut(BaseModel):
    meter: str
    role: str | None
    energy_kwh: float | None
    span_days: int | None
    customer_no: str | None
    customer_class: str | None


class HintOut(BaseModel):
    """A loss-cause hint of an abnormal 台区 (see :mod:`gridcare.mdm.loss_hints`)."""

    hint: str
    label: str
    meter: str | None
    customer_no: str | None
    score: float | None
    detail: str | None


class TgDetailOut(BaseModel):
    tg: str
    name: str
    capacity_kva: int
    day: date
    line_loss: LineLossOut | None
    curve: list[CurvePointOut]
    meters: list[MeterEnergyOut]
    hints: list[HintOut] = []


class MonthlyLossOut(BaseModel):
    level: str
    unit: str
    month: str
    supply_kwh: float | None
    sold_kwh: float | None
    loss_kwh: float | None
    loss_rate: float | None
    status: str
    tg_total: int
    tg_computable: int
    missing_points: int


class PurchasedOut(BaseModel):
    level: str
    unit: str
    month: str
    purchased_kwh: float | None
    sold_kwh: float | None
    loss_kwh: float | None
    loss_rate: float | None
    status: str
    missing_points: int


class ReportOut(BaseModel):
    month: str
    meters: int
    line_loss: list[MonthlyLossOut]
    purchased: list[PurchasedOut]


class VersionOut(BaseModel):
    meter: str
    di: str
    freeze_time: datetime
    value: float | None
    version: int
    source: str
    method: str | None
    recorded_at: datetime | None
    who: str | None
    why: str | None
    effective: bool


class EditIn(BaseModel):
    meter: str = Field(pattern=r"^\d{12}$", description="meter address")
    di: str = Field(default="05060101", min_length=1, max_length=16, description="data item")
    freeze_time: datetime = Field(description="freeze instant, 00:00 Beijing time (naive = Beijing)")
    value: float = Field(ge=0, allow_inf_nan=False, description="corrected register value [kWh]")
    reason: str = Field(min_length=1, max_length=255, description="why the reading is corrected")


class EditOut(BaseModel):
    meter: str
    di: str
    freeze_time: datetime
    value: float
    value_before: float | None
    version: int
    source: str
    who: str
    why: str
    recorded_at: datetime


@router.get("/quality")
def quality(
    session: SessionDep, settings: SettingsDep, principal: CurrentPrincipal, day: Day = None
) -> QualityOut:
    """Data quality of the freeze taken at 00:00 on ``day``: flags per VEE rule and per severity."""
    return QualityOut.model_validate(results.quality_summary(session, settings, principal, _day(day)))


@router.get("/quality/flags")
def quality_flags(
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    day: Day = None,
    rule: Annotated[str | None, Query(max_length=32, description="VEE rule code, e.g. MISSING")] = None,
    severity: Annotated[str | None, Query(pattern="^(error|warning|info)$")] = None,
    tg: Annotated[str | None, Query(max_length=32, description="台区 code")] = None,
    page: Page = 1,
    page_size: PageSize = 50,
) -> FlagPageOut:
    """The readings failing a rule on the freeze of ``day``, paged (by rule, then meter address)."""
    try:
        body = results.quality_flags(
            session,
            settings,
            principal,
            _day(day),
            rule=rule,
            severity=severity,
            tg=tg,
            page=page,
            page_size=page_size,
        )
    except MdmInputError as exc:
        raise _bad(exc) from exc
    return FlagPageOut.model_validate(body)


@router.get("/lineloss")
def line_loss_ranking(
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    day: Day = None,
    status: Annotated[str | None, Query(description="only this class, e.g. high")] = None,
) -> RankingOut:
    """台区 line loss of business ``day``, worst first (high, negative, not computable, low, qualified)."""
    try:
        body = results.line_loss_ranking(session, settings, principal, _day(day), status=status)
    except MdmInputError as exc:
        raise _bad(exc) from exc
    return RankingOut.model_validate(body)


@router.get("/lineloss/report")
def line_loss_report(
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM [last month]")] = None,
) -> ReportOut:
    """Monthly line loss per 台区, feeder and organisation (over the 台区 in scope), sold vs purchased."""
    if month is None:
        last = today_beijing().replace(day=1) - timedelta(days=1)
        month = f"{last.year:04d}-{last.month:02d}"
    try:
        report = tasks.line_loss_report(session, settings, principal, month)
    except MdmInputError as exc:
        raise _bad(exc) from exc
    return ReportOut(
        month=report.month,
        meters=report.meters,
        line_loss=[MonthlyLossOut.model_validate(r) for r in results.rows_of(report.loss)],
        purchased=[PurchasedOut.model_validate(r) for r in results.rows_of(report.purchased)],
    )


@router.get("/lineloss/{code}")
def transformer_area_line_loss(
    code: str,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    day: Day = None,
    days: Annotated[int, Query(ge=1, le=366, description="length of the supply curve [days]")] = 30,
) -> TgDetailOut:
    """A 台区's daily supply curve over ``days`` ending on ``day``, its meters' energies on ``day`` and, when
    a day of the window is not qualified, the loss-cause hints (missing collection, meter stopped, transformer
    relation error, suspected theft). A 专变 (dedicated transformer) has no 台区 line loss: 422 naming
    ``code``."""
    try:
        body = results.tg_detail(session, settings, principal, code, _day(day), days)
    except results.LineLossNotApplicable as exc:
        raise HTTPException(status_code=422, detail=f"code: {exc.reason}") from exc
    except MdmInputError as exc:
        raise _bad(exc) from exc
    return TgDetailOut.model_validate(body)


@router.get("/readings/{address}/versions")
def reading_versions(
    address: str,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    first: Annotated[date | None, Query(alias="from", description="first freeze day [62 days ago]")] = None,
    last: Annotated[date | None, Query(alias="to", description="last freeze day [tomorrow]")] = None,
    di: Annotated[str | None, Query(max_length=16)] = None,
) -> list[VersionOut]:
    """Every version of a meter's readings (actual, estimated, edited), the effective one marked."""
    try:
        rows = tasks.reading_versions(session, settings, principal, address, first=first, last=last, di=di)
    except MdmInputError as exc:
        raise _bad(exc) from exc
    return [VersionOut.model_validate(r) for r in results.rows_of(rows)]


@router.post("/readings/edits", status_code=201)
def edit_reading(
    body: EditIn,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, Requires(Permission.EDIT_ARCHIVES)],
) -> EditOut:
    """Correct a reading: a new version (source "edited") with who, why and when; audited. The old
    versions stay; queries use the highest actual/edited version."""
    try:
        row: dict[str, Any] = tasks.edit_reading(
            session,
            settings,
            principal,
            meter=body.meter,
            di=body.di,
            freeze_time=body.freeze_time,
            value=body.value,
            reason=body.reason,
        )
    except MdmInputError as exc:
        session.rollback()
        raise _bad(exc) from exc
    session.commit()
    return EditOut.model_validate(row)
