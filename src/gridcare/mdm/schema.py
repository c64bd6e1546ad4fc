"""Column layout, data-item codes and time helpers shared by the MDM modules.

See the package docstring (:mod:`gridcare.mdm`) for the reading layout in prose. Everything here is pure:
constants, Arrow schemas and small vectorised helpers; no file or network I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Final, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gridcare.timeutil import to_beijing

# --- data items (DL/T 645-2007 identifiers of daily frozen registers) --------------------------------
DI_FWD_ACTIVE: Final = "05060101"
"""Daily frozen forward active energy, total register [kWh] (日冻结正向有功总电能)."""
DI_REV_ACTIVE: Final = "05060201"
"""Daily frozen reverse active energy, total register [kWh] (日冻结反向有功总电能)."""
DI_FWD_ACTIVE_TARIFFS: Final = ("05060101.1", "05060101.2", "05060101.3", "05060101.4")
"""Tariff registers T1..T4 (尖/峰/平/谷) of the forward active freeze block, in block order [kWh].

DL/T 645 carries total and T1..T4 as elements of one block (DI 05060101); the element index after the dot
keeps one register per row.
"""
DI_FWD_REACTIVE: Final = "05060301"
"""Daily frozen combined reactive 1 (组合无功1) total register [kvarh], the meter's combination word set
to quadrant I + quadrant IV (what the 力调 method bills: inductive plus capacitive while importing)."""
DI_FWD_DEMAND: Final = "05060901"
"""Daily frozen forward active maximum demand, total [kW, register units] (日冻结正向有功总最大需量): the
highest 15-minute demand since the last settlement (00:00 on the 1st); the freeze at 00:00 on the 1st
holds the whole previous month's maximum, taken just before the monthly demand reset."""
DI_FWD_DEMAND_TIME: Final = "05060901.t"
"""When the maximum demand of :data:`DI_FWD_DEMAND` occurred, as the number YYYYMMDDhhmm (Beijing time)."""

# --- reading sources ------------------------------------------------------------------------------
SOURCE_ACTUAL: Final = "actual"
SOURCE_ESTIMATED: Final = "estimated"
SOURCE_EDITED: Final = "edited"
SOURCES: Final = (SOURCE_ACTUAL, SOURCE_ESTIMATED, SOURCE_EDITED)

# --- meter roles in the archive (one 台区 has one supply meter, feeders have a head meter) -------------
ROLE_CUSTOMER: Final = "customer"
ROLE_SUPPLY: Final = "supply"
"""台区 supply (assessment) meter, 台区总表/考核表."""
ROLE_FEEDER: Final = "feeder"
"""Feeder head (gateway) meter, 线路关口表."""
ROLES: Final = (ROLE_CUSTOMER, ROLE_SUPPLY, ROLE_FEEDER)

# --- kinds of 台区 (the archive's transformer_areas.kind) ----------------------------------------------
TG_PUBLIC: Final = "public"
"""公变台区: a public distribution transformer with a supply meter; 台区 line loss applies."""
TG_DEDICATED: Final = "dedicated"
"""专变: one customer's own transformer; not a 台区 line-loss object (its losses are the 变损 billed to the
customer, and its customer meter still counts as sold energy in feeder sold vs purchased)."""
TG_KINDS: Final = (TG_PUBLIC, TG_DEDICATED)

DEFAULT_ROLLOVER_KWH: Final = 999999.99
REGISTER_RESOLUTION_KWH: Final = 0.01
"""Registers show two decimals; every register and register advance is rounded to this [kWh]."""

Severity = Literal["info", "warning", "error"]
SEVERITIES: Final = ("info", "warning", "error")

# --- Arrow schemas --------------------------------------------------------------------------------
TZ: Final = "Asia/Shanghai"
TIMESTAMP: Final = pa.timestamp("us", tz=TZ)

