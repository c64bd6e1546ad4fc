"""Reactive energy and maximum demand of simulated meters: consistent with the load and the customer's
power factor, frozen daily, reset at the monthly settlement."""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal

from gridcare.mdm.schema import DI_FWD_DEMAND, DI_FWD_REACTIVE
from gridcare.simulator.bank import MeterBank
from gridcare.simulator.fleet import freeze_rows
from gridcare.simulator.profiles import POWER_FACTOR_RANGE, class_code
from gridcare.simulator.specs import customer_meter
from gridcare.timeutil import BEIJING


def _bank() -> MeterBank:
    specs = [
        customer_meter(
            f"2010000001{k:02d}",
            "large_industrial",
            k + 1,
            seed=11,
            multiplier=40 if k % 2 else 6000,
            contracted_capacity_kva=[315.0, 1000.0][k % 2],
            phases=3,
        )
        for k in range(6)
    ]
    bank = MeterBank(specs, datetime(2024, 4, 29, tzinfo=BEIJING), seed=11, curve_days=0)
    bank.advance_to(datetime(2024, 6, 2, 1, tzinfo=BEIJING))
    return bank


def test_monthly_power_factor_is_the_customer_s_and_within_the_class_range() -> None:
    bank = _bank()
    low, high = POWER_FACTOR_RANGE[class_code("large_industrial")]
    for i, spec in enumerate(bank.specs):
        a = bank.frozen_record(i, date(2024, 5, 1))
        b = bank.frozen_record(i, date(2024, 6, 1))
        assert a is not None and b is not None
        p = float(b.registers.forward_total - a.registers.forward_total)
        q = float(b.registers.combined_reactive_1 - a.registers.combined_reactive_1)
        pf = p / math.hypot(p, q)
        assert abs(pf - spec.power_factor) < 0.002
        assert 0.80 <= low <= pf <= high <= 0.98


def test_maximum_demand_is_the_highest_quarter_hour_of_the_month_and_resets_after_the_1st() -> None:
    bank = _bank()
    for i, spec in enumerate(bank.specs):
        june1 = bank.frozen_record(i, date(2024, 6, 1))
        may31 = bank.frozen_record(i, date(2024, 5, 31))
        june2 = bank.frozen_record(i, date(2024, 6, 2))
        assert june1 is not None and may31 is not None and june2 is not None
        # the month's maximum only grows until the settlement freeze, then starts again
        assert june1.max_demand_kw >= may31.max_demand_kw > 0
        assert june1.max_demand_time is not None and june1.max_demand_time.month == 5
        assert june2.max_demand_time is not None and june2.max_demand_time.date() == date(2024, 6, 1)
        # a quarter hour's demand: above the month's mean power, below the mean x 4 (kW, secondary)
        a = bank.frozen_record(i, date(2024, 5, 1))
        assert a is not None
        kwh = float(june1.registers.forward_total - a.registers.forward_total)
        mean_kw = kwh / (31 * 24)
        assert mean_kw < float(june1.max_demand_kw) < 4 * mean_kw
        assert june1.max_demand_kw * spec.multiplier < Decimal(spec.contracted_capacity_kva or 0) * 2


def test_freeze_rows_carry_reactive_and_demand_only_for_the_meters_that_need_them() -> None:
    bank = _bank()
    rows = freeze_rows(bank, date(2024, 6, 1), {bank.addresses[0]})
    dis = {(r["meter"], r["di"]) for r in rows}
    assert (bank.addresses[0], DI_FWD_REACTIVE) in dis and (bank.addresses[0], DI_FWD_DEMAND) in dis
    assert (bank.addresses[1], DI_FWD_REACTIVE) not in dis
    assert sum(1 for r in rows if r["meter"] == bank.addresses[1]) == 5
