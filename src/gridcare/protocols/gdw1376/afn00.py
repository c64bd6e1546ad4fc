"""AFN 00H confirm / deny: F1 confirm all, F2 deny all, F3 confirm or deny unit by unit.

F3 data: the AFN being confirmed (1 byte), then per data unit identifier DA DT and ERR (00H confirmed,
01H denied). Device quirks decoded with a warning: the AFN byte left out, padding after the last entry,
a DA/DT that is not a valid identifier (kept as raw hex in ``da_dt``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gridcare.protocols.errors import BadField, FrameError
from gridcare.protocols.gdw1376.formats import to_int
from gridcare.protocols.gdw1376.reader import Reader
from gridcare.protocols.gdw1376.spec import Body, FnSpec, both, empty
from gridcare.protocols.gdw1376.units import decode_da, decode_dt, encode_da, encode_dt

ENTRY_LEN = 5  # DA(2) DT(2) ERR(1)


def _decode_f3(r: Reader) -> dict[str, Any]:
    rem = r.remaining()
    afn: int | None
    if rem % ENTRY_LEN == 0 and rem > 0:
        afn = None
        r.warn("per-unit confirm without the AFN byte (device quirk)")
    else:
        afn = r.u8("confirmed AFN")
    entries: list[dict[str, Any]] = []
    while r.remaining() >= ENTRY_LEN:
        pos = r.pos
        da1, da2, dt1, dt2, err = r.take(ENTRY_LEN, "confirm entry")
        entry: dict[str, Any]
        try:
            pns, all_points = decode_da(da1, da2, pos)
            fns = decode_dt(dt1, dt2, pos + 2)
        except FrameError as exc:
            entry = {"da_dt": bytes([da1, da2, dt1, dt2]).hex()}
            r.warn(f"non-standard DA/DT {entry['da_dt']} in per-unit confirm kept raw ({exc.message})")
        else:
            entry = {"pn": pns, "fn": fns}
            if all_points:
                entry["all_points"] = True
        entry["ok"] = err == 0
        if err not in (0, 1):
            entry["err"] = err
        entries.append(entry)
    if r.remaining():
        extra = r.rest()
        r.warn(f"{len(extra)} padding bytes {extra.hex()} after the per-unit confirm ignored")
    return {"afn": afn, "entries": entries}


def _encode_f3(data: Mapping[str, Any]) -> bytes:
    out = bytearray()
    afn = data.get("afn")
    if afn is not None:
        out.append(to_int(afn, "afn", 0, 255))
    entries = data.get("entries") or []
    if not isinstance(entries, list):
        raise BadField("entries: expected a list")
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise BadField(f"entries[{i}]: expected an object")
        raw = entry.get("da_dt")
        if raw is not None:
            try:
                ident = bytes.fromhex(raw)
            except (TypeError, ValueError):
                raise BadField(f"entries[{i}].da_dt: {raw!r} is not hex") from None
            if len(ident) != 4:
                raise BadField(f"entries[{i}].da_dt: needs 4 bytes")
        else:
            ident = encode_da(entry.get("pn") or [], bool(entry.get("all_points"))) + encode_dt(
                entry.get("fn") or []
            )
        err = entry.get("err")
        code = to_int(err, f"entries[{i}].err") if err is not None else (0 if entry.get("ok", True) else 1)
        out += ident + bytes([code])
    return bytes(out)


SPECS: dict[tuple[int, int], FnSpec] = {
    (0x00, 1): empty("confirm all (全部确认)", sole=True),
    (0x00, 2): empty("deny all (全部否认)", sole=True),
    (0x00, 3): both("confirm/deny per unit (按数据单元标识确认和否认)", Body(_decode_f3, _encode_f3)),
}
