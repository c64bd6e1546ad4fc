"""Tariffs as data in the database: versions by effective date, import/export (JSON, TOML), changes by
maker-checker.

A tariff document lists versions::

    {"tariffs": [{"code": "RES-TIER-2024", "effective_from": "2024-01-01", "tariff": {...}}]}

(TOML: ``[[tariffs]]`` tables with the same keys; ``effective_from`` may be a TOML date). ``tariff`` is
the :class:`gridcare.billing.Tariff` of the bill engine. A document is validated as a whole; one bad
field refuses it all, naming the field (``tariffs[1].tariff.energy.price_yuan_per_kwh``).

Changes never apply directly: a member of staff holding ``manage_tariffs`` files the document
(:func:`request_change`), a different one holding it approves (:func:`approve_change`), and only then
are the versions written, all in one transaction, each step audited. A version is never changed: filing
the same code and date again adds the next ``revision``, which wins from then on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gridcare.archives.queries import NotFound
from gridcare.billing.errors import BillingInputError, FieldProblem
from gridcare.billing.jsonio import dumps, loads, validate_model
from gridcare.billing.models import TariffVersion
from gridcare.billing.numbers import Day, StrictStr
from gridcare.billing.tariff import Tariff
from gridcare.billing.tomlio import dumps_toml, loads_toml
from gridcare.security import approvals, audit
from gridcare.security.authz import require
from gridcare.security.models import ApprovalRequest, ApprovalStatus
from gridcare.security.principal import Principal
from gridcare.security.roles import Permission
from gridcare.timeutil import now_beijing

CHANGE_KIND = "tariff_change"
Format = Literal["json", "toml"]
FORMATS: tuple[str, ...] = ("json", "toml")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TariffEntry(_Model):
    """One version of a tariff in a document."""

    code: Annotated[StrictStr, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.\-]+$")]
    effective_from: Day
    tariff: Tariff

    @model_validator(mode="after")
    def _same_code(self) -> TariffEntry:
        if self.tariff.code is not None and self.tariff.code != self.code:
            raise FieldProblem(
                ("tariff", "code"), f"must equal the entry code {self.code!r} (or be left out)"
            )
        return self


class TariffDocument(_Model):
    tariffs: Annotated[list[TariffEntry], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique(self) -> TariffDocument:
        seen: dict[tuple[str, date], int] = {}
        for index, entry in enumerate(self.tariffs):
            key = (entry.code, entry.effective_from)
            if key in seen:
                raise FieldProblem(
                    ("tariffs", index, "effective_from"),
                    f"{entry.code} from {entry.effective_from} is already tariffs[{seen[key]}]",
                )
            seen[key] = index
        return self


def parse_document(text: str | bytes, fmt: str) -> TariffDocument:
    """A tariff document from JSON or TOML text; any problem raises :class:`BillingInputError`."""
    if fmt not in FORMATS:
        raise BillingInputError.at("format", f"must be json or toml, got {fmt!r}")
    data = loads(text) if fmt == "json" else loads_toml(text)
    return validate_model(TariffDocument, data)


def _entry_json(entry: TariffEntry) -> dict[str, Any]:
    tariff = entry.tariff.model_dump(mode="python", exclude_none=True)
    tariff["code"] = entry.code
    return {"code": entry.code, "effective_from": entry.effective_from, "tariff": tariff}


def document_text(document: TariffDocument, fmt: str = "json") -> str:
    """The document as JSON (exact decimals, indented) or TOML text."""
    data = {"tariffs": [_entry_json(e) for e in document.tariffs]}
    if fmt == "toml":
        return dumps_toml(data)
    return dumps(data, indent=2) + "\n"


# --- reading versions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredTariff:
    """A version as stored, with its parsed tariff."""

    row: TariffVersion
    tariff: Tariff


def tariff_of(row: TariffVersion) -> Tariff:
    """The tariff of a stored version (the body was validated when it was approved)."""
    return validate_model(Tariff, loads(row.body))


def _latest_revisions(session: Session, code: str | None = None) -> list[TariffVersion]:
    """The winning revision of every (code, effective_from), ordered by code and date."""
    newest = (
        select(
            TariffVersion.code,
            TariffVersion.effective_from,
            func.max(TariffVersion.revision).label("revision"),
        )
        .group_by(TariffVersion.code, TariffVersion.effective_from)
        .subquery()
    )
    stmt = (
        select(TariffVersion)
        .join(
            newest,
            (newest.c.code == TariffVersion.code)
            & (newest.c.effective_from == TariffVersion.effective_from)
            & (newest.c.revision == TariffVersion.revision),
        )
        .order_by(TariffVersion.code, TariffVersion.effective_from)
    )
    if code is not None:
        stmt = stmt.where(TariffVersion.code == code)
    return list(session.scalars(stmt))


def list_versions(
    session: Session, code: str | None = None, as_of: date | None = None
) -> list[TariffVersion]:
    """Winning versions (every date, or only the one in force on ``as_of`` per code)."""
    rows = _latest_revisions(session, code)
    if as_of is None:
        return rows
    in_force: dict[str, TariffVersion] = {}
    for row in rows:
        if row.effective_from <= as_of:
            in_force[row.code] = row
    return list(in_force.values())


class TariffBook:
    """Every winning version by code, for pricing many customers: which version is in force on a day
    and which change inside a cycle. Parsed tariffs are cached."""

    def __init__(self, rows: Sequence[TariffVersion]) -> None:
        self._by_code: dict[str, list[TariffVersion]] = {}
        for row in sorted(rows, key=lambda r: (r.code, r.effective_from)):
            self._by_code.setdefault(row.code, []).append(row)
        self._parsed: dict[int, Tariff] = {}

    @classmethod
    def load(cls, session: Session) -> TariffBook:
        return cls(_latest_revisions(session))

    def codes(self) -> list[str]:
        return sorted(self._by_code)

    def tariff(self, row: TariffVersion) -> Tariff:
        if row.id not in self._parsed:
            self._parsed[row.id] = tariff_of(row)
        return self._parsed[row.id]

    def in_force(self, code: str, day: date) -> TariffVersion | None:
        found = None
        for row in self._by_code.get(code, []):
            if row.effective_from <= day:
                found = row
        return found

    def versions(self, code: str, first: date, last: date) -> list[TariffVersion]:
        """The version in force on ``first`` followed by every version starting in ``(first, last]``;
        empty when no version is in force on ``first``."""
        start = self.in_force(code, first)
        if start is None:
            return []
        later = [r for r in self._by_code.get(code, []) if first < r.effective_from <= last]
        return [start, *later]


def export_document(session: Session, code: str | None = None, as_of: date | None = None) -> TariffDocument:
    """The stored versions as a document (the format of :func:`parse_document`)."""
    rows = list_versions(session, code, as_of)
    if not rows:
        raise NotFound(f"tariff {code}" if code else "tariffs (none stored)")
    return TariffDocument(
        tariffs=[TariffEntry(code=r.code, effective_from=r.effective_from, tariff=tariff_of(r)) for r in rows]
    )


def export_text(session: Session, fmt: str, code: str | None = None, as_of: date | None = None) -> str:
    """The stored versions as document text; with nothing stored (and no code asked for) an empty
    document."""
    if code is None and not list_versions(session, None, as_of):
        return "" if fmt == "toml" else '{"tariffs": []}\n'
    return document_text(export_document(session, code, as_of), fmt)


# --- changes by maker-checker -------------------------------------------------------------------


def request_change(
    session: Session, maker: Principal, text: str | bytes, fmt: str, reason: str
) -> ApprovalRequest:
    """Validate a tariff document and file it for approval; nothing is applied yet. Needs
    ``manage_tariffs``; the caller commits."""
    require(maker, Permission.MANAGE_TARIFFS)
    if not reason.strip():
        raise BillingInputError.at("reason", "say why the tariffs change (调价文件号 or reason)")
    document = parse_document(text, fmt)
    codes = sorted({e.code for e in document.tariffs})
    label = ", ".join(codes)
    return approvals.request(
        session,
        maker,
        CHANGE_KIND,
        Permission.MANAGE_TARIFFS,
        f"tariffs {label}"[:100],
        org_id=maker.org_id,
        payload={
            "versions": [f"{e.code}@{e.effective_from.isoformat()}" for e in document.tariffs],
            "document": document_text(document, "json"),
        },
        reason=reason,
    )


def get_change(session: Session, principal: Principal, change_id: int) -> ApprovalRequest:
    """A tariff change request in the principal's scope (else :class:`NotFound`)."""
    req = approvals.get(session, principal, change_id)
    if req.kind != CHANGE_KIND:
        raise NotFound(f"tariff change {change_id}")
    return req


