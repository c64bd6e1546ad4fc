"""Settlement reports (电费结算报表) by organisation, customer class, tariff and billing month, with an
Excel export.

For the released bills and credit notes of the chosen months (in the caller's scope), each group
shows: bills (count), net billed energy [kWh], amounts by component (energy, tier, sub-usage, basic,
power-factor, surcharges; credit notes counted negative), billed (net), of which credit notes,
penalties assessed, penalties waived, paid (allocations to the group's bills and penalties) and
arrears (still open). Every group reconciles with the ledger::

    billed + penalties - waived = paid + arrears

and the report's totals equal the sums of the accounts' ledgers (bills - credit notes, penalties,
credits, allocated, balance) over the same bills (tested). Paid and arrears are as of now (the
ledger's current state). No PDF: no PDF library is installed; Excel (openpyxl) only.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from gridcare.archives.models import Organisation
from gridcare.archives.scope import scoped
from gridcare.billing.errors import BillingInputError
from gridcare.billing.models import Bill, BillLine, Credit, Debt
from gridcare.billing.periods import KIND_BILL, KIND_CREDIT, RELEASED, parse_period
from gridcare.security.principal import Principal

DIMENSIONS = ("organisation", "customer_class", "tariff", "period")
COMPONENTS = ("energy", "tier", "sub", "basic", "pf", "surcharge")
COMPONENT_LABELS = {
    "energy": "电度电费 energy",
    "tier": "阶梯加价 tier",
    "sub": "定量定比 sub-usage",
    "basic": "基本电费 basic",
    "pf": "力调电费 PF adjustment",
    "surcharge": "代征基金及附加 surcharges",
}
CLASS_LABELS = {
    "residential": "居民生活",
    "general_commercial": "一般工商业",
    "large_industrial": "大工业",
    "agricultural": "农业生产",
}
_COLUMN = {
    "organisation": Bill.org_id,
    "customer_class": Bill.customer_class,
    "tariff": Bill.tariff_code,
    "period": Bill.period,
}


def _yuan(fen: int) -> Decimal:
    return Decimal(int(fen)).scaleb(-2).quantize(Decimal("0.01"))


@dataclass
class Row:
    key: tuple[Any, ...]
    bills: int = 0
    energy_kwh: Decimal = Decimal(0)
    components: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COMPONENTS, 0))
    billed: int = 0
    credit_notes: int = 0
    penalties: int = 0
    waived: int = 0
    paid: int = 0
    arrears: int = 0

    def add(self, other: Row) -> None:
        self.bills += other.bills
        self.energy_kwh += other.energy_kwh
        for c in COMPONENTS:
            self.components[c] += other.components[c]
        for name in ("billed", "credit_notes", "penalties", "waived", "paid", "arrears"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def balanced(self) -> bool:
        return self.billed + self.penalties - self.waived == self.paid + self.arrears


@dataclass
class SettlementReport:
    period_from: str
    period_to: str
    by: tuple[str, ...]
    rows: list[Row]
    total: Row
    org_names: dict[int, tuple[str, str]]

    def label(self, dimension: str, value: Any) -> Any:
        if dimension == "organisation":
            code, name = self.org_names.get(value, ("", ""))
            return {"id": value, "code": code, "name": name}
        return value

    def row_json(self, row: Row) -> dict[str, Any]:
        out: dict[str, Any] = {d: self.label(d, v) for d, v in zip(self.by, row.key, strict=False)}
        out |= {
            "bills": row.bills,
            "energy_kwh": _kwh(row.energy_kwh),
            "components": {c: _yuan(row.components[c]) for c in COMPONENTS},
            "billed_yuan": _yuan(row.billed),
            "credit_notes_yuan": _yuan(row.credit_notes),
            "penalties_yuan": _yuan(row.penalties),
            "waived_yuan": _yuan(row.waived),
            "paid_yuan": _yuan(row.paid),
            "arrears_yuan": _yuan(row.arrears),
            "balanced": row.balanced(),
        }
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "period_from": self.period_from,
            "period_to": self.period_to,
            "by": list(self.by),
            "rows": [self.row_json(r) for r in self.rows],
            "total": {k: v for k, v in self.row_json(self.total).items() if k not in self.by},
        }


def _kwh(value: Decimal) -> Decimal:
    q = value.quantize(Decimal("0.0001")).normalize()
    return q.quantize(Decimal(1)) if q == q.to_integral_value() else q


def settlement(
    session: Session,
    principal: Principal,
    period_from: str,
    period_to: str,
    by: tuple[str, ...] | list[str] = ("organisation", "customer_class", "tariff", "period"),
) -> SettlementReport:
    """The settlement report of the released bills of ``period_from``..``period_to`` in scope."""
    parse_period(period_from, "period_from")
    parse_period(period_to, "period_to")
    if period_to < period_from:
        raise BillingInputError.at("period_to", "must not be before period_from")
    dims = tuple(by)
    for d in dims:
        if d not in DIMENSIONS:
            raise BillingInputError.at("by", f"{d!r} is not one of {', '.join(DIMENSIONS)}")
    if len(set(dims)) != len(dims):
        raise BillingInputError.at("by", "a dimension is listed twice")
    cols = [_COLUMN[d] for d in dims]
    where = and_(
        Bill.status == RELEASED,
        Bill.kind.in_((KIND_BILL, KIND_CREDIT)),
        Bill.period >= period_from,
        Bill.period <= period_to,
        scoped(Bill.org_id, principal),
    )
    rows: dict[tuple[Any, ...], Row] = {}

    def row(key: tuple[Any, ...]) -> Row:
        key = tuple(getattr(k, "value", k) for k in key)
        if key not in rows:
            rows[key] = Row(key)
        return rows[key]

    for *key, bills, energy, billed, notes in session.execute(
        select(
            *cols,
            func.sum(case((Bill.kind == KIND_BILL, 1), else_=0)),
            func.coalesce(func.sum(Bill.energy_kwh), 0),
            func.coalesce(func.sum(Bill.total_fen), 0),
            func.coalesce(func.sum(case((Bill.kind == KIND_CREDIT, Bill.total_fen), else_=0)), 0),
        )
        .where(where)
        .group_by(*cols)
    ).all():
        r = row(tuple(key))
        r.bills, r.energy_kwh, r.billed, r.credit_notes = (
            int(bills),
            Decimal(str(energy)),
            int(billed),
            int(notes),
        )
    for *key, category, amount in session.execute(
        select(*cols, BillLine.category, func.sum(BillLine.amount_fen))
        .join(Bill, Bill.id == BillLine.bill_id)
        .where(where)
        .group_by(*cols, BillLine.category)
    ).all():
        row(tuple(key)).components[category] += int(amount or 0)
    for *key, kind, amount, credited, allocated in session.execute(
        select(
            *cols,
            Debt.kind,
            func.sum(Debt.amount_fen),
            func.sum(Debt.credited_fen),
            func.sum(Debt.allocated_fen),
        )
        .join(Bill, Bill.id == Debt.bill_id)
        .where(where)
        .group_by(*cols, Debt.kind)
    ).all():
        r = row(tuple(key))
        r.paid += int(allocated or 0)
        r.arrears += int(amount or 0) - int(credited or 0) - int(allocated or 0)
        if kind == "penalty":
            r.penalties += int(amount or 0)
    for *key, waived in session.execute(
        select(*cols, func.sum(Credit.amount_fen))
        .join(Debt, Debt.id == Credit.debt_id)
        .join(Bill, Bill.id == Debt.bill_id)
        .where(where, Credit.kind == "waiver")
        .group_by(*cols)
    ).all():
        row(tuple(key)).waived += int(waived or 0)
    ordered = [rows[k] for k in sorted(rows, key=lambda k: tuple(str(x) for x in k))]
    total = Row(())
    for r in ordered:
        total.add(r)
    names: dict[int, tuple[str, str]] = {}
    if "organisation" in dims:
        ids = {r.key[dims.index("organisation")] for r in ordered}
        names = {
            oid: (code, name)
            for oid, code, name in session.execute(
                select(Organisation.id, Organisation.code, Organisation.name).where(Organisation.id.in_(ids))
            ).all()
        }
    return SettlementReport(period_from, period_to, dims, ordered, total, names)


_HEADERS = {
    "organisation": "供电单位 organisation",
    "customer_class": "用电类别 class",
    "tariff": "电价 tariff",
    "period": "电费年月 month",
}


def _table_rows(report: SettlementReport) -> tuple[list[str], list[list[Any]]]:
    """Header and body rows (totals last) shared by the Excel and PDF exports."""
    header = [_HEADERS[d] for d in report.by] + [
        "户数 bills",
        "电量 kWh",
        *(COMPONENT_LABELS[c] for c in COMPONENTS),
        "应收 billed",
        "其中冲红 credit notes",
        "违约金 penalties",
        "减免 waived",
        "实收 paid",
        "欠费 arrears",
    ]

    def values(r: Row, key: list[Any]) -> list[Any]:
        money = [_yuan(r.components[c]) for c in COMPONENTS]
        money += [_yuan(v) for v in (r.billed, r.credit_notes, r.penalties, r.waived, r.paid, r.arrears)]
        return [*key, r.bills, _kwh(r.energy_kwh), *money]

    body = []
    for r in report.rows:
        key = []
        for d, v in zip(report.by, r.key, strict=True):
            if d == "organisation":
                code, name = report.org_names.get(v, ("", ""))
                key.append(f"{name} {code}".strip())
            elif d == "customer_class":
                key.append(f"{CLASS_LABELS.get(v, v)} {v}")
            else:
                key.append(v)
        body.append(values(r, key))
    body.append(
        values(report.total, ["合计 total"] + [""] * (len(report.by) - 1))
        if report.by
        else values(report.total, [])
    )
    return header, body


def to_pdf(report: SettlementReport) -> bytes:
    """The report as a landscape A4 PDF (Chinese text in the standard STSong-Light CID font, which every
    PDF reader provides, so nothing is embedded)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

    font = "STSong-Light"
    pdfmetrics.registerFont(UnicodeCIDFont(font))
    header, body = _table_rows(report)
    cells = [[Paragraph(h, ParagraphStyle("h", fontName=font, fontSize=6, leading=7)) for h in header]]
    cells += [[f"{v:,}" if isinstance(v, Decimal) else str(v) for v in row] for row in body]
    table = Table(cells, repeatRows=1)
    keys = len(report.by)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), font, 6),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6f0ef")),
                ("ALIGN", (keys, 1), (-1, -1), "RIGHT"),
                ("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#f2f2f2")),
            ]
        )
    )
    title = Paragraph(
        f"电费结算报表 settlement report {report.period_from} – {report.period_to}",
        ParagraphStyle("t", fontName=font, fontSize=12, leading=16, spaceAfter=6),
    )
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=landscape(A4),
        leftMargin=8 * mm,
        rightMargin=8 * mm,
        topMargin=10 * mm,
        bottomMargin=10 * mm,
        title="settlement report",
    )
    doc.build([title, table])
    return out.getvalue()


def to_xlsx(report: SettlementReport) -> bytes:
    """The report as an Excel workbook (one sheet, header in Chinese and English, totals row)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "结算报表 settlement"
    sheet.append([f"电费结算报表 settlement report {report.period_from} – {report.period_to}"])
    sheet["A1"].font = Font(bold=True, size=13)
    header, body = _table_rows(report)
    sheet.append(header)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True)
    for row in body:
        sheet.append(row)
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    first_money = len(report.by) + 3
    for column in sheet.iter_cols(min_row=3, min_col=first_money, max_col=len(header)):
        for cell in column:
            cell.number_format = "#,##0.00"
    for index in range(1, len(header) + 1):
        sheet.column_dimensions[sheet.cell(row=2, column=index).column_letter].width = 16
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
