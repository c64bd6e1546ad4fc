"""Reference values of the demo supply company: equipment series, class rules, tariffs, vendors.

Pure data and small pure functions; :mod:`gridcare.archives.demo_build` draws from them.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Final

from gridcare.archives.models import CustomerClass

AS_OF: Final = date(2024, 6, 30)
"""The demo archive describes the utility as of this day (no date in it is later; nothing reads the clock)."""

MIN_CUSTOMERS: Final = 50
"""The smallest demo: one 台区 holds at least 50 metering points."""
MAX_CUSTOMERS: Final = 5_000_000

AREA_MIN_POINTS: Final = 50
AREA_MAX_POINTS: Final = 300
AREA_TYPICAL_POINTS: Final = 135
"""Billing points per public 台区: median of the drawn sizes (most fall in 80-200)."""

CUSTOMERS_PER_STATION: Final = 3500
CUSTOMERS_PER_COUNTY_SCALE: Final = 2000
"""County companies: about sqrt(customers / 2000), at most 12 (2 for 5,000 customers, 7 for 100,000)."""
MAX_COUNTIES: Final = 12
AREAS_PER_FEEDER: Final = 25

# -- transformers and instrument transformers ------------------------------------------------------

PUBLIC_CAPACITIES_KVA: Final = (50, 80, 100, 125, 160, 200, 250, 315, 400, 500, 630)
"""Standard distribution-transformer series used for public 台区 (公变) [kVA]."""
DEDICATED_CAPACITIES_KVA: Final = (315, 400, 500, 630, 800, 1000, 1250, 1600, 2000, 2500, 3150, 4000)
"""Dedicated transformers (专变) of large industrial customers [kVA]; weights below favour the small ones."""
DEDICATED_WEIGHTS: Final = (16, 16, 14, 14, 10, 9, 6, 5, 4, 3, 2, 1)
DIVERSITY_FACTOR: Final = 0.3
"""Coincident peak of a 台区 as a share of the summed contracted capacity of its customers."""

CT_PRIMARIES_A: Final = (
    15,
    20,
    30,
    40,
    50,
    75,
    100,
    150,
    200,
    250,
    300,
    400,
    500,
    600,
    750,
    800,
    1000,
    1200,
    1500,
)
CT_SECONDARY_A: Final = 5
CT_HEADROOM: Final = 1.25
"""A CT's primary is the smallest standard one at least this many times the rated current."""
PT_10KV: Final = "10000/100"
LV_KV: Final = 0.4
HV_KV: Final = 10.0
DIRECT_METER_MAX_KVA: Final = 40
"""Above this a 380 V customer is metered through CTs (a direct meter carries at most 60 A)."""


def capacity_for_demand(demand_kva: float) -> int:
    """Smallest standard public-transformer capacity covering ``demand_kva`` [kVA], at most 630."""
    for size in PUBLIC_CAPACITIES_KVA:
        if size >= demand_kva:
            return size
    return PUBLIC_CAPACITIES_KVA[-1]


def ct_ratio_for(capacity_kva: float, voltage_kv: float) -> str:
    """CT ratio ("600/5") for a load of ``capacity_kva`` [kVA] at line voltage ``voltage_kv`` [kV]."""
    rated_a = capacity_kva / (math.sqrt(3) * voltage_kv)
    need = rated_a * CT_HEADROOM
    for primary in CT_PRIMARIES_A:
        if primary >= need:
            return f"{primary}/{CT_SECONDARY_A}"
    return f"{CT_PRIMARIES_A[-1]}/{CT_SECONDARY_A}"


# -- customer classes -------------------------------------------------------------------------------

CLASS_ORDER: Final = (
    CustomerClass.RESIDENTIAL,
    CustomerClass.GENERAL_COMMERCIAL,
    CustomerClass.LARGE_INDUSTRIAL,
    CustomerClass.AGRICULTURAL,
)
SHARE_BANDS: Final = {
    CustomerClass.GENERAL_COMMERCIAL: (0.085, 0.095),
    CustomerClass.LARGE_INDUSTRIAL: (0.006, 0.009),
    CustomerClass.AGRICULTURAL: (0.025, 0.035),
}
"""Share of customers per class, drawn once per seed inside the band; residential takes the rest (86-88%)."""

TARIFFS: Final = {
    CustomerClass.RESIDENTIAL: "RES-TIER-2024",
    CustomerClass.GENERAL_COMMERCIAL: "GC-TOU-2024",
    CustomerClass.LARGE_INDUSTRIAL: "LI-TWOPART-2024",
    CustomerClass.AGRICULTURAL: "AGR-FLAT-2024",
}

