"""Encoders for the messages the master station and a simulated terminal exchange.

Every builder returns the frame bytes. ``seq`` is PSEQ (requests) or RSEQ (replies, = the request's
PSEQ); ``tp`` adds a time label (TpV = 1); ``pw`` (16 bytes, default zeros) is the authentication code
of downlink AFN 05H/10H; ``ec`` (EC1, EC2) on a terminal frame sets ACD = 1 and adds the counters.

Control fields used: terminal link frames C9H (DIR 1, PRM 1, link test); terminal replies 88H (DIR 1,
PRM 0, user data; A8H with ACD); terminal confirm 80H; master confirm 00H, or 0BH (link status) when it
answers a link frame; master requests 4AH (request class 1 data: AFN 05H, 0CH, 10H) and 4BH
(request class 2 data: AFN 0DH, and the class 3 events of AFN 0EH).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from gridcare.protocols.gdw1376.frame import encode_frame
from gridcare.protocols.gdw1376.model import (
    AFN_CLASS1,
    AFN_CLASS2,
    AFN_CLASS3,
    AFN_CONFIRM,
    AFN_CONTROL,
    AFN_FORWARD,
    AFN_LINK,
    DOWN,
    FUNC_CONFIRM,
    FUNC_LINK_STATUS,
    FUNC_LINK_TEST,
    FUNC_REQUEST_1,
    FUNC_REQUEST_2,
    FUNC_RESPONSE,
    UP,
    Address,
    Control,
    DataUnit,
    Gdw1376Frame,
    Seq,
    Tp,
    UnitItem,
)
from gridcare.protocols.gdw1376.units import pairs

Item = tuple[int, int, Mapping[str, Any]]  # (Pn, Fn, data)


def make_tp(pfc: int, when: datetime, delay_min: int = 0) -> Tp:
    """A time label for frame counter ``pfc`` sent at ``when`` (terminal local time = Beijing time)."""
    return Tp(pfc & 0xFF, when.day, when.hour, when.minute, when.second, delay_min)


def _unit(pns: Iterable[int], fns: Iterable[int], data: Mapping[str, Any] | None = None) -> DataUnit:
    p, f = list(pns), list(fns)
    return DataUnit(p, f, [UnitItem(pn, fn, dict(data or {})) for pn, fn in pairs(p, f)])


def _frame(
    control: Control,
    address: Address,
    afn: int,
    units: list[DataUnit],
    seq: int,
    *,
    con: int = 0,
    fir: int = 1,
    fin: int = 1,
    tp: Tp | None = None,
    pw: bytes | None = None,
    ec: tuple[int, int] | None = None,
) -> bytes:
    if ec is not None and control.direction == UP:
        control = Control(control.direction, control.prm, 1, control.fcv, control.function)
    frame = Gdw1376Frame(
        control, address, afn, Seq(1 if tp is not None else 0, fir, fin, con, seq & 0x0F), units, pw, ec, tp
    )
    return encode_frame(frame)


def _terminal_reply(acd: bool = False) -> Control:
    return Control(UP, 0, 1 if acd else 0, 0, FUNC_RESPONSE)


def _master_request(function: int) -> Control:
    return Control(DOWN, 1, 0, 0, function)


# --- AFN 02H link (terminal) and AFN 00H confirm / deny ----------------------------------------------


def build_link(
    fn: int, address: Address, seq: int = 0, *, tp: Tp | None = None, ec: tuple[int, int] | None = None
) -> bytes:
    """AFN 02H F1 login / F2 logout / F3 heartbeat from the terminal (C9H, CON = 1, p0)."""
    return _frame(
        Control(UP, 1, 0, 0, FUNC_LINK_TEST), address, AFN_LINK, [_unit([0], [fn])], seq, con=1, tp=tp, ec=ec
    )


def build_login(address: Address, seq: int = 0, *, tp: Tp | None = None) -> bytes:
    return build_link(1, address, seq, tp=tp)


def build_logout(address: Address, seq: int = 0, *, tp: Tp | None = None) -> bytes:
    return build_link(2, address, seq, tp=tp)


def build_heartbeat(address: Address, seq: int = 0, *, tp: Tp | None = None) -> bytes:
    return build_link(3, address, seq, tp=tp)


def _confirm_control(uplink: bool, link: bool, ec: tuple[int, int] | None) -> Control:
    if uplink:
        return Control(UP, 0, 1 if ec is not None else 0, 0, FUNC_CONFIRM)
    return Control(DOWN, 0, 0, 0, FUNC_LINK_STATUS if link else FUNC_CONFIRM)


def build_confirm(
    address: Address,
    seq: int = 0,
    *,
    uplink: bool = False,
    link: bool = False,
    tp: Tp | None = None,
    ec: tuple[int, int] | None = None,
) -> bytes:
    """AFN 00H F1 confirm all. Master side (default): ``link`` = answering a login/logout/heartbeat."""
    return _frame(
        _confirm_control(uplink, link, ec), address, AFN_CONFIRM, [_unit([0], [1])], seq, tp=tp, ec=ec
    )


def build_deny(
    address: Address,
    seq: int = 0,
    *,
    uplink: bool = False,
    tp: Tp | None = None,
    ec: tuple[int, int] | None = None,
) -> bytes:
    """AFN 00H F2 deny all."""
    return _frame(
        _confirm_control(uplink, False, ec), address, AFN_CONFIRM, [_unit([0], [2])], seq, tp=tp, ec=ec
    )


def build_unit_confirm(
    address: Address,
    afn: int,
    entries: Sequence[tuple[Sequence[int], Sequence[int], bool]],
    seq: int = 0,
    *,
    uplink: bool = True,
    tp: Tp | None = None,
    ec: tuple[int, int] | None = None,
) -> bytes:
    """AFN 00H F3: confirm (True) or deny (False) each (Pn list, Fn list) of the AFN being answered."""
    data = {"afn": afn, "entries": [{"pn": list(p), "fn": list(f), "ok": ok} for p, f, ok in entries]}
    return _frame(
        _confirm_control(uplink, False, ec), address, AFN_CONFIRM, [_unit([0], [3], data)], seq, tp=tp, ec=ec
    )


# --- AFN 0CH / 0DH / 0EH requests (master) and replies (terminal) ------------------------------------


def build_class1_request(
    address: Address, pns: Iterable[int], fns: Iterable[int], seq: int = 0, *, tp: Tp | None = None
) -> bytes:
    """AFN 0CH request for the points ``pns`` (one group of 8, [0] for p0) and classes ``fns``."""
    return _frame(_master_request(FUNC_REQUEST_1), address, AFN_CLASS1, [_unit(pns, fns)], seq, tp=tp)


def build_class2_request(
    address: Address,
    pns: Iterable[int],
    fns: Iterable[int],
    td: object,
    seq: int = 0,
    *,
    tp: Tp | None = None,
) -> bytes:
    """AFN 0DH request; ``td`` is the frozen day "YYYY-MM-DD" (daily Fn) or month "YYYY-MM" (monthly Fn)."""
    return _frame(
        _master_request(FUNC_REQUEST_2), address, AFN_CLASS2, [_unit(pns, fns, {"td": td})], seq, tp=tp
    )


def build_reply(
    afn: int,
    address: Address,
    items: Sequence[Item],
    seq: int = 0,
    *,
    fir: int = 1,
    fin: int = 1,
    tp: Tp | None = None,
    ec: tuple[int, int] | None = None,
) -> bytes:
    """A terminal reply (88H) with one data unit per (Pn, Fn, data) item."""
    units = [DataUnit([pn], [fn], [UnitItem(pn, fn, dict(data))]) for pn, fn, data in items]
    return _frame(_terminal_reply(), address, afn, units, seq, fir=fir, fin=fin, tp=tp, ec=ec)


def build_class1_reply(address: Address, items: Sequence[Item], seq: int = 0, **kwargs: Any) -> bytes:
    """AFN 0CH reply, e.g. [(1, 129, {"read_time": ..., "tariff_count": 4, "forward_active_kwh": [...]})]."""
    return build_reply(AFN_CLASS1, address, items, seq, **kwargs)


def build_class2_reply(address: Address, items: Sequence[Item], seq: int = 0, **kwargs: Any) -> bytes:
    """AFN 0DH reply; each item's data starts with "td"."""
    return build_reply(AFN_CLASS2, address, items, seq, **kwargs)


