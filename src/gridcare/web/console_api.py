"""Page data of the console charts (``/api/v1/console/...``): small JSON documents the page scripts draw.

Every route depends on the principal (read_data) and takes the ``org_id`` selected in the organisation tree;
a unit outside the caller's scope is a 404, like any other object.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from sqlalchemy import select

from gridcare.acquisition import kpi
from gridcare.api.deps import MAX_ID, CurrentPrincipal, SessionDep, SettingsDep
from gridcare.archives import queries
from gridcare.archives.models import Meter, MeteringPoint, Organisation
from gridcare.archives.scope import org_ids_in_scope
from gridcare.security.principal import Principal
from gridcare.storage.lake import ReadingsLake
from gridcare.timeutil import today_beijing
from gridcare.web import dashboard
from gridcare.web.energy import MeterSpan, customer_daily_energy
from gridcare.web.layout import narrow

router = APIRouter(prefix="/console", tags=["console"])

OrgQuery = Annotated[int | None, Query(ge=1, le=MAX_ID, description="organisation selected in the tree")]


def _narrowed(session: SessionDep, principal: Principal, org_id: int | None) -> Principal:
    if org_id is None:
        return principal
    stmt = select(Organisation).where(Organisation.id == org_id)
    clause = org_ids_in_scope(principal)
    if clause is not None:
        stmt = stmt.where(clause)
    org = session.scalar(stmt)
    if org is None:
        raise queries.NotFound(f"organisation {org_id}")
    return narrow(principal, org)


@router.get("/collection-trend")
def collection_trend(
    session: SessionDep,
    principal: CurrentPrincipal,
    org_id: OrgQuery = None,
    end: Annotated[date | None, Query(description="last freeze day, default today")] = None,
    days: Annotated[int, Query(ge=1, le=90)] = 30,
) -> dict[str, Any]:
    """Daily collection success rate [%] of the last ``days`` freeze days (in scope of ``org_id``)."""
    scope = _narrowed(session, principal, org_id)
    points = kpi.trend(session, end or today_beijing(), scope, days)
    # days before the first collection in the window are shown as a gap, not as a 0 % outage
    first = next((i for i, p in enumerate(points) if p["collected"]), len(points))
    return {
        "dates": [p["date"] for p in points],
        "rate_pct": [p["rate_pct"] if p["due"] and i >= first else None for i, p in enumerate(points)],
        "due": [p["due"] for p in points],
        "collected": [p["collected"] for p in points],
    }


@router.get("/line-loss-distribution")
def line_loss_distribution(
    session: SessionDep, settings: SettingsDep, principal: CurrentPrincipal, org_id: OrgQuery = None
) -> dict[str, Any]:
    """Histogram of the 台区 loss rates of the latest computed day; ``day`` is null before the first run."""
    scope = _narrowed(session, principal, org_id)
    found = dashboard.line_loss_distribution(session, settings, scope, today_beijing())
    return found or {"day": None, "areas": 0, "computed": 0, "not_computable": 0, "by_status": {}, "bins": []}


@router.get("/customers/{customer_no}/daily-energy")
def customer_daily_energy_route(
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    customer_no: Annotated[str, Path(max_length=20)],
    end: Annotated[date | None, Query(description="last business day, default yesterday")] = None,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> dict[str, Any]:
    """Daily consumption [kWh] of a customer: the difference of consecutive daily frozen forward-active totals
    x multiplier, per business day (null where a freeze is missing)."""
    customer = queries.get_customer(session, principal, customer_no)
    spans = [
        MeterSpan(address, multiplier, valid_from, valid_to)
        for address, multiplier, valid_from, valid_to in session.execute(
            select(Meter.address, Meter.multiplier, MeteringPoint.valid_from, MeteringPoint.valid_to)
            .join(Meter, Meter.id == MeteringPoint.meter_id)
            .where(MeteringPoint.customer_id == customer.id)
        )
    ]
    last = end or date.fromordinal(today_beijing().toordinal() - 1)
    series = customer_daily_energy(ReadingsLake(settings.lake_dir), spans, last, days)
    values = [p["kwh"] for p in series if p["kwh"] is not None]
    return {
        "customer_no": customer.customer_no,
        "unit": "kWh",
        "dates": [p["date"] for p in series],
        "kwh": [p["kwh"] for p in series],
        "total_kwh": round(sum(values), 2) if values else None,
        "days_with_data": len(values),
        "meters": sorted({s.address for s in spans}),
    }
