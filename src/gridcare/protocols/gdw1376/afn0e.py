"""AFN 0EH class 3 data (events): F1 important events, F2 normal events, p0.

Request: start pointer pm, end pointer pn (1 byte each). Reply: current EC1, EC2, then pm, pn of the
records in this frame and (pn - pm) mod 256 event records (see :mod:`erc`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gridcare.protocols.errors import BadField, FrameError
from gridcare.protocols.gdw1376.erc import decode_record, encode_record
from gridcare.protocols.gdw1376.formats import to_int
from gridcare.protocols.gdw1376.reader import Reader
from gridcare.protocols.gdw1376.spec import Body, FnSpec

F_IMPORTANT = 1
F_NORMAL = 2


def record_count(pm: int, pn: int) -> int:
    """Records from pointer pm up to (not including) pn, the pointers wrapping at 256."""
    return (pn - pm) % 256


def _decode_request(r: Reader) -> dict[str, Any]:
    return {"pm": r.u8("pm"), "pn": r.u8("pn")}


def _encode_request(data: Mapping[str, Any]) -> bytes:
    return bytes([to_int(data.get("pm", 0), "pm"), to_int(data.get("pn", 0), "pn")])


def _decode_reply(r: Reader) -> dict[str, Any]:
    out: dict[str, Any] = {"ec1": r.u8("ec1"), "ec2": r.u8("ec2")}
    pm, pn = r.u8("pm"), r.u8("pn")
    out["pm"], out["pn"] = pm, pn
    expected = record_count(pm, pn)
    events: list[dict[str, Any]] = []
    while len(events) < expected and r.remaining() >= 2:
        mark = r.pos
        try:
            events.append(decode_record(r))
        except FrameError as exc:  # a cut-off last record: keep the records before it
            r.pos = mark
            tail = r.rest()
            out["trailing_hex"] = tail.hex()
            n = len(events) + 1
            r.warn(f"event record {n} is cut off ({exc.message}); {len(tail)} bytes kept in trailing_hex")
    if len(events) < expected:
        r.warn(f"pointers pm={pm} pn={pn} announce {expected} records, the frame holds {len(events)}")
    out["events"] = events
    return out


def _encode_reply(data: Mapping[str, Any]) -> bytes:
    events = data.get("events") or []
    if not isinstance(events, list):
        raise BadField("events: expected a list")
    pm = to_int(data.get("pm", 0), "pm")
    pn_value = data.get("pn")
    pn = (pm + len(events)) % 256 if pn_value is None else to_int(pn_value, "pn")
    out = bytearray([to_int(data.get("ec1", 0), "ec1"), to_int(data.get("ec2", 0), "ec2"), pm, pn])
    for i, event in enumerate(events):
        if not isinstance(event, Mapping):
            raise BadField(f"events[{i}]: expected an object")
        out += encode_record(event)
    trailing = data.get("trailing_hex") or ""
    try:
        out += bytes.fromhex(trailing)
    except (TypeError, ValueError):
        raise BadField(f"trailing_hex: {trailing!r} is not hex") from None
    return bytes(out)


REQUEST = Body(_decode_request, _encode_request)
REPLY = Body(_decode_reply, _encode_reply)

SPECS: dict[tuple[int, int], FnSpec] = {
    (0x0E, F_IMPORTANT): FnSpec("important events (请求重要事件)", REQUEST, REPLY),
    (0x0E, F_NORMAL): FnSpec("normal events (请求一般事件)", REQUEST, REPLY),
}