def change_document(req: ApprovalRequest) -> TariffDocument:
    return parse_document(approvals.payload_of(req)["document"], "json")


def list_changes(
    session: Session, principal: Principal, status: ApprovalStatus | None = ApprovalStatus.PENDING
) -> list[ApprovalRequest]:
    require(principal, Permission.MANAGE_TARIFFS)
    items, _ = approvals.list_requests(session, principal, kind=CHANGE_KIND, status=status, page_size=500)
    return list(items)


def approve_change(
    session: Session, checker: Principal, change_id: int, note: str = ""
) -> list[TariffVersion]:
    """Approve a pending change (not by its maker) and write its versions; the caller commits."""
    req = get_change(session, checker, change_id)
    approvals.approve(session, checker, change_id, note)
    document = change_document(req)
    now = now_beijing()
    written = []
    for entry in document.tariffs:
        previous = session.scalar(
            select(func.max(TariffVersion.revision)).where(
                TariffVersion.code == entry.code, TariffVersion.effective_from == entry.effective_from
            )
        )
        row = TariffVersion(
            code=entry.code,
            effective_from=entry.effective_from,
            revision=(previous or 0) + 1,
            name=entry.tariff.name or "",
            customer_class=entry.tariff.customer_class.value,
            body=dumps(_entry_json(entry)["tariff"]),
            approval_id=req.id,
            requested_by=req.requested_by,
            approved_by=checker.username,
            created_at=now,
        )
        session.add(row)
        written.append(row)
    session.flush()
    approvals.mark_executed(session, checker, change_id, {"versions": [r.id for r in written]})
    audit.record(
        session,
        checker,
        "tariff.apply",
        f"tariff change {req.id}",
        detail={
            "maker": req.requested_by,
            "versions": [f"{r.code}@{r.effective_from.isoformat()}#{r.revision}" for r in written],
        },
    )
    return written


def reject_change(session: Session, checker: Principal, change_id: int, note: str = "") -> ApprovalRequest:
    get_change(session, checker, change_id)
    return approvals.reject(session, checker, change_id, note)


def version_json(row: TariffVersion) -> dict[str, Any]:
    """A version for the API and CLI (the tariff body included, exact decimals)."""
    return {
        "id": row.id,
        "code": row.code,
        "effective_from": row.effective_from.isoformat(),
        "revision": row.revision,
        "name": row.name,
        "customer_class": row.customer_class,
        "approval_id": row.approval_id,
        "requested_by": row.requested_by,
        "approved_by": row.approved_by,
        "tariff": loads(row.body),
    }


def change_json(req: ApprovalRequest) -> dict[str, Any]:
    payload = approvals.payload_of(req)
    return {
        "change_id": req.id,
        "status": req.status.value,
        "object": req.object,
        "reason": req.reason,
        "versions": payload.get("versions", []),
        "requested_by": req.requested_by,
        "requested_at": req.requested_at.isoformat(),
        "decided_by": req.decided_by,
    }
