"""台区 line loss (daily, monthly), feeder/organisation roll-ups and the sold-vs-purchased check.

Energies come from a :class:`~gridcare.mdm.registers.DailyEnergy` (primary kWh = advance x multiplier).
For a 台区 (``tg``) and a period: supply = energy of its ``supply`` meter(s); sold = sum over its
``customer`` meters; loss = supply - sold; loss rate = loss / supply. Status:

- ``not_computable`` (``reason``: ``no_supply_meter``, ``supply_missing``, ``customers_missing``,
  ``supply_zero``) — ``missing_points`` counts supply and customer meters without energy for the period;
- ``negative`` (rate < 0), ``low`` (0 <= rate < ``qualified_min``, only when that is above 0),
  ``qualified`` (``qualified_min`` <= rate <= ``qualified_max``), ``high`` (rate > ``qualified_max``).

Only public 台区 (公变) are 台区 line-loss objects: a 专变 (``tg_kind`` "dedicated" in the archive, a
transformer owned by one customer) has no 台区 line loss — no row in the daily and monthly tables and no part
in the feeder and organisation roll-ups (its losses are the 变损 billed to the customer). Sold vs purchased is
per meter role and keeps a 专变 customer's energy as sold.

A day's energy must be a single-day interval; a month's is the sum of the intervals that close in the month
when they cover exactly the month (a gap inside the month is fine, one crossing its start is not).
Feeder and organisation loss aggregate the computable 台区's energies first, then take the rate.
Energies are rounded to 0.01 kWh after each summation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gridcare.mdm.fleet import Fleet
from gridcare.mdm.registers import DailyEnergy
from gridcare.mdm.schema import (
    ROLE_CUSTOMER,
    ROLE_FEEDER,
    ROLE_SUPPLY,
    ROLES,
    MdmInputError,
    dates,
    day_from_number,
    day_number,
)

STATUS_QUALIFIED = "qualified"
STATUS_NEGATIVE = "negative"
STATUS_LOW = "low"
STATUS_HIGH = "high"
STATUS_NOT_COMPUTABLE = "not_computable"

_SUPPLY = ROLES.index(ROLE_SUPPLY)
_CUSTOMER = ROLES.index(ROLE_CUSTOMER)
_FEEDER = ROLES.index(ROLE_FEEDER)


@dataclass(frozen=True)
class LineLossConfig:
    """Qualified band of the loss rate (fractions, default 0..10 %) and the sold-vs-purchased limit."""

    qualified_min: float = 0.0
    qualified_max: float = 0.10
    purchased_max_loss_rate: float = 0.08

    def __post_init__(self) -> None:
        if not self.qualified_min <= self.qualified_max:
            raise MdmInputError("LineLossConfig.qualified_min: must not exceed qualified_max")
        if not 0 <= self.purchased_max_loss_rate < 1:
            raise MdmInputError("LineLossConfig.purchased_max_loss_rate: must be in [0, 1)")


DEFAULT_LINE_LOSS = LineLossConfig()


def _classify(
    supply: np.ndarray,
    sold: np.ndarray,
    n_supply: np.ndarray,
    supply_missing: np.ndarray,
    customers_missing: np.ndarray,
    cfg: LineLossConfig,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """loss, rate, status, reason, computable for aggregated energies (vectorised)."""
    reason = np.full(supply.shape, "", dtype=object)
    reason[(supply <= 0) | np.isnan(supply)] = "supply_zero"
    reason[customers_missing > 0] = "customers_missing"
    reason[supply_missing > 0] = "supply_missing"
    reason[n_supply == 0] = "no_supply_meter"
    computable = reason == ""
    loss = np.round(np.where(computable, supply - sold, np.nan), 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(computable, loss / supply, np.nan)
    status = np.full(supply.shape, STATUS_NOT_COMPUTABLE, dtype=object)
    status[computable & (rate < 0)] = STATUS_NEGATIVE
    status[computable & (rate >= 0) & (rate < cfg.qualified_min)] = STATUS_LOW
    status[computable & (rate >= cfg.qualified_min) & (rate <= cfg.qualified_max)] = STATUS_QUALIFIED
    status[computable & (rate > cfg.qualified_max)] = STATUS_HIGH
    return loss, rate, status, reason, computable


def _group_sums(
    values: np.ndarray, rows: np.ndarray, groups: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per group (``values[rows]`` labelled by ``groups`` >= 0): column sums with NaN as 0, NaN counts."""
    out = np.zeros((n_groups, values.shape[1]))
    miss = np.zeros((n_groups, values.shape[1]))
    if not groups.size:
        return out, miss
    order = np.argsort(groups, kind="stable")
    g = groups[order]
    starts = np.flatnonzero(np.concatenate([[True], g[1:] != g[:-1]]))
    v = values[rows[order]]  # one copy, rows grouped together
    nan = np.isnan(v)
    v[nan] = 0.0
    out[g[starts]] = np.add.reduceat(v, starts, axis=0)
    miss[g[starts]] = np.add.reduceat(nan, starts, axis=0, dtype=np.int64)
    return out, miss


