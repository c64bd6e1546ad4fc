"""Billing API: tariffs as data (maker-checker), billing runs and bills, payments and the ledger, bank
reconciliation, prepaid cost control (费控) and settlement reports.

Routes are thin: they parse, call the billing services with the acting principal and commit. Bad input
answers 422 naming the field (``{"detail": [{"loc", "field", "msg", "type"}]}``), a missing permission
403, an object outside the caller's scope 404. Money is written as JSON numbers with two decimals.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, File, HTTPException, Query, Response, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from gridcare.api.deps import CurrentPrincipal, ObjectId, Requires, SessionDep, SettingsDep
from gridcare.api.routes.bills import error_body
from gridcare.billing import bills as bill_service
from gridcare.billing import ledger, prepaid, reconcile, reports, runs, tariff_store
from gridcare.billing.errors import BillingInputError
from gridcare.billing.jsonio import dumps
from gridcare.config import Settings
from gridcare.security.approvals import ApprovalError
from gridcare.security.principal import Principal
from gridcare.security.roles import Permission
from gridcare.storage.lake import ReadingsLake

router = APIRouter(tags=["billing"])

TariffManager = Annotated[Principal, Requires(Permission.MANAGE_TARIFFS)]


def _json(value: Any, status_code: int = 200) -> Response:
    """Exact-decimal JSON (amounts keep their two decimals)."""
    return Response(content=dumps(value), media_type="application/json", status_code=status_code)


def _invalid(exc: BillingInputError) -> JSONResponse:
    return JSONResponse(status_code=422, content=error_body(exc))


# --- tariffs ------------------------------------------------------------------------------------


@router.get("/tariffs")
def list_tariffs(
    session: SessionDep,
    principal: CurrentPrincipal,
    code: Annotated[str | None, Query(max_length=40)] = None,
    as_of: Annotated[date | None, Query(description="only the version in force on this day")] = None,
) -> Response:
    """Stored tariff versions (the winning revision of each code and date)."""
    rows = tariff_store.list_versions(session, code, as_of)
    return _json([tariff_store.version_json(r) for r in rows])


@router.get("/tariffs/export")
def export_tariffs(
    session: SessionDep,
    principal: CurrentPrincipal,
    format: Annotated[str, Query(pattern="^(json|toml)$")] = "json",
    code: Annotated[str | None, Query(max_length=40)] = None,
    as_of: Annotated[date | None, Query()] = None,
) -> Response:
    """The stored versions as a tariff document (JSON or TOML), ready to edit and import again."""
    media = "application/toml" if format == "toml" else "application/json"
    return Response(
        content=tariff_store.export_text(session, format, code, as_of),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="tariffs.{format}"'},
    )


class TariffChangeIn(BaseModel):
    format: str = Field(pattern="^(json|toml)$", description="format of ``document``")
    document: str = Field(min_length=1, max_length=2_000_000, description="the tariff document text")
    reason: str = Field(min_length=1, max_length=255, description="调价依据 why the tariffs change")


@router.post("/tariffs/changes", status_code=202)
def file_tariff_change(body: TariffChangeIn, session: SessionDep, principal: TariffManager) -> Response:
    """File a tariff document for approval (``manage_tariffs``); a second person approves it."""
    try:
        req = tariff_store.request_change(session, principal, body.document, body.format, body.reason)
    except BillingInputError as exc:
        return _invalid(exc)
    session.commit()
    return _json(tariff_store.change_json(req), 202)


@router.get("/tariffs/changes")
def list_tariff_changes(
    session: SessionDep,
    principal: TariffManager,
    status: Annotated[str, Query(pattern="^(pending|approved|rejected|executed|cancelled)$")] = "pending",
) -> Response:
    from gridcare.security.models import ApprovalStatus

    changes = tariff_store.list_changes(session, principal, ApprovalStatus(status))
    return _json([tariff_store.change_json(c) for c in changes])


class DecisionIn(BaseModel):
    note: str = Field(default="", max_length=255)


@router.post("/tariffs/changes/{change_id}/approve")
def approve_tariff_change(
    change_id: ObjectId, session: SessionDep, principal: TariffManager, body: DecisionIn | None = None
) -> Response:
    """Approve a tariff change (not by its maker): its versions are written and in force by date."""
    try:
        rows = tariff_store.approve_change(session, principal, change_id, body.note if body else "")
    except ApprovalError as exc:
        raise HTTPException(409, detail=str(exc)) from exc
    session.commit()
    return _json([tariff_store.version_json(r) for r in rows])


@router.post("/tariffs/changes/{change_id}/reject")
def reject_tariff_change(
    change_id: ObjectId, session: SessionDep, principal: TariffManager, body: DecisionIn | None = None
) -> Response:
    try:
        req = tariff_store.reject_change(session, principal, change_id, body.note if body else "")
    except ApprovalError as exc:
        raise HTTPException(409, detail=str(exc)) from exc
    session.commit()
    return _json(tariff_store.change_json(req))


# --- billing runs and bills ---------------------------------------------------------------------


def _service(call: Any) -> Any:
    """Run a service call: bad input -> 422 naming the field and the reason, a state conflict -> 409."""
    from gridcare.billing.bills import BillStateError
    from gridcare.billing.ledger import IdempotencyConflict

    try:
        return call()
    except BillingInputError as exc:
        raise HTTPException(422, detail=error_body(exc)["detail"]) from exc
    except (BillStateError, IdempotencyConflict, ApprovalError) as exc:
        raise HTTPException(409, detail=str(exc)) from exc


Collector = Annotated[Principal, Requires(Permission.RELEASE_BILLS)]
Cashier = Annotated[Principal, Requires(Permission.COLLECT_PAYMENTS)]


def _lake(settings: Settings) -> ReadingsLake:
    return ReadingsLake(settings.lake_dir)


class RunIn(BaseModel):
    period: str = Field(description="billing month YYYY-MM (电费年月)", examples=["2024-07"])
    billing_group: str = Field(min_length=1, max_length=32, description="抄表段 billing group")


@router.post("/billing/runs", status_code=201)
def start_run(body: RunIn, session: SessionDep, settings: SettingsDep, principal: Collector) -> Response:
    """Run (or run again) the monthly billing of a group; only customers without a current bill for the
    month are computed (``release_bills``)."""
    report = _service(
        lambda: runs.run_billing(session, principal, _lake(settings), body.period, body.billing_group)
    )
    session.commit()
    return _json(report.to_json(), 201)


@router.get("/billing/runs")
def list_runs(
    session: SessionDep, principal: CurrentPrincipal, period: Annotated[str | None, Query()] = None
) -> Response:
    found = _service(lambda: bill_service.list_runs(session, principal, period))
    return _json([bill_service.run_summary(session, principal, r) for r in found])


@router.get("/billing/runs/{run_id}")
def get_run(run_id: ObjectId, session: SessionDep, principal: CurrentPrincipal) -> Response:
    """A run's bills by status, within the caller's scope."""
    return _json(
        bill_service.run_summary(session, principal, bill_service.get_run(session, principal, run_id))
    )


class ReleaseIn(BaseModel):
    due_date: date | None = Field(default=None, description="缴费截止日; default release day + 15 days")


@router.post("/billing/runs/{run_id}/release")
def release_run(
    run_id: ObjectId, session: SessionDep, principal: Collector, body: ReleaseIn | None = None
) -> Response:
    """Release the run's drafts in scope (``release_bills``, audited); bills in review stay."""
    report = _service(
        lambda: bill_service.release(
            session, principal, run_id=run_id, due_date=body.due_date if body else None
        )
    )
    session.commit()
    return _json(report.to_json())


