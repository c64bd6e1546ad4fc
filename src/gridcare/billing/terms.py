"""Customers' billing terms for runs: PF standard, basic-charge basis, transformer loss and sub-usages
from the archive (:mod:`gridcare.archives.billing_terms`), as parts of the engine's quote request.

An account with terms that change the bill (力调, a demand-based basic charge, 变损 or a sub-usage) is
priced by the engine; the registers it needs beyond active energy (reactive energy for 力调, the maximum
demand for a demand-based basic charge) are read from the lake with the determinants.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridcare.archives.billing_terms import BillingTerms, SubUsage, TransformerLossRow
from gridcare.archives.models import Customer
from gridcare.billing.errors import BillingInputError
from gridcare.billing.tariff import Period, Tariff


@dataclass(frozen=True)
class SubUsageTerm:
    """One sub-usage row: ``kwh`` (fixed quantity) or ``ratio``, priced by ``tariff_code`` or ``price``."""

    name: str
    method: str
    kwh: Decimal | None
    ratio: Decimal | None
    tariff_code: str | None
    price_yuan_per_kwh: Decimal | None
    pf_adjusted: bool


@dataclass(frozen=True)
class AccountTerms:
    """One customer's billing terms (hashable: part of the engine's cache key)."""

    pf_standard: Decimal | None = None
    basic_charge_basis: str | None = None
    contracted_demand_kw: Decimal | None = None
    transformer_loss: str = "none"
    loss_formula: tuple[Decimal | None, Decimal | None, Decimal | None, Decimal | None] | None = None
    sub_usages: tuple[SubUsageTerm, ...] = ()

    @property
    def reads_reactive(self) -> bool:
        """The run needs the reactive register (力调)."""
        return self.pf_standard is not None

    @property
    def reads_demand(self) -> bool:
        """The run needs the maximum-demand register (basic charge by demand)."""
        return self.basic_charge_basis == "demand"

    @property
    def needs_engine(self) -> bool:
        return (
            self.pf_standard is not None
            or self.basic_charge_basis is not None
            or self.transformer_loss != "none"
            or bool(self.sub_usages)
        )


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def load_terms(session: Session, customer_ids: Sequence[int], group: Any) -> dict[int, AccountTerms]:
    """Terms by account index (position in ``customer_ids``) of the customers of ``group`` (a condition
    on :class:`Customer`) that have terms or sub-usages."""
    index = {cid: i for i, cid in enumerate(customer_ids)}
    in_group = select(Customer.id).where(group)
    rows = session.execute(select(BillingTerms).where(BillingTerms.customer_id.in_(in_group))).scalars().all()
    subs: dict[int, list[SubUsageTerm]] = {}
    for sub in session.scalars(
        select(SubUsage)
        .where(SubUsage.customer_id.in_(in_group))
        .order_by(SubUsage.customer_id, SubUsage.seq)
    ):
        subs.setdefault(sub.customer_id, []).append(
            SubUsageTerm(
                sub.name,
                sub.method,
                _dec(sub.kwh),
                _dec(sub.ratio),
                sub.tariff_code,
                _dec(sub.price_yuan_per_kwh),
                bool(sub.pf_adjusted),
            )
        )
    out: dict[int, AccountTerms] = {}
    for row in rows:
        if row.customer_id not in index:
            continue
        formula = None
        if row.transformer_loss == "formula":
            formula = (
                _dec(row.loss_no_load_kw),
                _dec(row.loss_load_coefficient_per_kwh),
                _dec(row.loss_no_load_kvar),
                _dec(row.loss_reactive_coefficient_per_kwh),
            )
        out[index[row.customer_id]] = AccountTerms(
            pf_standard=_dec(row.pf_standard),
            basic_charge_basis=row.basic_charge_basis,
            contracted_demand_kw=_dec(row.contracted_demand_kw),
            transformer_loss=row.transformer_loss,
            loss_formula=formula,
            sub_usages=tuple(subs.pop(row.customer_id, [])),
        )
    for cid, items in subs.items():  # sub-usages without a terms row
        if cid in index:
            out[index[cid]] = AccountTerms(sub_usages=tuple(items))
    return out


def load_loss_table(session: Session) -> dict[Decimal, tuple[Decimal, Decimal]]:
    """The company's loss table: capacity [kVA] -> (active [kWh], reactive [kvarh]) per month."""
    return {
        Decimal(str(r.capacity_kva)).normalize(): (Decimal(str(r.active_kwh)), Decimal(str(r.reactive_kvarh)))
        for r in session.scalars(select(TransformerLossRow))
    }


