"""Billing terms of a customer (计费参数): what a monthly run needs beyond class, tariff and capacity.

* ``billing_terms`` (at most one row per customer; no row = none of these apply): the power-factor
  standard (功率因数考核标准 0.90 / 0.85 / 0.80, null = no 力调), the basic-charge basis of a two-part
  tariff (capacity or maximum demand; null = capacity where the tariff has a capacity price) with the
  contracted demand, and the transformer loss (变损) of a high-voltage supply metered on the low side
  (高供低计): ``none``, ``table`` (the company's loss table, row of the customer's contracted capacity) or
  ``formula`` (the four coefficients of :class:`gridcare.billing.request.LossFormula`).
* ``transformer_loss_table``: the company's monthly loss table (变损表) by transformer capacity.
* ``sub_usages`` (定量定比): fixed kWh per cycle or a share of the account's kWh, billed at the price of
  another tariff (``tariff_code``: its flat-period price plus its per-kWh surcharges) or at a given
  all-in price, and deducted from the flat period first.

These are the fields of the quote request (``supply``, ``sub_usages``, ``pf_standard``) kept in the
archive; :mod:`gridcare.billing.terms` turns them into request parts.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gridcare.storage.base import Base

PF_STANDARD_VALUES = ("0.90", "0.85", "0.80")
BASIC_BASES = ("capacity", "demand")
LOSS_METHODS = ("none", "table", "formula")
SUB_METHODS = ("fixed_quantity", "fixed_ratio")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class BillingTerms(Base):
    """One customer's billing terms (see the module docstring)."""

    __tablename__ = "billing_terms"
    __table_args__ = (
        CheckConstraint("pf_standard IS NULL OR pf_standard IN (0.90, 0.85, 0.80)", name="pf_standard"),
        CheckConstraint(
            f"basic_charge_basis IS NULL OR {_in('basic_charge_basis', BASIC_BASES)}", name="basis"
        ),
        CheckConstraint("contracted_demand_kw IS NULL OR contracted_demand_kw > 0", name="demand_positive"),
        CheckConstraint(_in("transformer_loss", LOSS_METHODS), name="loss_method"),
        CheckConstraint(
            "transformer_loss <> 'formula' OR (loss_no_load_kw IS NOT NULL "
            "AND loss_load_coefficient_per_kwh IS NOT NULL)",
            name="loss_formula",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), unique=True)
    pf_standard: Mapped[Decimal | None] = mapped_column(
        Numeric(3, 2), doc="0.90 | 0.85 | 0.80; null: no 力调"
    )
    basic_charge_basis: Mapped[str | None] = mapped_column(String(16), doc="capacity | demand")
    contracted_demand_kw: Mapped[Decimal | None] = mapped_column(Numeric(12, 2), doc="合同最大需量 [kW]")
    transformer_loss: Mapped[str] = mapped_column(String(16), default="none", doc="none | table | formula")
    loss_no_load_kw: Mapped[Decimal | None] = mapped_column(Numeric(18, 6), doc="no-load loss [kW]")
    loss_load_coefficient_per_kwh: Mapped[Decimal | None] = mapped_column(
        Numeric(18, 12), doc="active load-loss coefficient [1/kWh]: loss = k x E^2"
    )
    loss_no_load_kvar: Mapped[Decimal | None] = mapped_column(Numeric(18, 6), doc="no-load reactive [kvar]")
    loss_reactive_coefficient_per_kwh: Mapped[Decimal | None] = mapped_column(
        Numeric(18, 12), doc="reactive load-loss coefficient [kvarh/kWh^2]"
    )


class TransformerLossRow(Base):
    """A row of the company's monthly transformer loss table (变损表)."""

    __tablename__ = "transformer_loss_table"
    __table_args__ = (
        CheckConstraint("capacity_kva > 0", name="capacity_positive"),
        CheckConstraint("active_kwh >= 0 AND reactive_kvarh >= 0", name="loss_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    capacity_kva: Mapped[Decimal] = mapped_column(Numeric(12, 2), unique=True, doc="[kVA]")
    active_kwh: Mapped[Decimal] = mapped_column(Numeric(12, 2), doc="monthly active loss [kWh]")
    reactive_kvarh: Mapped[Decimal] = mapped_column(Numeric(12, 2), doc="monthly reactive loss [kvarh]")


class SubUsage(Base):
    """A fixed-quantity / fixed-ratio sub-usage (定量定比) of a customer's account."""

    __tablename__ = "sub_usages"
    __table_args__ = (
        UniqueConstraint("customer_id", "seq", name="uq_sub_usages_customer_seq"),
        CheckConstraint(_in("method", SUB_METHODS), name="method"),
        CheckConstraint(
            "(method = 'fixed_quantity' AND kwh IS NOT NULL AND kwh >= 0 AND ratio IS NULL) OR "
            "(method = 'fixed_ratio' AND ratio IS NOT NULL AND ratio > 0 AND ratio <= 1 AND kwh IS NULL)",
            name="quantity",
        ),
        CheckConstraint("(tariff_code IS NULL) <> (price_yuan_per_kwh IS NULL)", name="one_price_source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(40), doc='e.g. "照明 lighting"')
    method: Mapped[str] = mapped_column(String(16), doc="fixed_quantity | fixed_ratio")
    kwh: Mapped[Decimal | None] = mapped_column(Numeric(18, 4), doc="kWh per cycle (fixed_quantity)")
    ratio: Mapped[Decimal | None] = mapped_column(Numeric(6, 4), doc="share of kWh (fixed_ratio)")
    tariff_code: Mapped[str | None] = mapped_column(String(40), doc="priced by this tariff")
    price_yuan_per_kwh: Mapped[Decimal | None] = mapped_column(Numeric(18, 6), doc="or at this all-in price")
    pf_adjusted: Mapped[bool] = mapped_column(Boolean, default=True, doc="in the 力调 base")