@router.get("/billing/review")
def review_queue(
    session: SessionDep,
    principal: CurrentPrincipal,
    run_id: Annotated[int | None, Query()] = None,
    period: Annotated[str | None, Query()] = None,
) -> Response:
    """Bills waiting for review (anomalies: estimated, zero, jump; held: missing, negative, ...)."""
    found = bill_service.review_queue(session, principal, run_id, period)
    return _json([bill_service.bill_json(session, b, lines=False, trace=False) for b in found])


@router.get("/billing/bills")
def list_bills(
    session: SessionDep,
    principal: CurrentPrincipal,
    customer_no: Annotated[str | None, Query(max_length=20)] = None,
    period: Annotated[str | None, Query()] = None,
    status: Annotated[str | None, Query(pattern="^(draft|review|released|void)$")] = None,
) -> Response:
    found = bill_service.list_bills(session, principal, customer_no=customer_no, period=period, status=status)
    return _json([bill_service.bill_json(session, b, lines=False, trace=False) for b in found])


@router.get("/billing/bills/{bill_id}")
def get_bill(bill_id: ObjectId, session: SessionDep, principal: CurrentPrincipal) -> Response:
    """A bill with its lines, determinants and the readings each line used (meter, di, freeze_time,
    version, source, frame_ref)."""
    return _json(bill_service.bill_json(session, bill_service.get_bill(session, principal, bill_id)))


class NoteIn(BaseModel):
    note: str = Field(min_length=1, max_length=255)


class ReasonIn(BaseModel):
    reason: str = Field(min_length=1, max_length=255)


@router.post("/billing/bills/{bill_id}/accept")
def accept_bill(bill_id: ObjectId, body: NoteIn, session: SessionDep, principal: Collector) -> Response:
    bill = _service(lambda: bill_service.accept(session, principal, bill_id, body.note))
    session.commit()
    return _json(bill_service.bill_json(session, bill, lines=False, trace=False))


