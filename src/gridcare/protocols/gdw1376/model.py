"""Typed frames of Q/GDW 1376.1-2013 (master station <-> acquisition terminal) and the protocol constants.

A decoded frame is a :class:`Gdw1376Frame`. Its data units (:class:`DataUnit`) hold one DA/DT pair, i.e.
a list of measuring points Pn and a list of information classes Fn; the data that follows repeats once
per Pn x Fn (Pn outer, Fn inner, both ascending) and is kept as one :class:`UnitItem` per pair. Item data
is a plain dict: ``Decimal`` for measured values (units in the key: ``_kwh``, ``_kw``, ``_v``, ``_a``,
``_pct``), ``int`` for counts and codes, ``str`` for times ("2018-08-28 16:18") and hex, ``None`` where the
terminal sent the "no data" filler EEH.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PROTOCOL_NAME = "gdw1376.1"
PROTOCOL_ID_2013 = 2  # L field D1..D0 for Q/GDW 1376.1-2013 (and Q/GDW 376.1-2009)
PROTOCOL_ID_2005 = 1  # Q/GDW 130-2005: accepted with a warning

START = 0x68
END = 0x16
HEADER_LEN = 6  # 68 L L 68
MIN_USER_DATA = 8  # C(1) + A(5) + AFN(1) + SEQ(1)
MAX_USER_DATA = 0x3FFF  # 14-bit length

PW_LEN = 16
EC_LEN = 2
TP_LEN = 6

# Application function codes (AFN).
AFN_CONFIRM = 0x00
AFN_RESET = 0x01
AFN_LINK = 0x02
AFN_RELAY = 0x03
AFN_SET = 0x04
AFN_CONTROL = 0x05
AFN_AUTH = 0x06
AFN_CASCADE = 0x08
AFN_CONFIG = 0x09
AFN_QUERY = 0x0A
AFN_TASK = 0x0B
AFN_CLASS1 = 0x0C
AFN_CLASS2 = 0x0D
AFN_CLASS3 = 0x0E
AFN_FILE = 0x0F
AFN_FORWARD = 0x10

AFN_NAMES: dict[int, str] = {
    AFN_CONFIRM: "confirm/deny",
    AFN_RESET: "reset",
    AFN_LINK: "link test",
    AFN_RELAY: "relay station command",
    AFN_SET: "set parameters",
    AFN_CONTROL: "control command",
    AFN_AUTH: "authentication",
    AFN_CASCADE: "request cascaded terminal report",
    AFN_CONFIG: "request terminal configuration",
    AFN_QUERY: "query parameters",
    AFN_TASK: "request task data",
    AFN_CLASS1: "request class 1 data",
    AFN_CLASS2: "request class 2 data",
    AFN_CLASS3: "request class 3 data (events)",
    AFN_FILE: "file transfer",
    AFN_FORWARD: "data forwarding",
}

# Downlink frames of these AFNs end with the 16-byte message authentication code PW.
PW_AFNS = frozenset({AFN_RESET, AFN_SET, AFN_CONTROL, AFN_AUTH, AFN_FILE, AFN_FORWARD})

# Control field function codes.
FUNC_RESET = 1  # PRM=1: reset command
FUNC_USER_DATA = 4  # PRM=1: user data (send / no reply)
FUNC_LINK_TEST = 9  # PRM=1: link test (login, logout, heartbeat)
FUNC_REQUEST_1 = 10  # PRM=1: request class 1 data
FUNC_REQUEST_2 = 11  # PRM=1: request class 2 data
FUNC_CONFIRM = 0  # PRM=0: confirm
FUNC_RESPONSE = 8  # PRM=0: user data (response)
FUNC_NO_DATA = 9  # PRM=0: deny, no data requested
FUNC_LINK_STATUS = 11  # PRM=0: link status (answer to a link test)
PRM1_FUNCTIONS = frozenset({FUNC_RESET, FUNC_USER_DATA, FUNC_LINK_TEST, FUNC_REQUEST_1, FUNC_REQUEST_2})
PRM0_FUNCTIONS = frozenset({FUNC_CONFIRM, FUNC_RESPONSE, FUNC_NO_DATA, FUNC_LINK_STATUS})

DOWN = 0  # DIR: master station -> terminal
UP = 1  # DIR: terminal -> master station


@dataclass(frozen=True)
class Control:
    """Control field C: DIR (D7), PRM (D6), FCB or ACD (D5), FCV (D4), function code (D3..D0)."""

    direction: int
    prm: int
    acd_fcb: int = 0
    fcv: int = 0
    function: int = 0

    def to_byte(self) -> int:
        return (
            (self.direction & 1) << 7
            | (self.prm & 1) << 6
            | (self.acd_fcb & 1) << 5
            | (self.fcv & 1) << 4
            | (self.function & 0x0F)
        )

    @classmethod
    def from_byte(cls, c: int) -> Control:
        return cls(c >> 7 & 1, c >> 6 & 1, c >> 5 & 1, c >> 4 & 1, c & 0x0F)

    @property
    def acd(self) -> bool:
        """Uplink only: the terminal has important events waiting (the frame then carries EC)."""
        return self.direction == UP and self.acd_fcb == 1


@dataclass(frozen=True)
class Address:
    """Address field A: area code A1 (4 BCD digits, "0171"), terminal number A2 (0..65535),
    master station address A3 D7..D1 (0..127) and group-address flag A3 D0."""

    area: str
    terminal: int
    msa: int = 0
    group: bool = False


@dataclass(frozen=True)
class Seq:
    """Sequence field SEQ: TpV (D7), FIR (D6), FIN (D5), CON (D4), PSEQ/RSEQ (D3..D0)."""

    tpv: int = 0
    fir: int = 1
    fin: int = 1
    con: int = 0
    seq: int = 0

    def to_byte(self) -> int:
        return (
            (self.tpv & 1) << 7
            | (self.fir & 1) << 6
            | (self.fin & 1) << 5
            | (self.con & 1) << 4
            | (self.seq & 0x0F)
        )

    @classmethod
    def from_byte(cls, b: int) -> Seq:
        return cls(b >> 7 & 1, b >> 6 & 1, b >> 5 & 1, b >> 4 & 1, b & 0x0F)


@dataclass(frozen=True)
class Tp:
    """Time label Tp: frame counter PFC, send time (day of month, hh:mm:ss, terminal local = Beijing time)
    and the allowed transmission delay [min] (0 = no check)."""

    pfc: int
    day: int
    hour: int
    minute: int
    second: int
    delay_min: int = 0


@dataclass
class UnitItem:
    """The data for one measuring point ``pn`` and one information class ``fn`` of a data unit."""

    pn: int
    fn: int
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class DataUnit:
    """One data unit identifier (DA, DT) and its data. ``pn`` = [0] is p0 (the terminal itself);
    ``all_points`` marks DA = FFH 00H ("all valid measuring points", then ``pn`` is empty)."""

    pn: list[int]
    fn: list[int]
    items: list[UnitItem] = field(default_factory=list)
    all_points: bool = False


@dataclass
class Gdw1376Frame:
    """A decoded (or to-be-encoded) Q/GDW 1376.1 frame.

    ``pw``: 16-byte authentication code of downlink AFN 01/04/05/06/0F/10 frames; ``ec``: event counters
    (EC1 important, EC2 normal) of uplink frames with ACD = 1; ``tp``: time label when SEQ.TpV = 1.
    ``warnings`` lists what the decoder tolerated (device quirks, unknown Fn kept as raw hex, ...).
    """

    control: Control
    address: Address
    afn: int
    seq: Seq
    units: list[DataUnit] = field(default_factory=list)
    pw: bytes | None = None
    ec: tuple[int, int] | None = None
    tp: Tp | None = None
    warnings: list[str] = field(default_factory=list)
    protocol_id: int = PROTOCOL_ID_2013

    @property
    def is_uplink(self) -> bool:
        return self.control.direction == UP


def needs_pw(direction: int, afn: int) -> bool:
    """True when a frame of this direction and AFN carries the 16-byte PW."""
    return direction == DOWN and afn in PW_AFNS