def build_event_request(
    address: Address, fn: int, pm: int, pn: int, seq: int = 0, *, tp: Tp | None = None
) -> bytes:
    """AFN 0EH F1 (important) / F2 (normal) events from pointer ``pm`` up to ``pn``."""
    return _frame(
        _master_request(FUNC_REQUEST_2),
        address,
        AFN_CLASS3,
        [_unit([0], [fn], {"pm": pm, "pn": pn})],
        seq,
        tp=tp,
    )


def build_event_reply(
    address: Address,
    fn: int,
    ec1: int,
    ec2: int,
    pm: int,
    events: Sequence[Mapping[str, Any]],
    seq: int = 0,
    *,
    pn: int | None = None,
    tp: Tp | None = None,
    ec: tuple[int, int] | None = None,
) -> bytes:
    """AFN 0EH reply: current counters, pointers (``pn`` default pm + len(events)) and the ERC records."""
    data = {
        "ec1": ec1,
        "ec2": ec2,
        "pm": pm,
        "pn": (pm + len(events)) % 256 if pn is None else pn,
        "events": [dict(e) for e in events],
    }
    return build_reply(AFN_CLASS3, address, [(0, fn, data)], seq, tp=tp, ec=ec)


# --- AFN 05H control (master) ------------------------------------------------------------------------


