"""AFN 10H F1 transparent forwarding (透明转发), p0.

Downlink (with PW): terminal port (1), communication control word (1: D7..D5 baud code 0..7 = 300, 600,
1200, 2400, 4800, 7200, 9600, 19200 bd; D4 stop bits 0 = 1, 1 = 2; D3 parity on; D2 odd; D1..D0 data bits
- 5), frame timeout (1: D7 unit 0 = 10 ms, 1 = s; D6..D0 value), byte timeout [10 ms] (1), length k (2),
the k bytes to send. Uplink: port (1), length k (2), the k bytes received (k = 0: the meter did not answer).

The carried bytes are usually a DL/T 645 frame (often after FEH wake-up bytes): it is decoded with the
DL/T 645 codec into ``forwarded`` (its contract JSON). When that fails, ``forwarded`` is None and the
bytes stay in ``content_hex`` with a warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Any

from gridcare.protocols.errors import BadField, FrameError, UnsupportedFrame
from gridcare.protocols.gdw1376.formats import to_int
from gridcare.protocols.gdw1376.reader import Reader
from gridcare.protocols.gdw1376.spec import Body, FnSpec

BAUDS = (300, 600, 1200, 2400, 4800, 7200, 9600, 19200)
PARITIES = ("none", "even", "odd")
TIMEOUT_UNITS = ("10ms", "s")


def control_word(baud: int = 2400, parity: str = "even", data_bits: int = 8, stop_bits: int = 1) -> int:
    """The communication control byte, e.g. 2400 bd 8E1 -> 6BH."""
    if baud not in BAUDS:
        raise BadField(f"baud: {baud!r} is not one of {BAUDS}")
    if parity not in PARITIES:
        raise BadField(f"parity: {parity!r} is not one of {PARITIES}")
    if data_bits not in (5, 6, 7, 8):
        raise BadField(f"data_bits: {data_bits!r} is not 5..8")
    if stop_bits not in (1, 2):
        raise BadField(f"stop_bits: {stop_bits!r} is not 1 or 2")
    parity_bits = {"none": 0, "even": 0b10, "odd": 0b11}[parity]
    return BAUDS.index(baud) << 5 | (stop_bits - 1) << 4 | parity_bits << 2 | (data_bits - 5)


_dlt645: ModuleType | None = None  # the DL/T 645 codec, imported on first use


def _split_content(content: bytes, r: Reader) -> dict[str, Any]:
    """content_hex, fe_preamble, forwarded (nested DL/T 645 JSON or None), trailing_hex when present."""
    out: dict[str, Any] = {"content_hex": content.hex(), "fe_preamble": 0, "forwarded": None}
    if not content:
        return out
    fe = 0
    while fe < len(content) and content[fe] == 0xFE:
        fe += 1
    body = content[fe:]
    if not body or body[0] != 0x68:
        r.warn("forwarded bytes are not a DL/T 645 frame; kept as raw hex")
        return out
    frame = body[: 12 + body[9]] if len(body) >= 10 else body
    trailing = body[len(frame) :]
    global _dlt645
    if _dlt645 is None:
        try:
            from gridcare.protocols import dlt645
        except ImportError:
            r.warn("DL/T 645 codec not available; forwarded bytes kept as raw hex")
            return out
        _dlt645 = dlt645
    try:
        nested = _dlt645.frame_to_json(_dlt645.decode_frame(frame))
    except FrameError as exc:
        r.warn(f"forwarded DL/T 645 frame does not decode, kept as raw hex ({exc.message})")
        return out
    out["fe_preamble"] = fe
    out["forwarded"] = nested
    if trailing:
        out["trailing_hex"] = trailing.hex()
        r.warn(f"{len(trailing)} bytes after the forwarded DL/T 645 frame kept in trailing_hex")
    return out


def content_bytes(data: Mapping[str, Any]) -> bytes:
    """The bytes to carry: from ``forwarded`` (DL/T 645 contract JSON) when given, else ``content_hex``."""
    forwarded = data.get("forwarded")
    if forwarded is not None:
        if not isinstance(forwarded, Mapping):
            raise BadField("forwarded: expected a DL/T 645 JSON object")
        try:
            from gridcare.protocols import dlt645
        except ImportError:
            raise UnsupportedFrame(
                "forwarded: the DL/T 645 codec is not available; give content_hex"
            ) from None
        fe = to_int(data.get("fe_preamble", 0) or 0, "fe_preamble", 0, 16)
        trailing = data.get("trailing_hex") or ""
        try:
            tail = bytes.fromhex(trailing)
        except (TypeError, ValueError):
            raise BadField(f"trailing_hex: {trailing!r} is not hex") from None
        return b"\xfe" * fe + dlt645.encode_from_json(dict(forwarded)) + tail
    raw = data.get("content_hex") or ""
    try:
        return bytes.fromhex(raw)
    except (TypeError, ValueError):
        raise BadField(f"content_hex: {raw!r} is not hex") from None


def _length_prefixed(content: bytes) -> bytes:
    if len(content) > 0xFFFF:
        raise BadField(f"forwarded content of {len(content)} bytes does not fit the 2-byte length")
    return len(content).to_bytes(2, "little") + content


def _decode_down(r: Reader) -> dict[str, Any]:
    port = r.u8("port")
    ctrl = r.u8("control word")
    frame_timeout = r.u8("frame timeout")
    byte_timeout = r.u8("byte timeout")
    k = r.u16("content length")
    content = r.take(k, "forwarded content")
    parity = "none" if not ctrl & 0x08 else ("odd" if ctrl & 0x04 else "even")
    out: dict[str, Any] = {
        "port": port,
        "baud": BAUDS[ctrl >> 5],
        "parity": parity,
        "data_bits": (ctrl & 0x03) + 5,
        "stop_bits": 2 if ctrl & 0x10 else 1,
        "frame_timeout_value": frame_timeout & 0x7F,
        "frame_timeout_unit": TIMEOUT_UNITS[frame_timeout >> 7],
        "byte_timeout_10ms": byte_timeout,
    }
    if ctrl & 0x0C == 0x04:
        out["odd_bit_without_parity"] = True
        r.warn("control word has D2 (odd) set with parity off")
    out.update(_split_content(content, r))
    return out


def _encode_down(data: Mapping[str, Any]) -> bytes:
    ctrl = control_word(
        to_int(data.get("baud", 2400), "baud", 0, 19200),
        str(data.get("parity", "even")),
        to_int(data.get("data_bits", 8), "data_bits", 5, 8),
        to_int(data.get("stop_bits", 1), "stop_bits", 1, 2),
    )
    if data.get("odd_bit_without_parity"):
        ctrl |= 0x04
    unit = data.get("frame_timeout_unit", "s")
    if unit not in TIMEOUT_UNITS:
        raise BadField(f"frame_timeout_unit: {unit!r} is not one of {TIMEOUT_UNITS}")
    timeout = TIMEOUT_UNITS.index(unit) << 7 | to_int(
        data.get("frame_timeout_value", 5), "frame_timeout_value", 0, 127
    )
    head = bytes(
        [
            to_int(data.get("port", 1), "port"),
            ctrl,
            timeout,
            to_int(data.get("byte_timeout_10ms", 10), "byte_timeout_10ms"),
        ]
    )
    return head + _length_prefixed(content_bytes(data))


def _decode_up(r: Reader) -> dict[str, Any]:
    port = r.u8("port")
    k = r.u16("content length")
    content = r.take(k, "forwarded content")
    return {"port": port, **_split_content(content, r)}


def _encode_up(data: Mapping[str, Any]) -> bytes:
    return bytes([to_int(data.get("port", 1), "port")]) + _length_prefixed(content_bytes(data))


SPECS: dict[tuple[int, int], FnSpec] = {
    (0x10, 1): FnSpec(
        "transparent forwarding (透明转发)", Body(_decode_down, _encode_down), Body(_decode_up, _encode_up)
    ),
}
