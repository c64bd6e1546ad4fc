"""Fleet specs: the seeded builder and the archive-row adapter."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from gridcare.simulator.specs import MeterSpec, TerminalSpec, build_fleet, fleet_from_archive

START = date(2026, 3, 1)


def test_build_fleet_shape_and_addresses() -> None:
    fleet = build_fleet(4, 25, seed=1, start=START)
    assert [t.address for t in fleet] == ["3301-00001", "3301-00002", "3301-00003", "3301-00004"]
    meters = [m for t in fleet for m in t.meters]
    assert len(meters) == 4 * 26
    assert len({m.address for m in meters}) == len(meters)
    assert all(len(m.address) == 12 and m.address.startswith("3301") for m in meters)
    for t in fleet:
        assert t.meters[0].is_supply and t.meters[0].point_number == 1 and t.meters[0].multiplier > 1
        assert [m.point_number for m in t.meters[1:]] == list(range(2, 27))
        assert not any(m.is_supply for m in t.meters[1:])


def test_build_fleet_draws_by_class() -> None:
    fleet = build_fleet(3, 40, seed=2, start=START, class_mix={"residential": 1.0}, with_supply_meter=False)
    meters = [m for t in fleet for m in t.meters]
    assert {m.customer_class for m in meters} == {"residential"}
    assert all(3.0 <= m.daily_kwh <= 15.0 and m.multiplier == 1 for m in meters)
    assert all(Decimal(0) < m.initial_kwh < Decimal(40000) for m in meters)
    industry = build_fleet(1, 10, seed=2, start=START, class_mix={"large_industrial": 1.0})[0].meters[1:]
    assert all(m.multiplier >= 1000 and m.phases == 3 and m.nominal_voltage_v == 57.7 for m in industry)
    assert all(m.daily_kwh >= 6 * (m.contracted_capacity_kva or 0) for m in industry)


def test_build_fleet_is_deterministic() -> None:
    assert build_fleet(3, 10, seed=5, start=START) == build_fleet(3, 10, seed=5, start=START)
    assert build_fleet(3, 10, seed=5, start=START) != build_fleet(3, 10, seed=6, start=START)


def test_build_fleet_rejects_bad_mix() -> None:
    with pytest.raises(ValueError, match="customer_class: 'hospital'"):
        build_fleet(1, 1, seed=1, start=START, class_mix={"hospital": 1.0})
    with pytest.raises(ValueError, match="class_mix"):
        build_fleet(1, 1, seed=1, start=START, class_mix={"residential": 0.0})


ROWS: dict[str, list[dict[str, Any]]] = {
    "terminals": [
        {"id": 1, "area_code": "3301", "terminal_number": 1, "terminal_type": "concentrator"},
        {"id": 2, "area_code": "3301", "terminal_number": 2, "terminal_type": "concentrator"},
    ],
    "meters": [
        {"id": 1, "address": "201000000001", "multiplier": 1, "phases": 1, "rated_voltage": "220V"},
        {"id": 2, "address": "201000000002", "multiplier": 1, "phases": 1, "rated_voltage": "220V"},
        {"id": 3, "address": "201000000003", "multiplier": 20, "phases": 3, "rated_voltage": "3x220/380V"},
        {"id": 4, "address": "201000000004", "multiplier": 1, "phases": 1, "rated_voltage": "220V"},
        {"id": 5, "address": "201000000005", "multiplier": 60, "phases": 3, "rated_voltage": "3x220/380V"},
        {"id": 6, "address": "201000000006", "multiplier": 1, "phases": 1, "rated_voltage": "220V"},
    ],
    "customers": [
        {"id": 1, "customer_class": "residential", "contracted_capacity_kva": Decimal("8.00")},
        {"id": 2, "customer_class": "residential", "contracted_capacity_kva": Decimal("8.00")},
        {"id": 3, "customer_class": "general_commercial", "contracted_capacity_kva": Decimal("50.00")},
        {"id": 4, "customer_class": "residential", "contracted_capacity_kva": Decimal("8.00")},
    ],
    "metering_points": [
        {"meter_id": 1, "customer_id": 1, "terminal_id": 1, "point_number": 2, "purpose": "billing",
         "valid_from": "2020-01-01", "valid_to": None},
        {"meter_id": 2, "customer_id": 2, "terminal_id": 1, "point_number": 3, "purpose": "billing",
         "valid_from": date(2020, 1, 1), "valid_to": None},
        {"meter_id": 3, "customer_id": 3, "terminal_id": 1, "point_number": 4, "purpose": "billing",
         "valid_from": "2020-01-01", "valid_to": None},
        {"meter_id": 5, "customer_id": None, "terminal_id": 1, "point_number": 1, "purpose": "supply",
         "valid_from": "2020-01-01", "valid_to": None},
        {"meter_id": 4, "customer_id": 4, "terminal_id": 2, "point_number": 1, "purpose": "billing",
         "valid_from": "2024-05-01", "valid_to": None},
        # meter 6 was replaced by meter 4 at point 1 of terminal 2 on 2024-05-01
        {"meter_id": 6, "customer_id": 4, "terminal_id": 2, "point_number": 1, "purpose": "billing",
         "valid_from": "2020-01-01", "valid_to": "2024-05-01"},
        {"meter_id": 1, "customer_id": 1, "terminal_id": None, "point_number": None, "purpose": "billing",
         "valid_from": "2019-01-01", "valid_to": "2020-01-01"},
    ],
}  # fmt: skip


def test_fleet_from_archive_rows() -> None:
    fleet = fleet_from_archive(
        ROWS["meters"], ROWS["metering_points"], ROWS["terminals"], ROWS["customers"], seed=3
    )
    assert [t.address for t in fleet] == ["3301-00001", "3301-00002"]
    first, second = fleet
    assert [m.point_number for m in first.meters] == [1, 2, 3, 4]
    supply, *customers = first.meters
    assert supply.is_supply and supply.address == "201000000005" and supply.multiplier == 60
    assert [m.customer_class for m in customers] == ["residential", "residential", "general_commercial"]
    shop = customers[2]
    assert shop.multiplier == 20 and shop.phases == 3 and shop.contracted_capacity_kva == 50.0
    assert 50 * 1.5 <= shop.daily_kwh <= 50 * 5
    assert [m.address for m in second.meters] == ["201000000004"]  # the current meter, not the old one
    same = fleet_from_archive(
        ROWS["meters"], ROWS["metering_points"], ROWS["terminals"], ROWS["customers"], seed=3
    )
    assert same == fleet


def test_fleet_from_archive_on_a_past_date_and_flat_rows() -> None:
    fleet = fleet_from_archive(
        ROWS["meters"], ROWS["metering_points"], ROWS["terminals"], ROWS["customers"], on=date(2023, 1, 1)
    )
    assert [m.address for m in fleet[1].meters] == ["201000000006"]
    flat_point = {"meter_id": 1, "terminal_id": 1, "point_number": 7, "customer_class": "agricultural",
                  "contracted_capacity_kva": 20}  # fmt: skip
    (terminal,) = fleet_from_archive(ROWS["meters"], [flat_point], ROWS["terminals"])
    assert terminal.meters[0].customer_class == "agricultural"


def test_fleet_from_archive_errors_name_the_field() -> None:
    point = {"meter_id": 99, "customer_id": 1, "terminal_id": 1, "point_number": 2}
    with pytest.raises(ValueError, match=r"metering_points.meter_id: 99"):
        fleet_from_archive(ROWS["meters"], [point], ROWS["terminals"], ROWS["customers"])
    with pytest.raises(ValueError, match=r"terminals.area_code"):
        fleet_from_archive(ROWS["meters"], ROWS["metering_points"][:4], [{"id": 1, "terminal_number": 1}])
    bad_class = [{"id": 1, "customer_class": "hospital"}]
    point = {"meter_id": 1, "customer_id": 1, "terminal_id": 1, "point_number": 2}
    with pytest.raises(ValueError, match="customer_class: 'hospital'"):
        fleet_from_archive(ROWS["meters"], [point], ROWS["terminals"], bad_class)


def test_terminal_spec_validation() -> None:
    meter = MeterSpec("201000000001", "residential", 1)
    with pytest.raises(ValueError, match="area_code"):
        TerminalSpec("33A1", 1, (meter,))
    with pytest.raises(ValueError, match="terminal_number"):
        TerminalSpec("3301", 70000, (meter,))
    with pytest.raises(ValueError, match="point_number"):
        TerminalSpec("3301", 1, (meter, meter))


def test_fleet_from_archive_takes_numpy_typed_columns() -> None:
    """The demo generator keeps columns as numpy arrays: ids are np.int64, dates np.datetime64."""
    meters = [
        {"id": np.int64(1), "address": "201000000001", "multiplier": np.int64(1), "phases": np.int64(1)}
    ]
    points = [
        {
            "meter_id": np.int64(1),
            "customer_id": 7,
            "terminal_id": np.int64(3),
            "point_number": np.int64(2),
            "purpose": "billing",
            "valid_from": np.datetime64("2021-06-01", "D"),
            "valid_to": None,
        }
    ]
    terminals = [{"id": np.int64(3), "area_code": "0501", "terminal_number": np.int64(12)}]
    customers = [{"id": 7, "customer_class": "residential", "contracted_capacity_kva": Decimal("6.00")}]
    (terminal,) = fleet_from_archive(meters, points, terminals, customers, on=date(2026, 1, 1))
    assert terminal.address == "0501-00012"
    assert terminal.meters[0].point_number == 2 and terminal.meters[0].customer_class == "residential"
    assert fleet_from_archive(meters, points, terminals, customers, on=date(2021, 5, 31)) == []


def test_feeder_head_meter_is_placed_on_its_feeder_and_sums_it() -> None:
    from datetime import datetime

    from gridcare.simulator.bank import MeterBank
    from gridcare.simulator.registers import day_number
    from gridcare.timeutil import BEIJING

    areas = [{"id": 1, "feeder_id": 7}, {"id": 2, "feeder_id": 7}]
    points = [{**p, "transformer_area_id": p["terminal_id"]} for p in ROWS["metering_points"]]
    meters = [*ROWS["meters"], {"id": 9, "address": "201000000009", "multiplier": 6000}]
    terminals = [{**ROWS["terminals"][1], "terminal_type": "large_customer"}, ROWS["terminals"][0]]
    heads = [{"feeder_id": 7, "meter_id": 9, "valid_from": "2020-01-01", "valid_to": None}]
    fleet = fleet_from_archive(
        meters, points, terminals, ROWS["customers"], seed=3, transformer_areas=areas, feeder_meters=heads
    )
    assert all(m.feeder == "7" for t in fleet for m in t.meters)
    head = fleet[1].meters[-1]  # on the 专变 terminal, at its next free Pn
    assert head.feeder_head and not head.is_supply and head.address == "201000000009"
    assert head.point_number == 2 and head.multiplier == 6000 and 0.02 <= head.loss_fraction <= 0.05
    plain = fleet_from_archive(meters, points, terminals, ROWS["customers"], seed=3)
    # without 台区 rows no meter knows its feeder: the head meter has nowhere to go
    assert (
        fleet_from_archive(meters, points, terminals, ROWS["customers"], seed=3, feeder_meters=heads) == plain
    )
    bank = MeterBank.from_fleet(fleet, datetime(2026, 3, 1, tzinfo=BEIJING), seed=3)
    power = bank._day_power(day_number(date(2026, 3, 1)))
    i = {a: n for n, a in enumerate(bank.addresses)}
    parts = power[i["201000000005"]] + power[i["201000000004"]]  # 台区 supply meter + customer without one
    assert np.allclose(power[i["201000000009"]], parts * (1 + head.loss_fraction))