@router.post("/billing/bills/{bill_id}/void")
def void_bill(bill_id: ObjectId, body: ReasonIn, session: SessionDep, principal: Collector) -> Response:
    bill = _service(lambda: bill_service.void(session, principal, bill_id, body.reason))
    session.commit()
    return _json(bill_service.bill_json(session, bill, lines=False, trace=False))


@router.post("/billing/bills/{bill_id}/release")
def release_bill(
    bill_id: ObjectId, session: SessionDep, principal: Collector, body: ReleaseIn | None = None
) -> Response:
    report = _service(
        lambda: bill_service.release(
            session, principal, bill_ids=[bill_id], due_date=body.due_date if body else None
        )
    )
    session.commit()
    return _json(report.to_json())


@router.post("/billing/bills/{bill_id}/rebill", status_code=201)
def rebill(
    bill_id: ObjectId, body: ReasonIn, session: SessionDep, settings: SettingsDep, principal: Collector
) -> Response:
    """Correct a released bill: a credit note cancels it and a new revision is computed
    (``release_bills``)."""
    note, report = _service(
        lambda: bill_service.rebill(session, principal, _lake(settings), bill_id, body.reason)
    )
    session.commit()
    return _json(
        {"credit_note": bill_service.bill_json(session, note, trace=False), "run": report.to_json()}, 201
    )


# --- payments, refunds, waivers, ledger, bank reconciliation ------------------------------------


class PaymentIn(BaseModel):
    customer_no: str = Field(min_length=1, max_length=20, description="户号")
    channel: str = Field(description="counter 柜台 | bank 银行代收 | mobile 掌上电力 | third_party 第三方")
    idempotency_key: str = Field(min_length=1, max_length=64, description="the same key never posts twice")
    amount_yuan: Decimal = Field(description="yuan, at most two decimals")
    paid_on: date
    external_ref: str = Field(default="", max_length=64)


@router.post("/billing/payments", status_code=201)
def post_payment(body: PaymentIn, session: SessionDep, principal: Cashier) -> Response:
    """Post a payment and allocate it (oldest bill first, penalty before principal). A retry with the
    same channel and key answers 200 with the first payment (``replayed``)."""
    result = _service(
        lambda: ledger.post_payment(
            session,
            principal,
            body.customer_no,
            body.channel,
            body.idempotency_key,
            body.amount_yuan,
            body.paid_on,
            body.external_ref,
        )
    )
    session.commit()
    prepaid.run_reconnects(session)  # a payment may have brought a tripped meter's balance above zero
    session.commit()
    return _json(ledger.payment_json(result), 200 if result.replayed else 201)


@router.get("/billing/customers/{customer_no}/ledger")
def customer_ledger(
    customer_no: str,
    session: SessionDep,
    principal: CurrentPrincipal,
    as_of: Annotated[date | None, Query(description="for the accrued penalty; default today")] = None,
) -> Response:
    """An account's ledger: totals (bills, penalties, credits, allocated, balance, payments, refunds,
    money on account), open debts, payments, refunds and credits."""
    return _json(_service(lambda: ledger.statement(session, principal, customer_no, as_of)))


class RefundIn(BaseModel):
    idempotency_key: str = Field(min_length=1, max_length=64)
    amount_yuan: Decimal
    reason: str = Field(min_length=1, max_length=255)


@router.post("/billing/customers/{customer_no}/refunds", status_code=201)
def refund(customer_no: str, body: RefundIn, session: SessionDep, principal: Cashier) -> Response:
    """Refund money on account (not allocated to any debt)."""
    row, replayed = _service(
        lambda: ledger.refund(
            session, principal, customer_no, body.idempotency_key, body.amount_yuan, body.reason
        )
    )
    session.commit()
    out = {"refund_id": row.id, "amount_yuan": ledger.yuan(row.amount_fen), "replayed": replayed}
    return _json(out, 200 if replayed else 201)


class WaiverIn(BaseModel):
    reason: str = Field(min_length=1, max_length=255, description="减免原因")
    amount_yuan: Decimal | None = Field(default=None, description="null: waive all penalties of the bill")


@router.post("/billing/bills/{bill_id}/waivers", status_code=201)
def waive_penalty(bill_id: ObjectId, body: WaiverIn, session: SessionDep, principal: Collector) -> Response:
    """Waive a bill's late-payment penalties, with a reason (audited)."""
    waiver = _service(lambda: ledger.waive(session, principal, bill_id, body.reason, body.amount_yuan))
    session.commit()
    amount = None if waiver.amount_fen is None else ledger.yuan(waiver.amount_fen)
    return _json({"waiver_id": waiver.id, "bill_id": waiver.bill_id, "amount_yuan": amount}, 201)


