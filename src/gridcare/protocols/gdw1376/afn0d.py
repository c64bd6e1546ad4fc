"""AFN 0DH class 2 (frozen) data. Request and reply both start with the freeze time label ``td``:
td_d (A.20, the frozen day "2018-08-27") or td_m (A.21, the frozen month "2018-07"); the reply then
carries the frozen values, laid out as the matching AFN 0CH class 1 data.

* F1 / F17 daily / monthly frozen forward active, reactive, quadrant I and IV energy (as AFN0C F33).
* F2 / F18 daily / monthly frozen reverse active, reactive, quadrant II and III energy (as AFN0C F34).
* F161 / F177 daily / monthly frozen forward active energy (as AFN0C F129).
* F163 / F179 daily / monthly frozen reverse active energy (as AFN0C F131).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gridcare.protocols.gdw1376.afn0c import (
    FORWARD_ACTIVE,
    FORWARD_ENERGY,
    REVERSE_ACTIVE,
    REVERSE_ENERGY,
    decode_energy,
    encode_energy,
)
from gridcare.protocols.gdw1376.formats import Num, a20_bytes, a21_bytes, read_a20, read_a21
from gridcare.protocols.gdw1376.reader import Reader
from gridcare.protocols.gdw1376.spec import Body, FnSpec

Fields = tuple[tuple[str, Num], ...]


def _td(daily: bool) -> tuple[Callable[[Reader, str], str | None], Callable[[object, str], bytes]]:
    return (read_a20, a20_bytes) if daily else (read_a21, a21_bytes)


def td_body(daily: bool) -> Body:
    """The request body: just td."""
    read, write = _td(daily)
    return Body(lambda r: {"td": read(r, "td")}, lambda d: write(d.get("td"), "td"))


def frozen_body(daily: bool, fields: Fields) -> Body:
    """The reply body: td, then the energy block."""
    read, write = _td(daily)

    def decode(r: Reader) -> dict[str, Any]:
        td = read(r, "td")
        return {"td": td, **decode_energy(r, fields)}

    def encode(data: Mapping[str, Any]) -> bytes:
        return write(data.get("td"), "td") + encode_energy(data, fields)

    return Body(decode, encode)


def frozen(name: str, daily: bool, fields: Fields) -> FnSpec:
    return FnSpec(name, td_body(daily), frozen_body(daily, fields))


SPECS: dict[tuple[int, int], FnSpec] = {
    (0x0D, 1): frozen(
        "daily frozen forward active/reactive energy (日冻结正向有/无功电能示值)", True, FORWARD_ENERGY
    ),
    (0x0D, 2): frozen(
        "daily frozen reverse active/reactive energy (日冻结反向有/无功电能示值)", True, REVERSE_ENERGY
    ),
    (0x0D, 17): frozen(
        "monthly frozen forward active/reactive energy (月冻结正向有/无功电能示值)", False, FORWARD_ENERGY
    ),
    (0x0D, 18): frozen(
        "monthly frozen reverse active/reactive energy (月冻结反向有/无功电能示值)", False, REVERSE_ENERGY
    ),
    (0x0D, 161): frozen("daily frozen forward active energy (日冻结正向有功电能示值)", True, FORWARD_ACTIVE),
    (0x0D, 163): frozen("daily frozen reverse active energy (日冻结反向有功电能示值)", True, REVERSE_ACTIVE),
    (0x0D, 177): frozen(
        "monthly frozen forward active energy (月冻结正向有功电能示值)", False, FORWARD_ACTIVE
    ),
    (0x0D, 179): frozen(
        "monthly frozen reverse active energy (月冻结反向有功电能示值)", False, REVERSE_ACTIVE
    ),
}
