"""Public (response) schemas of the archive read API. Personal data leaves only masked."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from gridcare.archives.models import (
    AreaKind,
    Channel,
    CustomerClass,
    CustomerStatus,
    MeterStatus,
    MeterType,
    OrgLevel,
    PointPurpose,
    TerminalType,
    VoltageLevel,
)

T = TypeVar("T")


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int


class OrganisationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    name: str
    level: OrgLevel
    parent_id: int | None


class CustomerOut(BaseModel):
    """A customer with masked personal data (full values need a permission; security issue)."""

    id: int
    customer_no: str = Field(description="户号")
    name: str
    id_number_masked: str
    phone_masked: str
    address_masked: str
    customer_class: CustomerClass
    voltage_level: VoltageLevel
    contracted_capacity_kva: Decimal
    billing_group: str
    tariff_code: str
    org_id: int
    status: CustomerStatus
    opened_on: date | None


class MeterOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    address: str
    meter_type: MeterType
    phases: int
    rated_voltage: str
    rated_current: str
    accuracy_class: str
    ct_ratio: str
    pt_ratio: str
    multiplier: int
    manufacturer: str
    batch: str
    install_date: date | None
    status: MeterStatus
    protocol: str
    org_id: int


class TransformerAreaOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    name: str
    feeder_id: int
    org_id: int
    capacity_kva: int
    address: str
    kind: AreaKind = Field(description="台区类型: public 公变 (台区 line loss applies) | dedicated 专变")


class TerminalOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    address: str = Field(description="area code - terminal number")
    area_code: str
    terminal_number: int
    terminal_type: TerminalType
    protocol: str
    channel: Channel
    manufacturer: str
    org_id: int
    transformer_area_id: int | None


class MeteringPointOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    purpose: PointPurpose
    customer_id: int | None
    meter_id: int
    transformer_area_id: int
    terminal_id: int | None
    point_number: int | None
    valid_from: date
    valid_to: date | None
