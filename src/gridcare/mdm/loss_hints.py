"""Cause hints for abnormal 台区 (any day not qualified in the period of a DailyEnergy).

Hints (column ``hint``), each row naming the 台区 and, where it applies, a meter:

- ``missing_collection``: a meter of the 台区 (supply or customer) lacks single-day energy on some days;
  ``score`` = number of such days.
- ``meter_stopped``: a customer with zero energy for at least ``stopped_days`` consecutive days, or a
  METER_STOPPED / ZERO_RUN flag in the VEE results passed in; ``score`` = longest zero run (days).
- ``relation_error`` (户变关系): a customer whose daily energy correlates (Pearson, over at least
  ``min_corr_days`` common days) with another 台区's supply curve at least ``min_corr`` and by ``corr_margin``
  more than with its own; ``score`` = the better correlation, ``detail`` names that 台区.
- ``suspected_theft``: the 台区's loss rate rose by at least ``theft_loss_rise`` from the first half of the
  period to the second while a customer's mean daily energy fell by at least ``theft_drop`` (fraction) and
  ``theft_min_drop_kwh`` per day; ``score`` = the drop [kWh/day].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gridcare.mdm.lineloss import DEFAULT_LINE_LOSS, STATUS_QUALIFIED, LineLossConfig, _classify, _tg_sums
from gridcare.mdm.registers import DailyEnergy
from gridcare.mdm.schema import ROLE_CUSTOMER, ROLE_SUPPLY, ROLES, MdmInputError, fmt2, join_text, plain
from gridcare.mdm.vee_config import METER_STOPPED, ZERO_RUN

HINTS_SCHEMA = pa.schema(
    [
        pa.field("tg", pa.string()),
        pa.field("hint", pa.string()),
        pa.field("meter", pa.string()),
        pa.field("score", pa.float64()),
        pa.field("detail", pa.string()),
    ]
)
_SUPPLY = ROLES.index(ROLE_SUPPLY)
_CUSTOMER = ROLES.index(ROLE_CUSTOMER)


@dataclass(frozen=True)
class HintConfig:
    stopped_days: int = 3
    min_corr_days: int = 14
    min_corr: float = 0.6
    corr_margin: float = 0.1
    theft_loss_rise: float = 0.03
    theft_drop: float = 0.5
    theft_min_drop_kwh: float = 1.0

    def __post_init__(self) -> None:
        if self.min_corr_days < 3:
            raise MdmInputError("HintConfig.min_corr_days: must be at least 3")
        if not 0 < self.theft_drop <= 1:
            raise MdmInputError("HintConfig.theft_drop: must be in (0, 1]")


def _mean_known(x: np.ndarray) -> np.ndarray:
    """Row means over non-NaN cells (NaN for a row with none)."""
    n = np.count_nonzero(~np.isnan(x), axis=1)
    total = np.nansum(x, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, total / np.maximum(n, 1), np.nan)


def pairwise_pearson(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pearson correlation of every row of ``x`` with every row of ``y`` over their common non-NaN columns.

    Returns (r [len(x) x len(y)], n common columns). Vectorised with masked matrix products.
    """
    mx, my = ~np.isnan(x), ~np.isnan(y)
    # centre each row on its own mean: Pearson is unchanged by a shift of either whole row
    xc = np.where(mx, x - _mean_known(x)[:, None], 0.0)
    yc = np.where(my, y - _mean_known(y)[:, None], 0.0)
    fx, fy = mx.astype(np.float64), my.astype(np.float64)
    n = fx @ fy.T
    sx, sy = xc @ fy.T, fx @ yc.T
    sxx, syy = (xc * xc) @ fy.T, fx @ (yc * yc).T
    sxy = xc @ yc.T
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = n * sxy - sx * sy
        var = (n * sxx - sx * sx) * (n * syy - sy * sy)
        r = np.where(var > 1e-12, cov / np.sqrt(np.maximum(var, 1e-300)), np.nan)
    return r, n.astype(np.int64)


def _hits(tg: pa.Array, hint: str, meter: pa.Array, score: np.ndarray, detail: pa.Array) -> pa.Table:
    return pa.table(
        [tg, pa.array([hint] * len(score), pa.string()), meter, pa.array(score, pa.float64()), detail],
        schema=HINTS_SCHEMA,
    )


def _longest_zero_run(e: np.ndarray) -> np.ndarray:
    zero = e == 0
    k = zero.shape[1]
    cols = np.arange(k)
    last_false = np.maximum.accumulate(np.where(zero, -1, cols), axis=1)
    return (cols - last_false).max(axis=1) if k else np.zeros(zero.shape[0], np.int64)


