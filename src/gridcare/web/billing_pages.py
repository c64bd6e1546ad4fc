"""电费审核发行, the billing review page: the billing runs of a period with their bills by status, the review
queue (bills with anomalies), one bill with its lines, determinants and readings, and the review actions.

Reading needs ``read_data`` (the bills are already on the customer 360 page); the actions (accept a bill
in review with a 复核意见, void a bill with a reason, release a run's drafts) need ``release_bills``, as the
billing services do: an account without it sees the page read-only, and a POST gets the 403 page (audited
by :func:`gridcare.web.console.console_page`). Every action calls :mod:`gridcare.billing.bills` with the
principal narrowed to the unit selected in the tree (what is released is what the page shows), commits
what the service did and redirects back with the outcome in the query (``done`` / ``refused``), so a
reload does not act twice. A refusal changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from gridcare.api.deps import ObjectId
from gridcare.archives.models import Customer
from gridcare.archives.queries import NotFound
from gridcare.billing import bills as bill_service
from gridcare.billing.errors import BillingInputError
from gridcare.billing.jsonio import dumps, loads
from gridcare.billing.models import Bill, BillingRun
from gridcare.billing.periods import DRAFT, IN_REVIEW, RELEASED, VOID
from gridcare.billing.pricing import BLOCKING
from gridcare.security.roles import Permission
from gridcare.timeutil import today_beijing
from gridcare.web import reads
from gridcare.web.console import PageCtx, ReadPage, console_page, not_found

router = APIRouter(include_in_schema=False)

RELEASE_PERMISSION = Permission.RELEASE_BILLS
"""Function group of the review actions, as :mod:`gridcare.billing.bills` checks it."""
ReleasePage = Annotated[PageCtx, Depends(console_page(RELEASE_PERMISSION))]

STATUSES = (DRAFT, IN_REVIEW, RELEASED, VOID)
PeriodQ = Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
BACK = "^(queue|bill)$"


@dataclass(frozen=True)
class RunRow:
    """A run with its bills in scope by status: ``bills[status] = (count, total_yuan)``."""

    run: BillingRun
    bills: dict[str, tuple[int, Decimal]]

    @property
    def review(self) -> int:
        return self.bills.get(IN_REVIEW, (0, Decimal(0)))[0]

    @property
    def drafts(self) -> int:
        return self.bills.get(DRAFT, (0, Decimal(0)))[0]

    @property
    def count(self) -> int:
        return sum(c for c, _ in self.bills.values())

    @property
    def total_yuan(self) -> Decimal:
        return sum((t for s, (_, t) in self.bills.items() if s != VOID), Decimal("0.00"))


@dataclass(frozen=True)
class QueueRow:
    bill: Bill
    name: str
    anomalies: list[str]
    held: list[str]
    why: list[str]
    """The reasons a held bill gives (from its determinants)."""


def line_item(item: str, lang: str) -> str:
    """A bill line's item in the page's language: "基本电费-容量 basic-capacity: 315 kVA" -> "基本电费-容量:
    315 kVA" / "basic-capacity: 315 kVA" (the quantity after the colon is kept in Chinese too)."""
    zh, _, en = item.partition(" ")
    if lang == "en":
        return en or zh
    _, colon, rest = en.partition(": ")
    return f"{zh}: {rest}" if colon else zh


def price_unit(category: str, item: str) -> str:
    """The unit of a line's price: per kWh, per kVA or kW a month for the basic charge, none for the
    power-factor adjustment (a rate)."""
    if category == "basic":
        return "/kVA" if "kVA" in item else "/kW"
    return "" if category == "pf" else "/kWh"


def _anomalies(bill: Bill) -> list[str]:
    return [a for a in bill.anomalies.split(",") if a]


def _errors(bill: Bill) -> list[str]:
    try:
        found = loads(bill.determinants or "{}").get("errors", [])
    except (ValueError, AttributeError):
        return []
    return [str(e) for e in found] if isinstance(found, list) else []


