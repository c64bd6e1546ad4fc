"""Daily bank reconciliation (银行对账): a bank's CSV file of the day's collections against the ledger.

File: UTF-8 (a BOM is fine) or GBK text, comma separated, one header row naming the columns in English
or Chinese, any order::

    serial,customer_no,amount_yuan,paid_on          (流水号,户号,金额,缴费日期)
    B20240810000001,0000000001,100.00,2024-08-10

Every line is checked first; one bad line refuses the whole file (each bad line is reported with the
column and the reason). Then each line is one of:

* ``matched``: a bank payment with that serial as idempotency key exists, same customer and amount;
* ``mismatch``: the serial exists with another customer or amount (note says which);
* ``duplicate``: the serial appears earlier in the file, or was already reconciled by an earlier file;
* ``unmatched``: the bank collected money the ledger does not know (单边账); with ``post_unmatched``
  it is posted as a bank payment (idempotent on the serial) and reported ``posted``.

Bank payments of the statement date in the ledger that are missing from the file are listed as
``missing_in_file``. The same file (by SHA-256) is imported once; importing it again returns the first
report. The import is audited; the caller commits.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridcare.archives.models import Customer
from gridcare.archives.queries import NotFound
from gridcare.billing import ledger
from gridcare.billing.errors import BillingInputError, FieldError
from gridcare.billing.models import BankStatement, BankStatementLine, Payment
from gridcare.security import audit
from gridcare.security.authz import require
from gridcare.security.principal import Principal
from gridcare.timeutil import now_beijing, to_beijing

COLUMNS = {
    "serial": ("serial", "流水号", "交易流水号"),
    "customer_no": ("customer_no", "户号", "用户编号"),
    "amount_yuan": ("amount_yuan", "金额", "交易金额"),
    "paid_on": ("paid_on", "缴费日期", "交易日期"),
}
MAX_LINES = 200_000


@dataclass(frozen=True)
class BankLine:
    line_no: int
    serial: str
    customer_no: str
    amount_fen: int
    paid_on: date


@dataclass
class ReconcileReport:
    statement_id: int
    bank: str
    statement_date: date
    lines: int
    counts: dict[str, int]
    items: list[dict[str, Any]] = field(default_factory=list)
    missing_in_file: list[dict[str, Any]] = field(default_factory=list)
    repeated_file: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "statement_id": self.statement_id,
            "bank": self.bank,
            "statement_date": self.statement_date,
            "lines": self.lines,
            "counts": self.counts,
            "items": self.items,
            "missing_in_file": self.missing_in_file,
            "repeated_file": self.repeated_file,
        }


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gbk"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise BillingInputError.at("file", "not UTF-8 or GBK text")


def parse_bank_file(data: bytes) -> list[BankLine]:
    """The lines of a bank file; every bad line is reported (``line 3.amount_yuan: ...``)."""
    rows = list(csv.reader(io.StringIO(_decode(data))))
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise BillingInputError.at("file", "empty: expected a header row and lines")
    header = [h.strip().lower() for h in rows[0]]
    index: dict[str, int] = {}
    for name, aliases in COLUMNS.items():
        found = [i for i, h in enumerate(header) if h in aliases]
        if not found:
            raise BillingInputError.at(
                ("file", "header"), f"column {name} ({'/'.join(aliases[1:])}) is missing"
            )
        index[name] = found[0]
    if len(rows) - 1 > MAX_LINES:
        raise BillingInputError.at("file", f"more than {MAX_LINES} lines")
    errors: list[FieldError] = []
    lines: list[BankLine] = []
    for number, row in enumerate(rows[1:], start=2):

        def cell(name: str, row: list[str] = row) -> str:
            i = index[name]
            return row[i].strip() if i < len(row) else ""

        loc = f"line {number}"
        serial, customer_no = cell("serial"), cell("customer_no")
        bad = False
        if not serial or len(serial) > 64:
            errors.append(FieldError((loc, "serial"), "required, at most 64 characters"))
            bad = True
        if not customer_no or len(customer_no) > 20:
            errors.append(FieldError((loc, "customer_no"), "required, at most 20 characters"))
            bad = True
        amount_fen = 0
        try:
            amount = Decimal(cell("amount_yuan"))
            if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
                raise InvalidOperation
            amount_fen = int(amount.scaleb(2))
        except (InvalidOperation, ValueError):
            errors.append(
                FieldError((loc, "amount_yuan"), f"{cell('amount_yuan')!r} is not an amount > 0 in yuan")
            )
            bad = True
        paid_on = date.min
        try:
            paid_on = date.fromisoformat(cell("paid_on"))
        except ValueError:
            errors.append(FieldError((loc, "paid_on"), f"{cell('paid_on')!r} is not a date YYYY-MM-DD"))
            bad = True
        if not bad:
            lines.append(BankLine(number, serial, customer_no, amount_fen, paid_on))
    if errors:
        raise BillingInputError(errors)
    return lines


def import_bank_file(
    session: Session,
    principal: Principal,
    bank: str,
    data: bytes,
    *,
    statement_date: date | None = None,
    post_unmatched: bool = False,
    now: datetime | None = None,
) -> ReconcileReport:
    """Reconcile one bank file (see the module docstring)."""
    require(principal, ledger.COLLECT_PERMISSION)
    bank = (bank or "").strip()
    if not bank or len(bank) > 32:
        raise BillingInputError.at("bank", "required, at most 32 characters")
    digest = hashlib.sha256(data).hexdigest()
    previous = session.scalar(select(BankStatement).where(BankStatement.file_sha256 == digest))
    if previous is not None:
        report = _stored_report(session, previous)
        report.repeated_file = True
        return report
    lines = parse_bank_file(data)
    now = to_beijing(now or now_beijing())
    day = statement_date or max((line.paid_on for line in lines), default=now.date())
    statement = BankStatement(
        bank=bank, statement_date=day, file_sha256=digest, imported_by=principal.username, imported_at=now
    )
    session.add(statement)
    session.flush()
    reconciled = set(
        session.scalars(
            select(BankStatementLine.serial).where(
                BankStatementLine.serial.in_([line.serial for line in lines]),
                BankStatementLine.outcome.in_(("matched", "posted")),
            )
        )
    )
    seen: set[str] = set()
    for line in lines:
        outcome, note, payment_id = _reconcile_line(
            session, principal, line, seen, reconciled, post_unmatched, now
        )
        seen.add(line.serial)
        session.add(
            BankStatementLine(
                statement_id=statement.id,
                line_no=line.line_no,
                serial=line.serial,
                customer_no=line.customer_no,
                amount_fen=line.amount_fen,
                paid_on=line.paid_on,
                outcome=outcome,
                payment_id=payment_id,
                note=note[:255],
            )
        )
    session.flush()
    report = _stored_report(session, statement, missing=_missing_in_file(session, day, seen))
    statement.summary = json.dumps(
        {"counts": report.counts, "missing_in_file": report.missing_in_file}, ensure_ascii=False, default=str
    )
    audit.record(
        session,
        principal,
        "billing.reconcile",
        f"bank statement {statement.id} {bank} {day.isoformat()}",
        detail={"lines": len(lines), "counts": report.counts, "missing_in_file": len(report.missing_in_file)},
        now=now,
    )
    return report


def _reconcile_line(
    session: Session,
    principal: Principal,
    line: BankLine,
    seen: set[str],
    reconciled: set[str],
    post_unmatched: bool,
    now: datetime,
) -> tuple[str, str, int | None]:
    if line.serial in seen:
        return "duplicate", "serial repeated in this file", None
    if line.serial in reconciled:
        return "duplicate", "serial reconciled by an earlier file", None
    payment = session.scalar(
        select(Payment).where(Payment.channel == "bank", Payment.idempotency_key == line.serial)
    )
    if payment is not None:
        customer_no = session.scalar(select(Customer.customer_no).where(Customer.id == payment.customer_id))
        if (customer_no, payment.amount_fen) == (line.customer_no, line.amount_fen):
            return "matched", "", payment.id
        return (
            "mismatch",
            f"ledger: customer {customer_no}, {ledger.yuan(payment.amount_fen)} yuan; "
            f"bank: customer {line.customer_no}, {ledger.yuan(line.amount_fen)} yuan",
            payment.id,
        )
    if not post_unmatched:
        return "unmatched", "not in the ledger (单边账)", None
    try:
        result = ledger.post_payment(
            session,
            principal,
            line.customer_no,
            "bank",
            line.serial,
            ledger.yuan(line.amount_fen),
            line.paid_on,
            now=now,
        )
    except NotFound:
        return "unmatched", f"customer {line.customer_no} not found", None
    except BillingInputError as exc:
        return "unmatched", str(exc), None
    return "posted", "posted from the bank file (补记)", result.payment.id


def _missing_in_file(session: Session, day: date, serials: set[str]) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Payment, Customer.customer_no)
        .join(Customer, Customer.id == Payment.customer_id)
        .where(Payment.channel == "bank", Payment.paid_on == day)
        .order_by(Payment.id)
    ).all()
    return [
        {
            "payment_id": p.id,
            "serial": p.idempotency_key,
            "customer_no": no,
            "amount_yuan": ledger.yuan(p.amount_fen),
        }
        for p, no in rows
        if p.idempotency_key not in serials
    ]


def _stored_report(
    session: Session, statement: BankStatement, missing: list[dict[str, Any]] | None = None
) -> ReconcileReport:
    rows = session.scalars(
        select(BankStatementLine)
        .where(BankStatementLine.statement_id == statement.id)
        .order_by(BankStatementLine.line_no)
    ).all()
    counts = {name: 0 for name in ("matched", "posted", "unmatched", "mismatch", "duplicate")}
    for row in rows:
        counts[row.outcome] += 1
    if missing is None:
        missing = [
            entry | {"amount_yuan": Decimal(str(entry["amount_yuan"]))}
            for entry in json.loads(statement.summary or "{}").get("missing_in_file", [])
        ]
    return ReconcileReport(
        statement_id=statement.id,
        bank=statement.bank,
        statement_date=statement.statement_date,
        lines=len(rows),
        counts=counts,
        items=[
            {
                "line": r.line_no,
                "serial": r.serial,
                "customer_no": r.customer_no,
                "amount_yuan": ledger.yuan(r.amount_fen),
                "paid_on": r.paid_on,
                "outcome": r.outcome,
                "payment_id": r.payment_id,
                "note": r.note,
            }
            for r in rows
        ],
        missing_in_file=missing,
    )
