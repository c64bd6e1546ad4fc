"""Fault injection: every fault type changes what it should; plans are seeded; ground truth round-trips."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gridcare.simulator.bank import MeterBank
from gridcare.simulator.faults import (
    Fault,
    FaultKind,
    FaultPlan,
    FaultRates,
    corrupt_bytes,
    plan_faults,
    read_ground_truth,
    write_ground_truth,
)
from gridcare.simulator.meter import VirtualMeter
from gridcare.simulator.specs import MeterSpec, build_fleet
from gridcare.timeutil import BEIJING

START = datetime(2026, 4, 6, tzinfo=BEIJING)
TERMINAL = "3301-00001"
ADDRESS = "330100000002"


def at(hours: float) -> datetime:
    return START + timedelta(hours=hours)


def fault(
    kind: FaultKind, begin: float, end: float | None, meter: str | None = ADDRESS, **params: Any
) -> Fault:
    return Fault(1, kind, TERMINAL, meter, at(begin), None if end is None else at(end), params)


def meter_with(*faults: Fault, daily_kwh: float = 12.0, seed: int = 3) -> VirtualMeter:
    spec = MeterSpec(ADDRESS, "residential", 2, daily_kwh=daily_kwh, initial_kwh=Decimal("500.00"))
    return VirtualMeter.create(spec, START, seed=seed, faults=FaultPlan(faults))


def test_meter_stopped_register_flat_while_power_flows() -> None:
    meter = meter_with(fault(FaultKind.METER_STOPPED, 24, 72))
    at_stop = meter.read(at(24))
    inside = meter.read(at(60))
    assert inside == at_stop
    now = meter.instantaneous()
    assert now.active_kw > 0 and now.current_a[0] > 0
    assert meter.load_curve(at(59), at(60))[-1][1] > 0  # the curve still sees the load
    assert meter.read(at(96)).forward_total > at_stop.forward_total + Decimal("3")


def test_reversed_energy_moves_the_reverse_register() -> None:
    healthy = meter_with()
    reversed_ = meter_with(fault(FaultKind.REVERSED_ENERGY, 0, 48))
    h, r = healthy.read(at(48)), reversed_.read(at(48))
    assert r.forward_total == Decimal("500.00")
    assert r.reverse_total == h.forward_total - Decimal("500.00")
    assert sum(r.reverse_tariffs) == r.reverse_total
    assert r.reactive[2] > 0 and r.reactive[0] == 0  # quadrant III instead of I
    assert reversed_.instantaneous(at(40)).active_kw < 0


def test_meter_replacement_new_address_and_registers_near_zero() -> None:
    swap = fault(FaultKind.METER_REPLACEMENT, 30, 30, new_address="330190000002", start_kwh=0.5)
    meter = meter_with(swap)
    meter.advance_to(at(29))
    old_total = meter.registers().forward_total
    meter.advance_to(at(31))
    assert meter.address == "330190000002"
    assert Decimal("0.50") <= meter.registers().forward_total < Decimal("2.00")
    assert meter.frozen_history() == []  # the old meter's data left with it
    assert meter.bank.daily_frozen(ADDRESS, START.date()) is None
    assert ADDRESS not in meter.bank and "330190000002" in meter.bank
    log = meter.bank.replacements[0]
    assert log["old_address"] == ADDRESS and log["old_registers"].forward_total >= old_total
    meter.advance_to(at(49))
    record = meter.frozen((START + timedelta(days=2)).date())
    assert record is not None and record.meter == "330190000002"
    assert record.registers.forward_total < Decimal("20")


def test_register_rollover_wraps_to_zero() -> None:
    meter = meter_with(fault(FaultKind.REGISTER_ROLLOVER, 12, 12, margin_kwh=2.0))
    meter.advance_to(at(12))
    preset = meter.registers()
    assert preset.forward_total == Decimal("999997.99")
    assert sum(preset.forward_tariffs) == preset.forward_total
    meter.advance_to(at(48))
    wrapped = meter.registers()
    assert wrapped.forward_total < Decimal("50")  # 999999.99 -> 0 and on
    assert sum(wrapped.forward_tariffs) % Decimal("1000000") == wrapped.forward_total


def test_theft_scaled_halves_the_register_but_not_the_supply_meter() -> None:
    fleet = build_fleet(1, 4, seed=9, start=START.date(), class_mix={"residential": 1.0})
    target = fleet[0].meters[1].address
    plan = FaultPlan([Fault(1, FaultKind.THEFT_SCALED, TERMINAL, target, at(0), at(72), {"factor": 0.5})])
    honest = MeterBank.from_fleet(fleet, START, seed=9)
    thief = MeterBank.from_fleet(fleet, START, seed=9, faults=plan)
    before = honest.regs[0].copy()
    honest.advance_to(at(72))
    thief.advance_to(at(72))
    i = honest.index_of(target)
    assert (thief.regs[0, i] - before[i]) == pytest.approx((honest.regs[0, i] - before[i]) / 2, abs=2)
    supply = honest.index_of(fleet[0].meters[0].address)
    assert thief.regs[0, supply] == honest.regs[0, supply]  # line loss goes up instead
    others = [honest.index_of(m.address) for m in fleet[0].meters[2:]]
    assert np.array_equal(thief.regs[:, others], honest.regs[:, others])


def test_theft_intermittent_zeroes_whole_hours() -> None:
    meter = meter_with(fault(FaultKind.THEFT_INTERMITTENT, 0, 48, zero_probability=0.5))
    meter.advance_to(at(47))
    curve = [float(kw) for _, kw in meter.load_curve(at(0.25), at(24))]
    hours = np.array(curve).reshape(24, 4)
    zero_hours = (hours == 0).all(axis=1)
    assert 3 <= zero_hours.sum() <= 21
    assert ((hours == 0).any(axis=1) == zero_hours).all()  # all or nothing within an hour
    assert meter.registers().forward_total - Decimal("500.00") < Decimal(str(sum(curve) * 0.25 * 2 + 1))


def test_theft_night_bypass_zero_at_night_only() -> None:
    meter = meter_with(fault(FaultKind.THEFT_NIGHT_BYPASS, 0, None, from_hour=22, to_hour=6))
    meter.advance_to(at(30))
    curve = dict(meter.load_curve(at(0.25), at(24)))
    night = [kw for t, kw in curve.items() if (t - timedelta(minutes=15)).hour in (22, 23, 0, 1, 2, 3, 4, 5)]
    day = [kw for t, kw in curve.items() if 6 <= (t - timedelta(minutes=15)).hour < 22]
    assert len(night) == 32 and all(kw == 0 for kw in night)
    assert len(day) == 64 and all(kw > 0 for kw in day)
    assert meter.instantaneous(at(26)).active_kw == 0  # 02:00: the meter sees nothing


def test_clock_drift_fault_in_the_bank() -> None:
    meter = meter_with(fault(FaultKind.CLOCK_DRIFT, 24, None, drift_s_per_day=-120.0, step_s=30.0))
    meter.advance_to(at(24))
    assert meter.clock(at(24)) == at(24) + timedelta(seconds=30)
    assert meter.clock(at(24 + 72)) == at(24 + 72) + timedelta(seconds=30 - 360)
    meter.advance_to(at(24 + 72 + 1))
    record = meter.frozen((START + timedelta(days=4)).date())
    assert record is not None and record.true_time > START + timedelta(days=4)  # a slow clock freezes late


def test_terminal_queries() -> None:
    plan = FaultPlan(
        [
            fault(FaultKind.TERMINAL_OFFLINE, 1, 2, meter=None),
            fault(FaultKind.DROPPED_REPLIES, 3, 4, meter=None, probability=1.0),
            fault(FaultKind.CORRUPTED_BYTES, 5, 6, meter=None, probability=1.0),
            fault(FaultKind.SLOW_REPLIES, 7, 8, meter=None, min_delay_s=2.0, max_delay_s=5.0),
            fault(FaultKind.CLOCK_DRIFT, 24, None, meter=None, drift_s_per_day=60.0, step_s=0.0),
        ]
    )
    rng = random.Random(1)
    assert plan.is_offline(TERMINAL, at(1.5)) and not plan.is_offline(TERMINAL, at(2))
    assert not plan.is_offline("3301-00002", at(1.5))
    assert plan.drop_reply(TERMINAL, at(3.5), rng) and not plan.drop_reply(TERMINAL, at(4.5), rng)
    assert plan.corrupt(TERMINAL, at(5.5), rng) and not plan.corrupt(TERMINAL, at(6.5), rng)
    delays = [plan.reply_delay_s(TERMINAL, at(7.5), rng) for _ in range(50)]
    assert all(2.0 <= d <= 5.0 for d in delays) and max(delays) - min(delays) > 1
    assert plan.reply_delay_s(TERMINAL, at(9), rng) == 0.0
    assert plan.terminal_clock_offset_s(TERMINAL, at(24 + 48)) == pytest.approx(120.0)
    assert plan.terminal_clock_offset_s(TERMINAL, at(12)) == 0.0
    numpy_rng = np.random.default_rng(0)  # numpy generators work too
    assert plan.drop_reply(TERMINAL, at(3.5), numpy_rng)


def test_base_rates_apply_everywhere() -> None:
    plan = FaultPlan(base_drop_probability=0.25, base_delay_s=(0.1, 0.2))
    rng = random.Random(5)
    drops = sum(plan.drop_reply("3301-00009", at(1), rng) for _ in range(2000))
    assert 400 < drops < 600
    assert 0.1 <= plan.reply_delay_s("3301-00009", at(1), rng) <= 0.2


def test_corrupt_bytes_changes_the_frame() -> None:
    frame = bytes(range(40))
    bad = corrupt_bytes(frame, random.Random(2), count=2)
    assert len(bad) == len(frame) and 1 <= sum(a != b for a, b in zip(frame, bad, strict=True)) <= 2


def test_plan_is_seeded_exclusive_and_respects_kinds() -> None:
    fleet = build_fleet(20, 30, seed=1, start=START.date())
    rates = FaultRates(
        terminal_offline=0.5,
        dropped_replies=0.5,
        corrupted_bytes=0.5,
        slow_replies=0.5,
        terminal_clock_drift=0.5,
        clock_drift=0.05,
        meter_stopped=0.05,
        reversed_energy=0.05,
        meter_replacement=0.05,
        register_rollover=0.05,
        theft_scaled=0.05,
        theft_intermittent=0.05,
        theft_night_bypass=0.05,
    )
    plan = plan_faults(fleet, START, START + timedelta(days=30), rates=rates, seed=7)
    again = plan_faults(fleet, START, START + timedelta(days=30), rates=rates, seed=7)
    other = plan_faults(fleet, START, START + timedelta(days=30), rates=rates, seed=8)
    assert plan.records() == again.records() and plan.records() != other.records()
    assert {f.kind for f in plan.faults} == set(FaultKind)
    meters = [f.meter for f in plan.meter_faults()]
    assert len(meters) == len(set(meters))  # at most one fault per meter
    supply = {m.address for t in fleet for m in t.meters if m.is_supply}
    assert not any(f.meter in supply for f in plan.faults if f.kind.startswith("theft"))
    for f in plan.faults:
        assert START <= f.start < START + timedelta(days=30)
        assert f.end is None or f.start <= f.end <= START + timedelta(days=30)
        if f.kind in (FaultKind.METER_REPLACEMENT, FaultKind.REGISTER_ROLLOVER):
            assert f.end == f.start
    everything = {m.address for t in fleet for m in t.meters}
    for f in plan.of_kind(FaultKind.METER_REPLACEMENT):
        assert f.params["new_address"] not in everything and len(f.params["new_address"]) == 12
    assert len(plan_faults(fleet, START, START + timedelta(days=30), rates=FaultRates.none(), seed=7)) == 0


def test_ground_truth_round_trip(tmp_path: Path) -> None:
    fleet = build_fleet(5, 10, seed=2, start=START.date())
    plan = plan_faults(
        fleet, START, START + timedelta(days=10), rates=FaultRates(terminal_offline=1.0), seed=3
    )
    path = tmp_path / "truth.jsonl"
    assert write_ground_truth(path, plan) == len(plan) >= 5
    lines = path.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    assert set(first) == {"fault_id", "kind", "level", "terminal", "meter", "start", "end", "params"}
    assert first["start"].endswith("+08:00")
    offline = [json.loads(x) for x in lines if json.loads(x)["kind"] == "terminal_offline"]
    assert len(offline) == 5 and all(x["level"] == "terminal" and x["meter"] is None for x in offline)
    assert read_ground_truth(path) == list(plan.faults)


def test_bank_takes_planned_meter_faults() -> None:
    fleet = build_fleet(10, 20, seed=4, start=START.date())
    plan = plan_faults(fleet, START, START + timedelta(days=5), rates=FaultRates(meter_stopped=0.1), seed=4)
    bank = MeterBank.from_fleet(fleet, START, seed=4, faults=plan)
    assert bank.apply_faults(FaultPlan()) == 0

    def quarter_after(t: datetime) -> datetime:  # first quarter hour boundary at least 15 min after t
        t = t + timedelta(minutes=15)
        return t + timedelta(minutes=(-t.minute) % 15, seconds=-t.second)

    checks = []
    for f in plan.of_kind(FaultKind.METER_STOPPED):
        end = f.end if f.end is not None else START + timedelta(days=5)
        first, last = quarter_after(f.start), quarter_after(end) - timedelta(minutes=30)
        if last > first:
            checks.append((bank.index_of(str(f.meter)), first, last))
    assert len(checks) >= 10
    readings: dict[tuple[int, datetime], int] = {}
    for t in sorted({t for _, a, b in checks for t in (a, b)}):
        bank.advance_to(t)
        for i, a, b in checks:
            if t in (a, b):
                readings[i, t] = int(bank.regs[0, i])
    for i, a, b in checks:
        assert readings[i, a] == readings[i, b]
