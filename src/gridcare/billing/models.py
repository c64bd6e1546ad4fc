"""Billing tables: tariff versions, billing runs and bills, the payments ledger, bank statements and
prepaid cost control (费控).

Money is stored as integer fen (``*_fen``, BigInteger): exact on SQLite and PostgreSQL alike, and sums
in SQL stay exact. Energy is ``Numeric(18, 4)`` kWh. Nothing here is ever deleted by the services:
a released bill is corrected by a credit note and a new revision, a payment by a refund.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from gridcare.storage.base import Base

TZ_DATETIME = DateTime(timezone=True)
KWH = Numeric(18, 4)


class TariffVersion(Base):
    """One approved version of a tariff (电价), in force from ``effective_from`` until the next version
    of the same code. ``body`` is the exact JSON of :class:`gridcare.billing.Tariff`. Rows are never
    changed: a correction of a version is a new ``revision`` with the same code and date."""

    __tablename__ = "tariff_versions"
    __table_args__ = (
        UniqueConstraint("code", "effective_from", "revision", name="uq_tariff_versions_version"),
        CheckConstraint("revision >= 1", name="revision_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), index=True)
    effective_from: Mapped[date] = mapped_column(Date)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    name: Mapped[str] = mapped_column(String(80), default="")
    customer_class: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    approval_id: Mapped[int | None] = mapped_column(ForeignKey("approval_requests.id"), index=True)
    requested_by: Mapped[str] = mapped_column(String(64))
    approved_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(TZ_DATETIME)


class BillingRun(Base):
    """A monthly billing run (抄表核算批次) of one billing group; running it again adds only what is
    missing (idempotent)."""

    __tablename__ = "billing_runs"
    __table_args__ = (UniqueConstraint("period", "billing_group", name="uq_billing_runs_period_group"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(7), doc="billing month YYYY-MM (电费年月)")
    billing_group: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(TZ_DATETIME)
    last_pass_at: Mapped[datetime] = mapped_column(TZ_DATETIME)
    passes: Mapped[int] = mapped_column(Integer, default=1)


class Bill(Base):
    """A bill (电费账单) or a credit note (红字冲正). A released row is never changed again; a correction
    is a credit note cancelling it (``corrects_bill_id``) and a new bill with the next ``revision``.

    ``determinants`` holds the quote working (kWh by period, multipliers, tier consumption, ...),
    ``readings`` the readings every line was computed from (meter, di, freeze_time, version, source,
    value, frame_ref), both as exact JSON text.
    """

    __tablename__ = "bills"
    __table_args__ = (
        UniqueConstraint("customer_id", "period", "kind", "revision", name="uq_bills_revision"),
        Index("ix_bills_run_status", "run_id", "status"),
        Index("ix_bills_period_org", "period", "org_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bill_no: Mapped[str] = mapped_column(String(40), unique=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("billing_runs.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))  # indexed by uq_bills_revision
    customer_no: Mapped[str] = mapped_column(String(20))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    customer_class: Mapped[str] = mapped_column(String(32))
    tariff_code: Mapped[str] = mapped_column(String(40))
    tariff_version_id: Mapped[int | None] = mapped_column(ForeignKey("tariff_versions.id"))
    period: Mapped[str] = mapped_column(String(7))
    cycle_start: Mapped[date] = mapped_column(Date)
    cycle_end: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16), doc="bill | credit_note")
    revision: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), doc="draft | review | released | void")
    total_fen: Mapped[int] = mapped_column(BigInteger)
    energy_kwh: Mapped[Decimal] = mapped_column(KWH, doc="billed kWh (main account and sub-usages)")
    tier_kwh: Mapped[Decimal] = mapped_column(KWH, doc="main-account kWh counted in the tier window")
    estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    anomalies: Mapped[str] = mapped_column(String(120), default="")
    determinants: Mapped[str] = mapped_column(Text, default="{}")
    readings: Mapped[str] = mapped_column(Text, default="[]")
    corrects_bill_id: Mapped[int | None] = mapped_column(ForeignKey("bills.id"), index=True)
    reason: Mapped[str] = mapped_column(String(255), default="")
    due_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(TZ_DATETIME)
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    review_note: Mapped[str | None] = mapped_column(String(255))
    released_by: Mapped[str | None] = mapped_column(String(64))
    released_at: Mapped[datetime | None] = mapped_column(TZ_DATETIME)


class BillLine(Base):
    """One line of a bill, rounded half-up to the fen; ``category`` and ``period`` link it to its
    determinants (energy lines to the registers of their time-of-use period)."""

    __tablename__ = "bill_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("bills.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(16), doc="energy | tier | sub | basic | pf | surcharge")
    period: Mapped[str | None] = mapped_column(String(8))
    item: Mapped[str] = mapped_column(String(200))
    kwh: Mapped[Decimal | None] = mapped_column(KWH)
    price: Mapped[Decimal | None] = mapped_column(Numeric(18, 6))
    amount_fen: Mapped[int] = mapped_column(BigInteger)


class Debt(Base):
    """Something the customer owes: a released bill's principal (``seq`` 0) or a late-payment penalty
    assessed on it (``seq`` 1, 2, ...). remaining = amount - credited - allocated, never negative."""

    __tablename__ = "debts"
    __table_args__ = (
        UniqueConstraint("bill_id", "kind", "seq", name="uq_debts_bill_kind_seq"),
        CheckConstraint("credited_fen >= 0 AND allocated_fen >= 0", name="parts_not_negative"),
        CheckConstraint("amount_fen - credited_fen - allocated_fen >= 0", name="not_overpaid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("bills.id"))
    kind: Mapped[str] = mapped_column(String(16), doc="principal | penalty")
    seq: Mapped[int] = mapped_column(Integer, default=0)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    credited_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    allocated_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    due_date: Mapped[date] = mapped_column(Date)
    created_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(TZ_DATETIME)


class Payment(Base):
    """Money received (缴费) from a channel. ``(channel, idempotency_key)`` is unique: a retried
    payment returns the first one instead of posting twice."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("channel", "idempotency_key", name="uq_payments_channel_key"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("unallocated_fen >= 0", name="unallocated_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16), doc="counter | bank | mobile | third_party")
    idempotency_key: Mapped[str] = mapped_column(String(64))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    unallocated_fen: Mapped[int] = mapped_column(BigInteger)
    paid_on: Mapped[date] = mapped_column(Date, index=True)
    external_ref: Mapped[str] = mapped_column(String(64), default="")
    received_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(TZ_DATETIME)