MAX_BANK_FILE = 20 * 1024 * 1024


@router.post("/billing/reconciliation", status_code=201)
def reconcile_bank_file(
    file: Annotated[UploadFile, File(description="bank CSV: serial, customer_no, amount_yuan, paid_on")],
    session: SessionDep,
    principal: Cashier,
    bank: Annotated[str, Query(min_length=1, max_length=32, description="bank code, e.g. ICBC")],
    statement_date: Annotated[date | None, Query()] = None,
    post_unmatched: Annotated[bool, Query(description="post bank-only lines as payments")] = False,
) -> Response:
    """Import a daily bank file: matched, unmatched, mismatched and duplicate lines, and the ledger's bank
    payments missing from the file. The same file is imported once."""
    data = file.file.read(MAX_BANK_FILE + 1)
    if len(data) > MAX_BANK_FILE:
        raise HTTPException(413, detail="file: larger than 20 MiB")
    report = _service(
        lambda: reconcile.import_bank_file(
            session, principal, bank, data, statement_date=statement_date, post_unmatched=post_unmatched
        )
    )
    session.commit()
    prepaid.run_reconnects(session)
    session.commit()
    return _json(report.to_json(), 200 if report.repeated_file else 201)


# --- prepaid cost control -----------------------------------------------------------------------


class PrepaidIn(BaseModel):
    warn_yuan: Decimal = Field(default=Decimal(50), description="预警金额 warning level")
    trip_after_days: int = Field(default=3, ge=1, le=90, description="trip after this many days below zero")
    enabled: bool = True
    since: date | None = Field(default=None, description="first day counted before any bill is released")


@router.put("/billing/customers/{customer_no}/prepaid")
def configure_prepaid(
    customer_no: str, body: PrepaidIn, session: SessionDep, principal: Collector
) -> Response:
    """Put a customer under cost control (费控) or change its settings (audited)."""
    _service(
        lambda: prepaid.configure(
            session,
            principal,
            customer_no,
            warn_yuan=body.warn_yuan,
            trip_after_days=body.trip_after_days,
            enabled=body.enabled,
            since=body.since,
        )
    )
    session.commit()
    return _json(prepaid.history(session, principal, customer_no, limit=1))


@router.get("/billing/customers/{customer_no}/prepaid")
def prepaid_history(
    customer_no: str,
    session: SessionDep,
    principal: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=5000)] = 400,
) -> Response:
    """Cost-control settings, state and the daily balance history with warnings, trips and reconnects."""
    return _json(prepaid.history(session, principal, customer_no, limit))


class DailyIn(BaseModel):
    day: date = Field(description="the day whose 00:00 freeze closes the balance")


RemoteControl = Annotated[Principal, Requires(Permission.REMOTE_CONTROL)]


@router.post("/billing/prepaid/daily")
def prepaid_daily(
    body: DailyIn, session: SessionDep, settings: SettingsDep, principal: RemoteControl
) -> Response:
    """Run the day's cost control (``remote_control``): balances, warnings, trips filed for approval,
    reconnects. Running it again for the same day adds nothing."""
    report = _service(lambda: prepaid.run_daily(session, principal, _lake(settings), body.day))
    session.commit()
    return _json(report.to_json())


# --- settlement reports -------------------------------------------------------------------------


@router.get("/billing/reports/settlement")
def settlement_report(
    session: SessionDep,
    principal: CurrentPrincipal,
    period_from: Annotated[str, Query(description="first billing month YYYY-MM")],
    period_to: Annotated[str, Query(description="last billing month YYYY-MM")],
    by: Annotated[str, Query(description="comma-separated: organisation, customer_class, tariff, period")] = (
        "organisation,customer_class,tariff,period"
    ),
    format: Annotated[str, Query(pattern="^(json|xlsx|pdf)$", description="json, xlsx or pdf")] = "json",
) -> Response:
    """结算报表: energy, amounts by component, billed, paid, penalties and arrears by group; every group
    and the totals reconcile with the ledger. ``format=xlsx`` / ``pdf`` downloads a workbook / a PDF."""
    dims = [d.strip() for d in by.split(",") if d.strip()]
    report = _service(lambda: reports.settlement(session, principal, period_from, period_to, dims))
    if format == "xlsx":
        return Response(
            content=reports.to_xlsx(report),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={
                "Content-Disposition": f'attachment; filename="settlement-{period_from}-{period_to}.xlsx"'
            },
        )
    if format == "pdf":
        return Response(
            content=reports.to_pdf(report),
            media_type="application/pdf",
            headers={
                "Content-Disposition": f'attachment; filename="settlement-{period_from}-{period_to}.pdf"'
            },
        )
    return _json(report.to_json())