def _queue_rows(page: PageCtx, found: list[Bill]) -> list[QueueRow]:
    ids = {b.customer_id for b in found}
    stmt = select(Customer.id, Customer.name).where(Customer.id.in_(ids))
    names: dict[int, str] = {cid: name for cid, name in page.session.execute(stmt)} if ids else {}
    rows = []
    for bill in found:
        anomalies = _anomalies(bill)
        held = [a for a in anomalies if a in BLOCKING]
        rows.append(
            QueueRow(bill, names.get(bill.customer_id, ""), anomalies, held, _errors(bill) if held else [])
        )
    return rows


@router.get("/billing", response_class=HTMLResponse)
def billing_review(
    page: ReadPage,
    period: PeriodQ = None,
    run: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    done: Annotated[str | None, Query(max_length=300)] = None,
    refused: Annotated[str | None, Query(max_length=300)] = None,
    field: Annotated[str | None, Query(max_length=32)] = None,
) -> HTMLResponse:
    """The runs of a period (default: the latest with runs in scope) with their bills by status, and the
    review queue of the selected run (else of the period)."""
    session, principal = page.session, page.principal
    every = bill_service.list_runs(session, principal)
    periods = sorted({r.period for r in every}, reverse=True)
    period = period or (periods[0] if periods else None)
    runs = [r for r in every if r.period == period]
    rows = []
    for r in runs:
        summary = bill_service.run_summary(session, principal, r)
        rows.append(RunRow(r, {s: (v["count"], v["total_yuan"]) for s, v in summary["bills"].items()}))
    selected = next((r for r in runs if r.id == run), None)
    if run is not None and selected is None:
        raise not_found(f"billing run {run}")
    queue = bill_service.review_queue(session, principal, run_id=run, period=period) if period else []
    totals = {
        s: (
            sum(r.bills.get(s, (0, 0))[0] for r in rows),
            sum((r.bills.get(s, (0, Decimal(0)))[1] for r in rows), Decimal("0.00")),
        )
        for s in STATUSES
    }
    return page.render(
        "billing.html",
        periods=periods if period in periods or period is None else [period, *periods],
        period=period,
        rows=rows,
        totals=totals,
        statuses=STATUSES,
        selected=selected,
        queue=_queue_rows(page, queue),
        can_act=page.account.can(RELEASE_PERMISSION),
        today=today_beijing().isoformat(),
        outcome=outcome_of(done),
        refused=refused,
        field=field,
    )


@router.get("/billing/bills/{bill_id}", response_class=HTMLResponse)
def bill_detail(
    page: ReadPage,
    bill_id: ObjectId,
    done: Annotated[str | None, Query(max_length=300)] = None,
    refused: Annotated[str | None, Query(max_length=300)] = None,
    field: Annotated[str | None, Query(max_length=32)] = None,
) -> HTMLResponse:
    """One bill: lines (item, kWh, amount), the determinants and readings it used, who reviewed and
    released it, and the review actions while it is not released."""
    session = page.session
    try:
        bill = bill_service.get_bill(session, page.principal, bill_id)
    except NotFound:
        raise not_found(f"bill {bill_id}") from None
    detail = bill_service.bill_json(session, bill, lines=True, trace=True)
    run = session.get(BillingRun, bill.run_id) if bill.run_id else None
    customer = session.get(Customer, bill.customer_id)
    anomalies = _anomalies(bill)
    held = [a for a in anomalies if a in BLOCKING]
    determinants = {k: v for k, v in detail["determinants"].items() if k != "errors"}
    return page.render(
        "bill.html",
        bill=bill,
        detail=detail,
        run=run,
        customer=customer,
        org=reads.organisation(session, bill.org_id),
        anomalies=anomalies,
        held=held,
        why=_errors(bill),
        determinants=dumps(determinants, indent=2),
        line_item=line_item,
        price_unit=price_unit,
        row=QueueRow(bill, customer.name if customer else "", anomalies, held, _errors(bill) if held else []),
        can_act=page.account.can(RELEASE_PERMISSION),
        today=today_beijing().isoformat(),
        outcome=outcome_of(done),
        refused=refused,
        field=field,
    )


# --- actions ------------------------------------------------------------------------------------


def _back(page: PageCtx, bill: Bill | None, back: str, run_id: int | None, period: str | None) -> str:
    if back == "bill" and bill is not None:
        return page.ui.url(f"/billing/bills/{bill.id}")
    return page.ui.url("/billing", period=period, run=run_id)


