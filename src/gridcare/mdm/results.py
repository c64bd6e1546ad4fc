"""Read services over the stored MDM results, always within the principal's organisation scope.

Used by the API and the console: data quality of a day (VEE flags), the 台区 line-loss ranking of a day and a
台区's drill-down (daily supply curve, its customers' energies). A result row is visible when its ``org`` (the
organisation of the meter's 台区) is in scope; flags of meters outside the archive only to principals that see
the whole company. A 台区 outside the scope is reported as not found, like a missing one.

Only public 台区 (公变) have 台区 line loss: the ranking leaves 专变 (dedicated 台区) out, also from results
stored before the archive said which 台区 are 专变, and a 专变's drill-down raises
:class:`LineLossNotApplicable`.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import select
from sqlalchemy.orm import Session

from gridcare.archives import queries
from gridcare.archives.models import AreaKind, Customer, Meter, MeteringPoint, TransformerArea
from gridcare.archives.scope import scoped
from gridcare.config import Settings
from gridcare.mdm.fleet import Fleet
from gridcare.mdm.loss_hints import loss_cause_hints
from gridcare.mdm.registers import DailyEnergy
from gridcare.mdm.schema import ROLE_SUPPLY, MdmInputError, day_number
from gridcare.mdm.store import KIND_LINELOSS, KIND_VEE, MdmLake
from gridcare.mdm.tasks import column_counts, orgs_in_scope, scoped_rows
from gridcare.mdm.vee_config import RULES
from gridcare.security.principal import Principal

STATUS_ORDER = ("high", "negative", "not_computable", "low", "qualified")
"""Ranking order of line-loss classes, worst first."""
STATUS_LABELS = {
    "high": "高损 high loss",
    "negative": "负损 negative loss",
    "not_computable": "不可计算 not computable",
    "low": "低损 low loss",
    "qualified": "合格 qualified",
}
REASON_LABELS = {
    "no_supply_meter": "无台区总表 no supply meter",
    "supply_missing": "总表缺数 supply reading missing",
    "customers_missing": "户表缺数 customer readings missing",
    "supply_zero": "供电量为零 no supply",
}
MAX_PAGE_SIZE = 500


class LineLossNotApplicable(MdmInputError):
    """台区 line loss asked of a 专变 (a dedicated 台区): it is not a 台区 line-loss object.

    ``reason`` is the message without the field; the message names the field ``tg``.
    """

    def __init__(self, code: str) -> None:
        self.code = code
        self.reason = (
            f"{code} 为专变，不适用台区线损（专变的损耗是向该客户计收的变损） — {code} is a dedicated "
            "transformer (专变): 台区 line loss does not apply (its losses are the transformer loss billed "
            "to its customer)"
        )
        super().__init__(f"tg: {self.reason}")


def line_loss_area(session: Session, principal: Principal, code: str) -> TransformerArea:
    """The public 台区 ``code``: NotFound when unknown or outside the scope, :class:`LineLossNotApplicable`
    for a 专变."""
    area = queries.get_transformer_area(session, principal, code)
    if area.kind == AreaKind.DEDICATED:
        raise LineLossNotApplicable(area.code)
    return area


def dedicated_codes(session: Session) -> list[str]:
    """Codes of every 专变 (dedicated 台区) in the archive."""
    stmt = select(TransformerArea.code).where(TransformerArea.kind == AreaKind.DEDICATED.value)
    return list(session.scalars(stmt.order_by(TransformerArea.code)))


def without_dedicated(session: Session, table: pa.Table) -> pa.Table:
    """Rows of a line-loss table (column ``tg``) that are not of a 专变."""
    codes = dedicated_codes(session)
    if not codes or table.num_rows == 0:
        return table
    dedicated = pc.fill_null(pc.is_in(table["tg"], value_set=pa.array(codes, pa.string())), False)
    return table.filter(pc.invert(dedicated))


def _finite(x: Any) -> Any:
    return None if isinstance(x, float) and not math.isfinite(x) else x


def rows_of(table: pa.Table) -> list[dict[str, Any]]:
    return [{k: _finite(v) for k, v in row.items()} for row in table.to_pylist()]


def _run_info(run: dict[str, object] | None) -> dict[str, Any] | None:
    if run is None:
        return None
    return {k: run[k] for k in ("run_at", "who", "meters", "readings", "results", "estimates", "seconds")}


# --- data quality -----------------------------------------------------------------------------------
def _flags(session: Session, settings: Settings, principal: Principal, day: date) -> pa.Table | None:
    lake = MdmLake(settings.lake_dir)
    flags = lake.results(lake.vee, KIND_VEE, day)
    if flags is None:
        return None
    return scoped_rows(flags, orgs_in_scope(session, principal))


def quality_summary(session: Session, settings: Settings, principal: Principal, day: date) -> dict[str, Any]:
    """Counts per rule and per severity of the latest VEE run of the freeze of ``day`` (in scope)."""
    lake = MdmLake(settings.lake_dir)
    run = lake.latest_run(KIND_VEE, day)
    flags = _flags(session, settings, principal, day) if run is not None else None
    by_rule = column_counts(flags, "rule") if flags is not None else {}
    by_severity = column_counts(flags, "severity") if flags is not None else {}
    rules = [
        {
            "rule": code,
            "title_zh": rule.title_zh,
            "title_en": rule.title_en,
            "severity": rule.severity,
            "count": by_rule.get(code, 0),
        }
        for code, rule in RULES.items()
    ]
    meters = pc.count_distinct(flags["meter"]).as_py() if flags is not None and flags.num_rows else 0
    return {
        "day": day,
        "run": _run_info(run),
        "flags": flags.num_rows if flags is not None else 0,
        "meters_flagged": meters,
        "by_severity": {s: by_severity.get(s, 0) for s in ("error", "warning", "info")},
        "rules": rules,
    }


def quality_flags(
    session: Session,
    settings: Settings,
    principal: Principal,
    day: date,
    *,
    rule: str | None = None,
    severity: str | None = None,
    tg: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> dict[str, Any]:
    """The readings failing a rule on the freeze of ``day``, paged (by rule, then meter)."""
    if rule is not None and rule not in RULES:
        raise MdmInputError(f"rule: unknown rule {rule!r}; expected one of {', '.join(RULES)}")
    if severity is not None and severity not in ("error", "warning", "info"):
        raise MdmInputError(f"severity: expected error, warning or info, got {severity!r}")
    page, page_size = max(1, page), max(1, min(page_size, MAX_PAGE_SIZE))
    flags = _flags(session, settings, principal, day)
    if flags is None:
        return {"day": day, "run": None, "total": 0, "page": page, "page_size": page_size, "items": []}
    for name, value in (("rule", rule), ("severity", severity), ("tg", tg)):
        if value is not None:
            flags = flags.filter(pc.fill_null(pc.equal(flags[name], value), False))
    order = {code: i for i, code in enumerate(RULES)}
    rank = pa.array([order.get(r, len(order)) for r in flags["rule"].to_pylist()], pa.int32())
    flags = flags.append_column("rank_", rank)
    flags = flags.take(pc.sort_indices(flags, sort_keys=[("rank_", "ascending"), ("meter", "ascending")]))
    items = rows_of(flags.slice((page - 1) * page_size, page_size).drop_columns(["rank_", "run_at"]))
    for item in items:
        item["title_zh"] = RULES[item["rule"]].title_zh if item["rule"] in RULES else item["rule"]
    run = MdmLake(settings.lake_dir).latest_run(KIND_VEE, day)
    return {
        "day": day,
        "run": _run_info(run),
        "total": flags.num_rows,
        "page": page,
        "page_size": page_size,
        "items": items,
    }


# --- line loss ----------------------------------------------------------------------------------------
def _tg_names(session: Session, principal: Principal, codes: list[str]) -> dict[str, str]:
    if not codes:
        return {}
    names: dict[str, str] = {}
    for i in range(0, len(codes), 500):
        chunk = codes[i : i + 500]
        stmt = select(TransformerArea.code, TransformerArea.name).where(
            TransformerArea.code.in_(chunk), scoped(TransformerArea.org_id, principal)
        )
        names.update({c: n for c, n in session.execute(stmt)})
    return names


def rank_line_loss(table: pa.Table) -> pa.Table:
    """Rows ordered worst first: high (rate desc), negative (rate asc), not computable (missing points
    desc), low, qualified (rate desc); ties by 台区 code."""
    cls = pa.array([STATUS_ORDER.index(s) if s in STATUS_ORDER else 9 for s in table["status"].to_pylist()])
    rate = pc.fill_null(table["loss_rate"], 0.0)
    key = pc.if_else(pc.equal(table["status"], "negative"), rate, pc.negate(rate))
    key = pc.if_else(
        pc.equal(table["status"], "not_computable"),
        pc.negate(pc.cast(table["missing_points"], pa.float64())),
        key,
    )
    work = table.append_column("cls_", cls).append_column("key_", key)
    order = pc.sort_indices(
        work, sort_keys=[("cls_", "ascending"), ("key_", "ascending"), ("tg", "ascending")]
    )
    return table.take(order)


def line_loss_ranking(
    session: Session, settings: Settings, principal: Principal, day: date, *, status: str | None = None
) -> dict[str, Any]:
    """The 台区 line loss of business day ``day``, worst first, with counts per class (public 台区 only)."""
    if status is not None and status not in STATUS_ORDER:
        raise MdmInputError(f"status: expected one of {', '.join(STATUS_ORDER)}, got {status!r}")
    lake = MdmLake(settings.lake_dir)
    run = lake.latest_run(KIND_LINELOSS, day)
    table = lake.results(lake.lineloss, KIND_LINELOSS, day)
    if table is None:
        return {"day": day, "run": None, "by_status": {}, "items": []}
    table = scoped_rows(without_dedicated(session, table), orgs_in_scope(session, principal))
    table = rank_line_loss(table)
    by_status = column_counts(table, "status")
    if status is not None:
        table = table.filter(pc.equal(table["status"], status))
    items = rows_of(table.drop_columns(["run_at"]))
    names = _tg_names(session, principal, [i["tg"] for i in items])
    for item in items:
        item["name"] = names.get(item["tg"], "")
        item["status_label"] = STATUS_LABELS.get(item["status"], item["status"])
        item["reason_label"] = REASON_LABELS.get(item["reason"] or "", "")
    return {
        "day": day,
        "run": _run_info(run),
        "by_status": {s: by_status.get(s, 0) for s in STATUS_ORDER},
        "items": items,
    }


def tg_detail(
    session: Session, settings: Settings, principal: Principal, code: str, day: date, days: int = 30
) -> dict[str, Any]:
    """A 台区's daily supply curve over the ``days`` ending on ``day`` and its meters' energies on ``day``.

    NotFound when the 台区 is unknown or outside the scope, :class:`LineLossNotApplicable` for a 专变.
    """
    if not 1 <= days <= 366:
        raise MdmInputError(f"days: must be between 1 and 366, got {days}")
    area = line_loss_area(session, principal, code)
    lake = MdmLake(settings.lake_dir)
    curve = lake.results_range(lake.lineloss, KIND_LINELOSS, day - timedelta(days=days - 1), day)
    curve = curve.filter(pc.equal(curve["tg"], code))
    curve = curve.take(pc.sort_indices(curve, sort_keys=[("day", "ascending")]))
    energy = lake.results(lake.energy, KIND_LINELOSS, day)
    meters: list[dict[str, Any]] = []
    if energy is not None:
        energy = energy.filter(pc.fill_null(pc.equal(energy["tg"], code), False))
        meters = rows_of(energy.select(["meter", "role", "energy_kwh", "span_days"]))
    stmt = (
        select(Meter.address, Customer.customer_no, Customer.customer_class)
        .select_from(MeteringPoint)
        .join(Meter, Meter.id == MeteringPoint.meter_id)
        .outerjoin(Customer, Customer.id == MeteringPoint.customer_id)
        .where(MeteringPoint.transformer_area_id == area.id, MeteringPoint.valid_to.is_(None))
    )
    who = {a: (no, None if cls is None else cls.value) for a, no, cls in session.execute(stmt)}
    for m in meters:
        m["customer_no"], m["customer_class"] = who.get(m["meter"], (None, None))
    meters.sort(key=lambda m: (m["role"] != "supply", -(m["energy_kwh"] or 0.0), m["meter"]))
    today = next((r for r in rows_of(curve) if r["day"] == day), None)
    return {
        "tg": area.code,
        "name": area.name,
        "capacity_kva": area.capacity_kva,
        "day": day,
        "line_loss": today,
        "curve": [
            {k: r[k] for k in ("day", "supply_kwh", "sold_kwh", "loss_kwh", "loss_rate", "status")}
            for r in rows_of(curve)
        ],
        "meters": meters,
        "hints": tg_hints(session, settings, principal, code, day, days),
    }


HINT_LABELS = {
    "missing_collection": "采集缺数 missing collection",
    "meter_stopped": "电能表停走 meter stopped",
    "relation_error": "户变关系错误 transformer relation error",
    "suspected_theft": "疑似窃电 suspected theft",
}


def tg_hints(
    session: Session, settings: Settings, principal: Principal, code: str, day: date, days: int = 30
) -> list[dict[str, Any]]:
    """Cause hints (:func:`gridcare.mdm.loss_hints.loss_cause_hints`) for 台区 ``code`` over the ``days``
    ending on ``day``, from the meters' daily energies stored by ``gridcare lineloss compute`` (the days it
    ran for; a day never computed is not a collection gap); empty when the 台区 had no abnormal day.
    Other 台区's supply curves (for the relation check) are those in scope.

    Rows: hint, label, meter, customer_no, score, detail; strongest first within a hint.
    :class:`LineLossNotApplicable` for a 专变.
    """
    if not 1 <= days <= 366:
        raise MdmInputError(f"days: must be between 1 and 366, got {days}")
    area = line_loss_area(session, principal, code)
    lake = MdmLake(settings.lake_dir)
    first = day - timedelta(days=days - 1)
    rows = lake.results_range(lake.energy, KIND_LINELOSS, first, day)
    if rows.num_rows == 0:
        return []
    rows = scoped_rows(rows, orgs_in_scope(session, principal))
    mine = pc.fill_null(pc.equal(rows["tg"], code), False)
    supply = pc.fill_null(pc.equal(rows["role"], ROLE_SUPPLY), False)
    rows = rows.filter(pc.or_(mine, supply))
    if rows.num_rows == 0:
        return []
    rows = rows.take(pc.sort_indices(rows, sort_keys=[("meter", "ascending"), ("day", "descending")]))
    addr = rows["meter"].combine_chunks()
    latest = pa.concat_arrays([pa.array([True]), pc.not_equal(addr.slice(1), addr.slice(0, len(addr) - 1))])
    fleet = Fleet.from_table(rows.filter(latest).select(["meter", "role", "tg", "org"]))
    # only the days line loss was computed for: a day never computed is not a collection gap
    run_days = sorted(set(rows["day"].to_pylist()))
    column = {d: j for j, d in enumerate(run_days)}
    e = np.full((fleet.n, len(run_days)), np.nan)
    span = np.zeros((fleet.n, len(run_days)), np.int32)
    m = fleet.lookup(rows["meter"])
    d = np.asarray([column[x] for x in rows["day"].to_pylist()], np.int64)
    e[m, d] = np.asarray(pc.fill_null(rows["energy_kwh"], np.nan).to_numpy(zero_copy_only=False), np.float64)
    span[m, d] = np.asarray(pc.fill_null(rows["span_days"], 0).to_numpy(zero_copy_only=False), np.int32)
    energy = DailyEnergy(fleet=fleet, first_day=day_number(run_days[0]), energy_kwh=e, span_days=span)
    hints = loss_cause_hints(energy)
    hints = hints.filter(pc.fill_null(pc.equal(hints["tg"], code), False))
    who = {
        a: no
        for a, no in session.execute(
            select(Meter.address, Customer.customer_no)
            .select_from(MeteringPoint)
            .join(Meter, Meter.id == MeteringPoint.meter_id)
            .join(Customer, Customer.id == MeteringPoint.customer_id)
            .where(MeteringPoint.transformer_area_id == area.id)
        )
    }
    out = []
    for r in rows_of(hints):
        r["label"] = HINT_LABELS.get(r["hint"], r["hint"])
        r["customer_no"] = who.get(r["meter"]) if r["meter"] else None
        out.append(r)
    order = list(HINT_LABELS)
    out.sort(key=lambda r: (order.index(r["hint"]) if r["hint"] in order else 99, -(r["score"] or 0.0)))
    return out
