"""Read endpoints for the archives: paged, filtered by organisation, 台区 and class, searchable."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from gridcare.api.deps import MAX_ID, CurrentPrincipal, PageNo, SessionDep
from gridcare.api.schemas import (
    CustomerOut,
    MeteringPointOut,
    MeterOut,
    OrganisationOut,
    PageOut,
    TerminalOut,
    TransformerAreaOut,
)
from gridcare.archives import queries
from gridcare.archives.models import AreaKind, Customer, CustomerClass
from gridcare.security.masking import mask_address, mask_id_number, mask_phone

router = APIRouter(tags=["archives"])

PageSize = Annotated[int, Query(ge=1, le=queries.MAX_PAGE_SIZE)]
OrgId = Annotated[
    int | None, Query(ge=1, le=MAX_ID, description="organisation id; includes every unit below it")
]
AreaId = Annotated[int | None, Query(ge=1, le=MAX_ID, description="台区 id")]
ClassQ = Annotated[CustomerClass | None, Query(description="customer class")]
Search = Annotated[str | None, Query(max_length=40, description="户号 / meter address prefix or name")]


def _not_found(exc: queries.NotFound) -> HTTPException:
    return HTTPException(status_code=404, detail=f"not found: {exc}")


def customer_out(c: Customer) -> CustomerOut:
    return CustomerOut(
        id=c.id,
        customer_no=c.customer_no,
        name=c.name,
        id_number_masked=mask_id_number(c.id_number),
        phone_masked=mask_phone(c.phone),
        address_masked=mask_address(c.address),
        customer_class=c.customer_class,
        voltage_level=c.voltage_level,
        contracted_capacity_kva=c.contracted_capacity_kva,
        billing_group=c.billing_group,
        tariff_code=c.tariff_code,
        org_id=c.org_id,
        status=c.status,
        opened_on=c.opened_on,
    )


@router.get("/organisations", response_model=list[OrganisationOut])
def organisations(session: SessionDep, principal: CurrentPrincipal) -> list[OrganisationOut]:
    """The organisation tree in scope, parents before children."""
    return [OrganisationOut.model_validate(o) for o in queries.list_organisations(session, principal)]


@router.get("/customers", response_model=PageOut[CustomerOut])
def customers(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageNo = 1,
    page_size: PageSize = 50,
    org_id: OrgId = None,
    transformer_area_id: AreaId = None,
    customer_class: ClassQ = None,
    q: Search = None,
) -> PageOut[CustomerOut]:
    flt = queries.ArchiveFilter(org_id, transformer_area_id, customer_class, q)
    try:
        result = queries.list_customers(session, principal, flt, page, page_size)
    except queries.NotFound as exc:
        raise _not_found(exc) from exc
    return PageOut(
        items=[customer_out(c) for c in result.items],
        total=result.total,
        page=result.page,
        page_size=result.page_size,
    )


@router.get("/customers/{customer_no}", response_model=CustomerOut)
def customer(customer_no: str, session: SessionDep, principal: CurrentPrincipal) -> CustomerOut:
    try:
        return customer_out(queries.get_customer(session, principal, customer_no))
    except queries.NotFound as exc:
        raise _not_found(exc) from exc


@router.get("/meters", response_model=PageOut[MeterOut])
def meters(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageNo = 1,
    page_size: PageSize = 50,
    org_id: OrgId = None,
    transformer_area_id: AreaId = None,
    customer_class: ClassQ = None,
    q: Search = None,
) -> PageOut[MeterOut]:
    flt = queries.ArchiveFilter(org_id, transformer_area_id, customer_class, q)
    try:
        result = queries.list_meters(session, principal, flt, page, page_size)
    except queries.NotFound as exc:
        raise _not_found(exc) from exc
    return PageOut[MeterOut].model_validate(result, from_attributes=True)


@router.get("/meters/{address}", response_model=MeterOut)
def meter(address: str, session: SessionDep, principal: CurrentPrincipal) -> MeterOut:
    try:
        return MeterOut.model_validate(queries.get_meter(session, principal, address))
    except queries.NotFound as exc:
        raise _not_found(exc) from exc


@router.get("/transformer-areas", response_model=PageOut[TransformerAreaOut])
def transformer_areas(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageNo = 1,
    page_size: PageSize = 50,
    org_id: OrgId = None,
    q: Search = None,
    kind: Annotated[AreaKind | None, Query(description="台区类型: public 公变 / dedicated 专变")] = None,
) -> PageOut[TransformerAreaOut]:
    flt = queries.ArchiveFilter(org_id=org_id, q=q, area_kind=kind)
    try:
        result = queries.list_transformer_areas(session, principal, flt, page, page_size)
    except queries.NotFound as exc:
        raise _not_found(exc) from exc
    return PageOut[TransformerAreaOut].model_validate(result, from_attributes=True)


@router.get("/transformer-areas/{code}", response_model=TransformerAreaOut)
def transformer_area(code: str, session: SessionDep, principal: CurrentPrincipal) -> TransformerAreaOut:
    try:
        return TransformerAreaOut.model_validate(queries.get_transformer_area(session, principal, code))
    except queries.NotFound as exc:
        raise _not_found(exc) from exc


@router.get("/terminals", response_model=PageOut[TerminalOut])
def terminals(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageNo = 1,
    page_size: PageSize = 50,
    org_id: OrgId = None,
    transformer_area_id: AreaId = None,
    q: Search = None,
) -> PageOut[TerminalOut]:
    flt = queries.ArchiveFilter(org_id=org_id, transformer_area_id=transformer_area_id, q=q)
    try:
        result = queries.list_terminals(session, principal, flt, page, page_size)
    except queries.NotFound as exc:
        raise _not_found(exc) from exc
    return PageOut[TerminalOut].model_validate(result, from_attributes=True)


@router.get("/metering-points", response_model=PageOut[MeteringPointOut])
def metering_points(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageNo = 1,
    page_size: PageSize = 50,
    transformer_area_id: AreaId = None,
    customer_no: Annotated[str | None, Query(max_length=20)] = None,
    meter_address: Annotated[str | None, Query(max_length=12)] = None,
    history: Annotated[bool, Query(description="include closed (historical) relations")] = False,
) -> PageOut[MeteringPointOut]:
    try:
        customer_id = queries.get_customer(session, principal, customer_no).id if customer_no else None
        meter_id = queries.get_meter(session, principal, meter_address).id if meter_address else None
    except queries.NotFound as exc:
        raise _not_found(exc) from exc
    flt = queries.ArchiveFilter(transformer_area_id=transformer_area_id)
    result = queries.list_metering_points(
        session, principal, flt, customer_id, meter_id, not history, page, page_size
    )
    return PageOut[MeteringPointOut].model_validate(result, from_attributes=True)