def _redirect(target: str, **params: str) -> Response:
    sep = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{sep}{urlencode(params)}", status_code=303)


def _refusal(exc: Exception) -> dict[str, str]:
    if isinstance(exc, BillingInputError):
        first = exc.errors[0]
        return {"refused": first.reason[:280], "field": first.field[:32]}
    return {"refused": str(exc)[:280]}


def _bill_or_404(page: PageCtx, bill_id: int) -> Bill:
    try:
        return bill_service.get_bill(page.session, page.principal, bill_id)
    except NotFound:
        raise not_found(f"bill {bill_id}") from None


def _bill_action(
    page: PageCtx, bill_id: int, back: str, run: int | None, act: Callable[[], object], done: str
) -> Response:
    """Run ``act`` on a bill of the page's scope and go back with its outcome (a refusal changes nothing)."""
    bill = _bill_or_404(page, bill_id)
    target = _back(page, bill, back, run, bill.period)
    try:
        act()
    except (BillingInputError, bill_service.BillStateError) as exc:
        page.session.rollback()
        return _redirect(target, **_refusal(exc))
    page.session.commit()
    return _redirect(target, done=f"{done}:{bill.bill_no}")


@router.post("/billing/bills/{bill_id}/accept")
def accept_bill(
    page: ReleasePage,
    bill_id: ObjectId,
    note: Annotated[str, Form(max_length=255)] = "",
    back: Annotated[str, Form(pattern=BACK)] = "queue",
    run: Annotated[int | None, Form(ge=1, le=2**62)] = None,
) -> Response:
    """Accept a bill in review (复核意见 required): it becomes a draft (audited)."""
    act = partial(bill_service.accept, page.session, page.principal, bill_id, note.strip())
    return _bill_action(page, bill_id, back, run, act, "accepted")


@router.post("/billing/bills/{bill_id}/void")
def void_bill(
    page: ReleasePage,
    bill_id: ObjectId,
    reason: Annotated[str, Form(max_length=255)] = "",
    back: Annotated[str, Form(pattern=BACK)] = "queue",
    run: Annotated[int | None, Form(ge=1, le=2**62)] = None,
) -> Response:
    """Void a draft or a bill in review (reason required; audited); the run's next pass recomputes it."""
    act = partial(bill_service.void, page.session, page.principal, bill_id, reason.strip())
    return _bill_action(page, bill_id, back, run, act, "voided")


@router.post("/billing/runs/{run_id}/release")
def release_run(
    page: ReleasePage,
    run_id: ObjectId,
    due_date: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Release the run's drafts in scope (optional 缴费截止日, not before today; audited)."""
    try:
        run = bill_service.get_run(page.session, page.principal, run_id)
    except NotFound:
        raise not_found(f"billing run {run_id}") from None
    target = page.ui.url("/billing", period=run.period, run=run.id)
    due: date | None = None
    if due_date.strip():
        try:
            due = date.fromisoformat(due_date.strip())
        except ValueError:
            return _redirect(target, refused="not a date (YYYY-MM-DD)", field="due_date")
    try:
        report = bill_service.release(page.session, page.principal, run_id=run.id, due_date=due)
    except BillingInputError as exc:
        page.session.rollback()
        return _redirect(target, **_refusal(exc))
    page.session.commit()
    outcome = f"released:{report.released}:{report.total_yuan}:{report.due_date}:{report.left_in_review}"
    return _redirect(target, done=outcome)


def outcome_of(done: str | None) -> dict[str, Any] | None:
    """The ``done`` query of a redirect as its parts (``released:4:10203.18:2099-08-20:1``)."""
    if not done:
        return None
    kind, _, rest = done.partition(":")
    parts = rest.split(":")
    if kind == "released" and len(parts) == 4:
        try:
            total = Decimal(parts[1])
        except ArithmeticError:
            return None
        return {"kind": kind, "count": parts[0], "total": total, "due": parts[2], "left": parts[3]}
    if kind in ("accepted", "voided"):
        return {"kind": kind, "bill_no": rest}
    return None