def _tg_sums(
    energy: DailyEnergy, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per (tg, column): supply, sold, supply meters, supply missing, customers, customers missing."""
    fleet = energy.fleet
    n_tg = len(fleet.tgs)
    out = []
    for role in (_SUPPLY, _CUSTOMER):
        sel = np.flatnonzero((fleet.role == role) & (fleet.tg_idx >= 0))
        tg = fleet.tg_idx[sel].astype(np.int64)
        total, miss = _group_sums(values, sel, tg, n_tg)
        out.extend([np.round(total, 2), np.bincount(tg, minlength=n_tg), miss])
    supply, n_supply, supply_miss, sold, n_cust, cust_miss = out
    return supply, sold, n_supply, supply_miss, n_cust, cust_miss


def _public_tgs(fleet: Fleet) -> np.ndarray | None:
    """Label positions of the public 台区, or None when every 台区 is public (nothing to leave out)."""
    if not fleet.tg_dedicated.any():
        return None
    return np.flatnonzero(~fleet.tg_dedicated)


def daily_line_loss(energy: DailyEnergy, config: LineLossConfig = DEFAULT_LINE_LOSS) -> pa.Table:
    """One row per (public tg, day) of ``energy``: tg, day, supply_kwh, sold_kwh, loss_kwh, loss_rate, status,
    reason, customers, missing_points. Rows are ordered by tg (label order of the archive), then day.
    专变 (dedicated 台区) have no rows."""
    values = energy.single_day()
    supply, sold, n_supply, s_miss, n_cust, c_miss = _tg_sums(energy, values)
    labels = pa.array(energy.fleet.tgs, pa.string())
    public = _public_tgs(energy.fleet)
    if public is not None:  # 专变 are not 台区 line-loss objects
        supply, sold, n_supply = supply[public], sold[public], n_supply[public]
        s_miss, n_cust, c_miss = s_miss[public], n_cust[public], c_miss[public]
        labels = labels.take(pa.array(public, pa.int64()))
    n_tg, n_days = supply.shape
    ns = np.broadcast_to(n_supply[:, None], supply.shape)
    loss, rate, status, reason, ok = _classify(supply, sold, ns, s_miss, c_miss, config)
    tg_i, d_i = np.indices((n_tg, n_days)).reshape(2, -1)
    return pa.table(
        {
            "tg": labels.take(pa.array(tg_i, pa.int64())),
            "day": dates(energy.first_day + d_i),
            "supply_kwh": pa.array(np.where(s_miss > 0, np.nan, supply).ravel(), from_pandas=True),
            "sold_kwh": pa.array(np.where(c_miss > 0, np.nan, sold).ravel(), from_pandas=True),
            "loss_kwh": pa.array(loss.ravel(), from_pandas=True),
            "loss_rate": pa.array(rate.ravel(), from_pandas=True),
            "status": pa.array(status.ravel(), pa.string()),
            "reason": pa.array(reason.ravel(), pa.string(), mask=ok.ravel()),
            "customers": pa.array(np.broadcast_to(n_cust[:, None], supply.shape).ravel().astype(np.int32)),
            "missing_points": pa.array((s_miss + c_miss).ravel().astype(np.int32)),
        }
    )


def _month_bounds(month: str | date) -> tuple[int, int, str]:
    if isinstance(month, date):
        first = date(month.year, month.month, 1)
    else:
        try:
            y, m = (int(x) for x in str(month).split("-"))
            first = date(y, m, 1)
        except ValueError as exc:
            raise MdmInputError(f"month: {month!r} is not YYYY-MM") from exc
    nxt = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return day_number(first), day_number(nxt), f"{first.year:04d}-{first.month:02d}"


def monthly_energy(energy: DailyEnergy, month: str | date) -> np.ndarray:
    """Energy per meter for a calendar month [kWh], NaN when its intervals do not cover exactly the month."""
    lo, hi, label = _month_bounds(month)
    a, b = lo - energy.first_day, hi - energy.first_day
    if a < 0 or b > energy.n_days:
        raise MdmInputError(
            f"month: {label} is not inside the energy days {day_from_number(energy.first_day)}.."
            f"{day_from_number(energy.first_day + energy.n_days - 1)}"
        )
    e = energy.energy_kwh[:, a:b]
    s = energy.span_days[:, a:b]
    closes = s > 0
    covered = np.where(closes & ~np.isnan(e), s, 0).sum(axis=1)
    complete = (covered == b - a) & closes[:, -1] & ~np.isnan(e[:, -1])
    total = np.round(np.where(closes, np.nan_to_num(e), 0.0).sum(axis=1), 2)
    return np.where(complete, total, np.nan)


def _roll_up(
    level: str,
    label: str,
    unit_idx: np.ndarray,
    units: list[str],
    supply: np.ndarray,
    sold: np.ndarray,
    ok: np.ndarray,
    missing: np.ndarray,
    cfg: LineLossConfig,
) -> pa.Table:
    n = len(units)
    sel = unit_idx >= 0
    u = unit_idx[sel]
    okw = ok[sel].astype(np.float64)
    sup = np.round(np.bincount(u, weights=np.where(ok, supply, 0.0)[sel], minlength=n), 2)
    sld = np.round(np.bincount(u, weights=np.where(ok, sold, 0.0)[sel], minlength=n), 2)
    total = np.bincount(u, minlength=n)
    good = np.bincount(u, weights=okw, minlength=n).astype(np.int64)
    miss = np.bincount(u, weights=missing[sel], minlength=n).astype(np.int64)
    zeros = np.zeros(n)
    loss, rate, status, _, _ = _classify(sup, sld, np.where(good > 0, 1, 0), zeros, zeros, cfg)
    return pa.table(
        {
            "level": pa.array([level] * n, pa.string()),
            "unit": pa.array(units, pa.string()),
            "month": pa.array([label] * n, pa.string()),
            "supply_kwh": pa.array(np.where(good > 0, sup, np.nan), from_pandas=True),
            "sold_kwh": pa.array(np.where(good > 0, sld, np.nan), from_pandas=True),
            "loss_kwh": pa.array(loss, from_pandas=True),
            "loss_rate": pa.array(rate, from_pandas=True),
            "status": pa.array(status, pa.string()),
            "tg_total": pa.array(total.astype(np.int32)),
            "tg_computable": pa.array(good.astype(np.int32)),
            "missing_points": pa.array(miss.astype(np.int32)),
        }
    )


def monthly_line_loss(
    energy: DailyEnergy, month: str | date, config: LineLossConfig = DEFAULT_LINE_LOSS
) -> pa.Table:
    """Monthly line loss per 台区, feeder and organisation, one table (``level`` = tg | feeder | org).

    Columns: level, unit, month, supply_kwh, sold_kwh, loss_kwh, loss_rate, status, tg_total,
    tg_computable, missing_points. A 台区's feeder and organisation are those of its supply meter. For a
    feeder or organisation the energies of its computable 台区 are summed, then the rate is taken;
    ``tg_total``/``tg_computable`` say how many 台区 that covered. 专变 (dedicated 台区) have no row and
    are in no roll-up.
    """
    fleet = energy.fleet
    _, _, label = _month_bounds(month)
    e = monthly_energy(energy, month)[:, None]
    supply, sold, n_supply, s_miss, _, c_miss = _tg_sums(energy, e)
    supply, sold, s_miss, c_miss = supply[:, 0], sold[:, 0], s_miss[:, 0], c_miss[:, 0]
    loss, rate, status, _, ok = _classify(supply, sold, n_supply, s_miss, c_miss, config)
    n_tg = len(fleet.tgs)
    missing = s_miss + c_miss
    rows = np.flatnonzero(~fleet.tg_dedicated)
    n_rows = rows.size
    tg_table = pa.table(
        {
            "level": pa.array(["tg"] * n_rows, pa.string()),
            "unit": pa.array(fleet.tgs, pa.string()).take(pa.array(rows, pa.int64())),
            "month": pa.array([label] * n_rows, pa.string()),
            "supply_kwh": pa.array(np.where(s_miss > 0, np.nan, supply)[rows], from_pandas=True),
            "sold_kwh": pa.array(np.where(c_miss > 0, np.nan, sold)[rows], from_pandas=True),
            "loss_kwh": pa.array(loss[rows], from_pandas=True),
            "loss_rate": pa.array(rate[rows], from_pandas=True),
            "status": pa.array(status[rows], pa.string()),
            "tg_total": pa.array(np.ones(n_rows, np.int32)),
            "tg_computable": pa.array(ok[rows].astype(np.int32)),
            "missing_points": pa.array(missing[rows].astype(np.int32)),
        }
    )
    # feeder / org of each public tg: from its (first) supply meter; a 专变 rolls up nowhere
    tg_feeder = np.full(n_tg, -1, np.int64)
    tg_org = np.full(n_tg, -1, np.int64)
    sup = np.flatnonzero((fleet.role == _SUPPLY) & (fleet.tg_idx >= 0))[::-1]
    tg_feeder[fleet.tg_idx[sup]] = fleet.feeder_idx[sup]
    tg_org[fleet.tg_idx[sup]] = fleet.org_idx[sup]
    tg_feeder[fleet.tg_dedicated] = -1
    tg_org[fleet.tg_dedicated] = -1
    parts = [tg_table]
    parts.append(_roll_up("feeder", label, tg_feeder, fleet.feeders, supply, sold, ok, missing, config))
    parts.append(_roll_up("org", label, tg_org, fleet.orgs, supply, sold, ok, missing, config))
    return pa.concat_tables(parts)


def sold_vs_purchased(
    energy: DailyEnergy, month: str | date, config: LineLossConfig = DEFAULT_LINE_LOSS
) -> pa.Table:
    """Purchased (feeder head meters) vs sold (customer meters) energy per feeder and organisation, a month.

    Columns: level (feeder | org), unit, month, purchased_kwh, sold_kwh, loss_kwh, loss_rate, status,
    missing_points. status: ``not_computable`` (a head or customer meter has no monthly energy, or nothing
    purchased), ``sold_exceeds_purchased``, ``high_loss`` (rate > ``purchased_max_loss_rate``), ``ok``.
    """
    fleet = energy.fleet
    _, _, label = _month_bounds(month)
    e = monthly_energy(energy, month)
    missing = np.isnan(e)
    tables = []
    for level, idx, units in (
        ("feeder", fleet.feeder_idx, fleet.feeders),
        ("org", fleet.org_idx, fleet.orgs),
    ):
        n = len(units)
        out = {}
        for name, role in (("purchased", _FEEDER), ("sold", _CUSTOMER)):
            sel = (fleet.role == role) & (idx >= 0)
            u = idx[sel].astype(np.int64)
            out[name] = np.round(np.bincount(u, weights=np.nan_to_num(e[sel]), minlength=n), 2)
            out[name + "_miss"] = np.bincount(u, weights=missing[sel], minlength=n)
            out[name + "_n"] = np.bincount(u, minlength=n)
        pur, sold = out["purchased"], out["sold"]
        miss = (out["purchased_miss"] + out["sold_miss"]).astype(np.int64)
        computable = (miss == 0) & (out["purchased_n"] > 0) & (pur > 0)
        loss = np.round(np.where(computable, pur - sold, np.nan), 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(computable, loss / pur, np.nan)
        status = np.full(n, "not_computable", dtype=object)
        status[computable] = "ok"
        status[computable & (rate > config.purchased_max_loss_rate)] = "high_loss"
        status[computable & (sold > pur)] = "sold_exceeds_purchased"
        tables.append(
            pa.table(
                {
                    "level": pa.array([level] * n, pa.string()),
                    "unit": pa.array(units, pa.string()),
                    "month": pa.array([label] * n, pa.string()),
                    "purchased_kwh": pa.array(
                        np.where(out["purchased_miss"] > 0, np.nan, pur), from_pandas=True
                    ),
                    "sold_kwh": pa.array(np.where(out["sold_miss"] > 0, np.nan, sold), from_pandas=True),
                    "loss_kwh": pa.array(loss, from_pandas=True),
                    "loss_rate": pa.array(rate, from_pandas=True),
                    "status": pa.array(status, pa.string()),
                    "missing_points": pa.array(miss.astype(np.int32)),
                }
            )
        )
    return pa.concat_tables(tables)


def abnormal_tgs(daily: pa.Table) -> list[str]:
    """台区 with at least one day that is not qualified, from a :func:`daily_line_loss` table."""
    bad = pc.not_equal(daily.column("status"), STATUS_QUALIFIED)
    return sorted(set(daily.filter(bad).column("tg").to_pylist()))
