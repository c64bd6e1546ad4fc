"""Reading server-rendered pages in tests: the text of an element by id, without a browser."""

from __future__ import annotations

from html.parser import HTMLParser

VOID = frozenset({"area", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"})
CELLS = frozenset({"td", "th", "tr", "li", "p", "div", "dt", "dd", "br", "h1", "h2", "h3", "option"})
"""Tags whose boundaries separate words in the text (table cells, list items, blocks)."""


class _ById(HTMLParser):
    def __init__(self, element_id: str) -> None:
        super().__init__()
        self.element_id = element_id
        self.depth = 0
        self.found = False
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth and tag in CELLS:
            self.parts.append(" ")
        if tag in VOID:
            return
        if self.depth:
            self.depth += 1
        elif not self.found and dict(attrs).get("id") == self.element_id:
            self.found, self.depth = True, 1

    def handle_endtag(self, tag: str) -> None:
        if self.depth and tag in CELLS:
            self.parts.append(" ")
        if self.depth and tag not in VOID:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.parts.append(data)


def text_of(html: str, element_id: str) -> str:
    """The whitespace-normalised text inside the element ``id=element_id``; AssertionError when absent."""
    parser = _ById(element_id)
    parser.feed(html)
    assert parser.found, f"no element with id={element_id!r} in the page"
    return " ".join("".join(parser.parts).split())


def has_id(html: str, element_id: str) -> bool:
    return f'id="{element_id}"' in html
