"""How one information class Fn of one AFN is carried: its name and its body codec per direction."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gridcare.protocols.gdw1376.model import DOWN
from gridcare.protocols.gdw1376.reader import Reader

Decoder = Callable[[Reader], dict[str, Any]]
Encoder = Callable[[Mapping[str, Any]], bytes]


@dataclass(frozen=True)
class Body:
    """Decoder and encoder of the data that follows a DA/DT, for one (Pn, Fn)."""

    decode: Decoder
    encode: Encoder


@dataclass(frozen=True)
class FnSpec:
    """``down`` / ``up``: the body codec in each direction, None when that direction carries no data.

    ``sole``: the unit is the only one of its frame (link frames, confirm/deny all); bytes after it are
    device padding, decoded with a warning instead of as another unit.
    """

    name: str
    down: Body | None = None
    up: Body | None = None
    sole: bool = False

    def body(self, direction: int) -> Body | None:
        return self.down if direction == DOWN else self.up


def empty(name: str, sole: bool = False) -> FnSpec:
    """An Fn that carries no data in either direction."""
    return FnSpec(name, None, None, sole)


def both(name: str, body: Body) -> FnSpec:
    """An Fn with the same body in both directions."""
    return FnSpec(name, body, body)


def get(data: Mapping[str, Any], key: str) -> Any:
    """``data[key]`` or None (absent keys encode as no-data filler)."""
    return data.get(key)
