"""Column specifications of the four archive kinds that can be imported and exported.

One header row of stable English column names; docs/archives-import.md gives their Chinese meanings.
Objects refer to each other by business keys (``org_code``, ``customer_no``, ``meter_address`` ...),
never by database ids, so a file moves between installations.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum, StrEnum

from gridcare.archives.addresses import check_area_code, check_meter_address, ratio_value
from gridcare.archives.models import (
    AreaKind,
    CustomerClass,
    CustomerStatus,
    MeterStatus,
    MeterType,
    PointPurpose,
    VoltageLevel,
)


class ArchiveKind(StrEnum):
    """What a file holds; the value is the name used by the CLI and the API path."""

    CUSTOMERS = "customers"
    METERS = "meters"
    TRANSFORMER_AREAS = "transformer-areas"
    METERING_POINTS = "metering-points"


def parse_kind(kind: str) -> ArchiveKind:
    """``"transformer_areas"`` and ``"transformer-areas"`` both name :attr:`ArchiveKind.TRANSFORMER_AREAS`."""
    try:
        return ArchiveKind(kind.strip().lower().replace("_", "-"))
    except ValueError:
        names = ", ".join(k.value for k in ArchiveKind)
        raise ValueError(f"unknown archive kind {kind!r}; expected one of: {names}") from None


class CellType(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    DATE = "date"
    ENUM = "enum"


TERMINAL_ADDRESS = re.compile(r"^(\d{4})-(\d{5})$")


def parse_terminal_address(value: str) -> tuple[str, int]:
    """ "3301-00002" -> ("3301", 2): area code (4 digits) and terminal number (5 decimal digits, <= 65535)."""
    match = TERMINAL_ADDRESS.match(value)
    if not match:
        raise ValueError(
            f"terminal address must look like 3301-00002 (area code-terminal number), got {value!r}"
        )
    area, number = check_area_code(match.group(1)), int(match.group(2))
    if number > 65535:
        raise ValueError(f"terminal number {number} is larger than 65535")
    return area, number


def format_terminal_address(area_code: str, terminal_number: int) -> str:
    return f"{area_code}-{terminal_number:05d}"


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a kind's file.

    ``default`` is the value stored when an optional cell is empty (and on insert when the column is left
    out of the file). ``check`` validates a text value and raises ValueError with the reason. ``aliases``
    are other spellings an enum cell may use (e.g. "专变" for ``dedicated``), mapped to the enum's values.
    """

    name: str
    cell_type: CellType
    label: str
    required: bool = False
    max_length: int | None = None
    enum: type[Enum] | None = None
    minimum: int | Decimal | None = None
    maximum: int | Decimal | None = None
    places: int = 2
    default: object = None
    check: Callable[[str], object] | None = None
    personal: bool = False
    aliases: Mapping[str, str] = field(default_factory=dict, hash=False)


_EMPTY = object()


def text(
    name: str,
    label: str,
    max_length: int,
    required: bool = False,
    default: object = _EMPTY,
    check: Callable[[str], object] | None = None,
    personal: bool = False,
) -> ColumnSpec:
    """A text column; an empty optional cell stores ``default`` ("" unless told)."""
    if default is _EMPTY:
        default = None if required else ""
    return ColumnSpec(
        name,
        CellType.TEXT,
        label,
        required,
        max_length=max_length,
        default=default,
        check=check,
        personal=personal,
    )


def enum(
    name: str,
    label: str,
    cls: type[Enum],
    required: bool = False,
    default: object = None,
    aliases: Mapping[str, str] | None = None,
) -> ColumnSpec:
    return ColumnSpec(
        name, CellType.ENUM, label, required, enum=cls, default=default, aliases=dict(aliases or {})
    )


def day(name: str, label: str, required: bool = False) -> ColumnSpec:
    return ColumnSpec(name, CellType.DATE, label, required)


@dataclass(frozen=True)
class KindSpec:
    """A kind's columns in file order; ``key`` are the columns that identify a row (insert or update)."""

    kind: ArchiveKind
    noun: str
    key: tuple[str, ...]
    columns: tuple[ColumnSpec, ...]
    by_name: dict[str, ColumnSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {c.name: c for c in self.columns})

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