CLASS_LABELS: Final = {
    CustomerClass.RESIDENTIAL: "居民生活 residential",
    CustomerClass.GENERAL_COMMERCIAL: "一般工商业 general commercial",
    CustomerClass.LARGE_INDUSTRIAL: "大工业 large industrial",
    CustomerClass.AGRICULTURAL: "农业生产 agricultural",
}

# Contracted capacity [kVA] choices and weights, per (class, supply voltage).
RES_CAPACITIES: Final = ((4, 6, 8, 10), (0.2, 0.4, 0.3, 0.1))
SMALL_1PH_CAPACITIES: Final = ((4, 6, 8, 10), (0.3, 0.3, 0.25, 0.15))
GC_3PH_CAPACITIES: Final = ((10, 15, 20, 30, 40, 50, 63, 80, 100), (14, 16, 18, 16, 10, 10, 7, 5, 4))
AGR_3PH_CAPACITIES: Final = ((7.5, 11, 15, 22, 30), (25, 30, 25, 12, 8))
GC_THREE_PHASE_SHARE: Final = 0.6
AGR_THREE_PHASE_SHARE: Final = 0.7

# -- meters and terminals ---------------------------------------------------------------------------

METER_MAKERS: Final = (
    ("威胜", "WS", 18),
    ("林洋", "LY", 16),
    ("华立", "HL", 15),
    ("海兴", "HX", 14),
    ("炬华", "JH", 14),
    ("科陆", "KL", 12),
    ("三星医疗", "SX", 11),
)
"""(name, batch code, market share in %) of smart-meter vendors."""
TERMINAL_MAKERS: Final = ("威胜", "科陆", "林洋", "鼎信", "东软", "海兴")
REPLACED_SHARE: Final = 0.08
"""Meters replaced individually after the 台区 campaign (fault, upgrade): a later date and another batch."""
CAMPAIGN_YEARS: Final = (2013, 2023)
"""Smart-meter roll-out: each 台区 was fitted in one campaign in these years."""

CONCENTRATOR_CHANNELS: Final = (("4g", "gprs", "ethernet"), (0.55, 0.40, 0.05))
LARGE_TERMINAL_CHANNELS: Final = (("4g", "gprs", "ethernet"), (0.60, 0.30, 0.10))
"""Uplink to the master station. PLC is the concentrator's link to its meters, not an uplink, so no
terminal is given the ``plc`` channel."""

BOX_SIZES: Final = ((1, 2, 3, 4, 6, 8, 9, 12), (8, 12, 6, 20, 22, 12, 8, 12))
"""Meters per meter box (表箱) and weights."""
READING_DAYS: Final = ((1, 5, 10, 15, 20, 25), (50, 10, 10, 12, 10, 8))
"""Meter-reading day (抄表例日) of a 台区's billing group, and weights."""

# (province, city, 4-digit administrative code) of prefecture-level cities a demo utility may serve.
CITIES: Final = (
    ("浙江省", "嘉兴市", "3304"),
    ("江苏省", "扬州市", "3210"),
    ("山东省", "潍坊市", "3707"),
    ("河南省", "洛阳市", "4103"),
    ("湖北省", "宜昌市", "4205"),
    ("湖南省", "岳阳市", "4306"),
    ("安徽省", "芜湖市", "3402"),
    ("河北省", "保定市", "1306"),
    ("四川省", "绵阳市", "5107"),
    ("福建省", "泉州市", "3505"),
    ("江西省", "赣州市", "3607"),
    ("山西省", "大同市", "1402"),
)

STREET_SUFFIXES: Final = ("路", "街", "大道", "东路", "西路", "南路", "北路", "中路")
VILLAGE_SUFFIXES: Final = ("村", "家村", "庄", "家湾", "家坝", "店村", "桥村")
TOWN_SUFFIXES: Final = ("集", "庄", "桥", "店", "河", "坝", "湾", "口")
SHOP_TYPES: Final = (
    "超市",
    "便利店",
    "餐馆",
    "饭店",
    "五金店",
    "大药房",
    "理发店",
    "服装店",
    "水果店",
    "茶楼",
    "宾馆",
    "汽修厂",
    "幼儿园",
    "诊所",
    "快递站",
    "烟酒店",
)
INDUSTRIES: Final = (
    "纺织",
    "机械",
    "化工",
    "建材",
    "食品",
    "造纸",
    "电子",
    "钢铁",
    "塑业",
    "印染",
    "水泥",
    "铸造",
)
FARM_KINDS: Final = ("灌溉站", "种植专业合作社", "养殖场", "排灌站")
