"""Tell which protocol a frame speaks and decode it to the contract JSON object.

Both protocols open with 68H, so the bytes after it decide:

* Q/GDW 1376.1: ``68 L1 L2 L1 L2 68`` - the 2-byte length field repeated, a second 68H at offset 5; never
  preceded by FEH wake-up bytes;
* DL/T 645: ``[FE ..] 68 A0 .. A5 68`` - a second 68H after the six address bytes (offset 7).

A buffer can satisfy both (a DL/T 645 meter address whose bytes repeat and whose A4 is 68H, e.g.
206800000000); then the protocol whose length field accounts for exactly the bytes given is tried
first, and the other one if that fails. When neither shape fits, the error comes from the protocol the
buffer resembles most, so it names the byte at fault (with its position in the buffer).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

from gridcare.protocols import dlt645, gdw1376
from gridcare.protocols.errors import BadField, BadStartByte, FrameError, TruncatedFrame

Protocol = Literal["gdw1376.1", "dlt645"]

START = 0x68
PREAMBLE = 0xFE
GDW_HEADER = 6  # 68 L L 68
DLT_HEADER = 10  # 68 A0..A5 68 C L


def preamble_length(data: bytes) -> int:
    """Number of leading FEH wake-up bytes."""
    i = 0
    while i < len(data) and data[i] == PREAMBLE:
        i += 1
    return i


def looks_like_gdw1376(data: bytes) -> bool:
    """68 L L 68: the length field repeated and a second start byte at offset 5 (no preamble)."""
    return len(data) >= GDW_HEADER and data[0] == START and data[5] == START and data[1:3] == data[3:5]


def looks_like_dlt645(data: bytes) -> bool:
    """[FE..] 68 A0..A5 68: a second start byte after the 6 address bytes."""
    i = preamble_length(data)
    return len(data) >= i + 8 and data[i] == START and data[i + 7] == START


def _gdw_exact(data: bytes) -> bool:
    """The 1376.1 length field accounts for exactly ``len(data)`` bytes."""
    user = (data[1] | data[2] << 8) >> 2
    return GDW_HEADER + user + 2 == len(data)


def _dlt_exact(data: bytes) -> bool:
    """The DL/T 645 length byte accounts for exactly ``len(data)`` bytes (preamble included)."""
    i = preamble_length(data)
    return len(data) >= i + DLT_HEADER and i + DLT_HEADER + data[i + 9] + 2 == len(data)


def candidates(data: bytes) -> list[Protocol]:
    """The protocols ``data`` may speak, most likely first (empty: it cannot be a frame of either).

    Raises TruncatedFrame or BadStartByte when the opening bytes already rule out both protocols.
    """
    if not data:
        raise TruncatedFrame("empty frame", 0)
    pre = preamble_length(data)
    if pre == len(data):
        raise TruncatedFrame(f"only {pre} FEH preamble byte(s), no frame", pre)
    if data[pre] != START:
        where = " after the FEH preamble" if pre else ""
        raise BadStartByte(f"expected start byte 68H{where}, found {data[pre]:02X}H", pre)
    if pre:
        return ["dlt645"]  # 1376.1 frames carry no preamble
    gdw, dlt = looks_like_gdw1376(data), looks_like_dlt645(data)
    if gdw and dlt:
        return (
            ["dlt645", "gdw1376.1"] if _dlt_exact(data) and not _gdw_exact(data) else ["gdw1376.1", "dlt645"]
        )
    if gdw:
        return ["gdw1376.1"]
    if dlt:
        return ["dlt645"]
    # Neither shape fits: blame the protocol the opening bytes resemble most.
    if (len(data) >= 5 and data[1:3] == data[3:5]) or (len(data) >= GDW_HEADER and data[5] == START):
        return ["gdw1376.1"]
    if len(data) < 8:
        raise TruncatedFrame(
            f"{len(data)} bytes are too few to tell a 1376.1 from a DL/T 645 frame", len(data)
        )
    return ["dlt645"]


def _decode_gdw(data: bytes) -> dict[str, Any]:
    return gdw1376.frame_to_json(gdw1376.decode_frame(data))


def _decode_dlt(data: bytes) -> dict[str, Any]:
    return dlt645.frame_to_json(dlt645.decode_frame(data))


_DECODERS: dict[Protocol, Callable[[bytes], dict[str, Any]]] = {
    "gdw1376.1": _decode_gdw,
    "dlt645": _decode_dlt,
}


def detect(data: bytes) -> Protocol:
    """The protocol ``data`` most likely speaks; raises FrameError when it can be neither."""
    return candidates(bytes(data))[0]


def decode_any(data: bytes) -> dict[str, Any]:
    """Decode a Q/GDW 1376.1 or DL/T 645 frame to its contract JSON object.

    Raises only FrameError subclasses; when every candidate protocol fails, the first one's error.
    """
    data = bytes(data)
    first_error: FrameError | None = None
    for protocol in candidates(data):
        try:
            return _DECODERS[protocol](data)
        except FrameError as exc:
            if first_error is None:
                first_error = exc
    assert first_error is not None  # candidates() never returns an empty list
    raise first_error


def encode_any(obj: Mapping[str, Any]) -> bytes:
    """Encode a contract JSON object; its ``protocol`` key decides the codec. Raises only FrameError."""
    if not isinstance(obj, Mapping):
        raise BadField(f"expected a JSON object, got {type(obj).__name__}")
    if "protocol" not in obj:
        raise BadField("protocol: missing (gdw1376.1, dlt645-2007 or dlt645-1997)")
    protocol = obj["protocol"]
    if protocol == gdw1376.PROTOCOL_NAME:
        return gdw1376.encode_from_json(obj)
    if protocol in (dlt645.PROTOCOL_2007, dlt645.PROTOCOL_1997):
        return dlt645.encode_from_json(obj)
    raise BadField(f"protocol: expected gdw1376.1, dlt645-2007 or dlt645-1997, got {protocol!r}")
