"""Data unit identifiers: DA (DA1 point bitmap, DA2 point group) <-> Pn and DT (DT1 class bitmap, DT2 class
group) <-> Fn.

* p0 (the terminal itself): DA1 = DA2 = 00H. DA1 = FFH, DA2 = 00H means "all valid measuring points".
* Pn = (DA2 - 1) * 8 + bit + 1 for each bit set in DA1 (DA2 = 1..255, so Pn = 1..2040).
* Fn = DT2 * 8 + bit + 1 for each bit set in DT1 (DT2 = 0..30, so Fn = 1..248).

One identifier can name up to 8 points of one group and 8 classes of one group; the data then repeats
for every Pn x Fn, Pn outer and Fn inner, both ascending.
"""

from __future__ import annotations

from collections.abc import Iterable

from gridcare.protocols.errors import BadField

MAX_PN = 2040
MAX_FN = 248


def decode_da(da1: int, da2: int, position: int | None = None) -> tuple[list[int], bool]:
    """(Pn list, all_points) for DA1/DA2."""
    if da2 == 0:
        if da1 == 0:
            return [0], False
        if da1 == 0xFF:
            return [], True
        raise BadField(
            f"DA1 {da1:02X}H with DA2 00H: only 00H (p0) or FFH (all points) are defined", position
        )
    if da1 == 0:
        raise BadField(f"DA1 00H with DA2 {da2:02X}H names no measuring point", position)
    return [(da2 - 1) * 8 + bit + 1 for bit in range(8) if da1 >> bit & 1], False


def encode_da(pns: Iterable[int], all_points: bool = False) -> bytes:
    """DA1 DA2 for the points ``pns`` (all in one group of 8), [0] for p0."""
    if all_points:
        return b"\xff\x00"
    points = list(pns)
    if not points:
        raise BadField("pn: at least one measuring point is needed ([0] for p0)")
    if len(set(points)) != len(points):
        raise BadField(f"pn: duplicate measuring points in {points}")
    if points == [0]:
        return b"\x00\x00"
    if 0 in points:
        raise BadField(f"pn: p0 cannot be combined with other points ({points})")
    for p in points:
        if isinstance(p, bool) or not isinstance(p, int) or not 1 <= p <= MAX_PN:
            raise BadField(f"pn: {p!r} is outside 1..{MAX_PN}")
    groups = {(p - 1) // 8 for p in points}
    if len(groups) != 1:
        raise BadField(f"pn: {points} are not in one group of 8 (Pn 1-8, 9-16, ...)")
    group = groups.pop()
    da1 = 0
    for p in points:
        da1 |= 1 << ((p - 1) % 8)
    return bytes([da1, group + 1])


def decode_dt(dt1: int, dt2: int, position: int | None = None) -> list[int]:
    """Fn list for DT1/DT2."""
    if dt1 == 0:
        raise BadField(f"DT1 00H names no information class (DT2 {dt2:02X}H)", position)
    if dt2 > 30:
        raise BadField(f"DT2 {dt2:02X}H is above 30 (Fn at most {MAX_FN})", position)
    return [dt2 * 8 + bit + 1 for bit in range(8) if dt1 >> bit & 1]


def encode_dt(fns: Iterable[int]) -> bytes:
    """DT1 DT2 for the classes ``fns`` (all in one group of 8)."""
    classes = list(fns)
    if not classes:
        raise BadField("fn: at least one information class is needed")
    if len(set(classes)) != len(classes):
        raise BadField(f"fn: duplicate information classes in {classes}")
    for f in classes:
        if isinstance(f, bool) or not isinstance(f, int) or not 1 <= f <= MAX_FN:
            raise BadField(f"fn: {f!r} is outside 1..{MAX_FN}")
    groups = {(f - 1) // 8 for f in classes}
    if len(groups) != 1:
        raise BadField(f"fn: {classes} are not in one group of 8 (F1-8, F9-16, ...)")
    group = groups.pop()
    dt1 = 0
    for f in classes:
        dt1 |= 1 << ((f - 1) % 8)
    return bytes([dt1, group])


def pairs(pns: list[int], fns: list[int], all_points: bool = False) -> list[tuple[int, int]]:
    """The (Pn, Fn) order in which a unit's data repeats: Pn outer, Fn inner, ascending."""
    points = [0] if all_points else sorted(pns)
    return [(p, f) for p in points for f in sorted(fns)]
