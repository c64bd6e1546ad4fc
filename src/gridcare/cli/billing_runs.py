"""`gridcare tariffs | billing | payments | prepaid | settlement`: the billing room on the command line.

Commands act as the operator at the server's shell (``cli:<os user>``, full rights) unless ``--as USER``
names an account, whose roles and organisation scope then apply (maker-checker needs two people: file
with one, approve ``--as`` another). Output is JSON with exact decimals unless said otherwise. Bad input
prints ``错误 error: <field>: <reason>`` on stderr, exits with code 2 and changes nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from sqlalchemy.orm import Session

from gridcare.archives.queries import NotFound
from gridcare.billing import bills as bill_service
from gridcare.billing import ledger, prepaid, reconcile, reports, runs, tariff_store
from gridcare.billing.errors import BillingInputError
from gridcare.billing.jsonio import dumps
from gridcare.cli.admin import cli_principal, open_secured
from gridcare.cli.common import ConfigOption, DataDirOption, settings_from
from gridcare.config import Settings
from gridcare.security import accounts, sessions
from gridcare.security.approvals import ApprovalError
from gridcare.security.authz import NotInScope, PermissionDenied
from gridcare.security.principal import Principal
from gridcare.storage.database import Database
from gridcare.storage.lake import ReadingsLake
from gridcare.timeutil import now_beijing

AsOption = Annotated[
    str | None, typer.Option("--as", help="Act as this account (its roles and scope); default: the operator.")
]

tariffs_app = typer.Typer(
    help="电价 Tariffs as data: import/export (JSON, TOML), versions by date, changes by maker-checker.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add the billing command groups to the ``gridcare`` app."""
    app.add_typer(tariffs_app, name="tariffs")
    app.add_typer(billing_app, name="billing")
    app.add_typer(payments_app, name="payments")
    app.add_typer(prepaid_app, name="prepaid")
    app.command("settlement")(settlement_command)


def _fail(lines: list[str]) -> NoReturn:
    for line in lines:
        typer.echo(f"错误 error: {line}", err=True)
    raise typer.Exit(2)


def _echo(value: Any) -> None:
    typer.echo(dumps(value, indent=2))


@contextmanager
def _session(
    data_dir: Path | None, config: Path | None, as_user: str | None
) -> Iterator[tuple[Session, Principal, Settings]]:
    """A session (committed by the command), the acting principal and the settings; service errors
    become ``错误 error:`` lines with exit code 2 (403/404 kinds with exit code 3)."""
    settings = settings_from(data_dir, config)
    database: Database = open_secured(settings)
    try:
        with database.sessions() as session:
            principal = _principal(session, settings, as_user)
            try:
                yield session, principal, settings
            except BillingInputError as exc:
                session.rollback()
                _fail([str(e) for e in exc.errors])
            except (ApprovalError, ValueError) as exc:
                session.rollback()
                _fail([str(exc)])
            except PermissionDenied as exc:
                session.rollback()
                typer.echo(f"错误 error: 无权限 permission denied: {exc}", err=True)
                raise typer.Exit(3) from exc
            except (NotFound, NotInScope) as exc:
                session.rollback()
                typer.echo(f"错误 error: 未找到 not found: {exc}", err=True)
                raise typer.Exit(3) from exc
    finally:
        database.dispose()


def _principal(session: Session, settings: Settings, as_user: str | None) -> Principal:
    if as_user is None:
        return cli_principal()
    user = accounts.find_user(session, as_user)
    if user is None:
        _fail([f"--as: no account {as_user!r}"])
    return sessions.principal_for(session, user, settings, source="cli")


def _read(source: str, option: str) -> bytes:
    if source == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        _fail([f"{option}: cannot read {source!r}: {exc.strerror or exc}"])


# --- tariffs ------------------------------------------------------------------------------------