def build_control(
    address: Address,
    fn: int,
    pns: Iterable[int],
    data: Mapping[str, Any] | None = None,
    seq: int = 0,
    *,
    pw: bytes | None = None,
    tp: Tp | None = None,
) -> bytes:
    """Any AFN 05H command: ``pns`` are control rounds for F1/F2, [0] otherwise."""
    return _frame(
        _master_request(FUNC_REQUEST_1),
        address,
        AFN_CONTROL,
        [_unit(pns, [fn], data)],
        seq,
        con=1,
        tp=tp,
        pw=pw,
    )


def build_remote_trip(
    address: Address,
    rounds: Iterable[int] = (1,),
    *,
    alarm_delay_min: int = 0,
    trip_duration_half_h: int = 0,
    seq: int = 0,
    pw: bytes | None = None,
    tp: Tp | None = None,
) -> bytes:
    """F1 remote trip for control ``rounds`` (1..8): alarm for ``alarm_delay_min`` then trip; power limited
    for ``trip_duration_half_h`` half hours (0 = until allowed to close)."""
    data = {"alarm_delay_min": alarm_delay_min, "trip_duration_half_h": trip_duration_half_h}
    return build_control(address, 1, rounds, data, seq, pw=pw, tp=tp)


def build_allow_close(
    address: Address,
    rounds: Iterable[int] = (1,),
    *,
    seq: int = 0,
    pw: bytes | None = None,
    tp: Tp | None = None,
) -> bytes:
    """F2 allow close for control ``rounds``."""
    return build_control(address, 2, rounds, None, seq, pw=pw, tp=tp)


def build_clock_set(
    address: Address, clock: datetime | str, *, seq: int = 0, pw: bytes | None = None, tp: Tp | None = None
) -> bytes:
    """F31 clock set to ``clock`` (terminal local time, weekday computed)."""
    value = clock.strftime("%Y-%m-%d %H:%M:%S") if isinstance(clock, datetime) else clock
    return build_control(address, 31, [0], {"clock": value}, seq, pw=pw, tp=tp)


# --- AFN 10H forwarding ------------------------------------------------------------------------------


def build_forward_request(
    address: Address,
    content: bytes,
    *,
    port: int = 1,
    baud: int = 2400,
    parity: str = "even",
    data_bits: int = 8,
    stop_bits: int = 1,
    frame_timeout_value: int = 5,
    frame_timeout_unit: str = "s",
    byte_timeout_10ms: int = 10,
    seq: int = 0,
    pw: bytes | None = None,
    tp: Tp | None = None,
) -> bytes:
    """F1 transparent forwarding of ``content`` (e.g. a DL/T 645 frame) to the meter on ``port``."""
    data = {
        "port": port,
        "baud": baud,
        "parity": parity,
        "data_bits": data_bits,
        "stop_bits": stop_bits,
        "frame_timeout_value": frame_timeout_value,
        "frame_timeout_unit": frame_timeout_unit,
        "byte_timeout_10ms": byte_timeout_10ms,
        "content_hex": bytes(content).hex(),
    }
    return _frame(
        _master_request(FUNC_REQUEST_1), address, AFN_FORWARD, [_unit([0], [1], data)], seq, tp=tp, pw=pw
    )


def build_forward_reply(
    address: Address,
    port: int,
    content: bytes,
    seq: int = 0,
    *,
    tp: Tp | None = None,
    ec: tuple[int, int] | None = None,
) -> bytes:
    """F1 reply: what the meter on ``port`` answered (empty: no answer)."""
    return build_reply(
        AFN_FORWARD, address, [(0, 1, {"port": port, "content_hex": bytes(content).hex()})], seq, tp=tp, ec=ec
    )