READINGS_SCHEMA: Final = pa.schema(
    [
        pa.field("meter", pa.string(), nullable=False),
        pa.field("di", pa.string(), nullable=False),
        pa.field("freeze_time", TIMESTAMP, nullable=False),
        pa.field("value", pa.float64()),
        pa.field("version", pa.int32(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("method", pa.string()),
        pa.field("recorded_at", TIMESTAMP),
        pa.field("who", pa.string()),
        pa.field("why", pa.string()),
    ]
)
"""Full reading row. ``meter, di, freeze_time, value, version, source`` are required on input."""
READINGS_REQUIRED: Final = ("meter", "di", "freeze_time", "value", "version", "source")

METERS_SCHEMA: Final = pa.schema(
    [
        pa.field("meter", pa.string(), nullable=False),
        pa.field("multiplier", pa.float64()),
        pa.field("customer_class", pa.string()),
        pa.field("capacity_kva", pa.float64()),
        pa.field("forward_only", pa.bool_()),
        pa.field("tg", pa.string()),
        pa.field("role", pa.string()),
        pa.field("rollover_kwh", pa.float64()),
        pa.field("feeder", pa.string()),
        pa.field("org", pa.string()),
        pa.field("terminal", pa.string()),
        pa.field("tg_kind", pa.string()),
    ]
)
"""Per-meter archive attributes; only ``meter`` is required, the rest have defaults (see Fleet).
``tg_kind`` is the kind of the meter's 台区 (:data:`TG_PUBLIC` | :data:`TG_DEDICATED`; null = public)."""

VEE_RESULT_SCHEMA: Final = pa.schema(
    [
        pa.field("meter", pa.string()),
        pa.field("di", pa.string()),
        pa.field("freeze_time", TIMESTAMP),
        pa.field("version", pa.int32()),
        pa.field("rule", pa.string()),
        pa.field("severity", pa.string()),
        pa.field("detail", pa.string()),
        pa.field("observed", pa.float64()),
        pa.field("threshold", pa.float64()),
    ]
)

# --- time -----------------------------------------------------------------------------------------
_EPOCH: Final = date(1970, 1, 1)
US_PER_DAY: Final = 86_400_000_000
BEIJING_OFFSET_US: Final = 8 * 3_600_000_000


class MdmInputError(ValueError):
    """Input that MDM cannot use; the message names the field and the reason. Nothing was changed."""


def day_number(day: date) -> int:
    """Days since 1970-01-01 of a Beijing business date."""
    return (day - _EPOCH).days


def day_from_number(n: int) -> date:
    return date.fromordinal(_EPOCH.toordinal() + int(n))


def freeze_us(day_numbers: np.ndarray | int) -> np.ndarray:
    """UTC epoch microseconds of 00:00 Beijing time on the given day numbers."""
    return np.asarray(day_numbers, dtype=np.int64) * US_PER_DAY - BEIJING_OFFSET_US


def timestamps(us: np.ndarray) -> pa.Array:
    """Arrow timestamps (Asia/Shanghai) from UTC epoch microseconds."""
    return pa.array(np.asarray(us, dtype=np.int64), type=pa.int64()).cast(TIMESTAMP)


def dates(day_numbers: np.ndarray) -> pa.Array:
    """Arrow date32 from day numbers."""
    return pa.array(np.asarray(day_numbers, dtype=np.int32), type=pa.int32()).cast(pa.date32())


def to_day_numbers(column: pa.ChunkedArray | pa.Array, field: str) -> np.ndarray:
    """Beijing business day number of each timestamp; a naive timestamp is taken as Beijing local time."""
    typ = column.type
    if pa.types.is_date(typ):
        return np.asarray(
            pc.cast(column, pa.date32()).cast(pa.int32()).to_numpy(zero_copy_only=False), np.int64
        )
    if not pa.types.is_timestamp(typ):
        raise MdmInputError(f"{field}: expected a timestamp column, got {typ}")
    if column.null_count:
        raise MdmInputError(f"{field}: {column.null_count} null timestamps")
    us = pc.cast(column, pa.timestamp("us", tz=typ.tz)).cast(pa.int64()).to_numpy(zero_copy_only=False)
    offset = BEIJING_OFFSET_US if typ.tz is not None else 0
    return np.floor_divide(us + offset, US_PER_DAY)


def to_utc_us(column: pa.ChunkedArray | pa.Array, field: str) -> np.ndarray:
    """UTC epoch microseconds of a timestamp column (naive = Beijing local time)."""
    typ = column.type
    if not pa.types.is_timestamp(typ):
        raise MdmInputError(f"{field}: expected a timestamp column, got {typ}")
    us = pc.cast(column, pa.timestamp("us", tz=typ.tz)).cast(pa.int64()).to_numpy(zero_copy_only=False)
    return us if typ.tz is not None else us - BEIJING_OFFSET_US


def datetime_us(value: datetime, field: str) -> int:
    """UTC epoch microseconds of a datetime (naive = Beijing local time)."""
    if not isinstance(value, datetime):
        raise MdmInputError(f"{field}: expected a datetime, got {type(value).__name__}")
    aware = to_beijing(value)
    return round(aware.timestamp() * 1_000_000)


# --- columns --------------------------------------------------------------------------------------
def require_columns(table: pa.Table, names: Sequence[str], what: str) -> None:
    if not isinstance(table, pa.Table):
        raise MdmInputError(f"{what}: expected a pyarrow.Table, got {type(table).__name__}")
    missing = [n for n in names if n not in table.column_names]
    if missing:
        raise MdmInputError(f"{what}: missing column(s) {', '.join(missing)}")


def plain(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Decode a dictionary column (as Parquet readers may return) to its value type."""
    if pa.types.is_dictionary(column.type):
        return pc.cast(column, column.type.value_type)
    return column


def floats(column: pa.ChunkedArray | pa.Array, field: str) -> np.ndarray:
    """float64 values (NaN for null); decimal columns are accepted and converted."""
    col = plain(column)
    if not (pa.types.is_floating(col.type) or pa.types.is_integer(col.type) or pa.types.is_decimal(col.type)):
        raise MdmInputError(f"{field}: expected numbers, got {col.type}")
    return np.asarray(pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)


def round_register(x: np.ndarray) -> np.ndarray:
    """Round to the register resolution (0.01 kWh)."""
    return np.round(x, 2)


def fmt2(x: np.ndarray) -> pa.Array:
    """Vectorised two-decimal text of numbers ("12.30", "-0.05"); NaN becomes "?"."""
    x = np.asarray(x, dtype=np.float64)
    bad = ~np.isfinite(x)
    q = np.rint(np.where(bad, 0.0, x) * 100.0).astype(np.int64)
    neg = q < 0
    q = np.abs(q)
    whole = pc.cast(pa.array(q // 100), pa.string())
    frac = pc.utf8_lpad(pc.cast(pa.array(q % 100), pa.string()), 2, "0")
    text = pc.binary_join_element_wise(whole, frac, ".")
    text = pc.if_else(pa.array(neg), pc.binary_join_element_wise("-", text, ""), text)
    return pc.if_else(pa.array(bad), pa.scalar("?"), text)


def join_text(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of text arrays and literals."""
    return pc.binary_join_element_wise(*parts, "")
