"""Archive tables: organisation tree, grid topology, customers, meters, terminals and metering points.

Metering points link meter <-> customer <-> 台区 <-> terminal with effective dates (``valid_from``
inclusive, ``valid_to`` exclusive, None = current), so a change of transformer relation (户变关系) or of
meter closes one row and opens another, keeping the history.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from gridcare.security.crypto import EncryptedText
from gridcare.storage.base import Base, personal


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


class OrgLevel(StrEnum):
    """Level of an organisation unit. The tree may be of any depth."""

    COMPANY = "company"  # 供电公司
    COUNTY = "county"  # 县公司
    STATION = "station"  # 供电所


class CustomerClass(StrEnum):
    """Customer class (用电类别)."""

    RESIDENTIAL = "residential"  # 居民生活
    GENERAL_COMMERCIAL = "general_commercial"  # 一般工商业
    LARGE_INDUSTRIAL = "large_industrial"  # 大工业
    AGRICULTURAL = "agricultural"  # 农业生产


class VoltageLevel(StrEnum):
    """Supply voltage level (供电电压)."""

    V220 = "220V"
    V380 = "380V"
    KV10 = "10kV"
    KV35 = "35kV"
    KV110 = "110kV"


class CustomerStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"  # 暂停
    CLOSED = "closed"  # 销户


class MeterType(StrEnum):
    SINGLE_PHASE = "single_phase"  # 单相智能表
    THREE_PHASE_DIRECT = "three_phase_direct"  # 三相直接接入
    THREE_PHASE_CT = "three_phase_ct"  # 三相经互感器接入


class MeterStatus(StrEnum):
    STOCK = "stock"  # 库存
    INSTALLED = "installed"  # 运行
    REMOVED = "removed"  # 拆回
    SCRAPPED = "scrapped"  # 报废


class TerminalType(StrEnum):
    CONCENTRATOR = "concentrator"  # 集中器
    LARGE_CUSTOMER = "large_customer"  # 专变采集终端


class Channel(StrEnum):
    GPRS = "gprs"
    LTE = "4g"
    ETHERNET = "ethernet"
    PLC = "plc"


class AreaKind(StrEnum):
    """Kind of a 台区 (台区类型)."""

    PUBLIC = "public"  # 公变: public distribution transformer, many LV customers, 台区总表, 台区 line loss
    DEDICATED = "dedicated"  # 专变: one customer's own transformer; its loss is the 变损 billed to it


class PointPurpose(StrEnum):
    BILLING = "billing"  # 客户计费点
    SUPPLY = "supply"  # 台区考核总表


class Organisation(Base):
    """A unit of the supply company: company -> county company -> supply station, any depth.

    ``path`` is the materialised chain of ids ("/1/4/17/") so that "this unit and everything under it"
    is one indexed prefix match; it is what organisation scope filters on.
    """

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[OrgLevel] = mapped_column(_enum(OrgLevel, "org_level"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    path: Mapped[str] = mapped_column(String(255), index=True)


class Substation(Base):
    """变电站."""

    __tablename__ = "substations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    voltage_kv: Mapped[int] = mapped_column(Integer)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)


class Feeder(Base):
    """10 kV feeder (线路) leaving a substation."""

    __tablename__ = "feeders"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    substation_id: Mapped[int] = mapped_column(ForeignKey("substations.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    voltage_kv: Mapped[int] = mapped_column(Integer, default=10)


class TransformerArea(Base):
    """台区: the low-voltage area behind one distribution transformer.

    ``kind`` (:class:`AreaKind`) tells a 公变台区 (``public``: a public distribution transformer feeding many
    low-voltage customers; its supply (总表) meter is the metering point with purpose ``supply`` and 台区
    line loss is computed for it) from a 专变 (``dedicated``: a transformer owned by one large customer; no
    台区总表, no 台区 line loss — its losses are the 变损 billed to that customer, and feeder sold vs
    purchased counts its energy as sold).
    """

    __tablename__ = "transformer_areas"
    __table_args__ = (
        CheckConstraint("capacity_kva > 0", name="capacity_positive"),
        CheckConstraint("kind IN ('public', 'dedicated')", name="kind_allowed"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    feeder_id: Mapped[int] = mapped_column(ForeignKey("feeders.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    capacity_kva: Mapped[int] = mapped_column(Integer, doc="transformer rated capacity [kVA]")
    address: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(
        String(16),
        default=AreaKind.PUBLIC.value,
        server_default=AreaKind.PUBLIC.value,
        doc="台区类型: public 公变 | dedicated 专变 (:class:`AreaKind`)",
    )


class MeterBox(Base):
    """表箱: a box holding one or more meters."""

    __tablename__ = "meter_boxes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    transformer_area_id: Mapped[int] = mapped_column(ForeignKey("transformer_areas.id"), index=True)
    address: Mapped[str] = mapped_column(String(200), default="")


class Customer(Base):
    """A customer account (户). ``id_number``, ``phone`` and ``address`` are personal data, encrypted at
    rest (AES-GCM, :class:`~gridcare.security.crypto.EncryptedText`): they read and write as plain ``str``
    but cannot be searched in SQL."""

    __tablename__ = "customers"
    __table_args__ = (CheckConstraint("contracted_capacity_kva >= 0", name="capacity_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_no: Mapped[str] = mapped_column(String(20), unique=True, doc="户号")
    name: Mapped[str] = mapped_column(String(100))
    id_number: Mapped[str] = mapped_column(EncryptedText(), default="", info=personal())
    phone: Mapped[str] = mapped_column(EncryptedText(), default="", info=personal())
    address: Mapped[str] = mapped_column(EncryptedText(), default="", info=personal())
    customer_class: Mapped[CustomerClass] = mapped_column(_enum(CustomerClass, "customer_class"), index=True)
    voltage_level: Mapped[VoltageLevel] = mapped_column(_enum(VoltageLevel, "voltage_level"))
    contracted_capacity_kva: Mapped[Decimal] = mapped_column(Numeric(12, 2), doc="[kVA]")
    billing_group: Mapped[str] = mapped_column(String(32), default="")
    tariff_code: Mapped[str] = mapped_column(String(32))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    status: Mapped[CustomerStatus] = mapped_column(
        _enum(CustomerStatus, "customer_status"), default=CustomerStatus.ACTIVE
    )
    opened_on: Mapped[date | None] = mapped_column(Date)


class Meter(Base):
    """An electricity meter, identified by its 12-digit BCD communication address."""

    __tablename__ = "meters"
    __table_args__ = (CheckConstraint("multiplier > 0", name="multiplier_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(12), unique=True, doc="12 BCD digits")
    meter_type: Mapped[MeterType] = mapped_column(_enum(MeterType, "meter_type"))
    phases: Mapped[int] = mapped_column(Integer)
    rated_voltage: Mapped[str] = mapped_column(String(32), doc='e.g. "220V", "3x220/380V"')
    rated_current: Mapped[str] = mapped_column(String(32), doc='e.g. "5(60)A"')
    accuracy_class: Mapped[str] = mapped_column(String(8), default="2")
    ct_ratio: Mapped[str] = mapped_column(String(16), default="1/1", doc='current transformer, e.g. "200/5"')
    pt_ratio: Mapped[str] = mapped_column(
        String(16), default="1/1", doc='voltage transformer, e.g. "10000/100"'
    )
    multiplier: Mapped[int] = mapped_column(Integer, default=1, doc="CT ratio x PT ratio")
    manufacturer: Mapped[str] = mapped_column(String(100), default="")
    batch: Mapped[str] = mapped_column(String(32), default="")
    install_date: Mapped[date | None] = mapped_column(Date)
    last_verified_on: Mapped[date | None] = mapped_column(
        Date, doc="last verification (检定) or on-site inspection (现场检验); null: none recorded"
    )
    status: Mapped[MeterStatus] = mapped_column(_enum(MeterStatus, "meter_status"), default=MeterStatus.STOCK)
    protocol: Mapped[str] = mapped_column(String(16), default="dlt645-2007")
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)


class Terminal(Base):
    """A data-acquisition terminal: area code (4 BCD digits) + terminal number (0..65535)."""

    __tablename__ = "terminals"
    __table_args__ = (
        UniqueConstraint("area_code", "terminal_number", name="uq_terminals_address"),
        CheckConstraint("terminal_number >= 0 AND terminal_number <= 65535", name="number_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    area_code: Mapped[str] = mapped_column(String(4))
    terminal_number: Mapped[int] = mapped_column(Integer)
    terminal_type: Mapped[TerminalType] = mapped_column(_enum(TerminalType, "terminal_type"))
    protocol: Mapped[str] = mapped_column(String(16), default="gdw1376.1")
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "channel"))
    manufacturer: Mapped[str] = mapped_column(String(100), default="")
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    transformer_area_id: Mapped[int | None] = mapped_column(ForeignKey("transformer_areas.id"), index=True)

    @property
    def address(self) -> str:
        """Display form "AAAA-NNNNN" (area code, terminal number in decimal)."""
        return f"{self.area_code}-{self.terminal_number:05d}"


class MeteringPoint(Base):
    """计量点: which meter measures which customer, in which 台区, read through which terminal, and when."""

    __tablename__ = "metering_points"
    __table_args__ = (
        UniqueConstraint("code", "valid_from", name="uq_metering_points_code_valid_from"),
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="valid_range"),
        Index("ix_metering_points_current", "code", "valid_to"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), index=True)
    purpose: Mapped[PointPurpose] = mapped_column(_enum(PointPurpose, "point_purpose"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id"), index=True)
    transformer_area_id: Mapped[int] = mapped_column(ForeignKey("transformer_areas.id"), index=True)
    terminal_id: Mapped[int | None] = mapped_column(ForeignKey("terminals.id"), index=True)
    meter_box_id: Mapped[int | None] = mapped_column(ForeignKey("meter_boxes.id"))
    point_number: Mapped[int | None] = mapped_column(Integer, doc="measuring point number Pn in the terminal")
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
