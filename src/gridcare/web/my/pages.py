"""The self-service pages of a customer (网上营业厅): overview, bills and a bill's lines, payments and
refunds, usage; and the JSON the usage charts draw (``/my/api/usage/...``). Every figure is the logged-in
customer's own; money is exact (yuan, two decimals), energy in kWh, time in Beijing time.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse

from gridcare.api.deps import MAX_ID
from gridcare.archives.queries import NotFound
from gridcare.security.masking import mask_address, mask_phone
from gridcare.timeutil import today_beijing
from gridcare.web import reads
from gridcare.web.my import account
from gridcare.web.my.frame import MY, MyData, MyPage, not_found

router = APIRouter(include_in_schema=False)


@router.get(MY, response_class=HTMLResponse)
def overview(page: MyPage) -> HTMLResponse:
    """The 户 (masked address and phone), what is due (open debts, penalties), the latest bill, the prepaid
    balance of a prepaid customer, metering points and meters."""
    session, owner = page.session, page.owner
    customer = owner.customer
    today = today_beijing()
    ledger = account.ledger_of(session, owner, today)
    return page.render(
        "my/overview.html",
        customer=customer,
        org=owner.org,
        masked={"address": mask_address(customer.address), "phone": mask_phone(customer.phone)},
        ledger=ledger,
        st=ledger.statement,
        prepaid=account.prepaid_state(session, owner),
        points=reads.customer_points(session, customer.id),
        today=today,
    )


@router.get(f"{MY}/bills", response_class=HTMLResponse)
def bill_list(page: MyPage) -> HTMLResponse:
    """Released bills by month: energy, amount, due date, what is open, status."""
    ledger = account.ledger_of(page.session, page.owner, today_beijing())
    return page.render("my/bills.html", ledger=ledger, st=ledger.statement)


@router.get(f"{MY}/bills/{{bill_id}}", response_class=HTMLResponse)
def bill_page(page: MyPage, bill_id: Annotated[str, Path(max_length=20)]) -> HTMLResponse:
    """One of the customer's own bills: its lines, payment state and meter readings. Any other id, a
    malformed one included, is "not found" (404): ids of other customers' bills cannot be probed."""
    if not bill_id.isdigit() or not 0 < int(bill_id) <= MAX_ID:
        raise not_found()
    try:
        bill = account.own_bill(page.session, page.owner, int(bill_id))
    except NotFound:
        raise not_found() from None
    detail = account.bill_detail(page.session, page.owner, bill, today_beijing())
    return page.render(
        "my/bill.html", bill=bill, detail=detail["json"], row=detail["row"], corrects=detail["corrects"]
    )


@router.get(f"{MY}/payments", response_class=HTMLResponse)
def payment_list(page: MyPage) -> HTMLResponse:
    """Payments (newest first) with what stayed on account, refunds, credits and waivers."""
    ledger = account.ledger_of(page.session, page.owner, today_beijing())
    bill_nos = {r.bill.id: r.bill.bill_no for r in ledger.rows}
    return page.render("my/payments.html", st=ledger.statement, bill_nos=bill_nos)


@router.get(f"{MY}/usage", response_class=HTMLResponse)
def usage(page: MyPage) -> HTMLResponse:
    """Daily consumption of the last 30 days and monthly of the last 12 months (charts drawn from
    ``/my/api/usage/...``)."""
    today = today_beijing()
    return page.render(
        "my/usage.html",
        meters=[s.address for s in account.spans_of(page.session, page.owner) if s.valid_to is None],
        today=today,
    )


@router.get(f"{MY}/api/usage/daily")
def usage_daily(page: MyData) -> dict[str, Any]:
    """Daily consumption [kWh] of the last 30 business days (null where a freeze is missing)."""
    return account.daily_usage(page.session, page.request.app.state.settings, page.owner, today_beijing())


@router.get(f"{MY}/api/usage/monthly")
def usage_monthly(page: MyData) -> dict[str, Any]:
    """Consumption [kWh] of the last 12 complete calendar months (null where a freeze is missing)."""
    return account.monthly_usage(page.session, page.request.app.state.settings, page.owner, today_beijing())
