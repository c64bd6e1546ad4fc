"""AFN 0CH class 1 (current) data. The request carries DA/DT only; the reply carries the data per Pn x Fn.

* F2 terminal clock (A.1).
* F25 current power, power factor, voltage, current: read time A.15; active power total/A/B/C [kW] A.9;
  reactive power total/A/B/C [kvar] A.9; power factor total/A/B/C [%] A.5; voltage A/B/C [V] A.7;
  current A/B/C [A] A.25; zero-sequence current [A] A.25; apparent power total/A/B/C [kVA] A.9 (67 bytes).
* F33 current forward energy: read time A.15, tariff count M, forward active total + M tariffs [kWh] A.14,
  forward reactive [kvarh] A.11, quadrant I and IV reactive [kvarh] A.11 (each M + 1 values).
* F34 current reverse energy: as F33 with reverse active, reverse reactive, quadrant II and III reactive.
* F129 / F131 current forward / reverse active energy: read time A.15, M, M + 1 values A.14.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gridcare.protocols.errors import BadField
from gridcare.protocols.gdw1376.afn05 import CLOCK
from gridcare.protocols.gdw1376.formats import (
    A5,
    A7,
    A9,
    A11,
    A14,
    A25,
    Num,
    a15_bytes,
    num_bytes,
    nums_bytes,
    read_a15,
    read_num,
    read_nums,
    to_int,
)
from gridcare.protocols.gdw1376.reader import Reader
from gridcare.protocols.gdw1376.spec import Body, FnSpec

MAX_TARIFFS = 12

# (key, format, count) of F25 after the read time.
F25_FIELDS: tuple[tuple[str, Num, int], ...] = (
    ("active_power_kw", A9, 4),
    ("reactive_power_kvar", A9, 4),
    ("power_factor_pct", A5, 4),
    ("voltage_v", A7, 3),
    ("current_a", A25, 3),
    ("zero_sequence_current_a", A25, 1),
    ("apparent_power_kva", A9, 4),
)

FORWARD_ENERGY: tuple[tuple[str, Num], ...] = (
    ("forward_active_kwh", A14),
    ("forward_reactive_kvarh", A11),
    ("q1_reactive_kvarh", A11),
    ("q4_reactive_kvarh", A11),
)
REVERSE_ENERGY: tuple[tuple[str, Num], ...] = (
    ("reverse_active_kwh", A14),
    ("reverse_reactive_kvarh", A11),
    ("q2_reactive_kvarh", A11),
    ("q3_reactive_kvarh", A11),
)
FORWARD_ACTIVE: tuple[tuple[str, Num], ...] = (("forward_active_kwh", A14),)
REVERSE_ACTIVE: tuple[tuple[str, Num], ...] = (("reverse_active_kwh", A14),)


def _decode_f25(r: Reader) -> dict[str, Any]:
    out: dict[str, Any] = {"read_time": read_a15(r, "read_time")}
    for key, fmt, count in F25_FIELDS:
        out[key] = read_num(r, fmt, key) if count == 1 else read_nums(r, fmt, count, key)
    return out


def _encode_f25(data: Mapping[str, Any]) -> bytes:
    out = bytearray(a15_bytes(data.get("read_time"), "read_time"))
    for key, fmt, count in F25_FIELDS:
        value = data.get(key)
        out += num_bytes(value, fmt, key) if count == 1 else nums_bytes(value, fmt, count, key)
    return bytes(out)


def decode_energy(r: Reader, fields: tuple[tuple[str, Num], ...]) -> dict[str, Any]:
    """Read time A.15, tariff count M, then for each field M + 1 values (total first)."""
    out: dict[str, Any] = {"read_time": read_a15(r, "read_time")}
    pos = r.pos
    m = r.u8("tariff_count")
    if m == 0xEE:
        raise BadField("tariff_count: EEH (no data) leaves the value count unknown", pos)
    if not 1 <= m <= MAX_TARIFFS:
        r.warn(f"tariff count {m} outside 1..{MAX_TARIFFS}")
    out["tariff_count"] = m
    for key, fmt in fields:
        out[key] = read_nums(r, fmt, m + 1, key)
    return out


def encode_energy(data: Mapping[str, Any], fields: tuple[tuple[str, Num], ...]) -> bytes:
    """Inverse of :func:`decode_energy`; a missing ``tariff_count`` is taken from the longest list."""
    m_value = data.get("tariff_count")
    if m_value is None:
        longest = max((len(v) for k, _ in fields if isinstance(v := data.get(k), list | tuple)), default=1)
        m = max(longest - 1, 0)
    else:
        m = to_int(m_value, "tariff_count", 0, 0xED)
    out = bytearray(a15_bytes(data.get("read_time"), "read_time"))
    out.append(m)
    for key, fmt in fields:
        out += nums_bytes(data.get(key), fmt, m + 1, key)
    return bytes(out)


def energy_body(fields: tuple[tuple[str, Num], ...]) -> Body:
    return Body(lambda r: decode_energy(r, fields), lambda d: encode_energy(d, fields))


def reply(name: str, body: Body) -> FnSpec:
    """A class 1 Fn: the request has no data, the reply has ``body``."""
    return FnSpec(name, None, body)


SPECS: dict[tuple[int, int], FnSpec] = {
    (0x0C, 2): reply("terminal clock (终端日历时钟)", CLOCK),
    (0x0C, 25): reply(
        "current power, power factor, voltage, current (当前三相及总有/无功功率、功率因数、电压、电流)",
        Body(_decode_f25, _encode_f25),
    ),
    (0x0C, 33): reply(
        "current forward active/reactive energy (当前正向有/无功电能示值)", energy_body(FORWARD_ENERGY)
    ),
    (0x0C, 34): reply(
        "current reverse active/reactive energy (当前反向有/无功电能示值)", energy_body(REVERSE_ENERGY)
    ),
    (0x0C, 129): reply("current forward active energy (当前正向有功电能示值)", energy_body(FORWARD_ACTIVE)),
    (0x0C, 131): reply("current reverse active energy (当前反向有功电能示值)", energy_body(REVERSE_ACTIVE)),
}
