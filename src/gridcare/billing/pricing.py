"""Pricing the accounts of a billing pass: anomalies and the review flags, the tier consumption already
billed, vectorised pricing per tariff version (:mod:`gridcare.billing.vectorized`) and the engine for
the rest, once per distinct request; the determinants JSON stored with each bill.

Anomalies put a bill in the review queue (status ``review``) instead of ``draft``: ``estimated`` (a
reading used is an estimate; the bill is marked estimated), ``zero`` (no consumption), ``jump`` (more
than :data:`JUMP_FACTOR` x the average of the customer's last three released bills and at least
:data:`JUMP_MIN_KWH` above it). Blocking anomalies hold the bill without lines (total 0): ``missing``
(a reading is absent), ``negative`` (a register went backwards), ``no_meter``, ``no_tariff``,
``invalid`` (the engine refused the input, or the tariff's class is not the customer's; the reason is
in the determinants).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session, aliased

from gridcare.billing import vectorized
from gridcare.billing.determinants import SLOT_DEMAND, SLOT_DIS, SLOT_REACTIVE, Determinants, e4_text
from gridcare.billing.engine import QuoteWorking, compute
from gridcare.billing.errors import BillingInputError
from gridcare.billing.jsonio import dumps, validate_model
from gridcare.billing.models import Bill, TariffVersion
from gridcare.billing.numbers import plain
from gridcare.billing.periods import DRAFT, IN_REVIEW, KIND_BILL, KIND_CREDIT, RELEASED, VOID, shift_period
from gridcare.billing.request import QuoteRequest
from gridcare.billing.response import QuoteResponse
from gridcare.billing.tariff import PERIOD_ZH, PERIODS, Period, Tariff
from gridcare.billing.tariff_store import TariffBook
from gridcare.billing.terms import AccountTerms, all_in_price, load_loss_table, request_parts

JUMP_FACTOR = Decimal(3)
JUMP_MIN_KWH = Decimal(50)
BLOCKING = ("no_meter", "no_tariff", "missing", "negative", "invalid")
REVIEW = ("estimated", "zero", "jump", "meter_change")
ANOMALIES = BLOCKING + REVIEW
_ZH_PERIOD = {zh: p for p, zh in PERIOD_ZH.items()}


def classify(item: str) -> tuple[str, str | None]:
    """(category, period) of an engine line item."""
    if item.startswith("电度电费"):
        head = item.split(" ", 1)[0]
        return "energy", (
            _ZH_PERIOD[head[-1]].value if head.endswith(tuple(_ZH_PERIOD)) else Period.FLAT.value
        )
    if item.startswith("阶梯加价"):
        return "tier", None
    if item.startswith("定量定比"):
        return "sub", None
    if item.startswith(("基本电费", "需量超限加收")):
        return "basic", None
    if item.startswith("力调电费"):
        return "pf", None
    return "surcharge", None


@dataclass
class Accounts:
    customer_id: list[int]
    customer_no: list[str]
    org_id: list[int]
    customer_class: list[str]
    tariff_code: list[str]
    capacity_kva: list[Any]  # contracted kVA as the driver gives it (text, number or Decimal)
    revision: list[int]
    group: list[str] = field(default_factory=list)
    terms: dict[int, AccountTerms] = field(default_factory=dict)  # by account index; none: no terms

    @property
    def n(self) -> int:
        return len(self.customer_id)


@dataclass
class Outcome:
    """Per-account results, filled by the pricing paths."""

    n: int
    status: list[str]
    anomalies: list[list[str]]
    total_fen: np.ndarray
    energy_e4: np.ndarray
    tier_e4: np.ndarray
    determinants: list[str]
    version_id: list[int | None]
    lines: list[tuple[int, int, str, str | None, str, int | None, Decimal | None, int]]  # engine lines
    vector_blocks: list[tuple[np.ndarray, vectorized.LineBlock]]


def _e4(value: int) -> str:
    if value >= 0:
        whole, frac = divmod(value, 10_000)
        return str(whole) if frac == 0 else f"{whole}.{frac:04d}".rstrip("0")
    return e4_text(value)


def _version_json(rows: Sequence[TariffVersion]) -> str:
    return dumps(
        [
            {"id": r.id, "code": r.code, "effective_from": r.effective_from, "revision": r.revision}
            for r in rows
        ]
    )


def price_accounts(
    session: Session,
    acc: Accounts,
    det: Determinants,
    book: TariffBook,
    versions: dict[str, list[TariffVersion]],
    start: date,
    end: date,
    period: str,
) -> tuple[Outcome, int, int, int]:
    n = acc.n
    out = Outcome(
        n=n,
        status=[DRAFT] * n,
        anomalies=[[] for _ in range(n)],
        total_fen=np.zeros(n, dtype=np.int64),
        energy_e4=det.total_e4(),
        tier_e4=det.total_e4(),
        determinants=[""] * n,
        version_id=[None] * n,
        lines=[],
        vector_blocks=[],
    )
    if n == 0:
        return out, 0, 0, 0
    cycle_json = dumps({"start": start, "end": end, "days": (end - start).days + 1})
    errors: dict[int, list[str]] = {}
    held = np.zeros(n, dtype=bool)
    for i in np.flatnonzero(det.no_run).tolist():
        out.anomalies[i].append("no_meter")
        errors.setdefault(i, []).append("no billing metering point in the cycle (无计费计量点)")
    for flag, name in ((det.missing, "missing"), (det.negative, "negative")):
        for i in np.flatnonzero(flag & ~det.no_run).tolist():
            out.anomalies[i].append(name)
    for i, message in _reading_problems(det):
        errors.setdefault(i, []).append(message)
    for i, found in det.messages.items():
        errors.setdefault(i, []).extend(found)
    for i in np.flatnonzero(det.bad_total & ~det.missing).tolist():
        out.anomalies[i].append("invalid")
        errors.setdefault(i, []).append("total register less than sharp + peak + valley (总小于尖峰谷之和)")
    # tariff checks once per (tariff code, customer class)
    verdict: dict[tuple[str, str], tuple[int | None, str | None, str | None]] = {}
    for code, cls in set(zip(acc.tariff_code, acc.customer_class, strict=True)):
        rows = versions[code]
        if not rows:
            verdict[(code, cls)] = (None, "no_tariff", f"tariff {code} has no version in force on {start}")
            continue
        tariff_class = book.tariff(rows[0]).customer_class.value
        problem: str | None = None
        if tariff_class != cls:
            problem = f"tariff {code} is for {tariff_class}, the customer is {cls} (电价与用电类别不符)"
        verdict[(code, cls)] = (rows[0].id, "invalid" if problem else None, problem)
    for i, pair in enumerate(zip(acc.tariff_code, acc.customer_class, strict=True)):
        version_id, anomaly, why = verdict[pair]
        out.version_id[i] = version_id
        if anomaly is not None:
            out.anomalies[i].append(anomaly)
            errors.setdefault(i, []).append(why or anomaly)
        if out.anomalies[i]:
            held[i] = True
    _add_review_flags(session, acc, det, out, held, period)

    consumed = _tier_consumed(session, acc, versions, book, start, period)
    vec_count = eng_count = 0
    engine_rows: list[int] = []
    # group the rest by tariff version key
    by_key: dict[tuple[int, ...], list[int]] = {}
    keys = {code: tuple(r.id for r in rows) for code, rows in versions.items()}
    for i in np.flatnonzero(~held).tolist():
        terms = acc.terms.get(i)
        if terms is not None and terms.needs_engine:  # 力调, demand, 变损 or sub-usages
            engine_rows.append(i)
            continue
        by_key.setdefault(keys[acc.tariff_code[i]], []).append(i)
    for key, members in by_key.items():
        rows = versions[acc.tariff_code[members[0]]]
        idx = np.asarray(members, dtype=np.int64)
        table = vectorized.compile_tariff(book.tariff(rows[0]), start, end) if len(key) == 1 else None
        if table is None:
            engine_rows.extend(members)
            continue
        buckets = {p: det.buckets_e4[p][idx] for p in PERIODS}
        if not table.tou:
            total = sum(buckets.values(), np.zeros(len(idx), dtype=np.int64))
            buckets = {
                p: (total if p is Period.FLAT else np.zeros(len(idx), dtype=np.int64)) for p in PERIODS
            }
        ok = vectorized.fits(table, buckets)
        if not ok.all():
            engine_rows.extend(idx[~ok].tolist())
            idx = idx[ok]
            buckets = {p: v[ok] for p, v in buckets.items()}
        if len(idx) == 0:
            continue
        priced = vectorized.price(table, buckets, consumed[idx])
        out.total_fen[idx] = priced.total_fen
        for block in priced.blocks:
            out.vector_blocks.append((idx, block))
        tou = table.tou
        for j, i in enumerate(idx.tolist()):
            kwh = (
                "{" + ",".join(f'"{p.value}":{_e4(int(buckets[p][j]))}' for p in PERIODS) + "}"
                if tou
                else '{"flat":' + _e4(int(buckets[Period.FLAT][j])) + "}"
            )
            out.determinants[i] = (
                f'{{"path":"vector","main_kwh":{kwh},"tier_consumed_kwh":{_e4(int(consumed[i]))}}}'
            )
        vec_count += len(idx)
    calls = 0
    cache: dict[Any, tuple[QuoteResponse, QuoteWorking] | BillingInputError] = {}
    long = _long_by_account(det, engine_rows)
    loss_table = (
        load_loss_table(session)
        if any(acc.terms[i].transformer_loss == "table" for i in engine_rows if i in acc.terms)
        else {}
    )
    sub_prices: dict[str, Decimal | None] = {}

    def sub_price(code: str) -> Decimal | None:
        if code not in sub_prices:
            found = book.versions(code, start, end)
            sub_prices[code] = all_in_price(book.tariff(found[0]), end.month) if found else None
        return sub_prices[code]

    for i in engine_rows:
        rows = versions[acc.tariff_code[i]]
        tariffs = [book.tariff(r) for r in rows]
        regs = long.get(i, [])
        terms = acc.terms.get(i)
        cache_key = (tuple(r.id for r in rows), tuple(regs), acc.capacity_kva[i], int(consumed[i]), terms)
        if cache_key not in cache:
            calls += 1
            try:
                request_data = _engine_request(tariffs, rows, acc, i, start, end, regs, consumed[i])
                basic = [t.basic_charge for t in tariffs if t.basic_charge is not None]
                capacity = Decimal(str(acc.capacity_kva[i]))
                request_data |= request_parts(terms, capacity, basic, loss_table, sub_price)
                request = validate_model(QuoteRequest, request_data)
                cache[cache_key] = compute(request)
            except BillingInputError as exc:
                cache[cache_key] = exc
        result = cache[cache_key]
        eng_count += 1
        if isinstance(result, BillingInputError):
            out.anomalies[i].append("invalid")
            errors.setdefault(i, []).extend(str(e) for e in result.errors)
            held[i] = True
            out.status[i] = IN_REVIEW
            continue
        response, working = result
        line_total = 0
        for seq, line in enumerate(response.lines):
            category, per = classify(line.item)
            amount = int(line.amount_yuan.scaleb(2))
            kwh_e4 = None if line.kwh is None else vectorized.to_units(line.kwh, 4)
            out.lines.append((i, seq, category, per, line.item, kwh_e4, line.price, amount))
            line_total += amount
        out.total_fen[i] = line_total
        # billed kWh: main account plus sub-usages = active kWh incl. loss (sub-usages are taken out of it)
        active = sum(working.active_kwh.values(), Decimal(0))
        out.energy_e4[i] = vectorized.to_units(active, 4) or 0
        out.tier_e4[i] = vectorized.to_units(sum(working.main_kwh.values(), Decimal(0)), 4) or 0
        out.determinants[i] = _engine_determinants(cycle_json, rows, working, consumed[i], response, terms)
    for i in range(n):
        if out.anomalies[i]:
            out.status[i] = IN_REVIEW
        if held[i] and not out.determinants[i]:
            rows = versions[acc.tariff_code[i]]
            out.determinants[i] = dumps(
                {"path": "held", "cycle": {"start": start, "end": end}, "errors": errors.get(i, [])}
                | ({"tariff_versions": [r.id for r in rows]} if rows else {})
            )
        elif i in errors and out.determinants[i].startswith("{"):
            out.determinants[i] = out.determinants[i][:-1] + ',"errors":' + dumps(errors[i]) + "}"
        if i in det.changes and out.determinants[i].startswith("{"):
            noted = det.changes[i]
            extra = {"meter_changes": noted["changes"], "meter_runs": noted["meter_runs"]}
            out.determinants[i] = out.determinants[i][:-1] + "," + dumps(extra)[1:]
        if held[i]:
            out.total_fen[i] = 0
    return out, vec_count, eng_count, calls


def _reading_problems(det: Determinants) -> list[tuple[int, str]]:
    """Messages naming each missing reading and each register that went backwards."""
    bad = det.missing | det.negative
    if not bad.any():
        return []
    wanted = set(np.flatnonzero(bad).tolist())
    found = det.long.filter(
        pc.is_in(det.long.column("account"), value_set=pa.array(sorted(wanted), pa.int64()))
    )
    cols = [found.column(c).to_pylist() for c in ("account", "run", "slot", "s_text", "e_text")]
    out = []
    for account, run, slot, s_text, e_text in zip(*cols, strict=True):
        if account not in wanted:
            continue
        di = SLOT_DIS[slot]
        if slot == SLOT_DEMAND:  # read at the end freeze only
            if e_text is None:
                out.append((account, f"missing end reading of {di} (meter run {run}) 缺少最大需量示数"))
            continue
        if s_text is None or e_text is None:
            role = "start" if s_text is None else "end"
            out.append((account, f"missing {role} reading of {di} (meter run {run}) 缺少示数"))
        elif Decimal(e_text) < Decimal(s_text):
            out.append((account, f"{di} went backwards {s_text} -> {e_text} (meter run {run}) 示数倒走"))
    return out


def _add_review_flags(
    session: Session, acc: Accounts, det: Determinants, out: Outcome, held: np.ndarray, period: str
) -> None:
    total = det.total_e4()
    for i in np.flatnonzero(det.estimated & ~det.no_run).tolist():
        out.anomalies[i].append("estimated")
    for i, noted in det.changes.items():
        if noted.get("changes"):  # a replacement or multiplier change inside the cycle: checked by a person
            out.anomalies[i].append("meter_change")
    for i in np.flatnonzero((total == 0) & ~held).tolist():
        out.anomalies[i].append("zero")
    averages = _previous_average_e4(session, acc, period)
    factor_num, factor_den = JUMP_FACTOR.as_integer_ratio()
    minimum = int(JUMP_MIN_KWH * 10_000)
    for i, avg in averages.items():
        if held[i] or avg <= 0:
            continue
        value = int(total[i])
        if value * factor_den > avg * factor_num and value - avg >= minimum:
            out.anomalies[i].append("jump")


def current_bills(period_from: str, period_to: str) -> Any:
    """Bills of kind ``bill`` in [period_from, period_to) that are released or pending and have no
    credit note against them."""
    credit = aliased(Bill)
    return and_(
        Bill.kind == KIND_BILL,
        Bill.status != VOID,
        Bill.period >= period_from,
        Bill.period < period_to,
        ~exists().where(credit.corrects_bill_id == Bill.id, credit.kind == KIND_CREDIT),
    )


def _previous_average_e4(session: Session, acc: Accounts, period: str) -> dict[int, int]:
    index = {cid: i for i, cid in enumerate(acc.customer_id)}
    rows = session.execute(
        select(Bill.customer_id, func.sum(Bill.energy_kwh), func.count())
        .where(current_bills(shift_period(period, -3), period), Bill.status == RELEASED)
        .where(Bill.customer_id.in_(acc.customer_id) if acc.n < 20_000 else Bill.customer_id.isnot(None))
        .group_by(Bill.customer_id)
    ).all()
    out = {}
    for cid, energy, count in rows:
        i = index.get(cid)
        if i is not None and count:
            out[i] = int(Decimal(str(energy)).scaleb(4) / count)
    return out


def _window_start(tariff: Tariff, start: date) -> date | None:
    tiers = tariff.tiers
    if tiers is None or tiers.basis == "monthly":
        return None
    month = start.month
    year = start.year
    for _ in range(12):
        if tiers._starts_window(month):
            return date(year, month, 1)
        month -= 1
        if month == 0:
            month, year = 12, year - 1
    return date(year, month, 1)


def _tier_consumed(
    session: Session,
    acc: Accounts,
    versions: dict[str, list[TariffVersion]],
    book: TariffBook,
    start: date,
    period: str,
) -> np.ndarray:
    """kWh (e4) already billed in the tier window before this cycle (yearly and seasonal tiers)."""
    consumed = np.zeros(acc.n, dtype=np.int64)
    windows: dict[str, date] = {}
    for code, rows in versions.items():
        if rows:
            ws = _window_start(book.tariff(rows[0]), start)
            if ws is not None and ws < start:
                windows[code] = ws
    if not windows:
        return consumed
    index = {cid: i for i, cid in enumerate(acc.customer_id)}
    earliest = min(windows.values())
    rows_ = session.execute(
        select(Bill.customer_id, Bill.period, func.sum(Bill.tier_kwh))
        .where(current_bills(earliest.strftime("%Y-%m"), period))
        .group_by(Bill.customer_id, Bill.period)
    ).all()
    for cid, bill_period, kwh in rows_:
        i = index.get(cid)
        if i is None or acc.tariff_code[i] not in windows:
            continue
        if bill_period >= windows[acc.tariff_code[i]].strftime("%Y-%m"):
            consumed[i] += int(Decimal(str(kwh)).scaleb(4))
    return consumed


def _long_by_account(det: Determinants, rows: list[int]) -> dict[int, list[tuple[int, int, int, str, str]]]:
    """Register readings (run, slot, multiplier, start text, end text) of the given accounts."""
    if not rows:
        return {}
    wanted = pa.array(sorted(set(rows)), pa.int64())
    long = det.long.filter(pc.is_in(det.long.column("account"), value_set=wanted))
    out: dict[int, list[tuple[int, int, int, str, str]]] = {}
    cols = [long.column(c).to_pylist() for c in ("account", "run", "slot", "multiplier", "s_text", "e_text")]
    for account, run, slot, mult, s_text, e_text in zip(*cols, strict=True):
        out.setdefault(account, []).append((run, slot, mult, s_text, e_text))
    for regs in out.values():
        regs.sort()
    return out


def _engine_request(
    tariffs: list[Tariff],
    rows: list[TariffVersion],
    acc: Accounts,
    i: int,
    start: date,
    end: date,
    regs: list[tuple[int, int, int, str, str]],
    consumed_e4: Any,
) -> dict[str, Any]:
    tou = tariffs[0].is_tou
    runs: dict[int, dict[str, Any]] = {}
    for run, slot, mult, s_text, e_text in regs:
        entry = runs.setdefault(run, {"multiplier": mult, "registers": {}})
        if slot == SLOT_REACTIVE:
            entry["reactive"] = {"start": Decimal(s_text), "end": Decimal(e_text)}
        elif slot == SLOT_DEMAND:
            entry["max_demand_reading"] = Decimal(e_text)
        elif slot == 0 or tou:
            name = "total" if slot == 0 else PERIODS[slot - 1].value
            entry["registers"][name] = {"start": Decimal(s_text), "end": Decimal(e_text)}
    meters = [runs[k] for k in sorted(runs)]
    data: dict[str, Any] = {
        "tariff": tariffs[0],
        "tariff_changes": [
            {"effective_from": r.effective_from, "tariff": t}
            for r, t in zip(rows[1:], tariffs[1:], strict=True)
        ],
        "cycle": {"start": start, "end": end},
        "usage": {"meters": meters, "tier_consumed_kwh": Decimal(int(consumed_e4)).scaleb(-4)},
    }
    return data


def _engine_determinants(
    cycle_json: str,
    rows: Sequence[TariffVersion],
    working: QuoteWorking,
    consumed_e4: Any,
    response: QuoteResponse,
    terms: AccountTerms | None,
) -> str:
    def buckets(values: dict[Period, Decimal]) -> dict[str, Decimal]:
        return {p.value: plain(values[p]) for p in PERIODS}

    body = {
        "path": "engine",
        "metered_kwh": buckets(working.metered_kwh),
        "active_kwh": buckets(working.active_kwh),
        "main_kwh": buckets(working.main_kwh),
        "loss": [
            {"first": p.span.first, "last": p.span.last, "capacity_kva": p.capacity_kva, "kwh": p.active_kwh}
            for p in working.loss
        ],
        "sub_usages": [{"name": s.name, "kwh": s.kwh, "price": s.price} for s in working.sub_usages],
        "reactive_kvarh": working.reactive_kvarh,
        "max_demand_kw": working.max_demand_kw,
        "pf_base_yuan": working.pf_base_yuan,
        "pf_standard": None if terms is None else terms.pf_standard,
        "power_factor": response.power_factor,
        "pf_adjustment_pct": response.pf_adjustment_pct,
        "basic_charge_basis": None if terms is None else terms.basic_charge_basis,
        "contracted_demand_kw": None if terms is None else terms.contracted_demand_kw,
        "reactive_loss_kvarh": [p.reactive_kvarh for p in working.loss],
        "tier_consumed_kwh": plain(Decimal(int(consumed_e4)).scaleb(-4)),
    }
    text = dumps(body)
    return f'{{"cycle":{cycle_json},"tariff_versions":{_version_json(rows)},' + text[1:]
