"""Virtual meters and the meter bank: registers, freezes, clocks, relay, instantaneous values, curves."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from gridcare.simulator.bank import MeterBank
from gridcare.simulator.meter import VirtualMeter
from gridcare.simulator.registers import FWD, FWD_TARIFFS, ROLLOVER
from gridcare.simulator.specs import MeterSpec, build_fleet
from gridcare.timeutil import BEIJING

START = datetime(2026, 3, 2, tzinfo=BEIJING)  # a Monday


def spec(address: str = "201000000001", cls: str | None = "residential", **kw: Any) -> MeterSpec:
    values: dict[str, Any] = {"daily_kwh": 10.0, "initial_kwh": Decimal("1234.56")}
    values.update(kw)
    return MeterSpec(address=address, customer_class=cls, point_number=1, **values)


def small_bank(seed: int = 4, **kw: Any) -> MeterBank:
    return MeterBank.from_fleet(build_fleet(3, 5, seed=seed, start=START.date()), START, seed=seed, **kw)


def test_start_registers_split_over_tariffs_exactly() -> None:
    meter = VirtualMeter.create(spec(), START)
    r = meter.registers()
    assert r.forward_total == Decimal("1234.56")
    assert sum(r.forward_tariffs) == r.forward_total
    assert r.reverse_total == Decimal("0.00")


def test_registers_advance_with_daily_energy_and_keep_two_decimals() -> None:
    meter = VirtualMeter.create(spec(daily_kwh=10.0), START, seed=1)
    week = [meter.read(START + timedelta(days=d)).forward_total for d in range(1, 8)]
    increments = np.diff([Decimal("1234.56"), *week]).astype(float)
    assert all(v.as_tuple().exponent == -2 for v in week)
    assert increments.min() > 3.0 and increments.max() < 25.0  # noisy days around 10 kWh
    assert 6.0 < increments.mean() < 14.0


def test_total_equals_sum_of_tariffs_for_every_meter_and_freeze() -> None:
    bank = small_bank()
    for i in range(0, bank.n, 3):  # clocks off by a few minutes: freezes interpolate inside a quarter hour
        bank.set_clock(i, START, START + timedelta(seconds=37 * (i + 1)))
    for step in (timedelta(hours=5, minutes=7, seconds=3), timedelta(hours=30), timedelta(days=2, minutes=1)):
        bank.advance_to(bank.now + step)
        regs = bank.regs
        assert np.array_equal(regs[FWD], regs[list(FWD_TARIFFS)].sum(axis=0) % ROLLOVER)
    for i in range(bank.n):
        for record in bank.frozen_history(i):
            r = record.registers
            assert sum(r.forward_tariffs) == r.forward_total
    assert min(len(bank.frozen_history(i)) for i in range(bank.n)) >= 3


def test_tariff_registers_follow_the_tou_calendar() -> None:
    meter = VirtualMeter.create(spec(), START, seed=2)
    before = meter.registers()
    meter.advance_to(START + timedelta(hours=8))  # valley only (22:00-08:00)
    after = meter.registers()
    assert after.forward_tariffs[3] > before.forward_tariffs[3]
    assert after.forward_tariffs[:3] == before.forward_tariffs[:3]
    meter.advance_to(START + timedelta(hours=10))  # then peak 08:00-11:00
    later = meter.registers()
    assert later.forward_tariffs[1] > after.forward_tariffs[1]
    assert later.forward_tariffs[3] == after.forward_tariffs[3]


def test_daily_freeze_at_midnight_holds_the_registers_of_that_instant() -> None:
    meter = VirtualMeter.create(spec(), START, seed=3)
    at_start = meter.frozen(START.date())
    assert at_start is not None and at_start.registers == meter.registers()  # a meter started at 00:00
    midnight = START + timedelta(days=1)
    meter.advance_to(midnight)
    registers_at_midnight = meter.registers()
    meter.advance_to(midnight + timedelta(hours=9))
    record = meter.frozen(midnight.date())
    assert record is not None
    assert record.freeze_time == midnight and record.true_time == midnight
    assert record.registers == registers_at_midnight
    assert record.registers != meter.registers()
    assert meter.bank.daily_frozen(meter.address, midnight.date()) == [
        registers_at_midnight.forward_total,
        *registers_at_midnight.forward_tariffs,
    ]
    assert meter.frozen(midnight.date() + timedelta(days=1)) is None  # not yet


def test_fast_clock_freezes_early_with_the_registers_of_that_true_instant() -> None:
    fast = VirtualMeter.create(spec(), START, seed=5)
    fast.set_clock(START, START + timedelta(seconds=120))
    fast.advance_to(START + timedelta(days=1, hours=1))
    record = fast.frozen(date(2026, 3, 3))
    assert record is not None
    assert record.freeze_time == datetime(2026, 3, 3, tzinfo=BEIJING)  # by its own clock
    assert record.true_time == datetime(2026, 3, 2, 23, 58, tzinfo=BEIJING)
    reference = VirtualMeter.create(spec(), START, seed=5)  # same load, true clock
    assert record.registers == reference.read(datetime(2026, 3, 2, 23, 58, tzinfo=BEIJING))


def test_frozen_data_is_kept_62_days() -> None:
    meter = VirtualMeter.create(spec(), START, seed=6, curve_days=0)
    meter.advance_to(START + timedelta(days=70, hours=1))
    history = meter.frozen_history()
    assert len(history) == 62
    assert history[-1].day == START.date() + timedelta(days=70)
    assert history[0].day == START.date() + timedelta(days=9)
    assert meter.frozen(START.date() + timedelta(days=8)) is None
    days = [r.day for r in history]
    assert days == sorted(days) and len(set(days)) == 62
    totals = [r.registers.forward_total for r in history]
    assert totals == sorted(totals)


def test_clock_drift_arithmetic() -> None:
    meter = VirtualMeter.create(spec(), START, seed=7)
    bank = meter.bank
    bank.clock_drift_s_per_day[0] = 86.4  # 1 ms per second fast
    later = START + timedelta(days=10)
    assert meter.clock(later) == later + timedelta(seconds=864)
    meter.advance_to(later + timedelta(hours=1))
    # it froze day 10 when its clock read 00:00, i.e. 864 / 1.001 s early by true time
    record = meter.frozen(later.date())
    assert record is not None
    early = (later - record.true_time).total_seconds()
    assert early == pytest.approx(864 / 1.001, abs=1e-3)
    meter.set_clock(later + timedelta(hours=1), later + timedelta(hours=1))  # 校时
    assert meter.clock(later + timedelta(hours=1)) == later + timedelta(hours=1)
    assert meter.clock(later + timedelta(days=1, hours=1)) == later + timedelta(days=1, hours=1, seconds=86.4)


def test_open_relay_stops_consumption() -> None:
    meter = VirtualMeter.create(spec(), START, seed=8)
    meter.advance_to(START + timedelta(hours=12))
    meter.open_relay(START + timedelta(hours=12))
    stopped = meter.registers()
    meter.advance_to(START + timedelta(hours=20))
    assert meter.registers() == stopped
    now = meter.instantaneous()
    assert not now.relay_closed and now.active_kw == 0 and all(a == 0 for a in now.current_a)
    assert now.voltage_v[0] > 200  # still energised up to the relay
    meter.close_relay(START + timedelta(hours=20))
    meter.advance_to(START + timedelta(hours=23))
    assert meter.registers().forward_total > stopped.forward_total


def test_instantaneous_values_are_consistent_with_the_load() -> None:
    meter = VirtualMeter.create(spec(daily_kwh=12.0, power_factor=0.9), START, seed=9)
    t = START + timedelta(hours=20, minutes=5)
    v = meter.instantaneous(t)
    p = float(v.active_kw)
    assert p > 0.2  # evening
    assert float(v.voltage_v[0]) * float(v.current_a[0]) * 0.9 / 1000 == pytest.approx(p, rel=2e-3)
    assert float(v.reactive_kvar) == pytest.approx(p * np.tan(np.arccos(0.9)), rel=1e-3)
    assert v.power_factor == Decimal("0.900")
    # the power is the quarter hour's load: the curve point at 20:15 is the same value
    meter.advance_to(START + timedelta(hours=21))
    curve = dict(
        meter.load_curve(START + timedelta(hours=20, minutes=15), START + timedelta(hours=20, minutes=15))
    )
    assert float(curve[START + timedelta(hours=20, minutes=15)]) == pytest.approx(p, abs=1e-4)


def test_three_phase_ct_meter_shows_secondary_values() -> None:
    ct = spec(cls="large_industrial", daily_kwh=12000.0, multiplier=1500, phases=3, nominal_voltage_v=57.7)
    meter = VirtualMeter.create(ct, START, seed=10)
    v = meter.instantaneous(START + timedelta(hours=10))
    assert len(v.voltage_v) == 3 and all(50 < float(u) < 62 for u in v.voltage_v)
    primary_kw = float(v.active_kw) * 1500
    assert 200 < primary_kw < 1200  # ~500 kW mean for 12 MWh/day
    day = meter.read(START + timedelta(days=1)).forward_total - Decimal("1234.56")
    assert 4 < float(day) < 12  # 12 MWh / 1500 = 8 kWh on the register


def test_load_curve_adds_up_to_the_register_advance() -> None:
    meter = VirtualMeter.create(spec(daily_kwh=9.0), START, seed=11, curve_days=2)
    day2 = START + timedelta(days=1)
    meter.advance_to(day2)
    first = meter.registers().forward_total
    meter.advance_to(day2 + timedelta(days=1))
    curve = meter.load_curve(day2 + timedelta(minutes=15), day2 + timedelta(days=1))
    assert len(curve) == 96
    assert curve[0][0] == day2 + timedelta(minutes=15) and curve[-1][0] == day2 + timedelta(days=1)
    energy = sum(float(kw) for _, kw in curve) * 0.25
    assert energy == pytest.approx(float(meter.registers().forward_total - first), abs=0.02)
    assert meter.load_curve(START, START + timedelta(hours=1))  # day 1 is still held (2 days)
    meter.advance_to(day2 + timedelta(days=2))
    assert meter.load_curve(START, START + timedelta(hours=1)) == []  # dropped


def test_supply_meter_measures_its_customers_plus_loss() -> None:
    fleet = build_fleet(2, 20, seed=12, start=START.date(), class_mix={"residential": 1.0})
    bank = MeterBank.from_fleet(fleet, START, seed=12)
    before = bank.regs[FWD].copy()
    bank.advance_to(START + timedelta(days=1))
    primary = (bank.regs[FWD] - before) / 100 * bank.multiplier
    for g, terminal in enumerate(fleet):
        rows = np.nonzero(bank.groups == g)[0]
        supply = [r for r in rows if bank.class_code[r] < 0]
        customers = [r for r in rows if bank.class_code[r] >= 0]
        assert len(supply) == 1 and len(customers) == 20
        expected = primary[customers].sum() * (1 + bank.loss[supply[0]])
        assert primary[supply[0]] == pytest.approx(expected, abs=bank.multiplier[supply[0]] * 0.01)
        assert terminal.meters[0].is_supply


def test_same_seed_same_registers_and_cutting_time_does_not_matter() -> None:
    one, two = small_bank(seed=21), small_bank(seed=21)
    end = START + timedelta(days=3)
    one.advance_to(end)
    t = START
    for minutes in (1, 14, 15, 16, 299, 1440, 7, 1000):
        t += timedelta(minutes=minutes)
        two.advance_to(t)
    two.advance_to(end)
    assert np.array_equal(one.regs, two.regs)
    assert np.array_equal(one.frozen, two.frozen)
    other = small_bank(seed=22)
    other.advance_to(end)
    assert not np.array_equal(one.regs, other.regs)


def test_time_does_not_go_back() -> None:
    meter = VirtualMeter.create(spec(), START)
    meter.advance_to(START + timedelta(hours=1))
    with pytest.raises(ValueError, match="before the bank's time"):
        meter.advance_to(START)


def test_meter_spec_validation_names_the_field() -> None:
    with pytest.raises(ValueError, match="address"):
        spec(address="12345")
    with pytest.raises(ValueError, match="multiplier"):
        spec(multiplier=0)
    with pytest.raises(ValueError, match="customer_class"):
        spec(cls="hospital")
    with pytest.raises(ValueError, match="initial_kwh"):
        spec(initial_kwh=Decimal("1000000.00"))
