"""Figures of the home dashboard: collection today and its trend, terminals online, the 台区 line-loss
distribution of the latest computed day, and open alerts. Each reads through the scoped services of its room.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pyarrow.compute as pc
from sqlalchemy.orm import Session

from gridcare.acquisition import kpi
from gridcare.config import Settings
from gridcare.mdm import results
from gridcare.mdm.lineloss import DEFAULT_LINE_LOSS
from gridcare.mdm.store import KIND_LINELOSS, MdmLake
from gridcare.security import risk
from gridcare.security.models import Alert
from gridcare.security.principal import Principal
from gridcare.security.roles import Permission

LINE_LOSS_LOOKBACK_DAYS = 45
"""How far back the dashboard looks for the latest line-loss run."""
LOSS_BIN_WIDTH_PCT = 2
LOSS_BIN_TOP_PCT = 14


@dataclass(frozen=True)
class Collection:
    day: date
    overall: kpi.Rate
    collectable: kpi.Rate
    reasons: dict[str, int]
    terminals: kpi.Rate


def collection(session: Session, principal: Principal, day: date) -> Collection:
    """Success of ``day``'s freeze, of the collectable points, why the rest failed, and terminals online."""
    overall = kpi.overall_rate(session, day, principal)
    reasons = kpi.reason_counts(session, day, principal) if overall.due > overall.collected else {}
    return Collection(
        day=day,
        overall=overall,
        collectable=kpi.collectable_rate(overall, reasons),
        reasons=reasons,
        terminals=kpi.terminal_online_rate(session, principal),
    )


def loss_bins(rates_pct: Sequence[float]) -> list[dict[str, Any]]:
    """Histogram of loss rates [%]: below 0, then 2-point bins (a, a+2] from 0 to 14 ([0, 2] first), above 14.

    Each bin has its label, count and band (``negative``, ``qualified`` or ``high`` against the qualified
    band of :data:`gridcare.mdm.lineloss.DEFAULT_LINE_LOSS`), so the chart can colour it.
    """
    top_ok = DEFAULT_LINE_LOSS.qualified_max * 100
    edges = list(range(0, LOSS_BIN_TOP_PCT + 1, LOSS_BIN_WIDTH_PCT))
    shapes: list[tuple[str, float | None, float | None, str]] = [("<0%", None, 0.0, "negative")]
    for a, b in itertools.pairwise(edges):
        shapes.append((f"{a}–{b}%", float(a), float(b), "qualified" if b <= top_ok else "high"))
    shapes.append((f">{LOSS_BIN_TOP_PCT}%", float(LOSS_BIN_TOP_PCT), None, "high"))
    counts = [0] * len(shapes)
    for rate in rates_pct:
        if rate < 0:
            counts[0] += 1
        elif rate > LOSS_BIN_TOP_PCT:
            counts[-1] += 1
        else:
            counts[1 if rate <= LOSS_BIN_WIDTH_PCT else math.ceil(rate / LOSS_BIN_WIDTH_PCT)] += 1
    bins = [
        {"label": label, "low": low, "high": high, "count": n, "band": band}
        for (label, low, high, band), n in zip(shapes, counts, strict=True)
    ]
    return bins


def latest_line_loss_day(settings: Settings, today: date) -> date | None:
    """The latest business day up to ``today`` with a line-loss run, looking back 45 days."""
    runs = MdmLake(settings.lake_dir).runs.raw(today - timedelta(days=LINE_LOSS_LOOKBACK_DAYS), today)
    runs = runs.filter(pc.equal(runs["kind"], KIND_LINELOSS))
    if runs.num_rows == 0:
        return None
    latest: date = pc.max(runs["day"]).as_py()
    return latest


def line_loss_distribution(
    session: Session, settings: Settings, principal: Principal, today: date
) -> dict[str, Any] | None:
    """The line-loss histogram of the latest computed day in scope; None when no run exists yet."""
    day = latest_line_loss_day(settings, today)
    if day is None:
        return None
    ranking = results.line_loss_ranking(session, settings, principal, day)
    rates = [i["loss_rate"] * 100 for i in ranking["items"] if i["loss_rate"] is not None]
    why = Counter(i["reason_label"] for i in ranking["items"] if i["status"] == "not_computable")
    return {
        "day": day.isoformat(),
        "areas": len(ranking["items"]),
        "computed": len(rates),
        "not_computable": ranking["by_status"].get("not_computable", 0),
        "not_computable_reasons": dict(why.most_common()),
        "by_status": ranking["by_status"],
        "bins": loss_bins(rates),
    }


def open_alerts(
    session: Session, principal: Principal, latest: int = 5
) -> tuple[Sequence[Alert], int] | None:
    """The latest open alerts in scope and how many are open; None for an account that does not handle
    alerts (alerts belong to the security and audit administrators)."""
    if not principal.can(Permission.HANDLE_ALERTS):
        return None
    return risk.list_alerts(session, principal, open_only=True, page_size=latest)
