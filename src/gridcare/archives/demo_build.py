"""Pure generation of the demo supply company: ``build_demo(customers, seed) -> DemoData``.

No database here: the result is one column set per archive table (ids assigned in Python, tables in insert
order), which :mod:`gridcare.archives.demo_store` writes with bulk inserts. The same ``(customers, seed)``
gives the same data on every run (numpy ``Generator(seed)`` and ``Faker.seed_instance(seed)``; nothing reads
the clock; dates are relative to :data:`~gridcare.archives.demo_catalog.AS_OF`).

Shape of the utility:

* organisations: company -> county companies (up to 12) -> supply stations (about one per 3,500 customers);
* per county 110/35 kV substations, per station 10 kV feeders (about 25 台区 each);
* public 台区 (公变, kind ``public``, code ``TQ...``) of 50-300 customers (most 80-200), each with a standard
  transformer sized to its customers' contracted capacity, a supply (总表) metering point with a three-phase
  CT meter in its own box, meter boxes of 1-12 meters and one concentrator (Pn 1 = supply point, Pn 2.. =
  customers);
* each large industrial customer has its own dedicated transformer area (专变, kind ``dedicated``, code
  ``ZB...``) on a feeder, with a 10 kV CT/PT meter and one large-customer terminal (专变终端, Pn 1), and no
  supply point (no 台区 line loss: its losses are the 变损 billed to the customer);
* each feeder has a head meter (线路关口表: 10 kV CT/PT meter, row of ``feeder_meters``, no metering point).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gridcare.archives import demo_catalog as cat
from gridcare.archives.demo_data import (
    AGR,
    BUILD_STEPS,
    DIRECT,
    GC,
    HV_CT,
    LI,
    LV_CT,
    RES,
    SINGLE,
    Column,
    DemoData,
    OrgFacts,
    Plan,
    Progress,
    Table,
    choice,
    draw_box_sizes,
)
from gridcare.archives.demo_people import Pools, make_faker, town_names, village_names
from gridcare.archives.demo_rows import areas_and_boxes, customers_table, devices, feeder_heads
from gridcare.archives.demo_terms import add_billing_terms


def area_sizes(rng: np.random.Generator, total: int) -> np.ndarray:
    """Billing points per public 台区: ``total`` (>= 50) split into parts of 50-300, most 80-200."""
    lo, hi = cat.AREA_MIN_POINTS, cat.AREA_MAX_POINTS
    k = round(total / cat.AREA_TYPICAL_POINTS)
    k = min(max(k, -(-total // hi), 1), total // lo)
    weights = np.clip(rng.lognormal(np.log(cat.AREA_TYPICAL_POINTS), 0.3, size=k), lo + 5, hi - 20)
    sizes = np.clip(np.floor(weights * total / weights.sum()).astype(np.int64), lo, hi)
    residual = total - int(sizes.sum())
    while residual:
        step = 1 if residual > 0 else -1
        room = np.flatnonzero(sizes < hi) if step > 0 else np.flatnonzero(sizes > lo)
        pick = room[rng.permutation(len(room))[: abs(residual)]]
        sizes[pick] += step
        residual -= step * len(pick)
    return sizes


def _allocate(rng: np.random.Generator, items: int, bins: int, sigma: float = 0.3) -> np.ndarray:
    """``items`` split over ``bins`` (each at least one), proportional to lognormal weights."""
    weights = rng.lognormal(0.0, sigma, size=bins)
    share = weights / weights.sum() * (items - bins)
    counts = np.floor(share).astype(np.int64)
    left = items - bins - int(counts.sum())
    counts[np.argsort(-(share - counts), kind="stable")[:left]] += 1
    return counts + 1


def _columns(lists: dict[str, list[Any]]) -> dict[str, Column]:
    return dict(lists)


# -- organisation tree and grid -----------------------------------------------------------------------


def _organisations(
    rng: np.random.Generator, fake: Any, pools: Pools, station_areas: np.ndarray, n_co: int
) -> tuple[OrgFacts, Table]:
    province, city, city4 = cat.CITIES[fake.random_int(0, len(cat.CITIES) - 1)]
    n_st = len(station_areas)
    real = sorted(pools.county_codes(city4))
    codes6 = (real + [f"{city4}{k:02d}" for k in range(1, 100) if f"{city4}{k:02d}" not in real])[:n_co]
    places = town_names(rng, pools, n_co + n_st)
    split = np.array_split(np.arange(n_st), n_co)
    station_county = np.concatenate([np.full(len(p), i, dtype=np.int64) for i, p in enumerate(split)])
    urban = np.r_[True, station_county[1:] != station_county[:-1]]

    ids, codes, names, levels = [1], [city4], [f"国网{city}供电公司"], ["company"]
    parents: list[int | None] = [None]
    paths = ["/1/"]
    county_ids = list(range(2, 2 + n_co))
    county_names = [f"{places[i]}{'区' if i == 0 else '县'}" for i in range(n_co)]
    for i, cid in enumerate(county_ids):
        ids.append(cid)
        codes.append(codes6[i])
        names.append(f"国网{city}{county_names[i]}供电公司")
        levels.append("county")
        parents.append(1)
        paths.append(f"/1/{cid}/")
    station_ids = list(range(2 + n_co, 2 + n_co + n_st))
    station_codes: list[str] = []
    prefixes: list[str] = []
    station_places: list[list[str]] = []
    number_in_county: dict[int, int] = {}
    for s, sid in enumerate(station_ids):
        county = int(station_county[s])
        number_in_county[county] = number_in_county.get(county, 0) + 1
        code = f"{codes6[county]}{number_in_county[county]:02d}"
        town = f"{places[n_co + s]}{'街道' if urban[s] else '镇'}"
        ids.append(sid)
        codes.append(code)
        names.append(f"{town}供电所")
        levels.append("station")
        parents.append(county_ids[county])
        paths.append(f"/1/{county_ids[county]}/{sid}/")
        station_codes.append(code)
        prefixes.append(f"{province}{city}{county_names[county]}{town}")
        want = max(4, int(station_areas[s]))
        if urban[s]:
            drawn = {f"{fake.city_name()}{fake.random_element(cat.STREET_SUFFIXES)}" for _ in range(want * 2)}
        else:
            drawn = set(village_names(rng, pools, want * 2))
        pool = sorted(drawn)  # independent of set order; the permutation keeps it seed-dependent
        station_places.append([pool[i] for i in rng.permutation(len(pool))[:want].tolist()])
    table = Table(
        "organisations",
        {"id": ids, "code": codes, "name": names, "level": levels, "parent_id": parents, "path": paths},
    )
    org = OrgFacts(
        province=province,
        city=city,
        city4=city4,
        county_ids=county_ids,
        county_codes6=codes6,
        county_names=county_names,
        area_codes=[c[2:] for c in codes6],
        station_ids=station_ids,
        station_codes=station_codes,
        station_county=station_county,
        station_urban=urban,
        station_prefix=prefixes,
        station_places=station_places,
    )
    return org, table


def _grid(
    rng: np.random.Generator, org: OrgFacts, station_areas: np.ndarray, data: DemoData
) -> tuple[np.ndarray, list[list[int]]]:
    """Substations and feeders; returns the feeder id of each public 台区 and each station's feeder ids."""
    feeders_per_station = np.maximum(1, -(-station_areas // cat.AREAS_PER_FEEDER))
    subs: dict[str, list[Any]] = {"id": [], "code": [], "name": [], "voltage_kv": [], "org_id": []}
    short: list[str] = []
    county_subs: dict[int, list[int]] = {}
    for county, cid in enumerate(org.county_ids):
        stations = np.flatnonzero(org.station_county == county)
        n_subs = max(1, -(-int(feeders_per_station[stations].sum()) // 8))
        for j in range(n_subs):
            sid = len(subs["id"]) + 1
            kv = 110 if j == 0 or rng.random() < 0.4 else 35
            place = (
                org.county_names[county][:-1]
                if j == 0
                else org.station_places[int(stations[j % len(stations)])][0]
            )
            subs["id"].append(sid)
            subs["code"].append(f"BDZ{org.county_codes6[county]}{j + 1:02d}")
            subs["name"].append(f"{place}{kv}kV变电站")
            subs["voltage_kv"].append(kv)
            subs["org_id"].append(cid)
            short.append(place)
            county_subs.setdefault(county, []).append(sid)
    data.tables["substations"] = Table("substations", _columns(subs))

    feeders: dict[str, list[Any]] = {
        "id": [],
        "code": [],
        "name": [],
        "substation_id": [],
        "org_id": [],
        "voltage_kv": [],
    }
    area_feeder = np.empty(int(station_areas.sum()), dtype=np.int64)
    station_feeders: list[list[int]] = []
    number_in_sub: dict[int, int] = {}
    first_area = 0
    for s in range(len(station_areas)):
        choices = county_subs[int(org.station_county[s])]
        mine = []
        for k in range(int(feeders_per_station[s])):
            fid = len(feeders["id"]) + 1
            sub = choices[int(rng.integers(0, len(choices)))]
            number_in_sub[sub] = number_in_sub.get(sub, 0) + 1
            feeders["id"].append(fid)
            feeders["code"].append(f"XL{org.station_codes[s]}{k + 1:03d}")
            feeders["name"].append(f"{short[sub - 1]}{100 + number_in_sub[sub]}线")
            feeders["substation_id"].append(sub)
            feeders["org_id"].append(org.station_ids[s])
            feeders["voltage_kv"].append(10)
            mine.append(fid)
        station_feeders.append(mine)
        for fid, part in zip(mine, np.array_split(np.arange(int(station_areas[s])), len(mine)), strict=True):
            area_feeder[first_area + part] = fid
        first_area += int(station_areas[s])
    data.tables["feeders"] = Table("feeders", _columns(feeders))
    return area_feeder, station_feeders


def _class_counts(rng: np.random.Generator, n: int) -> dict[int, int]:
    counts = {}
    for code in (GC, LI, AGR):
        lo, hi = cat.SHARE_BANDS[cat.CLASS_ORDER[code]]
        counts[code] = round(n * rng.uniform(lo, hi))
    counts[RES] = n - counts[GC] - counts[LI] - counts[AGR]
    return counts


def _lv_capacities(
    rng: np.random.Generator, classes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Contracted capacity [kVA], three-phase flag (380 V) and meter kind per low-voltage customer."""
    n = len(classes)
    cap = np.zeros(n, dtype=np.float64)
    three = np.zeros(n, dtype=bool)
    res = classes == RES
    cap[res] = choice(rng, cat.RES_CAPACITIES, int(res.sum()))
    for cls, share, spec in (
        (GC, cat.GC_THREE_PHASE_SHARE, cat.GC_3PH_CAPACITIES),
        (AGR, cat.AGR_THREE_PHASE_SHARE, cat.AGR_3PH_CAPACITIES),
    ):
        members = np.flatnonzero(classes == cls)
        is3 = rng.random(len(members)) < share
        three[members[is3]] = True
        cap[members[is3]] = choice(rng, spec, int(is3.sum()))
        cap[members[~is3]] = choice(rng, cat.SMALL_1PH_CAPACITIES, int((~is3).sum()))
    kind = np.where(three, np.where(cap > cat.DIRECT_METER_MAX_KVA, LV_CT, DIRECT), SINGLE)
    return cap, three, kind


# -- the whole build --------------------------------------------------------------------------------


# -- the whole build --------------------------------------------------------------------------------


def build_demo(customers: int, seed: int, progress: Progress | None = None) -> DemoData:
    """Generate the demo utility for ``customers`` customers from ``seed`` (pure; no database).

    Raises ValueError naming ``customers`` when it is outside 50..5,000,000.
    """
    if not cat.MIN_CUSTOMERS <= customers <= cat.MAX_CUSTOMERS:
        raise ValueError(
            f"customers: must be between {cat.MIN_CUSTOMERS} and {cat.MAX_CUSTOMERS:,} "
            f"(one 台区 holds at least {cat.AREA_MIN_POINTS} customers), got {customers}"
        )
    report = progress or (lambda _step, _done, _total: None)
    rng = np.random.default_rng(seed)
    fake = make_faker(seed)
    pools = Pools.from_faker(fake)
    data = DemoData(customers=customers, seed=seed)

    counts = _class_counts(rng, customers)
    n_li = counts[LI]
    sizes = area_sizes(rng, customers - n_li)
    n_areas = len(sizes)
    n_co = min(cat.MAX_COUNTIES, max(1, round((customers / cat.CUSTOMERS_PER_COUNTY_SCALE) ** 0.5)))
    n_st = min(n_areas, max(2 * n_co, round(customers / cat.CUSTOMERS_PER_STATION)))
    station_areas = _allocate(rng, n_areas, n_st)
    org, org_table = _organisations(rng, fake, pools, station_areas, min(n_co, n_st))
    data.company = org_table.columns["name"][0]
    data.tables["organisations"] = org_table
    area_feeder, station_feeders = _grid(rng, org, station_areas, data)
    report("build", 1, BUILD_STEPS)

    plan = _plan(rng, org, counts, sizes, station_areas, area_feeder, station_feeders)
    report("build", 2, BUILD_STEPS)
    customers_table(rng, pools, org, plan, data)
    report("build", 3, BUILD_STEPS)
    areas_and_boxes(org, plan, data)
    devices(rng, org, plan, data)
    add_billing_terms(data)  # own random stream: the tables above are the same without it
    feeder_heads(data)  # own random stream too: a head meter (线路关口表) per feeder, after the other meters
    report("build", 4, BUILD_STEPS)
    data.public_areas = n_areas
    data.dedicated_areas = n_li
    report("build", BUILD_STEPS, BUILD_STEPS)
    return data


def _plan(
    rng: np.random.Generator,
    org: OrgFacts,
    counts: dict[int, int],
    sizes: np.ndarray,
    station_areas: np.ndarray,
    area_feeder: np.ndarray,
    station_feeders: list[list[int]],
) -> Plan:
    n_areas = len(sizes)
    n_li = counts[LI]
    area_station = np.repeat(np.arange(len(station_areas)), station_areas)
    lv_classes = rng.permutation(np.repeat([RES, GC, AGR], [counts[RES], counts[GC], counts[AGR]]))
    cust_area = np.repeat(np.arange(n_areas), sizes)
    lv_cap, lv_three, lv_kind = _lv_capacities(rng, lv_classes)
    demand = np.bincount(cust_area, weights=lv_cap, minlength=n_areas) * cat.DIVERSITY_FACTOR
    series = np.array(cat.PUBLIC_CAPACITIES_KVA)
    area_capacity = series[np.minimum(np.searchsorted(series, demand, side="left"), len(series) - 1)]

    box_parts = [draw_box_sizes(rng, int(n)) for n in sizes.tolist()]
    area_boxes = np.array([len(p) for p in box_parts], dtype=np.int64)
    box_sizes = np.concatenate(box_parts)
    box_in_area = np.concatenate([np.arange(len(p)) for p in box_parts])
    cust_box = np.repeat(box_in_area, box_sizes)
    box_start = np.cumsum(box_sizes) - box_sizes
    cust_slot = np.arange(len(cust_area)) - np.repeat(box_start, box_sizes)

    places, numbers = [], []
    seen: dict[tuple[int, str], int] = {}
    for s in area_station.tolist():
        pool = org.station_places[s]
        place = pool[int(rng.integers(0, len(pool)))]
        seen[(s, place)] = seen.get((s, place), 0) + 1
        places.append(place)
        numbers.append(seen[(s, place)])

    li_station = np.sort(rng.integers(0, len(station_areas), size=n_li))
    li_cap = choice(rng, (cat.DEDICATED_CAPACITIES_KVA, cat.DEDICATED_WEIGHTS), n_li).astype(np.float64)
    li_feeder = np.array(
        [station_feeders[s][int(rng.integers(0, len(station_feeders[s])))] for s in li_station.tolist()],
        dtype=np.int64,
    )
    return Plan(
        counts=counts,
        sizes=sizes,
        area_station=area_station,
        area_feeder=area_feeder,
        area_capacity=area_capacity,
        area_place=places,
        area_place_no=numbers,
        cust_area=cust_area,
        cust_box=cust_box,
        cust_slot=cust_slot,
        area_boxes=area_boxes,
        box_sizes=box_sizes,
        classes=np.concatenate([lv_classes, np.full(n_li, LI)]),
        station=np.concatenate([area_station[cust_area], li_station]),
        capacity=np.concatenate([lv_cap, li_cap]),
        three_phase=np.concatenate([lv_three, np.ones(n_li, dtype=bool)]),
        kind=np.concatenate([lv_kind, np.full(n_li, HV_CT)]),
        li_station=li_station,
        li_feeder=li_feeder,
    )
