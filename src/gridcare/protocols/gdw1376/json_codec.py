"""Frame <-> contract JSON object.

``frame_to_json`` gives::

    {"protocol": "gdw1376.1",
     "control": {"dir": 1, "prm": 1, "acd_fcb": 0, "fcv": 0, "function": 9},
     "address": {"area": "0171", "terminal": 2082, "msa": 0, "group": false},
     "afn": 2, "seq": {"tpv": 0, "fir": 1, "fin": 1, "con": 1, "seq": 8},
     "units": [{"pn": [0], "fn": [3], "name": "heartbeat (心跳)", "data": {}}],
     "tp": null, "warnings": []}

plus "pw" (hex) and "ec" ({"ec1", "ec2"}) when the frame carries them. A unit's ``data`` is the data of
its single Pn x Fn; when a unit names several points or classes and carries data, ``data`` is
{"items": [{"pn", "fn", "name", "data"}, ...]} in wire order. Decimals become JSON numbers (1234.56 stays
1234.56), missing values null.

``frame_from_json`` / ``encode_from_json`` accept that object back (``name`` and ``warnings`` are
ignored; ``tp`` given implies TpV = 1; a unit's plain ``data`` is repeated for each of its Pn x Fn, so a
request for several points needs it only once).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from gridcare.protocols.errors import BadField, FrameError
from gridcare.protocols.gdw1376.frame import encode_frame
from gridcare.protocols.gdw1376.model import (
    PROTOCOL_ID_2013,
    PROTOCOL_NAME,
    Address,
    Control,
    DataUnit,
    Gdw1376Frame,
    Seq,
    Tp,
    UnitItem,
)
from gridcare.protocols.gdw1376.registry import fn_name
from gridcare.protocols.gdw1376.units import pairs


def to_jsonable(value: Any) -> Any:
    """Decimal -> float (int when it has no fraction digits), bytes -> hex, containers recursively."""
    if isinstance(value, Decimal):
        # str() is much cheaper than as_tuple(): without an exponent part, a finite Decimal's text has a
        # point exactly when its exponent is negative.
        text = str(value)
        if "E" not in text and value.is_finite():
            return float(value) if "." in text else int(value)
        exponent = value.as_tuple().exponent
        return int(value) if isinstance(exponent, int) and exponent >= 0 else float(value)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    return value


def unit_to_json(unit: DataUnit, afn: int) -> dict[str, Any]:
    name = " / ".join(fn_name(afn, f) for f in unit.fn)
    data: dict[str, Any]
    if len(unit.items) == 1 and len(unit.pn) <= 1 and len(unit.fn) == 1:
        data = to_jsonable(unit.items[0].data)
    elif all(not item.data for item in unit.items):
        data = {}
    else:
        data = {
            "items": [
                {"pn": item.pn, "fn": item.fn, "name": fn_name(afn, item.fn), "data": to_jsonable(item.data)}
                for item in unit.items
            ]
        }
    out: dict[str, Any] = {"pn": list(unit.pn), "fn": list(unit.fn), "name": name, "data": data}
    if unit.all_points:
        out["all_points"] = True
    return out


def frame_to_json(frame: Gdw1376Frame) -> dict[str, Any]:
    """The contract JSON object of ``frame`` (see the module docstring)."""
    c, a, s, tp = frame.control, frame.address, frame.seq, frame.tp
    obj: dict[str, Any] = {
        "protocol": PROTOCOL_NAME,
        "control": {
            "dir": c.direction,
            "prm": c.prm,
            "acd_fcb": c.acd_fcb,
            "fcv": c.fcv,
            "function": c.function,
        },
        "address": {"area": a.area, "terminal": a.terminal, "msa": a.msa, "group": a.group},
        "afn": frame.afn,
        "seq": {"tpv": s.tpv, "fir": s.fir, "fin": s.fin, "con": s.con, "seq": s.seq},
        "units": [unit_to_json(u, frame.afn) for u in frame.units],
        "tp": None
        if tp is None
        else {
            "pfc": tp.pfc,
            "day": tp.day,
            "time": f"{tp.hour:02d}:{tp.minute:02d}:{tp.second:02d}",
            "delay_min": tp.delay_min,
        },
        "warnings": list(frame.warnings),
    }
    if frame.pw is not None:
        obj["pw"] = frame.pw.hex()
    if frame.ec is not None:
        obj["ec"] = {"ec1": frame.ec[0], "ec2": frame.ec[1]}
    return obj


# --- JSON -> frame -------------------------------------------------------------------------------------


def _obj(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise BadField(f"{what}: expected an object, got {type(value).__name__}")
    return value


def _int(obj: Mapping[str, Any], key: str, what: str, default: int | None = None, high: int = 255) -> int:
    value = obj.get(key, default)
    if value is None:
        raise BadField(f"{what}.{key}: missing")
    if isinstance(value, bool):
        value = int(value)
    if not isinstance(value, int) or not 0 <= value <= high:
        raise BadField(f"{what}.{key}: {value!r} is not an integer 0..{high}")
    return value


def _int_list(value: Any, what: str) -> list[int]:
    if isinstance(value, int) and not isinstance(value, bool):
        return [value]
    if not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, int) for v in value):
        raise BadField(f"{what}: expected a list of integers, got {value!r}")
    return list(value)


def _unit_from_json(obj: Any, index: int) -> DataUnit:
    what = f"units[{index}]"
    u = _obj(obj, what)
    all_points = bool(u.get("all_points", False))
    pns = [] if all_points else _int_list(u.get("pn"), f"{what}.pn")
    fns = _int_list(u.get("fn"), f"{what}.fn")
    data = u.get("data")
    data = {} if data is None else _obj(data, f"{what}.data")
    if "items" in data:
        items_json = data["items"]
        if not isinstance(items_json, list):
            raise BadField(f"{what}.data.items: expected a list")
        items = []
        for j, item in enumerate(items_json):
            it = _obj(item, f"{what}.data.items[{j}]")
            item_data = it.get("data")
            items.append(
                UnitItem(
                    _int(it, "pn", f"{what}.data.items[{j}]", high=0xFFFF),
                    _int(it, "fn", f"{what}.data.items[{j}]"),
                    dict(_obj(item_data, f"{what}.data.items[{j}].data")) if item_data is not None else {},
                )
            )
    else:
        items = [UnitItem(p, f, dict(data)) for p, f in pairs(pns, fns, all_points)]
    return DataUnit(pns, fns, items, all_points)


def _tp_from_json(obj: Any) -> Tp | None:
    if obj is None:
        return None
    t = _obj(obj, "tp")
    time = t.get("time")
    if not isinstance(time, str):
        raise BadField(f'tp.time: expected "HH:MM:SS", got {time!r}')
    try:
        hour, minute, second = (int(part) for part in time.split(":"))
    except ValueError:
        raise BadField(f"tp.time: {time!r} is not HH:MM:SS") from None
    return Tp(_int(t, "pfc", "tp"), _int(t, "day", "tp"), hour, minute, second, _int(t, "delay_min", "tp", 0))


def frame_from_json(obj: Mapping[str, Any]) -> Gdw1376Frame:
    """The typed frame of a contract JSON object; BadField names the first bad field."""
    o = _obj(obj, "frame")
    protocol = o.get("protocol", PROTOCOL_NAME)
    if protocol != PROTOCOL_NAME:
        raise BadField(f"protocol: expected {PROTOCOL_NAME!r}, got {protocol!r}")
    c = _obj(o.get("control"), "control")
    control = Control(
        _int(c, "dir", "control", high=1),
        _int(c, "prm", "control", high=1),
        _int(c, "acd_fcb", "control", 0, high=1),
        _int(c, "fcv", "control", 0, high=1),
        _int(c, "function", "control", high=15),
    )
    a = _obj(o.get("address"), "address")
    area = a.get("area")
    if not isinstance(area, str):
        raise BadField(f"address.area: expected a 4-digit string, got {area!r}")
    address = Address(
        area,
        _int(a, "terminal", "address", high=0xFFFF),
        _int(a, "msa", "address", 0, 127),
        bool(a.get("group", False)),
    )
    afn = _int(o, "afn", "frame")
    tp = _tp_from_json(o.get("tp"))
    s = _obj(o.get("seq", {}), "seq")
    seq = Seq(
        _int(s, "tpv", "seq", 1 if tp is not None else 0, 1),
        _int(s, "fir", "seq", 1, 1),
        _int(s, "fin", "seq", 1, 1),
        _int(s, "con", "seq", 0, 1),
        _int(s, "seq", "seq", 0, 15),
    )
    units_json = o.get("units", [])
    if not isinstance(units_json, list):
        raise BadField("units: expected a list")
    units = [_unit_from_json(u, i) for i, u in enumerate(units_json)]
    pw_hex = o.get("pw")
    try:
        pw = None if pw_hex is None else bytes.fromhex(pw_hex)
    except (TypeError, ValueError):
        raise BadField(f"pw: {pw_hex!r} is not hex") from None
    ec_json = o.get("ec")
    ec = None
    if ec_json is not None:
        e = _obj(ec_json, "ec")
        ec = (_int(e, "ec1", "ec"), _int(e, "ec2", "ec"))
    return Gdw1376Frame(control, address, afn, seq, units, pw, ec, tp, [], PROTOCOL_ID_2013)


def encode_from_json(obj: Mapping[str, Any]) -> bytes:
    """Encode a contract JSON object. Raises only FrameError subclasses (BadField for bad input)."""
    try:
        return encode_frame(frame_from_json(obj))
    except FrameError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise BadField(f"cannot encode: {type(exc).__name__}: {exc}") from None
