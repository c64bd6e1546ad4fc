"""Billing terms of the demo's large industrial customers (大工业): PF standard, basic-charge basis,
transformer loss and lighting sub-usages, so that billing runs exercise 力调, the demand-based basic
charge, 变损 and 定量定比.

Kept apart from the rest of the demo: it runs after the devices are built, with its own random stream
(``[seed, 0x7E12]``), so the other tables are the same with or without it, except the billing meters of
the 高供低计 customers (see :func:`add_billing_terms`).

* PF standard 0.90 for every large industrial customer (《功率因数调整电费办法》: 160 kVA and above).
* Basic charge by maximum demand for about half of those with 1000 kVA and more, with a contracted
  demand of 50..80 % of the capacity (rounded to 10 kW); the others by capacity.
* Customers on a 315 or 400 kVA transformer are supplied at 10 kV but metered on the low side (高供低计):
  their meter is a low-voltage CT meter and the transformer loss is added from the company's loss table.
* Lighting (照明) as a sub-usage for about 60 % of them, priced by the general commercial tariff: a fixed
  quantity (1..3 kWh per kVA a month, rounded to 10 kWh) or, for a third of those, a fixed ratio (2..5 %).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

import numpy as np

from gridcare.archives import demo_catalog as cat
from gridcare.archives.demo_data import LV_CT, METER_KINDS, DemoData, Table
from gridcare.archives.models import CustomerClass

PF_STANDARD: Final = Decimal("0.90")
DEMAND_BASIS_MIN_KVA: Final = 1000
LOW_SIDE_METERED_KVA: Final = (315, 400)
LIGHTING_TARIFF: Final = cat.TARIFFS[CustomerClass.GENERAL_COMMERCIAL]
_KIND_COLUMNS: Final = ("meter_type", "phases", "rated_voltage", "rated_current", "accuracy_class")
HOURS_PER_MONTH: Final = 720
LOAD_FACTOR: Final = 0.5
"""Typical load (β) of the loss table: load losses at β² of the rated ones."""
# S11-series 10 kV transformers: kVA -> (no-load loss kW, load loss kW, no-load current %, impedance %)
TRANSFORMER_DATA: Final = {
    315: (0.48, 3.65, 0.7, 4.0),
    400: (0.57, 4.30, 0.7, 4.0),
    500: (0.68, 5.15, 0.6, 4.0),
    630: (0.81, 6.20, 0.6, 4.5),
    800: (0.98, 7.50, 0.6, 4.5),
    1000: (1.15, 10.30, 0.5, 4.5),
    1250: (1.36, 12.00, 0.5, 4.5),
    1600: (1.64, 14.50, 0.5, 4.5),
    2000: (1.94, 18.30, 0.4, 5.0),
    2500: (2.29, 21.20, 0.4, 5.0),
    3150: (2.70, 24.70, 0.4, 5.5),
    4000: (3.28, 29.10, 0.4, 5.5),
}


def loss_table_rows() -> dict[str, list[object]]:
    """Monthly loss per capacity: active = (P0 + β² Pk) x 720 h, reactive = (I0% + β² Uk%) x S x 720 h."""
    rows: dict[str, list[object]] = {"id": [], "capacity_kva": [], "active_kwh": [], "reactive_kvarh": []}
    for n, (kva, (p0, pk, i0, uk)) in enumerate(sorted(TRANSFORMER_DATA.items()), start=1):
        active = (p0 + LOAD_FACTOR**2 * pk) * HOURS_PER_MONTH
        reactive = (i0 + LOAD_FACTOR**2 * uk) / 100 * kva * HOURS_PER_MONTH
        rows["id"].append(n)
        rows["capacity_kva"].append(Decimal(kva).quantize(Decimal("0.01")))
        rows["active_kwh"].append(Decimal(round(active)).quantize(Decimal("0.01")))
        rows["reactive_kvarh"].append(Decimal(round(reactive)).quantize(Decimal("0.01")))
    return rows


def add_billing_terms(data: DemoData) -> None:
    """Add ``transformer_loss_table``, ``billing_terms`` and ``sub_usages`` to ``data`` and re-wire the
    billing meters of the 高供低计 customers as low-voltage CT meters."""
    rng = np.random.default_rng([data.seed, 0x7E12])
    customers = data.tables["customers"]
    classes = customers.column("customer_class")
    capacity = [float(c) for c in customers.column("contracted_capacity_kva")]
    ids = customers.column("id")
    li = [i for i, c in enumerate(classes) if c == CustomerClass.LARGE_INDUSTRIAL.value]
    n = len(li)
    draw_basis, draw_demand = rng.random(n), rng.uniform(0.5, 0.8, n)
    draw_light, draw_ratio = rng.random(n), rng.random(n)
    light_kwh, light_share = rng.uniform(1.0, 3.0, n), rng.uniform(0.02, 0.05, n)
    terms: dict[str, list[object]] = {
        k: []
        for k in (
            "id",
            "customer_id",
            "pf_standard",
            "basic_charge_basis",
            "contracted_demand_kw",
            "transformer_loss",
        )
    }
    subs: dict[str, list[object]] = {
        k: []
        for k in ("id", "customer_id", "seq", "name", "method", "kwh", "ratio", "tariff_code", "pf_adjusted")
    }
    low_side: list[int] = []
    for j, i in enumerate(li):
        cap = capacity[i]
        demand = cap >= DEMAND_BASIS_MIN_KVA and draw_basis[j] < 0.5
        low = int(cap) in LOW_SIDE_METERED_KVA
        if low:
            low_side.append(int(ids[i]))
        terms["id"].append(j + 1)
        terms["customer_id"].append(int(ids[i]))
        terms["pf_standard"].append(PF_STANDARD)
        terms["basic_charge_basis"].append("demand" if demand else "capacity")
        terms["contracted_demand_kw"].append(
            Decimal(round(cap * draw_demand[j] / 10) * 10).quantize(Decimal("0.01")) if demand else None
        )
        terms["transformer_loss"].append("table" if low else "none")
        if draw_light[j] < 0.6:
            ratio = draw_ratio[j] < 1 / 3
            subs["id"].append(len(subs["id"]) + 1)
            subs["customer_id"].append(int(ids[i]))
            subs["seq"].append(0)
            subs["name"].append("照明 lighting")
            subs["method"].append("fixed_ratio" if ratio else "fixed_quantity")
            subs["kwh"].append(None if ratio else Decimal(round(cap * light_kwh[j] / 10) * 10))
            subs["ratio"].append(Decimal(str(round(float(light_share[j]), 2))) if ratio else None)
            subs["tariff_code"].append(LIGHTING_TARIFF)
            subs["pf_adjusted"].append(True)
    data.tables["transformer_loss_table"] = Table("transformer_loss_table", dict(loss_table_rows()))
    data.tables["billing_terms"] = Table("billing_terms", dict(terms))
    data.tables["sub_usages"] = Table("sub_usages", dict(subs))
    _meter_low_side(data, set(low_side), {int(ids[i]): capacity[i] for i in li})


def _meter_low_side(data: DemoData, customers: set[int], capacity: dict[int, float]) -> None:
    """Billing meters of ``customers`` become low-voltage CT meters (CT by the 0.4 kV current, no PT)."""
    if not customers:
        return
    points = data.tables["metering_points"]
    meter_of = {
        int(c): int(m)
        for c, m in zip(points.column("customer_id"), points.column("meter_id"), strict=True)
        if c is not None and int(c) in customers
    }
    meters = data.tables["meters"]
    row_of = {int(m): r for r, m in enumerate(meters.column("id"))}
    kind = METER_KINDS[LV_CT]
    columns = {name: meters.column(name) for name in (*_KIND_COLUMNS, "ct_ratio", "pt_ratio", "multiplier")}
    for customer, meter in meter_of.items():
        r = row_of[meter]
        ct = cat.ct_ratio_for(capacity[customer], cat.LV_KV)
        primary, secondary = (int(x) for x in ct.split("/"))
        for name, value in zip(_KIND_COLUMNS, kind, strict=True):
            columns[name][r] = value
        columns["ct_ratio"][r] = ct
        columns["pt_ratio"][r] = "1/1"
        columns["multiplier"][r] = primary // secondary
    for name, values in columns.items():
        original = meters.columns[name]
        meters.columns[name] = (
            np.asarray(values, dtype=original.dtype) if isinstance(original, np.ndarray) else values
        )