@tariffs_app.command("import")
def tariffs_import(
    file: Annotated[str, typer.Argument(help="Tariff document (.json or .toml), or - for standard input.")],
    reason: Annotated[str, typer.Option("--reason", help="调价依据: why the tariffs change.")],
    file_format: Annotated[
        str | None, typer.Option("--format", help="json or toml (default: from the file name).")
    ] = None,
    as_user: AsOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """File a tariff document for approval (maker); nothing applies until a second person approves."""
    fmt = file_format or (Path(file).suffix.lstrip(".").lower() if file != "-" else "json")
    if fmt not in tariff_store.FORMATS:
        _fail([f"--format: must be json or toml, got {fmt!r}"])
    text = _read(file, "FILE")
    with _session(data_dir, config, as_user) as (session, principal, _):
        req = tariff_store.request_change(session, principal, text, fmt, reason)
        session.commit()
        _echo(tariff_store.change_json(req))


@tariffs_app.command("pending")
def tariffs_pending(
    as_user: AsOption = None, data_dir: DataDirOption = None, config: ConfigOption = None
) -> None:
    """Tariff changes waiting for approval."""
    with _session(data_dir, config, as_user) as (session, principal, _):
        _echo([tariff_store.change_json(c) for c in tariff_store.list_changes(session, principal)])


@tariffs_app.command("approve")
def tariffs_approve(
    change_id: Annotated[int, typer.Argument(help="Tariff change (approval request) id.")],
    note: Annotated[str, typer.Option("--note")] = "",
    as_user: AsOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Approve a tariff change (checker, not the maker): its versions are written."""
    with _session(data_dir, config, as_user) as (session, principal, _):
        rows = tariff_store.approve_change(session, principal, change_id, note)
        session.commit()
        _echo([{k: v for k, v in tariff_store.version_json(r).items() if k != "tariff"} for r in rows])


@tariffs_app.command("reject")
def tariffs_reject(
    change_id: Annotated[int, typer.Argument()],
    note: Annotated[str, typer.Option("--note")] = "",
    as_user: AsOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Reject a tariff change."""
    with _session(data_dir, config, as_user) as (session, principal, _):
        req = tariff_store.reject_change(session, principal, change_id, note)
        session.commit()
        _echo(tariff_store.change_json(req))


@tariffs_app.command("list")
def tariffs_list(
    code: Annotated[str | None, typer.Option("--code")] = None,
    as_of: Annotated[date | None, typer.Option("--as-of", formats=["%Y-%m-%d"])] = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Stored versions: code, effective date, revision, who requested and approved them."""
    with _session(data_dir, config, None) as (session, _, _):
        rows = tariff_store.list_versions(session, code, as_of)
        _echo([{k: v for k, v in tariff_store.version_json(r).items() if k != "tariff"} for r in rows])


@tariffs_app.command("export")
def tariffs_export(
    file_format: Annotated[str, typer.Option("--format", help="json or toml")] = "toml",
    code: Annotated[str | None, typer.Option("--code")] = None,
    as_of: Annotated[date | None, typer.Option("--as-of", formats=["%Y-%m-%d"])] = None,
    out: Annotated[Path | None, typer.Option("--out", help="File to write; default standard output.")] = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Write the stored versions as a tariff document (the import format)."""
    if file_format not in tariff_store.FORMATS:
        _fail([f"--format: must be json or toml, got {file_format!r}"])
    with _session(data_dir, config, None) as (session, _, _):
        text = tariff_store.export_text(session, file_format, code, as_of)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"已导出 exported to {out}", err=True)


# --- billing runs and bills ---------------------------------------------------------------------

billing_app = typer.Typer(
    help="抄表核算 Billing runs: monthly run per billing group, review queue, release, rebill, bill trace.",
    no_args_is_help=True,
)


def _lake(settings: Settings) -> ReadingsLake:
    return ReadingsLake(settings.lake_dir)


@billing_app.command("run")
def billing_run(
    period: Annotated[str, typer.Option("--period", help="Billing month YYYY-MM (电费年月).")],
    group: Annotated[str, typer.Option("--group", help="Billing group (抄表段).")],
    as_user: AsOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Run the month for a group; running again computes only customers without a current bill."""
    with _session(data_dir, config, as_user) as (session, principal, settings):
        report = runs.run_billing(session, principal, _lake(settings), period, group)
        session.commit()
        _echo(report.to_json() | {"seconds": {k: Decimal(str(v)) for k, v in report.seconds.items()}})


@billing_app.command("runs")
def billing_runs_list(
    period: Annotated[str | None, typer.Option("--period")] = None,
    as_user: AsOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Runs with their bills by status."""
    with _session(data_dir, config, as_user) as (session, principal, _):
        _echo(
            [
                bill_service.run_summary(session, principal, r)
                for r in bill_service.list_runs(session, principal, period)
            ]
        )


@billing_app.command("review")
def billing_review(
    run_id: Annotated[int | None, typer.Option("--run")] = None,
    period: Annotated[str | None, typer.Option("--period")] = None,
    as_user: AsOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """The review queue: bills with anomalies (estimated, zero, jump) and held bills."""
    with _session(data_dir, config, as_user) as (session, principal, _):
        found = bill_service.review_queue(session, principal, run_id, period)
        _echo([bill_service.bill_json(session, b, lines=False, trace=False) for b in found])


@billing_app.command("accept")
def billing_accept(
    bill_id: Annotated[int, typer.Argument()],
    note: Annotated[str, typer.Option("--note", help="复核意见: what was checked.")],
    as_user: AsOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Accept a bill in review (it becomes a draft, released with the run)."""
    with _session(data_dir, config, as_user) as (session, principal, _):
        bill = bill_service.accept(session, principal, bill_id, note)
        session.commit()
        _echo(bill_service.bill_json(session, bill, lines=False, trace=False))


@billing_app.command("void")
def billing_void(
    bill_id: Annotated[int, typer.Argument()],
    reason: Annotated[str, typer.Option("--reason")],
    as_user: AsOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Void an unreleased bill; the next pass of its run computes the customer again."""
    with _session(data_dir, config, as_user) as (session, principal, _):
        bill = bill_service.void(session, principal, bill_id, reason)
        session.commit()
        _echo(bill_service.bill_json(session, bill, lines=False, trace=False))


@billing_app.command("release")
def billing_release(
    run_id: Annotated[int | None, typer.Option("--run", help="Release the run's drafts.")] = None,
    bill_id: Annotated[
        list[int] | None, typer.Option("--bill", help="Release this bill (repeatable).")
    ] = None,
    due_date: Annotated[date | None, typer.Option("--due-date", formats=["%Y-%m-%d"])] = None,
    as_user: AsOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Release drafts (``release_bills``, audited): they become debts due on --due-date."""
    with _session(data_dir, config, as_user) as (session, principal, _):
        report = bill_service.release(session, principal, run_id=run_id, bill_ids=bill_id, due_date=due_date)
        session.commit()
        _echo(report.to_json())


@billing_app.command("rebill")
def billing_rebill(
    bill_id: Annotated[int, typer.Argument()],
    reason: Annotated[str, typer.Option("--reason", help="退补原因.")],
    as_user: AsOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Correct a released bill: credit note plus a new revision from the current data."""
    with _session(data_dir, config, as_user) as (session, principal, settings):
        note, report = bill_service.rebill(session, principal, _lake(settings), bill_id, reason)
        session.commit()
        _echo({"credit_note": bill_service.bill_json(session, note, trace=False), "run": report.to_json()})


@billing_app.command("show")
def billing_show(
    bill_id: Annotated[int, typer.Argument()],
    as_user: AsOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """A bill with lines, determinants and the readings every line used."""
    with _session(data_dir, config, as_user) as (session, principal, _):
        _echo(bill_service.bill_json(session, bill_service.get_bill(session, principal, bill_id)))


# --- payments, refunds, waivers, ledger, bank reconciliation ------------------------------------

payments_app = typer.Typer(
    help="缴费 Payments: post (idempotent), refund, waive penalties, account ledger, bank reconciliation.",
    no_args_is_help=True,
)


@payments_app.command("post")
def payments_post(
    customer_no: Annotated[str, typer.Argument(help="户号")],
    amount: Annotated[str, typer.Option("--amount", help="Yuan, at most two decimals.")],
    channel: Annotated[str, typer.Option("--channel", help="counter, bank, mobile or third_party")],
    key: Annotated[str, typer.Option("--key", help="Idempotency key (bank serial, order number).")],
    paid_on: Annotated[date | None, typer.Option("--paid-on", formats=["%Y-%m-%d"])] = None,
    external_ref: Annotated[str, typer.Option("--ref")] = "",
    as_user: AsOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Post a payment and allocate it; the same channel and key never post twice."""
    with _session(data_dir, config, as_user) as (session, principal, _):
        result = ledger.post_payment(
            session,
            principal,
            customer_no,
            channel,
            key,
            amount,
            paid_on or now_beijing().date(),
            external_ref,
        )
        session.commit()
        prepaid.run_reconnects(session)
        session.commit()
        _echo(ledger.payment_json(result))


@payments_app.command("refund")
def payments_refund(
    customer_no: Annotated[str, typer.Argument()],
    amount: Annotated[str, typer.Option("--amount")],
    key: Annotated[str, typer.Option("--key")],
    reason: Annotated[str, typer.Option("--reason", help="退费原因")],
    as_user: AsOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Refund money on account (not allocated to any debt)."""
    with _session(data_dir, config, as_user) as (session, principal, _):
        row, replayed = ledger.refund(session, principal, customer_no, key, amount, reason)
        session.commit()
        _echo({"refund_id": row.id, "amount_yuan": ledger.yuan(row.amount_fen), "replayed": replayed})


@payments_app.command("waive")
def payments_waive(
    bill_id: Annotated[int, typer.Argument()],
    reason: Annotated[str, typer.Option("--reason", help="减免原因")],
    amount: Annotated[str | None, typer.Option("--amount", help="Up to this much; default all.")] = None,
    as_user: AsOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Waive a released bill's late-payment penalties (audited)."""
    with _session(data_dir, config, as_user) as (session, principal, _):
        waiver = ledger.waive(session, principal, bill_id, reason, amount)
        session.commit()
        _echo({"waiver_id": waiver.id, "bill_id": waiver.bill_id})


@payments_app.command("ledger")
def payments_ledger(
    customer_no: Annotated[str, typer.Argument()],
    as_of: Annotated[date | None, typer.Option("--as-of", formats=["%Y-%m-%d"])] = None,
    as_user: AsOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """An account's ledger with its totals and whether they balance."""
    with _session(data_dir, config, as_user) as (session, principal, _):
        _echo(ledger.statement(session, principal, customer_no, as_of))


@payments_app.command("reconcile")
def payments_reconcile(
    file: Annotated[Path, typer.Argument(help="Bank CSV file (serial, customer_no, amount_yuan, paid_on).")],
    bank: Annotated[str, typer.Option("--bank", help="Bank code, e.g. ICBC.")],
    statement_date: Annotated[date | None, typer.Option("--date", formats=["%Y-%m-%d"])] = None,
    post_unmatched: Annotated[bool, typer.Option("--post-unmatched", help="Post bank-only lines.")] = False,
    as_user: AsOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Reconcile a daily bank file: matched, unmatched, mismatch, duplicate, missing in file."""
    data = _read(str(file), "FILE")
    with _session(data_dir, config, as_user) as (session, principal, _):
        report = reconcile.import_bank_file(
            session, principal, bank, data, statement_date=statement_date, post_unmatched=post_unmatched
        )
        session.commit()
        _echo(report.to_json())


# --- prepaid cost control -----------------------------------------------------------------------

prepaid_app = typer.Typer(
    help="费控 Prepaid cost control: settings, daily balance job (warn, trip, reconnect), history.",
    no_args_is_help=True,
)


@prepaid_app.command("configure")
def prepaid_configure(
    customer_no: Annotated[str, typer.Argument()],
    warn: Annotated[str, typer.Option("--warn", help="Warning level in yuan.")] = "50",
    trip_after: Annotated[int, typer.Option("--trip-after", help="Days below zero before a trip.")] = 3,
    disable: Annotated[bool, typer.Option("--disable")] = False,
    since: Annotated[date | None, typer.Option("--since", formats=["%Y-%m-%d"])] = None,
    as_user: AsOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Put a customer under cost control or change its settings."""
    with _session(data_dir, config, as_user) as (session, principal, _):
        prepaid.configure(
            session,
            principal,
            customer_no,
            warn_yuan=warn,
            trip_after_days=trip_after,
            enabled=not disable,
            since=since,
        )
        session.commit()
        _echo(prepaid.history(session, principal, customer_no, limit=1))


@prepaid_app.command("daily")
def prepaid_daily(
    day: Annotated[date | None, typer.Option("--day", formats=["%Y-%m-%d"], help="Default today.")] = None,
    as_user: AsOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """The day's balances, warnings, trips (filed for approval) and reconnects; resumable."""
    with _session(data_dir, config, as_user) as (session, principal, settings):
        report = prepaid.run_daily(session, principal, _lake(settings), day or now_beijing().date())
        session.commit()
        _echo(report.to_json())


@prepaid_app.command("show")
def prepaid_show(
    customer_no: Annotated[str, typer.Argument()],
    limit: Annotated[int, typer.Option("--limit")] = 60,
    as_user: AsOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Settings, state and history of a prepaid account."""
    with _session(data_dir, config, as_user) as (session, principal, _):
        _echo(prepaid.history(session, principal, customer_no, limit))


# --- settlement reports -------------------------------------------------------------------------


def settlement_command(
    period_from: Annotated[str, typer.Option("--from", help="First billing month YYYY-MM.")],
    period_to: Annotated[str, typer.Option("--to", help="Last billing month YYYY-MM.")],
    by: Annotated[
        str, typer.Option("--by", help="Comma-separated: organisation, customer_class, tariff, period.")
    ] = "organisation,customer_class,tariff,period",
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="Also write an Excel workbook here.")] = None,
    pdf: Annotated[Path | None, typer.Option("--pdf", help="Also write a PDF here.")] = None,
    as_user: AsOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """结算报表 Settlement report: energy, amounts by component, paid, penalties, arrears (JSON; --xlsx
    for Excel, --pdf for PDF)."""
    dims = [d.strip() for d in by.split(",") if d.strip()]
    with _session(data_dir, config, as_user) as (session, principal, _):
        report = reports.settlement(session, principal, period_from, period_to, dims)
    if xlsx is not None:
        xlsx.write_bytes(reports.to_xlsx(report))
        typer.echo(f"已导出 written {xlsx}", err=True)
    if pdf is not None:
        pdf.write_bytes(reports.to_pdf(report))
        typer.echo(f"已导出 written {pdf}", err=True)
    _echo(report.to_json())
