"""Billing API: compute a bill without storing anything.

``POST /bills/quote`` takes the same body as ``gridcare bill quote --json``. The body is parsed here
(not by FastAPI) so that numbers stay exact decimals and bad input is reported exactly as the CLI
reports it: 422 with ``{"detail": [{"loc", "field", "msg", "type"}]}``. Like every business route it
needs a logged-in principal holding ``read_data`` (401 without login).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from gridcare.api.deps import CurrentPrincipal
from gridcare.billing import BillingInputError, QuoteRequest, QuoteResponse, dumps, parse_model, quote

router = APIRouter(prefix="/bills", tags=["billing"])


def _inline(schema: Any, defs: dict[str, Any]) -> Any:
    """``schema`` with every ``#/$defs/...`` reference replaced by its definition (no cycles here)."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline(v, defs) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inline(v, defs) for v in schema]
    return schema


def _request_schema() -> dict[str, Any]:
    schema = QuoteRequest.model_json_schema()
    inlined: dict[str, Any] = _inline(schema, schema.get("$defs", {}))
    return inlined


def error_body(exc: BillingInputError) -> dict[str, Any]:
    """The 422 body: one entry per problem, naming the field and the reason."""
    return {
        "detail": [
            {"loc": ["body", *e.loc], "field": e.field, "msg": e.reason, "type": "value_error"}
            for e in exc.errors
        ]
    }


@router.post(
    "/quote",
    response_model=QuoteResponse,
    summary="Compute a bill (nothing is stored)",
    responses={422: {"description": "bad input: each entry names the field and the reason"}},
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": _request_schema()}}}
    },
)
async def quote_bill(request: Request, principal: CurrentPrincipal) -> Response:
    """Price one billing cycle: lines, total and the power-factor adjustment (any account holding
    ``read_data``; nothing is read from or written to the database)."""
    body = await request.body()
    try:
        result = quote(parse_model(QuoteRequest, body))
    except BillingInputError as exc:
        return JSONResponse(status_code=422, content=error_body(exc))
    return Response(content=dumps(result), media_type="application/json")
