"""AFN 05H control commands (downlink, with PW; the terminal answers with AFN 00H).

For the remote-control Fn (F1, F2) the Pn of the data unit is the control round (轮次 1..8), not a
measuring point; the others use p0.

* F1 remote trip (遥控跳闸): 1 byte, D7..D4 power-limit duration [0.5 h] (0 = until allowed to close),
  D3..D0 alarm delay before tripping [min] (0 = trip at once).
* F2 allow close (允许合闸): no data.
* F25 keep power on (终端保电投入): 1 byte duration [0.5 h] (0 = until released).
* F26 fee reminder alarm on (催费告警投入): 3 bytes, bit i = alarm allowed in hour i (0..23).
* F29 / F37 allow / forbid active reporting, F33 keep power release, F34 fee alarm release,
  F38 / F39 activate / drop the connection to the master station: no data.
* F31 clock set (对时命令): the new terminal clock, format A.1.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gridcare.protocols.errors import BadField
from gridcare.protocols.gdw1376.formats import a1_bytes, read_a1, to_int
from gridcare.protocols.gdw1376.reader import Reader
from gridcare.protocols.gdw1376.spec import Body, FnSpec, both, empty

F_REMOTE_TRIP = 1
F_ALLOW_CLOSE = 2
F_KEEP_POWER = 25
F_FEE_ALARM = 26
F_CLOCK_SET = 31
F_KEEP_POWER_RELEASE = 33
F_FEE_ALARM_RELEASE = 34


def _decode_trip(r: Reader) -> dict[str, Any]:
    b = r.u8("remote trip times")
    return {"trip_duration_half_h": b >> 4, "alarm_delay_min": b & 0x0F}


def _encode_trip(data: Mapping[str, Any]) -> bytes:
    duration = to_int(data.get("trip_duration_half_h", 0), "trip_duration_half_h", 0, 15)
    delay = to_int(data.get("alarm_delay_min", 0), "alarm_delay_min", 0, 15)
    return bytes([duration << 4 | delay])


def _decode_keep_power(r: Reader) -> dict[str, Any]:
    return {"duration_half_h": r.u8("keep-power duration")}


def _encode_keep_power(data: Mapping[str, Any]) -> bytes:
    return bytes([to_int(data.get("duration_half_h", 0), "duration_half_h", 0, 255)])


def _decode_fee_alarm(r: Reader) -> dict[str, Any]:
    bits = int.from_bytes(r.take(3, "fee alarm hours"), "little")
    return {"alarm_hours": [h for h in range(24) if bits >> h & 1]}


def _encode_fee_alarm(data: Mapping[str, Any]) -> bytes:
    hours = data.get("alarm_hours") or []
    if not isinstance(hours, list):
        raise BadField("alarm_hours: expected a list of hours 0..23")
    bits = 0
    for h in hours:
        bits |= 1 << to_int(h, "alarm_hours[]", 0, 23)
    return bits.to_bytes(3, "little")


def decode_clock(r: Reader) -> dict[str, Any]:
    """A.1 clock as {"clock": "YYYY-MM-DD HH:MM:SS", "weekday": 1..7 (0 = not given)}."""
    value = read_a1(r, "clock")
    if value is None:
        return {"clock": None, "weekday": None}
    return {"clock": value[0], "weekday": value[1]}


def encode_clock(data: Mapping[str, Any]) -> bytes:
    return a1_bytes(data.get("clock"), data.get("weekday"), "clock")


CLOCK = Body(decode_clock, encode_clock)

SPECS: dict[tuple[int, int], FnSpec] = {
    (0x05, F_REMOTE_TRIP): both("remote trip (遥控跳闸)", Body(_decode_trip, _encode_trip)),
    (0x05, F_ALLOW_CLOSE): empty("allow close (允许合闸)"),
    (0x05, F_KEEP_POWER): both("keep power on (终端保电投入)", Body(_decode_keep_power, _encode_keep_power)),
    (0x05, F_FEE_ALARM): both(
        "fee reminder alarm on (催费告警投入)", Body(_decode_fee_alarm, _encode_fee_alarm)
    ),
    (0x05, 29): empty("allow active reporting (允许终端主动上报)"),
    (0x05, F_CLOCK_SET): both("clock set (对时命令)", CLOCK),
    (0x05, F_KEEP_POWER_RELEASE): empty("keep power release (终端保电解除)"),
    (0x05, F_FEE_ALARM_RELEASE): empty("fee reminder alarm release (催费告警解除)"),
    (0x05, 37): empty("forbid active reporting (禁止终端主动上报)"),
    (0x05, 38): empty("activate connection to master (激活终端连接主站)"),
    (0x05, 39): empty("drop connection to master (命令终端断开连接)"),
}