CUSTOMERS = KindSpec(
    ArchiveKind.CUSTOMERS,
    noun="customer",
    key=("customer_no",),
    columns=(
        text("customer_no", "户号", 20, required=True),
        text("name", "户名", 100, required=True),
        text("org_code", "管理单位编码 (供电所)", 32, required=True),
        enum("customer_class", "用电类别", CustomerClass, required=True),
        enum("voltage_level", "供电电压", VoltageLevel, required=True),
        ColumnSpec(
            "contracted_capacity_kva",
            CellType.DECIMAL,
            "合同容量 [kVA]",
            required=True,
            minimum=Decimal(0),
            maximum=Decimal("9999999999.99"),
        ),
        text("tariff_code", "电价码", 32, required=True),
        text("billing_group", "抄表段 / 核算组", 32),
        enum("status", "客户状态", CustomerStatus, default=CustomerStatus.ACTIVE),
        day("opened_on", "立户日期"),
        text("id_number", "证件号码 (个人信息)", 64, personal=True),
        text("phone", "联系电话 (个人信息)", 64, personal=True),
        text("address", "用电地址 (个人信息)", 255, personal=True),
    ),
)

METERS = KindSpec(
    ArchiveKind.METERS,
    noun="meter",
    key=("meter_address",),
    columns=(
        text("meter_address", "电能表通信地址 (12位)", 12, required=True, check=check_meter_address),
        text("org_code", "资产管理单位编码", 32, required=True),
        enum("meter_type", "电能表类型", MeterType, required=True),
        ColumnSpec("phases", CellType.INTEGER, "相数", required=True, minimum=1, maximum=3),
        text("rated_voltage", "额定电压", 32, required=True),
        text("rated_current", "额定电流", 32, required=True),
        text("accuracy_class", "准确度等级", 8, default="2"),
        text("ct_ratio", "电流互感器变比 (CT)", 16, default="1/1", check=ratio_value),
        text("pt_ratio", "电压互感器变比 (PT)", 16, default="1/1", check=ratio_value),
        ColumnSpec("multiplier", CellType.INTEGER, "综合倍率 (= CT × PT)", minimum=1, maximum=2**31 - 1),
        text("manufacturer", "生产厂家", 100),
        text("batch", "批次", 32),
        day("install_date", "装表日期"),
        enum("status", "资产状态", MeterStatus, default=MeterStatus.STOCK),
        text("protocol", "通信规约", 16, default="dlt645-2007"),
    ),
)

TRANSFORMER_AREAS = KindSpec(
    ArchiveKind.TRANSFORMER_AREAS,
    noun="transformer area",
    key=("transformer_area_code",),
    columns=(
        text("transformer_area_code", "台区编号", 32, required=True),
        text("name", "台区名称", 100, required=True),
        text("org_code", "管理单位编码 (供电所)", 32, required=True),
        text("feeder_code", "所属线路编号", 32, required=True),
        ColumnSpec(
            "capacity_kva", CellType.INTEGER, "配变容量 [kVA]", required=True, minimum=1, maximum=2**31 - 1
        ),
        text("address", "台区地址", 200),
        enum(
            "kind",
            "台区类型 (public 公变 / dedicated 专变)",
            AreaKind,
            default=AreaKind.PUBLIC,
            aliases={"公变": AreaKind.PUBLIC.value, "专变": AreaKind.DEDICATED.value},
        ),
    ),
)

METERING_POINTS = KindSpec(
    ArchiveKind.METERING_POINTS,
    noun="metering point",
    key=("metering_point_code", "valid_from"),
    columns=(
        text("metering_point_code", "计量点编号", 32, required=True),
        enum("purpose", "计量点用途 (billing 计费 / supply 台区总表)", PointPurpose, required=True),
        text("customer_no", "户号 (计费点必填)", 20, default=None),
        text("meter_address", "电能表通信地址", 12, required=True, check=check_meter_address),
        text("transformer_area_code", "台区编号", 32, required=True),
        text("terminal_address", "采集终端地址 (AAAA-NNNNN)", 10, default=None, check=parse_terminal_address),
        ColumnSpec("point_number", CellType.INTEGER, "测量点号 Pn", minimum=1, maximum=2040),
        text("meter_box_code", "表箱编号", 32, default=None),
        day("valid_from", "生效日期", required=True),
        day("valid_to", "失效日期 (不含当日; 空 = 当前有效)"),
    ),
)

KINDS: dict[ArchiveKind, KindSpec] = {
    s.kind: s for s in (CUSTOMERS, METERS, TRANSFORMER_AREAS, METERING_POINTS)
}


def spec_of(kind: str | ArchiveKind) -> KindSpec:
    return KINDS[parse_kind(kind)]
