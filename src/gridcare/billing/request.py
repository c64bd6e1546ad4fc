"""The quote request: tariff, billing cycle, usage (kWh or register readings), supply (capacity,
transformers, suspensions), sub-usages and the power-factor standard.

Validation is strict: numbers must be JSON numbers (exact decimals), integers integers, dates
``YYYY-MM-DD``; unknown fields are rejected. Rules that involve several fields are checked here too
and reported at the offending field.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)

from gridcare.billing.errors import FieldProblem
from gridcare.billing.numbers import Day, NonNegNum, PosNum, Share, StrictBool, StrictStr, exact_number
from gridcare.billing.pf import PF_STANDARDS
from gridcare.billing.tariff import PERIODS, Name, Tariff

MAX_CYCLE_DAYS = 92
_RATIO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)\s*$")


def _ratio(value: Any) -> Decimal:
    """A CT/PT ratio: a number (40) or ``"primary/secondary"`` text (``"200/5"``)."""
    if isinstance(value, bool):
        raise ValueError("must be a number or 'primary/secondary' text such as '200/5'")
    if isinstance(value, int | Decimal):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str) and (match := _RATIO.match(value)):
        primary, secondary = Decimal(match.group(1)), Decimal(match.group(2))
        if secondary == 0:
            raise ValueError(f"{value!r}: secondary must not be 0")
        result = primary / secondary
        if result * secondary != primary:
            raise ValueError(f"{value!r} does not give an exact multiplier")
    else:
        raise ValueError("must be a number or 'primary/secondary' text such as '200/5'")
    if not result.is_finite() or result <= 0:
        raise ValueError("must be greater than 0")
    return result


Ratio = Annotated[
    Decimal,
    BeforeValidator(_ratio),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0},
                {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*/\s*\d+(\.\d+)?\s*$"},
            ]
        }
    ),
]


def _pf_standard(value: Decimal) -> Decimal:
    if value not in PF_STANDARDS:
        raise ValueError("must be 0.90, 0.85 or 0.80 (《功率因数调整电费办法》)")
    return value.quantize(Decimal("0.01"))


PfStandard = Annotated[
    Decimal,
    BeforeValidator(exact_number),
    AfterValidator(_pf_standard),
    WithJsonSchema({"type": "number", "enum": [0.9, 0.85, 0.8]}),
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BillingCycle(_Model):
    """The billing cycle (抄表周期), both days inclusive."""

    start: Day
    end: Day

    @model_validator(mode="after")
    def _order(self) -> BillingCycle:
        if self.end < self.start:
            raise FieldProblem("end", "must not be before start")
        if self.days > MAX_CYCLE_DAYS:
            raise FieldProblem("end", f"a cycle is at most {MAX_CYCLE_DAYS} days")
        return self

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


class PeriodKwh(_Model):
    """kWh by period. ``total``, when given, is authoritative: flat = total - sharp - peak - valley."""

    total: NonNegNum | None = None
    sharp: NonNegNum | None = None
    peak: NonNegNum | None = None
    flat: NonNegNum | None = None
    valley: NonNegNum | None = None

    @model_validator(mode="after")
    def _some(self) -> PeriodKwh:
        if all(getattr(self, name) is None for name in ("total", *PERIODS)):
            raise FieldProblem("total", "give total or at least one period")
        return self


class RegisterReading(_Model):
    """Start and end readings of one register (示数), in register units (before the multiplier)."""

    start: NonNegNum
    end: NonNegNum

    @model_validator(mode="after")
    def _order(self) -> RegisterReading:
        if self.end < self.start:
            raise FieldProblem(
                "end", f"is lower than start ({self.end} < {self.start}); register roll-over is not supported"
            )
        return self

    @property
    def advance(self) -> Decimal:
        return self.end - self.start


class Registers(_Model):
    """Active-energy registers: total and/or per period (总/尖/峰/平/谷)."""

    total: RegisterReading | None = None
    sharp: RegisterReading | None = None
    peak: RegisterReading | None = None
    flat: RegisterReading | None = None
    valley: RegisterReading | None = None

    @model_validator(mode="after")
    def _some(self) -> Registers:
        if all(getattr(self, name) is None for name in ("total", *PERIODS)):
            raise FieldProblem("total", "give the total register or at least one period register")
        return self


class MeterRun(_Model):
    """One meter's readings over (part of) the cycle. A meter change mid-cycle is two runs: the old
    meter from its start to its final reading, the new one from its initial to its end reading."""

    meter_no: Annotated[StrictStr, Field(max_length=32)] | None = None
    multiplier: PosNum | None = Field(default=None, description="倍率; or give ct_ratio (and pt_ratio)")
    ct_ratio: Ratio | None = None
    pt_ratio: Ratio | None = None
    registers: Registers
    reactive: RegisterReading | None = Field(default=None, description="reactive register [kvarh units]")
    max_demand_reading: NonNegNum | None = Field(
        default=None, description="maximum-demand register [kW units]"
    )

    @model_validator(mode="after")
    def _multiplier(self) -> MeterRun:
        if self.multiplier is not None and (self.ct_ratio is not None or self.pt_ratio is not None):
            raise FieldProblem("multiplier", "give either multiplier or ct_ratio/pt_ratio, not both")
        if self.pt_ratio is not None and self.ct_ratio is None:
            raise FieldProblem("ct_ratio", "required when pt_ratio is given")
        return self

    @property
    def factor(self) -> Decimal:
        """The meter multiplier: explicit, or CT ratio x PT ratio, or 1."""
        if self.multiplier is not None:
            return self.multiplier
        if self.ct_ratio is not None:
            return self.ct_ratio * (self.pt_ratio if self.pt_ratio is not None else Decimal(1))
        return Decimal(1)


class Usage(_Model):
    """What the customer used in the cycle: kWh by period or meter readings, reactive energy,
    maximum demand and the tier consumption already counted in the current tier window."""

    energy_kwh: PeriodKwh | None = None
    meters: list[MeterRun] = Field(default_factory=list)
    reactive_kvarh: NonNegNum | None = None
    max_demand_kw: NonNegNum | None = None
    tier_consumed_kwh: NonNegNum = Field(
        default=0,
        validate_default=True,
        description="kWh already billed in the tier window (year/season/month) before this cycle",
    )

    @model_validator(mode="after")
    def _sources(self) -> Usage:
        if (self.energy_kwh is None) == (not self.meters):
            raise FieldProblem(
                "energy_kwh", "give either energy_kwh or meters (register readings), exactly one"
            )
        if self.reactive_kvarh is not None and any(m.reactive is not None for m in self.meters):
            raise FieldProblem("reactive_kvarh", "give reactive_kvarh or reactive registers, not both")
        if self.max_demand_kw is not None and any(m.max_demand_reading is not None for m in self.meters):
            raise FieldProblem(
                "max_demand_kw", "give max_demand_kw or max_demand_reading registers, not both"
            )
        return self


class LossTableRow(_Model):
    """Monthly transformer loss for one capacity (变损表)."""

    capacity_kva: PosNum
    active_kwh: NonNegNum
    reactive_kvarh: NonNegNum


class LossFormula(_Model):
    """Transformer loss by formula for one segment of ``h`` hours with low-side energy ``E`` [kWh]:
    active = no_load_loss_kw x h + load_loss_coefficient_per_kwh x E^2;
    reactive = no_load_reactive_kvar x h + reactive_load_coefficient_per_kwh x E^2."""

    no_load_loss_kw: NonNegNum
    load_loss_coefficient_per_kwh: NonNegNum
    no_load_reactive_kvar: NonNegNum = Field(default=0, validate_default=True)
    reactive_load_coefficient_per_kwh: NonNegNum = Field(default=0, validate_default=True)


class Transformer(_Model):
    """Capacity in service (transformers and high-voltage motors) from ``effective_from`` (null: since
    before the cycle) until the next entry; ``loss`` says how its loss is added (高供低计 only)."""

    capacity_kva: PosNum
    effective_from: Day | None = None
    loss: Literal["none", "table", "formula"] = "none"
    loss_formula: LossFormula | None = None

    @model_validator(mode="after")
    def _loss(self) -> Transformer:
        if (self.loss == "formula") != (self.loss_formula is not None):
            raise FieldProblem("loss_formula", "required exactly when loss is formula")
        return self


class Suspension(_Model):
    """Suspended capacity (暂停): ``capacity_kva`` sealed from ``start`` through ``end`` (inclusive;
    null while still suspended). Suspensions shorter than 15 days are not recognised."""

    capacity_kva: PosNum
    start: Day
    end: Day | None = None

    @model_validator(mode="after")
    def _order(self) -> Suspension:
        if self.end is not None and self.end < self.start:
            raise FieldProblem("end", "must not be before start")
        return self

    @property
    def recognised(self) -> bool:
        """At least the 15-day minimum (an open-ended suspension counts)."""
        return self.end is None or (self.end - self.start).days + 1 >= MIN_SUSPENSION_DAYS


MIN_SUSPENSION_DAYS = 15


class Supply(_Model):
    """Capacity and supply facts for two-part tariffs and transformer loss."""

    transformers: Annotated[list[Transformer], Field(min_length=1)]
    loss_table: list[LossTableRow] = Field(default_factory=list)
    suspensions: list[Suspension] = Field(default_factory=list)
    basic_charge_basis: Literal["capacity", "demand"] = "capacity"
    contracted_demand_kw: PosNum | None = Field(default=None, description="合同最大需量 (demand basis)")

    @model_validator(mode="after")
    def _order(self) -> Supply:
        if self.transformers[0].effective_from is not None:
            raise FieldProblem(
                ("transformers", 0, "effective_from"), "the first entry must be null (in service)"
            )
        previous: date | None = None
        for index, entry in enumerate(self.transformers[1:], start=1):
            if entry.effective_from is None:
                raise FieldProblem(("transformers", index, "effective_from"), "required for a change")
            if previous is not None and entry.effective_from <= previous:
                raise FieldProblem(
                    ("transformers", index, "effective_from"), "must be after the previous change"
                )
            previous = entry.effective_from
        capacities = [row.capacity_kva for row in self.loss_table]
        for index, cap in enumerate(capacities):
            if cap in capacities[:index]:
                raise FieldProblem(("loss_table", index, "capacity_kva"), f"{cap} kVA is listed twice")
        for index, entry in enumerate(self.transformers):
            if entry.loss == "table" and entry.capacity_kva not in capacities:
                raise FieldProblem(
                    ("transformers", index, "capacity_kva"),
                    f"loss_table has no row for {entry.capacity_kva} kVA",
                )
        if self.suspensions and self.basic_charge_basis != "capacity":
            raise FieldProblem("suspensions", "suspensions apply to the basic charge by capacity only")
        return self


class SubUsage(_Model):
    """Fixed-quantity / fixed-ratio sub-usage (定量定比) inside the account, billed at its own all-in
    price and deducted from the main periods (flat first, then valley, peak, sharp)."""

    name: Name
    method: Literal["fixed_quantity", "fixed_ratio"]
    kwh: NonNegNum | None = Field(default=None, description="kWh per cycle (fixed_quantity)")
    ratio: Share | None = Field(default=None, description="share of kWh (fixed_ratio)")
    price_yuan_per_kwh: NonNegNum
    pf_adjusted: StrictBool = Field(
        default=True, description="its charge is in the power-factor adjustment base"
    )

    @model_validator(mode="after")
    def _shape(self) -> SubUsage:
        if self.method == "fixed_quantity" and (self.kwh is None or self.ratio is not None):
            raise FieldProblem("kwh", "fixed_quantity needs kwh (and no ratio)")
        if self.method == "fixed_ratio" and (self.ratio is None or self.kwh is not None):
            raise FieldProblem("ratio", "fixed_ratio needs ratio (and no kwh)")
        return self


class TariffChange(_Model):
    """A new tariff version in force from ``effective_from`` (inside the cycle)."""

    effective_from: Day
    tariff: Tariff


class QuoteRequest(_Model):
    """Everything needed to price one billing cycle of one account."""

    tariff: Tariff
    tariff_changes: list[TariffChange] = Field(default_factory=list)
    cycle: BillingCycle
    usage: Usage
    supply: Supply | None = None
    sub_usages: list[SubUsage] = Field(default_factory=list)
    pf_standard: PfStandard | None = Field(default=None, description="功率因数考核标准; null: no adjustment")

    @model_validator(mode="after")
    def _consistent(self) -> QuoteRequest:
        previous = self.cycle.start
        for index, change in enumerate(self.tariff_changes):
            loc: tuple[str | int, ...] = ("tariff_changes", index)
            if not previous < change.effective_from <= self.cycle.end:
                raise FieldProblem(
                    (*loc, "effective_from"),
                    f"must be after {previous.isoformat()} and not after the cycle end {self.cycle.end}",
                )
            previous = change.effective_from
            if change.tariff.customer_class != self.tariff.customer_class:
                raise FieldProblem(
                    (*loc, "tariff", "customer_class"), "must equal the customer class of tariff"
                )
            if change.tariff.energy.kind != self.tariff.energy.kind:
                raise FieldProblem((*loc, "tariff", "energy", "kind"), "must equal the energy kind of tariff")
            if (change.tariff.tiers is None) != (self.tariff.tiers is None) or (
                change.tariff.tiers is not None
                and self.tariff.tiers is not None
                and change.tariff.tiers.basis != self.tariff.tiers.basis
            ):
                raise FieldProblem((*loc, "tariff", "tiers"), "must have the same tier basis as tariff")
        if self.supply is not None:
            for index, entry in enumerate(self.supply.transformers[1:], start=1):
                when = entry.effective_from
                if when is not None and not self.cycle.start < when <= self.cycle.end:
                    raise FieldProblem(
                        ("supply", "transformers", index, "effective_from"),
                        "a change must fall inside the cycle",
                    )
        return self

    def tariff_versions(self) -> list[tuple[date, Tariff]]:
        """``(first day, tariff)`` for each tariff version in force during the cycle."""
        return [(self.cycle.start, self.tariff)] + [(c.effective_from, c.tariff) for c in self.tariff_changes]


def day_after(day: date) -> date:
    return day + timedelta(days=1)
