"""The frames the master station sends, built as typed Q/GDW 1376.1 frames.

Control bytes follow common practice: a link test (login, heartbeat, logout) is answered with
C = 0BH (link status) AFN 00H F1; other uplink frames asking for confirmation (CON = 1) with C = 00H;
class 1 data, control and forwarding requests use C = 4AH, class 2 and 3 data requests C = 4BH.

Daily frozen data: a terminal freezes at 00:00 and labels the freeze with the day that just ended
(Td_d = D means the registers at D+1 00:00). The lake stores the freeze instant itself.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from gridcare.protocols.gdw1376.model import (
    DOWN,
    FUNC_CONFIRM,
    FUNC_LINK_STATUS,
    FUNC_REQUEST_1,
    FUNC_REQUEST_2,
    Address,
    Control,
    DataUnit,
    Gdw1376Frame,
    Seq,
    UnitItem,
)
from gridcare.timeutil import BEIJING

PASSWORD = bytes(16)  # PW: the message authentication code; all zeros where the terminal does not check

AFN_CONFIRM, AFN_CONTROL, AFN_CLASS1, AFN_CLASS2, AFN_CLASS3, AFN_FORWARD = 0x00, 0x05, 0x0C, 0x0D, 0x0E, 0x10
F_DAILY_FORWARD_ACTIVE = 161  # AFN0D F161: daily frozen forward active energy registers
F_TERMINAL_CLOCK = 2  # AFN0C F2
F_CLOCK_SET = 31  # AFN05 F31
F_FORWARD = 1  # AFN10 F1


def _frame(
    address: Address, afn: int, function: int, prm: int, seq: int, units: list[DataUnit], pw: bool = False
) -> Gdw1376Frame:
    return Gdw1376Frame(
        control=Control(DOWN, prm, 0, 0, function),
        address=Address(address.area, address.terminal, address.msa, False),
        afn=afn,
        seq=Seq(tpv=0, fir=1, fin=1, con=0, seq=seq & 0x0F),
        units=units,
        pw=PASSWORD if pw else None,
    )


def confirm(address: Address, seq: int, link: bool) -> Gdw1376Frame:
    """AFN00 F1 "confirm all" answering an uplink frame (``link``: it was a login/heartbeat/logout)."""
    function = FUNC_LINK_STATUS if link else FUNC_CONFIRM
    return _frame(address, AFN_CONFIRM, function, 0, seq, [DataUnit([0], [1], [UnitItem(0, 1, {})])])


def daily_frozen_request(address: Address, seq: int, pns: list[int], day: date) -> Gdw1376Frame:
    """AFN0D F161 for measuring points ``pns`` (one DA group, at most 8) and frozen day ``day``."""
    items = [UnitItem(pn, F_DAILY_FORWARD_ACTIVE, {"td": day.isoformat()}) for pn in pns]
    return _frame(
        address, AFN_CLASS2, FUNC_REQUEST_2, 1, seq, [DataUnit(pns, [F_DAILY_FORWARD_ACTIVE], items)]
    )


def clock_request(address: Address, seq: int) -> Gdw1376Frame:
    """AFN0C F2: read the terminal clock."""
    unit = DataUnit([0], [F_TERMINAL_CLOCK], [UnitItem(0, F_TERMINAL_CLOCK, {})])
    return _frame(address, AFN_CLASS1, FUNC_REQUEST_1, 1, seq, [unit])


def clock_set(address: Address, seq: int, now: datetime) -> Gdw1376Frame:
    """AFN05 F31: set the terminal clock to ``now`` (Beijing time)."""
    stamp = now.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
    unit = DataUnit([0], [F_CLOCK_SET], [UnitItem(0, F_CLOCK_SET, {"clock": stamp})])
    return _frame(address, AFN_CONTROL, FUNC_REQUEST_1, 1, seq, [unit], pw=True)


def forward(
    address: Address, seq: int, dlt645_frame: bytes, timeout_s: int = 10, port: int = 2
) -> Gdw1376Frame:
    """AFN10 F1: forward a DL/T 645 frame to a meter on the terminal's port ``port`` (2 = RS-485 1)."""
    data = {
        "port": port,
        "baud": 2400,
        "parity": "even",
        "frame_timeout_unit": "s",
        "frame_timeout_value": timeout_s,
        "byte_timeout_10ms": 10,
        "content_hex": dlt645_frame.hex(),
    }
    unit = DataUnit([0], [F_FORWARD], [UnitItem(0, F_FORWARD, data)])
    return _frame(address, AFN_FORWARD, FUNC_REQUEST_1, 1, seq, [unit], pw=True)


def freeze_instant_of(td: date) -> datetime:
    """The instant a daily freeze labelled ``td`` was taken: 00:00 of the next day, Beijing time."""
    nxt = td + timedelta(days=1)
    return datetime(nxt.year, nxt.month, nxt.day, tzinfo=BEIJING)


def td_of(freeze: date) -> date:
    """The Td_d label of the freeze taken at 00:00 on ``freeze``."""
    return freeze - timedelta(days=1)
