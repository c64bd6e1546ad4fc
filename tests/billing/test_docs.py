"""docs/billing-quote.md cannot drift: its schema blocks equal the models, its example requests equal
the files in docs/examples/billing/ and its responses equal what ``quote`` returns for them."""

from __future__ import annotations

import json

from gridcare.billing import loads
from tests.billing.docgen import DOC, EXAMPLES, blocks, response_text, schema

TEXT = DOC.read_text(encoding="utf-8")
FOUND = blocks(TEXT)


def test_doc_has_every_generated_block() -> None:
    names = {(kind, name) for kind, name, _ in FOUND}
    files = sorted(p.name for p in EXAMPLES.glob("*.json"))
    assert len(files) == 4
    expected = {("schema", "QuoteRequest"), ("schema", "QuoteResponse")}
    expected |= {(kind, f) for f in files for kind in ("request", "response")}
    assert names == expected


def test_schema_blocks_equal_the_models() -> None:
    for kind, name, body in FOUND:
        if kind == "schema":
            assert json.loads(body) == schema(name), f"{name}: run python -m tests.billing.docgen"


def test_request_blocks_equal_the_example_files() -> None:
    for kind, name, body in FOUND:
        if kind == "request":
            assert loads(body) == loads((EXAMPLES / name).read_bytes()), name


def test_response_blocks_equal_the_quotes() -> None:
    for kind, name, body in FOUND:
        if kind == "response":
            assert body.rstrip("\n") == response_text(name), f"{name}: run python -m tests.billing.docgen"


def test_hand_calculated_totals_are_in_the_doc() -> None:
    # The hand calculations in the prose end with these totals; the responses must agree.
    for name, total in [
        ("residential-monthly-tiers.json", "269.52"),
        ("residential-annual-tiers-tou.json", "158.30"),
        ("industrial-two-part.json", "100429.56"),
        ("meter-and-transformer-change.json", "32313.93"),
    ]:
        assert f"**{total}**" in TEXT
        assert f'"total_yuan": {total}' in response_text(name)
