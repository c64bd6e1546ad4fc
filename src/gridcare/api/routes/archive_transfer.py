"""Import and export of archive files (CSV / Excel .xlsx): upload to import, download to export."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, HTTPException, Query, Response, UploadFile
from pydantic import BaseModel

from gridcare.api.deps import CurrentPrincipal, DatabaseDep, Requires, SessionDep
from gridcare.archives.transfer import (
    CONTENT_TYPES,
    ArchiveKind,
    export_archive,
    import_archive,
    parse_format,
)
from gridcare.security.principal import Principal
from gridcare.security.roles import Permission

router = APIRouter(prefix="/archives", tags=["archives"])

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
"""Largest file accepted for import."""


class ImportOut(BaseModel):
    kind: str
    rows: int
    inserted: int
    updated: int
    unchanged: int


@router.post(
    "/{kind}/import",
    response_model=ImportOut,
    responses={422: {"description": "bad file: nothing imported; detail.errors lists every bad row"}},
)
def import_file(
    kind: ArchiveKind,
    file: Annotated[UploadFile, File(description="CSV (UTF-8) or .xlsx file")],
    database: DatabaseDep,
    principal: Annotated[Principal, Requires(Permission.EDIT_ARCHIVES)],
    format: Annotated[
        Literal["csv", "xlsx"] | None, Query(description="default: from the file name's extension")
    ] = None,
) -> ImportOut:
    """Import a file (``edit_archives``): new keys are inserted, stored keys updated; one bad row and
    nothing is imported."""
    try:
        fmt = parse_format(format, file.filename)
    except ValueError as exc:
        raise HTTPException(422, detail={"message": str(exc), "errors": []}) from exc
    data = file.file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise HTTPException(413, detail=f"file: larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB")
    report = import_archive(database.sessions, kind, data, fmt, principal)
    if not report.ok:
        message = f"nothing was imported (未导入任何数据): {len(report.bad_lines)} bad line(s)"
        errors = [e.as_dict() for e in report.errors]
        raise HTTPException(422, detail={"message": message, "errors": errors})
    return ImportOut(
        kind=report.kind,
        rows=report.rows,
        inserted=report.inserted,
        updated=report.updated,
        unchanged=report.unchanged,
    )


@router.get(
    "/{kind}/export",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPES["csv"]: {}, CONTENT_TYPES["xlsx"]: {}}}},
)
def export_file(
    kind: ArchiveKind,
    session: SessionDep,
    principal: CurrentPrincipal,
    format: Annotated[Literal["csv", "xlsx"], Query()] = "csv",
) -> Response:
    """Download every object of ``kind`` in the caller's organisation scope, ordered by key (personal
    data only with ``export_personal_data``)."""
    data = export_archive(session, kind, format, principal)
    session.commit()  # the audit record of a personal-data export
    filename = f"{kind.value}.{format}"
    disposition = f'attachment; filename="{filename}"'
    return Response(
        content=data, media_type=CONTENT_TYPES[format], headers={"Content-Disposition": disposition}
    )