def loss_cause_hints(
    energy: DailyEnergy,
    *,
    vee_results: pa.Table | None = None,
    line_loss: LineLossConfig = DEFAULT_LINE_LOSS,
    config: HintConfig | None = None,
) -> pa.Table:
    """Cause hints (module docstring) for every 台区 with a day that is not qualified."""
    cfg = config or HintConfig()
    fleet = energy.fleet
    single = energy.single_day()
    supply, sold, n_supply, s_miss, _, c_miss = _tg_sums(energy, single)
    n_sup = np.broadcast_to(n_supply[:, None], supply.shape)
    _, _, status, _, ok = _classify(supply, sold, n_sup, s_miss, c_miss, line_loss)
    abnormal = (status != STATUS_QUALIFIED).any(axis=1) if status.size else np.zeros(len(fleet.tgs), bool)
    tg_labels = pa.array(fleet.tgs, pa.string())
    in_abn = (fleet.tg_idx >= 0) & abnormal[np.maximum(fleet.tg_idx, 0)]
    parts: list[pa.Table] = []

    # missing collection
    miss_days = np.isnan(single).sum(axis=1)
    sel = np.flatnonzero(in_abn & (miss_days > 0) & ((fleet.role == _SUPPLY) | (fleet.role == _CUSTOMER)))
    parts.append(
        _hits(
            tg_labels.take(pa.array(fleet.tg_idx[sel])),
            "missing_collection",
            fleet.meters.take(pa.array(sel)),
            miss_days[sel].astype(np.float64),
            join_text("no single-day energy on ", pc.cast(pa.array(miss_days[sel]), pa.string()), " day(s)"),
        )
    )

    # meter stopped
    run = _longest_zero_run(single)
    stopped = in_abn & (fleet.role == _CUSTOMER) & (run >= cfg.stopped_days)
    if vee_results is not None and vee_results.num_rows:
        flagged = vee_results.filter(
            pc.is_in(plain(vee_results.column("rule")), pa.array([METER_STOPPED, ZERO_RUN]))
        )
        pos = fleet.lookup(flagged.column("meter"))
        pos = pos[pos >= 0]
        extra = np.zeros(fleet.n, bool)
        extra[pos] = True
        stopped |= in_abn & extra
    sel = np.flatnonzero(stopped)
    parts.append(
        _hits(
            tg_labels.take(pa.array(fleet.tg_idx[sel])),
            "meter_stopped",
            fleet.meters.take(pa.array(sel)),
            run[sel].astype(np.float64),
            join_text(
                "zero energy for up to ", pc.cast(pa.array(run[sel]), pa.string()), " consecutive day(s)"
            ),
        )
    )

    # 户变关系: customer curve vs every 台区 supply curve
    if energy.n_days >= cfg.min_corr_days:
        cust = np.flatnonzero(in_abn & (fleet.role == _CUSTOMER))
        supply_curve = np.where(s_miss > 0, np.nan, supply)
        has_sup = n_supply > 0
        if cust.size and has_sup.any():
            r, n = pairwise_pearson(single[cust], supply_curve)
            r = np.where((n >= cfg.min_corr_days) & has_sup[None, :], r, np.nan)
            own = fleet.tg_idx[cust]
            r_own = r[np.arange(cust.size), own]
            r_other = r.copy()
            r_other[np.arange(cust.size), own] = np.nan
            filled = np.where(np.isnan(r_other), -np.inf, r_other)
            best = np.argmax(filled, axis=1) if r.shape[1] else np.zeros(cust.size, np.int64)
            r_best = filled[np.arange(cust.size), best] if r.shape[1] else np.full(cust.size, -np.inf)
            own_cmp = np.where(np.isnan(r_own), -1.0, r_own)
            hit = (r_best >= cfg.min_corr) & (r_best - own_cmp >= cfg.corr_margin)
            h = np.flatnonzero(hit)
            parts.append(
                _hits(
                    tg_labels.take(pa.array(own[h])),
                    "relation_error",
                    fleet.meters.take(pa.array(cust[h])),
                    r_best[h],
                    join_text(
                        "correlates ",
                        fmt2(r_best[h]),
                        " with 台区 ",
                        tg_labels.take(pa.array(best[h])),
                        " but ",
                        fmt2(r_own[h]),
                        " with its own",
                    ),
                )
            )

    # suspected theft: loss rate up, customer energy down
    if energy.n_days >= 2:
        half = energy.n_days // 2
        rates = []
        for lo, hi in ((0, half), (half, energy.n_days)):
            okw = ok[:, lo:hi]
            sup = np.where(okw, supply[:, lo:hi], 0).sum(axis=1)
            sld = np.where(okw, sold[:, lo:hi], 0).sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                rates.append(np.where(sup > 0, (sup - sld) / sup, np.nan))
        rise = rates[1] - rates[0]
        with np.errstate(invalid="ignore"):
            rising = rise >= cfg.theft_loss_rise
        before, after = _mean_known(single[:, :half]), _mean_known(single[:, half:])
        drop = before - after
        tg_ok = (fleet.tg_idx >= 0) & rising[np.maximum(fleet.tg_idx, 0)] & in_abn
        with np.errstate(invalid="ignore"):
            suspect = (
                tg_ok
                & (fleet.role == _CUSTOMER)
                & (drop >= cfg.theft_drop * before)
                & (drop >= cfg.theft_min_drop_kwh)
            )
        sel = np.flatnonzero(suspect)
        tg_rise = rise[fleet.tg_idx[sel]]
        parts.append(
            _hits(
                tg_labels.take(pa.array(fleet.tg_idx[sel])),
                "suspected_theft",
                fleet.meters.take(pa.array(sel)),
                drop[sel],
                join_text(
                    "mean energy fell from ",
                    fmt2(before[sel]),
                    " to ",
                    fmt2(after[sel]),
                    " kWh/day while the loss rate rose by ",
                    fmt2(tg_rise * 100),
                    " points",
                ),
            )
        )
    return pa.concat_tables(parts) if parts else HINTS_SCHEMA.empty_table()
