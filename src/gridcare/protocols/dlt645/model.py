"""Typed results of the DL/T 645 codec and the constants of both editions (2007 and 1997).

A decoded frame is a :class:`Dlt645Frame`; every data item it carries is a :class:`Value` with an English
name, the value and its unit. Values are ``Decimal`` (measured quantities with implied decimals), ``int``
(counts, bit fields, codes), ``str`` (addresses, identifiers, passwords, ISO dates and times) or ``None``
(the meter sent the "no data" filler: all FFH or all EEH).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

Protocol = Literal["dlt645-2007", "dlt645-1997"]
PROTOCOL_2007: Protocol = "dlt645-2007"
PROTOCOL_1997: Protocol = "dlt645-1997"

ValueType = Decimal | int | str | None


@dataclass(frozen=True, slots=True)
class Value:
    """One data item: ``name`` in English snake case, ``value``, ``unit`` ("" for none)."""

    name: str
    value: ValueType
    unit: str = ""


@dataclass(frozen=True, slots=True)
class Dlt645Frame:
    """A decoded DL/T 645 frame.

    ``address`` is 12 characters, most significant digit first ("201000000012"); 'A' marks a wildcard
    nibble. ``di`` is the data identifier in display order ("0001FF00"; 1997: "9010") or None.
    ``payload`` is the data field after removing the 33H offset. ``warnings`` lists what the decoder
    tolerated (unknown identifier kept as raw hex, record marked bad by the meter, ...).
    """

    protocol: Protocol
    address: str
    control: int
    direction: Literal["request", "reply"]
    abnormal: bool
    follow_up: bool
    function: int
    di: str | None
    values: tuple[Value, ...]
    error_bits: int | None
    payload: bytes
    warnings: tuple[str, ...] = ()


# Control code bits (both editions).
DIR_REPLY = 0x80  # D7: 0 master -> meter, 1 meter -> master
ABNORMAL = 0x40  # D6: abnormal reply
FOLLOW_UP = 0x20  # D5: more frames follow
FUNCTION_MASK = 0x1F  # D4..D0

# DL/T 645-2007 function codes.
F_BROADCAST_TIME = 0x08
F_READ = 0x11
F_READ_FOLLOW_UP = 0x12
F_READ_ADDRESS = 0x13
F_WRITE = 0x14
F_WRITE_ADDRESS = 0x15
F_FREEZE = 0x16
F_CHANGE_BAUD = 0x17
F_CHANGE_PASSWORD = 0x18
F_DEMAND_CLEAR = 0x19
F_METER_CLEAR = 0x1A
F_EVENT_CLEAR = 0x1B
F_REMOTE_CONTROL = 0x1C

FUNCTIONS_2007: dict[int, str] = {
    F_BROADCAST_TIME: "broadcast_time",
    F_READ: "read",
    F_READ_FOLLOW_UP: "read_follow_up",
    F_READ_ADDRESS: "read_address",
    F_WRITE: "write",
    F_WRITE_ADDRESS: "write_address",
    F_FREEZE: "freeze",
    F_CHANGE_BAUD: "change_baud",
    F_CHANGE_PASSWORD: "change_password",
    F_DEMAND_CLEAR: "demand_clear",
    F_METER_CLEAR: "meter_clear",
    F_EVENT_CLEAR: "event_clear",
    F_REMOTE_CONTROL: "remote_control",
}

# DL/T 645-1997 function codes (0x08 broadcast time is identical in both editions).
F97_READ = 0x01
F97_READ_FOLLOW_UP = 0x02
F97_REREAD = 0x03
F97_WRITE = 0x04
F97_WRITE_ADDRESS = 0x0A
F97_CHANGE_BAUD = 0x0C
F97_CHANGE_PASSWORD = 0x0F
F97_DEMAND_CLEAR = 0x10

FUNCTIONS_1997: dict[int, str] = {
    F97_READ: "read",
    F97_READ_FOLLOW_UP: "read_follow_up",
    F97_REREAD: "reread",
    F97_WRITE: "write",
    F_BROADCAST_TIME: "broadcast_time",
    F97_WRITE_ADDRESS: "write_address",
    F97_CHANGE_BAUD: "change_baud",
    F97_CHANGE_PASSWORD: "change_password",
    F97_DEMAND_CLEAR: "demand_clear",
}

# Error byte (ERR) of an abnormal reply, DL/T 645-2007: bit -> name. Bit 7 is reserved.
ERROR_BITS_2007: dict[int, str] = {
    0x01: "other_error",
    0x02: "no_data_requested",
    0x04: "password_error_or_unauthorised",
    0x08: "baud_rate_cannot_change",
    0x10: "annual_time_zones_exceeded",
    0x20: "daily_periods_exceeded",
    0x40: "tariff_count_exceeded",
}

# Error byte of an abnormal reply, DL/T 645-1997. Bits 3 and 7 are reserved.
ERROR_BITS_1997: dict[int, str] = {
    0x01: "illegal_data",
    0x02: "bad_data_identifier",
    0x04: "password_error",
    0x10: "annual_time_zones_exceeded",
    0x20: "daily_periods_exceeded",
    0x40: "tariff_count_exceeded",
}

# Two-byte error word some cost-control meters return to remote control (1CH, abnormal reply DCH, L=2).
ERROR_BITS_REMOTE_CONTROL: dict[int, str] = {
    0x0001: "meter_suspended",
    0x0002: "mac_error",
    0x0004: "password_error_or_unauthorised",
    0x0008: "authentication_timeout",
    0x0010: "validity_time_expired",
    0x0020: "trip_refused_keep_power",
    0x0040: "pre_trip_refused_keep_power",
    0x0080: "pre_trip_duration_invalid",
    0x0100: "pre_trip_refused_already_tripped",
}

# Remote control (1CH) command byte N1.
REMOTE_COMMANDS: dict[int, str] = {
    0x1A: "trip",
    0x1B: "allow_close",
    0x1C: "direct_close",
    0x2A: "alarm",
    0x2B: "alarm_release",
    0x3A: "keep_power",
    0x3B: "keep_power_release",
}
REMOTE_COMMAND_CODES: dict[str, int] = {name: code for code, name in REMOTE_COMMANDS.items()}

# Baud-rate feature byte Z (2007 appendix C; same bit layout in 1997): one bit set per rate.
BAUD_FEATURES: dict[int, int] = {0x02: 600, 0x04: 1200, 0x08: 2400, 0x10: 4800, 0x20: 9600, 0x40: 19200}
BAUD_CODES: dict[int, int] = {baud: code for code, baud in BAUD_FEATURES.items()}

BROADCAST_ADDRESS = "999999999999"
WILDCARD_ADDRESS = "AAAAAAAAAAAA"


def error_names(
    error_bits: int, protocol: Protocol = PROTOCOL_2007, *, remote_control_word: bool = False
) -> tuple[str, ...]:
    """Names of the bits set in an abnormal reply's error byte (unknown bits as ``bitN``).

    ``remote_control_word``: the reply was the two-byte error word of a remote control (1CH) refusal.
    """
    if protocol == PROTOCOL_1997:
        table = ERROR_BITS_1997
    elif remote_control_word:
        table = ERROR_BITS_REMOTE_CONTROL
    else:
        table = ERROR_BITS_2007
    return tuple(table.get(1 << bit, f"bit{bit}") for bit in range(16) if error_bits & (1 << bit))
