"""Billing months (电费年月), bill numbers and the vocabulary of bill kinds and statuses."""

from __future__ import annotations

import re
from datetime import date, timedelta

from gridcare.billing.errors import BillingInputError

KIND_BILL, KIND_CREDIT = "bill", "credit_note"
DRAFT, IN_REVIEW, RELEASED, VOID = "draft", "review", "released", "void"
_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")


def parse_period(period: str, field_name: str = "period") -> tuple[date, date, date]:
    """``YYYY-MM`` -> (first day, last day, first day of the next month)."""
    match = _PERIOD.match(period or "")
    if not match or not 1 <= int(match.group(2)) <= 12 or not 1970 <= int(match.group(1)) <= 2999:
        raise BillingInputError.at(
            field_name, f"must be a billing month YYYY-MM (e.g. 2024-07), got {period!r}"
        )
    year, month = int(match.group(1)), int(match.group(2))
    start = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return start, following - timedelta(days=1), following


def shift_period(period: str, months: int) -> str:
    year, month = int(period[:4]), int(period[5:7])
    index = year * 12 + month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def bill_no(period: str, customer_no: str, kind: str, revision: int) -> str:
    """``202407-0000000001-B0`` (bill) / ``-C0`` (credit note of revision 0)."""
    return f"{period.replace('-', '')}-{customer_no}-{'B' if kind == KIND_BILL else 'C'}{revision}"
