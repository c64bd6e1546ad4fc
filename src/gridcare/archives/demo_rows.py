"""Rows of the demo archive from its plan: customers, 台区 and boxes, meters, terminals, metering points."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import numpy as np

from gridcare.archives import demo_catalog as cat
from gridcare.archives.addresses import ratio_value
from gridcare.archives.demo_data import (
    AGR,
    CLASS_VALUES,
    GC,
    HV_CT,
    LI,
    LV_CT,
    METER_KINDS,
    RES,
    Column,
    DemoData,
    OrgFacts,
    Plan,
    Table,
    batch_codes,
    choice,
    d64,
    dates_between,
    meter_addresses,
)
from gridcare.archives.demo_people import Pools, credit_codes, id_numbers, person_names, phone_numbers


def _box_address(org: OrgFacts, plan: Plan, area: int, box: int) -> str:
    """Urban: "...路12号2单元" (three units per building); rural: "...张家村3组" (four boxes per group)."""
    s = int(plan.area_station[area])
    base = f"{org.station_prefix[s]}{plan.area_place[area]}"
    offset = (plan.area_place_no[area] - 1) * 40
    if org.station_urban[s]:
        return f"{base}{offset + box // 3 + 1}号{box % 3 + 1}单元"
    return f"{base}{(offset + box) // 4 + 1}组"


def customers_table(
    rng: np.random.Generator, pools: Pools, org: OrgFacts, plan: Plan, data: DemoData
) -> None:
    classes, station = plan.classes, plan.station
    n, n_lv = len(classes), len(plan.cust_area)
    coop = (classes == AGR) & (rng.random(n) < 0.3)
    person = (classes == RES) | ((classes == AGR) & ~coop)
    county6 = np.array([int(c) for c in org.county_codes6], dtype=np.int64)[org.station_county[station]]

    names: list[str] = [""] * n
    id_nos: list[str] = [""] * n
    who = np.flatnonzero(person)
    p_names, male = person_names(rng, pools, len(who))
    born = county6[who].copy()
    moved = rng.random(len(who)) < 0.15  # born elsewhere in the province
    elsewhere = np.array([int(c) for c in pools.province_codes(org.city4[:2])], dtype=np.int64)
    born[moved] = elsewhere[rng.integers(0, len(elsewhere), size=int(moved.sum()))]
    for i, name, id_no in zip(who.tolist(), p_names, id_numbers(rng, born, male, cat.AS_OF), strict=True):
        names[i] = name
        id_nos[i] = id_no

    firms = np.flatnonzero(~person)
    sole = (classes[firms] == GC) & (plan.capacity[firms] <= 10)
    codes = credit_codes(rng, [f"{c:06d}" for c in county6[firms].tolist()], sole)
    prefix = rng.integers(0, len(pools.company_prefixes), size=len(firms))
    shop = rng.integers(0, len(cat.SHOP_TYPES), size=len(firms))
    industry = rng.integers(0, len(cat.INDUSTRIES), size=len(firms))
    farm = rng.integers(0, len(cat.FARM_KINDS), size=len(firms))
    city_short = org.city.removesuffix("市")
    for j, i in enumerate(firms.tolist()):
        cls = int(classes[i])
        if cls == GC:
            names[i] = f"{pools.company_prefixes[int(prefix[j])]}{cat.SHOP_TYPES[int(shop[j])]}"
        elif cls == LI:
            names[i] = (
                f"{city_short}{pools.company_prefixes[int(prefix[j])]}{cat.INDUSTRIES[int(industry[j])]}有限公司"
            )
        else:
            names[i] = f"{plan.area_place[int(plan.cust_area[i])]}{cat.FARM_KINDS[int(farm[j])]}"
        id_nos[i] = codes[j]

    addresses: list[str] = []
    box_address = ""
    for i, (a, b, k) in enumerate(
        zip(plan.cust_area.tolist(), plan.cust_box.tolist(), plan.cust_slot.tolist(), strict=True)
    ):
        if k == 0:
            box_address = _box_address(org, plan, a, b)
        if org.station_urban[plan.area_station[a]]:
            room = f"{k // 2 + 1}0{k % 2 + 1}室" if classes[i] == RES else f"底商{k + 1}号"
        else:
            room = f"{(plan.area_place_no[a] - 1) * 300 + b * 12 + k + 1}号"
        addresses.append(box_address + room)
    parks = ("工业园区", "经济开发区", "高新技术产业园")
    park = rng.integers(0, len(parks), size=n - n_lv)
    number = rng.integers(1, 300, size=n - n_lv)
    for j, s in enumerate(plan.li_station.tolist()):
        addresses.append(f"{org.station_prefix[s]}{parks[int(park[j])]}{int(number[j])}号")

    opened = dates_between(
        rng, np.full(n, d64(date(1990, 1, 1))), np.full(n, d64(cat.AS_OF - timedelta(days=60)))
    )
    days = choice(rng, cat.READING_DAYS, len(plan.sizes))
    groups = [
        f"{org.station_codes[int(plan.area_station[a])]}-{int(days[a]):02d}" for a in plan.cust_area.tolist()
    ]
    groups += [f"{org.station_codes[s]}-LI" for s in plan.li_station.tolist()]
    decimals = {v: Decimal(str(v)).quantize(Decimal("0.01")) for v in np.unique(plan.capacity).tolist()}
    data.tables["customers"] = Table(
        "customers",
        {
            "id": np.arange(1, n + 1, dtype=np.int64),
            "customer_no": [f"{org.city4[:2]}{i:08d}" for i in range(1, n + 1)],
            "name": names,
            "id_number": id_nos,
            "phone": phone_numbers(rng, pools, n),
            "address": addresses,
            "customer_class": [CLASS_VALUES[c] for c in classes.tolist()],
            "voltage_level": [
                "10kV" if c == LI else "380V" if t else "220V"
                for c, t in zip(classes.tolist(), plan.three_phase.tolist(), strict=True)
            ],
            "contracted_capacity_kva": [decimals[v] for v in plan.capacity.tolist()],
            "billing_group": groups,
            "tariff_code": [cat.TARIFFS[cat.CLASS_ORDER[c]] for c in classes.tolist()],
            "org_id": np.array(org.station_ids, dtype=np.int64)[station],
            "status": ["active"] * n,
            "opened_on": opened,
        },
    )


def areas_and_boxes(org: OrgFacts, plan: Plan, data: DemoData) -> None:
    n_areas = len(plan.sizes)
    n_li = len(plan.li_station)
    customers = data.tables["customers"].columns
    station_ids = np.array(org.station_ids, dtype=np.int64)
    in_station: dict[int, int] = {}
    codes, names, addresses = [], [], []
    for a, s in enumerate(plan.area_station.tolist()):
        in_station[s] = in_station.get(s, 0) + 1
        codes.append(f"TQ{org.station_codes[s]}{in_station[s]:04d}")
        names.append(f"{plan.area_place[a]}{plan.area_place_no[a]}号公变")
        addresses.append(_box_address(org, plan, a, 0).removesuffix("1单元") + "旁")
    first_li = len(plan.cust_area)
    for j, s in enumerate(plan.li_station.tolist()):
        in_station[s] = in_station.get(s, 0) + 1
        codes.append(f"ZB{org.station_codes[s]}{in_station[s]:04d}")
        names.append(f"{customers['name'][first_li + j]}专变")
        addresses.append(customers["address"][first_li + j])
    data.tables["transformer_areas"] = Table(
        "transformer_areas",
        {
            "id": np.arange(1, n_areas + n_li + 1, dtype=np.int64),
            "code": codes,
            "name": names,
            "feeder_id": np.concatenate([plan.area_feeder, plan.li_feeder]),
            "org_id": station_ids[np.concatenate([plan.area_station, plan.li_station])],
            "capacity_kva": np.concatenate([plan.area_capacity, plan.capacity[len(plan.cust_area) :]]).astype(
                np.int64
            ),
            "address": addresses,
            "kind": ["public"] * n_areas + ["dedicated"] * n_li,  # 公变 TQ..., 专变 ZB...
        },
    )
    # boxes: per public 台区 the supply (JP cabinet) box, then the customer boxes; then one per 专变
    box_area, box_address = [], []
    for a in range(n_areas):
        box_area.append(a + 1)
        box_address.append(addresses[a].removesuffix("旁") + "配电柜")
        box_area.extend([a + 1] * int(plan.area_boxes[a]))
        box_address.extend(_box_address(org, plan, a, b) for b in range(int(plan.area_boxes[a])))
    box_area.extend(range(n_areas + 1, n_areas + n_li + 1))
    box_address.extend(addresses[n_areas:])
    n_boxes = len(box_area)
    data.tables["meter_boxes"] = Table(
        "meter_boxes",
        {
            "id": np.arange(1, n_boxes + 1, dtype=np.int64),
            "code": [f"XB{i:09d}" for i in range(1, n_boxes + 1)],
            "transformer_area_id": box_area,
            "address": box_address,
        },
    )


def devices(rng: np.random.Generator, org: OrgFacts, plan: Plan, data: DemoData) -> None:
    """Meters, terminals and metering points: a supply point per public 台区, a billing point per customer."""
    n_areas, n_li, n_lv = len(plan.sizes), len(plan.li_station), len(plan.cust_area)
    n_cust = n_lv + n_li
    station_ids = np.array(org.station_ids, dtype=np.int64)

    # meter order: per public 台区 the supply meter then its customers' meters; then the 专变 meters
    supply_pos = np.cumsum(np.r_[0, plan.sizes[:-1] + 1])  # position of each supply meter
    is_supply = np.zeros(n_areas + n_cust, dtype=bool)
    is_supply[supply_pos] = True
    cust_pos = np.r_[
        np.flatnonzero(~is_supply[: n_areas + n_lv]), np.arange(n_areas + n_lv, n_areas + n_cust)
    ]
    n_meters = n_areas + n_cust
    meter_customer = np.zeros(n_meters, dtype=np.int64)  # 0 = supply meter
    meter_customer[cust_pos] = np.arange(1, n_cust + 1)

    kind = np.full(n_meters, LV_CT, dtype=np.int64)
    kind[cust_pos] = plan.kind
    ct = [""] * n_meters
    pt = ["1/1"] * n_meters
    for a, pos in enumerate(supply_pos.tolist()):
        ct[pos] = cat.ct_ratio_for(float(plan.area_capacity[a]), cat.LV_KV)
    for c, pos in enumerate(cust_pos.tolist()):
        k = int(plan.kind[c])
        if k == LV_CT:
            ct[pos] = cat.ct_ratio_for(float(plan.capacity[c]), cat.LV_KV)
        elif k == HV_CT:
            ct[pos] = cat.ct_ratio_for(float(plan.capacity[c]), cat.HV_KV)
            pt[pos] = cat.PT_10KV
        else:
            ct[pos] = "1/1"
    ratios = {r: ratio_value(r) for r in set(ct) | set(pt)}
    multiplier = np.array([ratios[c] * ratios[p] for c, p in zip(ct, pt, strict=True)], dtype=np.int64)

    # install dates: one roll-out campaign per 台区 (vendor, batch); some meters replaced since
    lo, hi = cat.CAMPAIGN_YEARS
    n_places = n_areas + n_li
    campaign = dates_between(
        rng, np.full(n_places, d64(date(lo, 1, 1))), np.full(n_places, d64(date(hi, 12, 31)))
    )
    share = np.array([m[2] for m in cat.METER_MAKERS], dtype=np.float64)
    campaign_maker = rng.choice(len(share), size=n_places, p=share / share.sum())
    campaign_lot = rng.integers(1, 60, size=n_places)
    meter_place = np.r_[np.repeat(np.arange(n_areas), plan.sizes + 1), np.arange(n_areas, n_places)]
    opened = data.tables["customers"].columns["opened_on"]
    assert isinstance(opened, np.ndarray)
    first = campaign[meter_place]
    first[cust_pos] = np.maximum(first[cust_pos], opened)
    replaced = (rng.random(n_meters) < cat.REPLACED_SHARE) & (meter_customer > 0)
    installed = first.copy()
    installed[replaced] = dates_between(rng, first[replaced], np.full(int(replaced.sum()), d64(cat.AS_OF)))
    maker = campaign_maker[meter_place]
    maker[replaced] = rng.choice(len(share), size=int(replaced.sum()), p=share / share.sum())
    lot = campaign_lot[meter_place]
    lot[replaced] = rng.integers(1, 60, size=int(replaced.sum()))

    meter_station = np.r_[np.repeat(plan.area_station, plan.sizes + 1), plan.li_station]
    data.tables["meters"] = Table(
        "meters",
        {
            "id": np.arange(1, n_meters + 1, dtype=np.int64),
            "address": meter_addresses(rng, n_meters),
            "meter_type": [METER_KINDS[k][0] for k in kind.tolist()],
            "phases": [METER_KINDS[k][1] for k in kind.tolist()],
            "rated_voltage": [METER_KINDS[k][2] for k in kind.tolist()],
            "rated_current": [METER_KINDS[k][3] for k in kind.tolist()],
            "accuracy_class": [METER_KINDS[k][4] for k in kind.tolist()],
            "ct_ratio": ct,
            "pt_ratio": pt,
            "multiplier": multiplier,
            "manufacturer": [cat.METER_MAKERS[m][0] for m in maker.tolist()],
            "batch": batch_codes(maker, installed, lot),
            "install_date": installed,
            "status": ["installed"] * n_meters,
            "protocol": ["dlt645-2007"] * n_meters,
            "org_id": station_ids[meter_station],
        },
    )

    # terminals: a concentrator per public 台区, a 专变终端 per large industrial customer
    place_station = np.r_[plan.area_station, plan.li_station]
    place_county = org.station_county[place_station]
    number = np.zeros(n_places, dtype=np.int64)
    for county in range(len(org.county_ids)):
        members = np.flatnonzero(place_county == county)
        number[members] = np.arange(1, len(members) + 1)
    channels = np.r_[
        choice(rng, cat.CONCENTRATOR_CHANNELS, n_areas),
        choice(rng, cat.LARGE_TERMINAL_CHANNELS, n_li),
    ]
    t_maker = rng.integers(0, len(cat.TERMINAL_MAKERS), size=n_places)
    data.tables["terminals"] = Table(
        "terminals",
        {
            "id": np.arange(1, n_places + 1, dtype=np.int64),
            "area_code": [org.area_codes[c] for c in place_county.tolist()],
            "terminal_number": number,
            "terminal_type": ["concentrator"] * n_areas + ["large_customer"] * n_li,
            "protocol": ["gdw1376.1"] * n_places,
            "channel": channels.tolist(),
            "manufacturer": [cat.TERMINAL_MAKERS[m] for m in t_maker.tolist()],
            "org_id": station_ids[place_station],
            "transformer_area_id": np.arange(1, n_places + 1, dtype=np.int64),
        },
    )

    # metering points, in meter order: same place (台区 id = terminal id), Pn 1..n within the terminal
    place_first_meter = np.r_[supply_pos, np.arange(n_areas + n_lv, n_meters)]
    point_number = np.arange(n_meters) - place_first_meter[meter_place] + 1
    box_of_meter = np.empty(n_meters, dtype=np.int64)
    area_box_start = np.cumsum(np.r_[0, plan.area_boxes[:-1] + 1]) + 1  # id of each 台区's supply box
    box_of_meter[supply_pos] = area_box_start
    box_of_meter[cust_pos[:n_lv]] = area_box_start[plan.cust_area] + 1 + plan.cust_box
    first_li_box = int(area_box_start[-1] + plan.area_boxes[-1]) + 1
    box_of_meter[cust_pos[n_lv:]] = np.arange(first_li_box, first_li_box + n_li)
    data.tables["metering_points"] = Table(
        "metering_points",
        {
            "id": np.arange(1, n_meters + 1, dtype=np.int64),
            "code": [f"MP{i:010d}" for i in range(1, n_meters + 1)],
            "purpose": np.where(meter_customer > 0, "billing", "supply").tolist(),
            "customer_id": [c or None for c in meter_customer.tolist()],
            "meter_id": np.arange(1, n_meters + 1, dtype=np.int64),
            "transformer_area_id": meter_place + 1,
            "terminal_id": meter_place + 1,
            "meter_box_id": box_of_meter,
            "point_number": point_number,
            "valid_from": installed,
            "valid_to": [None] * n_meters,
        },
    )


FEEDER_HEAD_SEED = 0xFEED
"""Own random stream (``[seed, FEEDER_HEAD_SEED]``) of the feeder head meters: the tables before them are the
same with or without them."""
MAX_PN = 2040
"""Highest measuring point number of a terminal (Q/GDW 1376.1)."""
FEEDER_LOAD_FACTOR = 0.6
"""Peak feeder load as a share of the transformer capacity it serves (sizing of the head meter's CT)."""


def feeder_heads(data: DemoData) -> None:
    """A head meter (线路关口表) per 10 kV feeder, appended to ``meters``, and the ``feeder_meters`` rows.

    Each is a three-phase CT/PT meter (PT 10000/100, CT sized to the feeder's transformers at 10 kV, class
    0.2S) of the feeder's supply station, installed in a roll-out year and valid from its install date; the
    archive puts it on no metering point (its energy is the purchased side of sold vs purchased). It is read
    by a terminal of its feeder (``terminal_id`` / ``point_number``, :func:`head_meter_places`).
    """
    rng = np.random.default_rng([data.seed, FEEDER_HEAD_SEED])
    feeders, meters = data.tables["feeders"], data.tables["meters"]
    areas = data.tables["transformer_areas"].columns
    feeder_ids = np.asarray(feeders.column("id"), dtype=np.int64)
    n = len(feeder_ids)
    kva = np.bincount(
        np.asarray(areas["feeder_id"], dtype=np.int64),
        weights=np.asarray(areas["capacity_kva"], dtype=np.float64),
        minlength=int(feeder_ids.max(initial=0)) + 1,
    )[feeder_ids]
    ct = [cat.ct_ratio_for(float(k) * FEEDER_LOAD_FACTOR, cat.HV_KV) for k in kva.tolist()]
    multiplier = np.array([ratio_value(c) * ratio_value(cat.PT_10KV) for c in ct], dtype=np.int64)
    lo, hi = cat.CAMPAIGN_YEARS
    installed = dates_between(rng, np.full(n, d64(date(lo, 1, 1))), np.full(n, d64(date(hi, 12, 31))))
    share = np.array([m[2] for m in cat.METER_MAKERS], dtype=np.float64)
    maker = rng.choice(len(share), size=n, p=share / share.sum())
    lot = rng.integers(1, 60, size=n)
    taken = set(meters.column("address"))
    addresses = [a for a in meter_addresses(rng, n + len(taken)) if a not in taken][:n]
    first_id = int(np.max(np.asarray(meters.columns["id"]), initial=0)) + 1
    ids = np.arange(first_id, first_id + n, dtype=np.int64)
    meter_type, phases, volts, amps, _ = METER_KINDS[HV_CT]
    rows: dict[str, Column] = {
        "id": ids,
        "address": addresses,
        "meter_type": [meter_type] * n,
        "phases": [phases] * n,
        "rated_voltage": [volts] * n,
        "rated_current": [amps] * n,
        "accuracy_class": ["0.2S"] * n,
        "ct_ratio": ct,
        "pt_ratio": [cat.PT_10KV] * n,
        "multiplier": multiplier,
        "manufacturer": [cat.METER_MAKERS[m][0] for m in maker.tolist()],
        "batch": batch_codes(maker, installed, lot),
        "install_date": installed,
        "status": ["installed"] * n,
        "protocol": ["dlt645-2007"] * n,
        "org_id": np.asarray(feeders.column("org_id"), dtype=np.int64),
    }
    for name, column in rows.items():
        old = meters.columns[name]
        meters.columns[name] = (
            np.concatenate([old, column])
            if isinstance(old, np.ndarray) and isinstance(column, np.ndarray)
            else [*(old.tolist() if isinstance(old, np.ndarray) else old), *column]
        )
    data.tables["feeder_meters"] = Table(
        "feeder_meters",
        {
            "id": np.arange(1, n + 1, dtype=np.int64),
            "feeder_id": feeder_ids,
            "meter_id": ids,
            "valid_from": installed,
            "valid_to": [None] * n,
            **head_meter_places(data, feeder_ids, ids),
        },
    )


def head_meter_places(data: DemoData, feeder_ids: np.ndarray, meter_ids: np.ndarray) -> dict[str, Column]:
    """``terminal_id`` and ``point_number`` columns of the feeder head meters ``meter_ids`` of ``feeder_ids``.

    The rule: a terminal of the feeder (one reading a current metering point of a 台区 of the feeder),
    a 专变 terminal (``large_customer``) if the feeder has one, else the one with the lowest id; lowest id
    first among equals; at the next free Pn (one above the highest in use there), meters taken in the order
    of their id as text. A feeder without a terminal, or a terminal with no free Pn, leaves its head meter
    unread (None)."""
    points = data.tables["metering_points"]
    areas = data.tables["transformer_areas"]
    terminals = data.tables["terminals"]
    feeder_of_area = dict(zip(areas.column("id"), areas.column("feeder_id"), strict=True))
    kind = dict(zip(terminals.column("id"), terminals.column("terminal_type"), strict=True))
    top: dict[int, int] = {}  # terminal -> highest Pn in use
    of_feeder: dict[int, set[int]] = {}
    for terminal, pn, area, valid_to in zip(
        points.column("terminal_id"),
        points.column("point_number"),
        points.column("transformer_area_id"),
        points.column("valid_to"),
        strict=True,
    ):
        if terminal is None or pn is None or valid_to is not None:
            continue
        top[terminal] = max(top.get(terminal, 0), int(pn))
        feeder = feeder_of_area.get(area)
        if feeder is not None:
            of_feeder.setdefault(int(feeder), set()).add(int(terminal))
    placed: dict[int, tuple[int, int]] = {}
    for feeder, meter in sorted(
        zip(feeder_ids.tolist(), meter_ids.tolist(), strict=True), key=lambda r: str(r[1])
    ):
        candidates = of_feeder.get(int(feeder))
        if not candidates:
            continue
        terminal = min(candidates, key=lambda t: (kind.get(t) != "large_customer", t))
        pn = top.get(terminal, 0) + 1
        if pn > MAX_PN:
            continue
        top[terminal] = pn
        placed[int(meter)] = (terminal, pn)
    where = [placed.get(int(m)) for m in meter_ids.tolist()]
    return {
        "terminal_id": [w[0] if w else None for w in where],
        "point_number": [w[1] if w else None for w in where],
    }