def all_in_price(tariff: Tariff, month: int) -> Decimal | None:
    """Price of a sub-usage billed at ``tariff``: its flat (平) energy price for ``month`` plus its
    per-kWh surcharges (a sub-usage price is all-in); None when the season has no flat period."""
    if tariff.energy.kind == "flat":
        energy = tariff.energy.price_yuan_per_kwh
    else:
        energy = tariff.energy.season_for(month).prices_yuan_per_kwh.get(Period.FLAT)
    if energy is None:
        return None
    return energy + sum((s.price_yuan_per_kwh for s in tariff.surcharges), Decimal(0))


def request_parts(
    terms: AccountTerms | None,
    capacity_kva: Decimal,
    basic_prices: Sequence[Any],
    loss_table: dict[Decimal, tuple[Decimal, Decimal]],
    tariff_price: Callable[[str], Decimal | None],
) -> dict[str, Any]:
    """``supply``, ``sub_usages`` and ``pf_standard`` of the quote request of one account.

    ``basic_prices``: the basic-charge prices of the tariff versions in the cycle (empty: single-part);
    ``tariff_price(code)``: the all-in sub-usage price of tariff ``code`` (None: no version in force).
    Raises :class:`BillingInputError` naming the field of the terms that cannot be used.
    """
    data: dict[str, Any] = {}
    terms = terms or AccountTerms()
    loss = terms.transformer_loss
    if basic_prices or loss != "none":
        basis = terms.basic_charge_basis
        if basis is None:
            basis = (
                "capacity"
                if all(p.capacity_price_yuan_per_kva_month is not None for p in basic_prices)
                else "demand"
            )
        transformer: dict[str, Any] = {"capacity_kva": capacity_kva, "loss": loss}
        supply: dict[str, Any] = {"transformers": [transformer], "basic_charge_basis": basis}
        if basis == "demand" and terms.contracted_demand_kw is not None:
            supply["contracted_demand_kw"] = terms.contracted_demand_kw
        if loss == "table":
            row = loss_table.get(capacity_kva.normalize())
            if row is None:
                raise BillingInputError.at(
                    "billing_terms.transformer_loss",
                    f"the transformer loss table (变损表) has no row for {capacity_kva.normalize()} kVA",
                )
            supply["loss_table"] = [
                {"capacity_kva": capacity_kva, "active_kwh": row[0], "reactive_kvarh": row[1]}
            ]
        elif loss == "formula":
            assert terms.loss_formula is not None
            no_load, coefficient, no_load_kvar, reactive_coefficient = terms.loss_formula
            transformer["loss_formula"] = {
                "no_load_loss_kw": no_load,
                "load_loss_coefficient_per_kwh": coefficient,
                "no_load_reactive_kvar": no_load_kvar or Decimal(0),
                "reactive_load_coefficient_per_kwh": reactive_coefficient or Decimal(0),
            }
        data["supply"] = supply
    subs = []
    for index, sub in enumerate(terms.sub_usages):
        price = sub.price_yuan_per_kwh
        if sub.tariff_code is not None:
            price = tariff_price(sub.tariff_code)
            if price is None:
                raise BillingInputError.at(
                    ("sub_usages", index, "tariff_code"),
                    f"tariff {sub.tariff_code} has no version in force in the cycle, or no flat (平) price",
                )
        entry: dict[str, Any] = {
            "name": sub.name,
            "method": sub.method,
            "price_yuan_per_kwh": price,
            "pf_adjusted": sub.pf_adjusted,
        }
        if sub.method == "fixed_quantity":
            entry["kwh"] = sub.kwh
        else:
            entry["ratio"] = sub.ratio
        subs.append(entry)
    if subs:
        data["sub_usages"] = subs
    if terms.pf_standard is not None:
        data["pf_standard"] = terms.pf_standard
    return data
