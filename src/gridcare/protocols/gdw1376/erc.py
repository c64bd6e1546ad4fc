"""Event records (ERC) carried by AFN 0EH: ERC code (1 byte), length Le (1 byte), Le bytes of content.

Decoded records are dicts {"erc": n, "name": ..., fields...}. Times are A.15 ("YYYY-MM-DD HH:MM");
"pn" + "start" come from the 2-byte point field (D11..D0 measuring point, D15 1 = occurred, 0 = recovered).

======  =====  ======================================================================================
ERC1     14    data initialisation / version change: time, flags (D0 init, D1 version), old/new version
ERC3     6+4n  parameter change: time, master station address, n changed DA/DT identifiers
ERC10    28    voltage loop abnormal: time, pn, flags (D2..D0 phases C/B/A, D7..D6 1 phase break,
               2 voltage loss), Ua Ub Uc A.7, Ia Ib Ic A.25, forward active energy A.14
ERC12    7     meter time abnormal: time, pn
ERC13    8     meter fault: time, pn, flags (D0 programming / demand reset, D1 phase-break count,
               D2 voltage-loss count, D3 power-off count, D4 battery low)
ERC14    10    terminal power off / on: power-off time, power-on time (A.15 each)
ERC21    6     terminal fault: time, fault code (1 memory, 2 clock, 3 board communication, 4 RS-485
               reading, 5 display, 6 carrier channel)
ERC37    70    meter cover opened: time, pn, open count A.10, open / close time (A.1), before and after:
               forward / reverse active, quadrant I..IV reactive total energy (A.11 each)
ERC40    15    magnetic interference: time, pn, device type, device address A.12, interference type
======  =====  ======================================================================================

Unknown ERCs, and records that do not decode, are kept as raw hex with a warning.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gridcare.protocols.errors import BadField, FrameError
from gridcare.protocols.gdw1376.formats import (
    A7,
    A11,
    A14,
    A25,
    a1_bytes,
    a12_bytes,
    a15_bytes,
    count_bytes,
    filler,
    num_bytes,
    nums_bytes,
    read_a1,
    read_a12,
    read_a15,
    read_count,
    read_field,
    read_num,
    read_nums,
    to_int,
)
from gridcare.protocols.gdw1376.reader import Reader
from gridcare.protocols.gdw1376.units import decode_da, decode_dt, encode_da, encode_dt

Fields = dict[str, Any]


@dataclass(frozen=True)
class ErcSpec:
    name: str
    decode: Callable[[Reader], Fields]
    encode: Callable[[Mapping[str, Any]], bytes]


def _hex(value: object, what: str) -> bytes:
    if value is None:
        return b""
    try:
        return bytes.fromhex(str(value))
    except ValueError:
        raise BadField(f"{what}: {value!r} is not hex") from None


# --- shared fields -----------------------------------------------------------------------------------


def _read_point(r: Reader, out: Fields) -> None:
    v = r.u16("pn")
    out["pn"] = v & 0x0FFF
    out["start"] = bool(v >> 15)


def _point(d: Mapping[str, Any]) -> bytes:
    pn = to_int(d.get("pn", 0), "pn", 0, 0x0FFF)
    start = 1 if d.get("start", True) else 0
    return (pn | start << 15).to_bytes(2, "little")


def _flags(value: int, names: tuple[str, ...], out: Fields) -> None:
    out["flags"] = value
    for bit, name in enumerate(names):
        out[name] = bool(value >> bit & 1)


def _flags_byte(d: Mapping[str, Any], names: tuple[str, ...]) -> int:
    """Named bits from their booleans, reserved bits from ``flags``."""
    known = (1 << len(names)) - 1
    value = to_int(d.get("flags", 0), "flags") & ~known
    for bit, name in enumerate(names):
        if d.get(name):
            value |= 1 << bit
    return value


def _text4(r: Reader, what: str) -> str | None:
    raw = read_field(r, 4, what)
    return None if raw is None else raw.decode("latin-1")


def _text4_bytes(value: object, what: str) -> bytes:
    if value is None:
        return filler(4)
    raw = str(value).encode("latin-1", errors="strict") if isinstance(value, str) else b""
    if len(raw) != 4:
        raise BadField(f"{what}: expected 4 characters, got {value!r}")
    return raw


# --- ERC decoders / encoders ------------------------------------------------------------------------

ERC1_FLAGS = ("init", "version_changed")


def _d1(r: Reader) -> Fields:
    out: Fields = {"time": read_a15(r, "time")}
    _flags(r.u8("flags"), ERC1_FLAGS, out)
    out["old_version"] = _text4(r, "old_version")
    out["new_version"] = _text4(r, "new_version")
    return out


def _e1(d: Mapping[str, Any]) -> bytes:
    return (
        a15_bytes(d.get("time"))
        + bytes([_flags_byte(d, ERC1_FLAGS)])
        + _text4_bytes(d.get("old_version"), "old_version")
        + _text4_bytes(d.get("new_version"), "new_version")
    )


def _d3(r: Reader) -> Fields:
    out: Fields = {"time": read_a15(r, "time"), "master_address": r.u8("master_address")}
    changed: list[Fields] = []
    while r.remaining() >= 4:
        pos = r.pos
        da1, da2, dt1, dt2 = r.take(4, "changed DA/DT")
        try:
            pns, all_points = decode_da(da1, da2, pos)
            entry: Fields = {"pn": pns, "fn": decode_dt(dt1, dt2, pos + 2)}
            if all_points:
                entry["all_points"] = True
        except FrameError:
            entry = {"da_dt": bytes([da1, da2, dt1, dt2]).hex()}
            r.warn(f"ERC3: non-standard DA/DT {entry['da_dt']} kept raw")
        changed.append(entry)
    out["changed"] = changed
    return out


def _e3(d: Mapping[str, Any]) -> bytes:
    out = bytearray(a15_bytes(d.get("time")))
    out.append(to_int(d.get("master_address", 0), "master_address"))
    for entry in d.get("changed") or []:
        if not isinstance(entry, Mapping):
            raise BadField("changed: expected a list of objects")
        if entry.get("da_dt") is not None:
            raw = _hex(entry["da_dt"], "changed.da_dt")
            if len(raw) != 4:
                raise BadField("changed.da_dt: needs 4 bytes")
            out += raw
        else:
            out += encode_da(entry.get("pn") or [], bool(entry.get("all_points"))) + encode_dt(
                entry.get("fn") or []
            )
    return bytes(out)


VOLTAGE_KINDS = {1: "phase_break", 2: "voltage_loss"}
PHASES = "ABC"


def _d10(r: Reader) -> Fields:
    out: Fields = {"time": read_a15(r, "time")}
    _read_point(r, out)
    flags = r.u8("flags")
    out["flags"] = flags
    out["phases"] = [p for i, p in enumerate(PHASES) if flags >> i & 1]
    out["kind_code"] = flags >> 6
    out["kind"] = VOLTAGE_KINDS.get(flags >> 6)
    out["voltage_v"] = read_nums(r, A7, 3, "voltage_v")
    out["current_a"] = read_nums(r, A25, 3, "current_a")
    out["forward_active_kwh"] = read_num(r, A14, "forward_active_kwh")
    return out


def _e10(d: Mapping[str, Any]) -> bytes:
    phases = d.get("phases") or []
    if not isinstance(phases, list) or any(p not in PHASES for p in phases):
        raise BadField(f"phases: expected a list of 'A', 'B', 'C', got {phases!r}")
    flags = (
        to_int(d.get("flags", 0), "flags") & 0x38  # reserved bits D5..D3 as received
        | sum(1 << PHASES.index(p) for p in set(phases))
        | to_int(d.get("kind_code", 0), "kind_code", 0, 3) << 6
    )
    return (
        a15_bytes(d.get("time"))
        + _point(d)
        + bytes([flags])
        + nums_bytes(d.get("voltage_v"), A7, 3, "voltage_v")
        + nums_bytes(d.get("current_a"), A25, 3, "current_a")
        + num_bytes(d.get("forward_active_kwh"), A14, "forward_active_kwh")
    )


def _d12(r: Reader) -> Fields:
    out: Fields = {"time": read_a15(r, "time")}
    _read_point(r, out)
    return out


def _e12(d: Mapping[str, Any]) -> bytes:
    return a15_bytes(d.get("time")) + _point(d)


ERC13_FLAGS = (
    "programming_or_demand_reset",
    "phase_break_count_changed",
    "voltage_loss_count_changed",
    "power_off_count_changed",
    "battery_low",
)


def _d13(r: Reader) -> Fields:
    out = _d12(r)
    _flags(r.u8("flags"), ERC13_FLAGS, out)
    return out


def _e13(d: Mapping[str, Any]) -> bytes:
    return _e12(d) + bytes([_flags_byte(d, ERC13_FLAGS)])


def _d14(r: Reader) -> Fields:
    return {"power_off_time": read_a15(r, "power_off_time"), "power_on_time": read_a15(r, "power_on_time")}


def _e14(d: Mapping[str, Any]) -> bytes:
    return a15_bytes(d.get("power_off_time"), "power_off_time") + a15_bytes(
        d.get("power_on_time"), "power_on_time"
    )


TERMINAL_FAULTS = {
    1: "main board memory fault",
    2: "clock fault",
    3: "main board communication fault",
    4: "RS-485 meter reading fault",
    5: "display board fault",
    6: "carrier channel abnormal",
}


def _d21(r: Reader) -> Fields:
    out: Fields = {"time": read_a15(r, "time")}
    code = r.u8("fault_code")
    out["fault_code"] = code
    out["fault"] = TERMINAL_FAULTS.get(code)
    return out


def _e21(d: Mapping[str, Any]) -> bytes:
    return a15_bytes(d.get("time")) + bytes([to_int(d.get("fault_code", 0), "fault_code")])


COVER_ENERGY = (
    "forward_active_kwh",
    "reverse_active_kwh",
    "q1_reactive_kvarh",
    "q2_reactive_kvarh",
    "q3_reactive_kvarh",
    "q4_reactive_kvarh",
)


def _clock6(r: Reader, what: str) -> str | None:
    value = read_a1(r, what)
    return None if value is None else value[0]


def _d37(r: Reader) -> Fields:
    out: Fields = {"time": read_a15(r, "time")}
    _read_point(r, out)
    out["open_count"] = read_count(r, "open_count")
    out["open_time"] = _clock6(r, "open_time")
    out["close_time"] = _clock6(r, "close_time")
    for side in ("before", "after"):
        out[side] = {key: read_num(r, A11, f"{side}.{key}") for key in COVER_ENERGY}
    return out


def _e37(d: Mapping[str, Any]) -> bytes:
    out = bytearray(a15_bytes(d.get("time")) + _point(d) + count_bytes(d.get("open_count"), "open_count"))
    out += a1_bytes(d.get("open_time"), 0, "open_time") + a1_bytes(d.get("close_time"), 0, "close_time")
    for side in ("before", "after"):
        values = d.get(side) or {}
        if not isinstance(values, Mapping):
            raise BadField(f"{side}: expected an object")
        for key in COVER_ENERGY:
            out += num_bytes(values.get(key), A11, f"{side}.{key}")
    return bytes(out)


DEVICE_TYPES = {0: "terminal sensor", 1: "collector", 2: "meter"}
MAGNETIC_TYPES = {0: "high-frequency field", 1: "power-frequency field", 2: "strong constant field"}


def _d40(r: Reader) -> Fields:
    out: Fields = {"time": read_a15(r, "time")}
    _read_point(r, out)
    out["device_type"] = r.u8("device_type")
    out["device"] = DEVICE_TYPES.get(out["device_type"])
    out["device_address"] = read_a12(r, "device_address")
    out["anomaly_type"] = r.u8("anomaly_type")
    out["anomaly"] = MAGNETIC_TYPES.get(out["anomaly_type"])
    return out


def _e40(d: Mapping[str, Any]) -> bytes:
    return (
        a15_bytes(d.get("time"))
        + _point(d)
        + bytes([to_int(d.get("device_type", 2), "device_type")])
        + a12_bytes(d.get("device_address"), "device_address")
        + bytes([to_int(d.get("anomaly_type", 0), "anomaly_type")])
    )


ERCS: dict[int, ErcSpec] = {
    1: ErcSpec("data init / version change (数据初始化和版本变更)", _d1, _e1),
    3: ErcSpec("parameter change (参数变更)", _d3, _e3),
    10: ErcSpec("voltage loop abnormal (电压回路异常)", _d10, _e10),
    12: ErcSpec("meter time abnormal (电能表时间超差)", _d12, _e12),
    13: ErcSpec("meter fault (电表故障信息)", _d13, _e13),
    14: ErcSpec("terminal power off/on (终端停/上电)", _d14, _e14),
    21: ErcSpec("terminal fault (终端故障)", _d21, _e21),
    37: ErcSpec("meter cover opened (电能表开表盖)", _d37, _e37),
    40: ErcSpec("magnetic interference (磁场异常)", _d40, _e40),
}


def decode_record(r: Reader) -> Fields:
    """One record at the cursor. Content that does not decode is kept raw (with a warning)."""
    erc = r.u8("ERC code")
    le = r.u8("ERC length")
    start = r.pos
    content = r.take(le, f"ERC{erc} content")
    spec = ERCS.get(erc)
    if spec is None:
        r.warn(f"unknown ERC{erc} ({le} bytes) kept as raw hex")
        return {"erc": erc, "name": f"ERC{erc}", "raw": content.hex()}
    sub = Reader(r.data, start, start + le, r.warnings)
    sub.context = r.context
    try:
        fields = spec.decode(sub)
    except FrameError as exc:
        r.warn(f"ERC{erc} content does not decode, kept as raw hex ({exc.message})")
        return {"erc": erc, "name": spec.name, "raw": content.hex()}
    out: Fields = {"erc": erc, "name": spec.name, **fields}
    if sub.remaining():
        extra = sub.rest()
        out["extra_hex"] = extra.hex()
        r.warn(f"ERC{erc}: {len(extra)} bytes after the known fields kept in extra_hex")
    return out


def encode_record(record: Mapping[str, Any]) -> bytes:
    """ERC, Le, content: from ``raw`` when present, else from the fields."""
    erc = to_int(record.get("erc"), "erc")
    if record.get("raw") is not None:
        content = _hex(record["raw"], "raw")
    else:
        spec = ERCS.get(erc)
        if spec is None:
            raise BadField(f"ERC{erc}: no encoder; give the content as raw hex")
        content = spec.encode(record) + _hex(record.get("extra_hex"), "extra_hex")
    if len(content) > 255:
        raise BadField(f"ERC{erc}: content of {len(content)} bytes does not fit the 1-byte length")
    return bytes([erc, len(content)]) + content
