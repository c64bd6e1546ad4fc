"""All supported (AFN, Fn) pairs and their body codecs."""

from __future__ import annotations

from gridcare.protocols.gdw1376 import afn0c, afn0d, afn0e, afn00, afn02, afn05, afn10
from gridcare.protocols.gdw1376.spec import FnSpec

SPECS: dict[tuple[int, int], FnSpec] = {
    **afn00.SPECS,
    **afn02.SPECS,
    **afn05.SPECS,
    **afn0c.SPECS,
    **afn0d.SPECS,
    **afn0e.SPECS,
    **afn10.SPECS,
}


def lookup(afn: int, fn: int) -> FnSpec | None:
    return SPECS.get((afn, fn))


def fn_name(afn: int, fn: int) -> str:
    spec = SPECS.get((afn, fn))
    return spec.name if spec is not None else f"AFN{afn:02X} F{fn}"
