"""Generated blocks of docs/billing-quote.md: schemas, example requests and example responses.

``python -m tests.billing.docgen`` rewrites the blocks; ``test_docs.py`` checks they are current.
A block is the fenced ``json`` code block right after a marker line:

* ``<!-- schema: QuoteRequest -->`` / ``<!-- schema: QuoteResponse -->``
* ``<!-- request: FILE -->`` (the file in docs/examples/billing/)
* ``<!-- response: FILE -->`` (``quote`` of that file)
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from gridcare.billing import QuoteRequest, QuoteResponse, dumps, parse_model, quote

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "billing-quote.md"
EXAMPLES = ROOT / "docs" / "examples" / "billing"

BLOCK = re.compile(r"<!-- (schema|request|response): ([\w.-]+) -->\n```json\n(.*?)```", re.DOTALL)


def schema(name: str) -> dict[str, Any]:
    if name == "QuoteRequest":
        return QuoteRequest.model_json_schema()
    if name == "QuoteResponse":
        return QuoteResponse.model_json_schema(mode="serialization")
    raise KeyError(name)


def response_text(example: str) -> str:
    request = parse_model(QuoteRequest, (EXAMPLES / example).read_bytes())
    return dumps(quote(request), indent=2)


def blocks(text: str) -> list[tuple[str, str, str]]:
    """``(kind, name, body)`` of every generated block in ``text``."""
    return [(m.group(1), m.group(2), m.group(3)) for m in BLOCK.finditer(text)]


def generated(kind: str, name: str) -> str:
    if kind == "schema":
        return json.dumps(schema(name), indent=2, ensure_ascii=False)
    if kind == "request":
        return (EXAMPLES / name).read_text(encoding="utf-8").rstrip("\n")
    return response_text(name)


def main() -> None:
    text = DOC.read_text(encoding="utf-8")

    def replace(match: re.Match[str]) -> str:
        kind, name = match.group(1), match.group(2)
        return f"<!-- {kind}: {name} -->\n```json\n{generated(kind, name)}\n```"

    DOC.write_text(BLOCK.sub(replace, text), encoding="utf-8")


if __name__ == "__main__":
    main()