class Refund(Base):
    """Money paid back from the customer's unallocated credit (退费)."""

    __tablename__ = "refunds"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(255))
    created_by: Mapped[str] = mapped_column(String(64))
    created_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(TZ_DATETIME)


class Allocation(Base):
    """A use of a payment's money: towards a debt (``debt_id``) or paid out by a refund (``refund_id``).
    A negative amount gives money back to the payment (a credit note on a bill it had paid)."""

    __tablename__ = "allocations"
    __table_args__ = (CheckConstraint("(debt_id IS NULL) <> (refund_id IS NULL)", name="debt_or_refund"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    debt_id: Mapped[int | None] = mapped_column(ForeignKey("debts.id"), index=True)
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refunds.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    on_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(TZ_DATETIME)


class PenaltyWaiver(Base):
    """Waiver of a bill's late-payment penalties (违约金减免) with its reason; ``amount_fen`` null waives
    them all, otherwise up to that amount."""

    __tablename__ = "penalty_waivers"

    id: Mapped[int] = mapped_column(primary_key=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("bills.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(255))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(TZ_DATETIME)


class Credit(Base):
    """A credit on a debt: a credit note cancelling a bill, or a penalty waiver."""

    __tablename__ = "credits"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    debt_id: Mapped[int] = mapped_column(ForeignKey("debts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), doc="credit_note | waiver")
    credit_note_id: Mapped[int | None] = mapped_column(ForeignKey("bills.id"))
    waiver_id: Mapped[int | None] = mapped_column(ForeignKey("penalty_waivers.id"))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    on_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(TZ_DATETIME)


class BankStatement(Base):
    """An imported daily bank reconciliation file (银行对账文件); the same file is imported once."""

    __tablename__ = "bank_statements"

    id: Mapped[int] = mapped_column(primary_key=True)
    bank: Mapped[str] = mapped_column(String(32))
    statement_date: Mapped[date] = mapped_column(Date)
    file_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    imported_by: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(TZ_DATETIME)
    summary: Mapped[str] = mapped_column(Text, default="{}")


class BankStatementLine(Base):
    """One line of a bank file and its reconciliation outcome."""

    __tablename__ = "bank_statement_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("bank_statements.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    serial: Mapped[str] = mapped_column(String(64))
    customer_no: Mapped[str] = mapped_column(String(20))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    paid_on: Mapped[date] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(
        String(16), doc="matched | unmatched | mismatch | duplicate | posted"
    )
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    note: Mapped[str] = mapped_column(String(255), default="")


class PrepaidAccount(Base):
    """Cost-control (费控) settings and state of a prepaid customer. ``state``: normal | trip_requested
    (a trip waits for a second person) | tripped (approved) | reconnect_due (paid; reconnect to file)."""

    __tablename__ = "prepaid_accounts"
    __table_args__ = (CheckConstraint("trip_after_days >= 1", name="trip_days_positive"),)

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    since: Mapped[date] = mapped_column(Date, doc="first day counted when no bill was released yet")
    warn_fen: Mapped[int] = mapped_column(BigInteger, doc="warning level (e.g. 5000 = 50 yuan)")
    trip_after_days: Mapped[int] = mapped_column(Integer, doc="trip when below zero this many days")
    state: Mapped[str] = mapped_column(String(24), default="normal")
    trip_approval_id: Mapped[int | None] = mapped_column(ForeignKey("approval_requests.id"))
    close_approval_id: Mapped[int | None] = mapped_column(ForeignKey("approval_requests.id"))
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(TZ_DATETIME)


class PrepaidEvent(Base):
    """History of a prepaid account: the daily balance (``kind`` daily, one per day, after the 00:00
    freeze) and the balance after each payment (``kind`` payment), with what cost control did."""

    __tablename__ = "prepaid_history"
    __table_args__ = (
        UniqueConstraint("customer_id", "day", "kind", "event_no", name="uq_prepaid_history_event"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16), doc="daily | payment")
    event_no: Mapped[int] = mapped_column(Integer, default=0, doc="0 for daily; the payment id")
    credit_fen: Mapped[int] = mapped_column(BigInteger, doc="money on account (unallocated payments)")
    debt_fen: Mapped[int] = mapped_column(BigInteger, doc="open debts of released bills")
    unbilled_kwh: Mapped[Decimal] = mapped_column(KWH)
    unbilled_fen: Mapped[int] = mapped_column(BigInteger, doc="estimated charge of the unbilled energy")
    balance_fen: Mapped[int] = mapped_column(BigInteger)
    level: Mapped[str] = mapped_column(String(16), doc="normal | warning | overdrawn | unknown")
    days_below_zero: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32), default="none")
    approval_id: Mapped[int | None] = mapped_column(ForeignKey("approval_requests.id"))
    note: Mapped[str] = mapped_column(String(255), default="")
    readings: Mapped[str] = mapped_column(Text, default="[]")
    computed_at: Mapped[datetime] = mapped_column(TZ_DATETIME)
