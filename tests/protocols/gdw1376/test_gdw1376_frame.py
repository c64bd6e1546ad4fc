"""Frame layer of Q/GDW 1376.1: golden link frames, header fields, auxiliary fields, frame_length, errors.

Golden frames are checked by hand. Terminal address throughout: area 0171 (bytes 71 01), terminal 2082
(0822H -> bytes 22 08), master address 0 (A3 = 00).
"""

from __future__ import annotations

import pytest

from gridcare.protocols import gdw1376 as g
from gridcare.protocols.errors import (
    BadChecksum,
    BadField,
    BadLength,
    BadStartByte,
    FrameError,
    TruncatedFrame,
)

ADDR = g.Address("0171", 2082)

# Heartbeat: user data = C9 | 71 01 22 08 00 | 02 | 78 | 00 00 04 00 = 12 bytes -> L = 12 << 2 | 2 = 50 = 32H.
# CS = C9+71+01+22+08+00+02+78+00+00+04+00 = 201+113+1+34+8+2+120+4 = 483 = 1E3H -> E3.
HEARTBEAT = bytes.fromhex("68 32 00 32 00 68 C9 71 01 22 08 00 02 78 00 00 04 00 E3 16")
# Login: DT 01 00 instead of 04 00 -> CS 483 - 4 + 1 = 480 = 1E0H -> E0.
LOGIN = bytes.fromhex("68 32 00 32 00 68 C9 71 01 22 08 00 02 78 00 00 01 00 E0 16")
# Logout: DT 02 00 -> CS 481 -> E1.
LOGOUT = bytes.fromhex("68 32 00 32 00 68 C9 71 01 22 08 00 02 78 00 00 02 00 E1 16")
# Master answers the heartbeat: C = 0BH (DIR 0, PRM 0, function 11 link status), AFN 00, SEQ 68H (FIR FIN,
# RSEQ 8), p0 F1. CS = 0B+71+01+22+08+00+00+68+00+00+01+00 = 11+113+1+34+8+104+1 = 272 -> 10.
LINK_CONFIRM = bytes.fromhex("68 32 00 32 00 68 0B 71 01 22 08 00 00 68 00 00 01 00 10 16")
# Heartbeat with Tp (PFC 2, day 28 16:19:39, delay 0): SEQ F8H (TpV 1); L = 18 << 2 | 2 = 74 = 4AH;
# CS = 483 - 78H + F8H + 02+39+19+16+28+00 = 611 + 2+57+25+22+40 = 757 = 2F5H -> F5.
HEARTBEAT_TP = bytes.fromhex("68 4A 00 4A 00 68 C9 71 01 22 08 00 02 F8 00 00 04 00 02 39 19 16 28 00 F5 16")
# Terminal clock reply with ACD = 1 (C = A8H) and EC1 = 3, EC2 = 1: p0 F2, A.1 2018-08-28 16:19:39 Tuesday
# = 39 19 16 28 48 18 (month byte 2 << 5 | 08H = 48H). L = 20 << 2 | 2 = 52H.
# CS = A8+71+01+22+08+00+0C+61+00+00+02+00 + (39+19+16+28+48+18 = 240) + 03+01 = 435 + 240 + 4 = 679 -> A7.
CLOCK_REPLY_EC = bytes.fromhex(
    "68 52 00 52 00 68 A8 71 01 22 08 00 0C 61 00 00 02 00 39 19 16 28 48 18 03 01 A7 16"
)


def test_heartbeat_golden_encode_and_decode() -> None:
    assert g.build_heartbeat(ADDR, 8) == HEARTBEAT
    f = g.decode_frame(HEARTBEAT)
    assert f.control == g.Control(1, 1, 0, 0, 9)
    assert f.address == g.Address("0171", 2082, 0, False)
    assert f.afn == 2
    assert f.seq == g.Seq(0, 1, 1, 1, 8)
    assert [(u.pn, u.fn) for u in f.units] == [([0], [3])]
    assert f.pw is None and f.ec is None and f.tp is None
    assert f.warnings == []


def test_heartbeat_json_contract_exactly() -> None:
    assert g.frame_to_json(g.decode_frame(HEARTBEAT)) == {
        "protocol": "gdw1376.1",
        "control": {"dir": 1, "prm": 1, "acd_fcb": 0, "fcv": 0, "function": 9},
        "address": {"area": "0171", "terminal": 2082, "msa": 0, "group": False},
        "afn": 2,
        "seq": {"tpv": 0, "fir": 1, "fin": 1, "con": 1, "seq": 8},
        "units": [{"pn": [0], "fn": [3], "name": "heartbeat (心跳)", "data": {}}],
        "tp": None,
        "warnings": [],
    }


def test_login_logout_golden() -> None:
    assert g.build_login(ADDR, 8) == LOGIN
    assert g.build_logout(ADDR, 8) == LOGOUT
    assert g.frame_to_json(g.decode_frame(LOGIN))["units"][0]["name"] == "login (登录)"
    assert g.decode_frame(LOGOUT).units[0].fn == [2]


def test_master_link_confirm_golden() -> None:
    assert g.build_confirm(ADDR, 8, link=True) == LINK_CONFIRM
    f = g.decode_frame(LINK_CONFIRM)
    assert f.control == g.Control(0, 0, 0, 0, 11)
    assert (f.afn, f.units[0].fn, f.seq.seq) == (0, [1], 8)


def test_time_label_tp() -> None:
    tp = g.Tp(pfc=2, day=28, hour=16, minute=19, second=39, delay_min=0)
    assert g.build_heartbeat(ADDR, 8, tp=tp) == HEARTBEAT_TP
    f = g.decode_frame(HEARTBEAT_TP)
    assert f.seq.tpv == 1
    assert f.tp == tp
    assert g.frame_to_json(f)["tp"] == {"pfc": 2, "day": 28, "time": "16:19:39", "delay_min": 0}


def test_event_counters_ec_with_acd() -> None:
    built = g.build_class1_reply(ADDR, [(0, 2, {"clock": "2018-08-28 16:19:39"})], 1, ec=(3, 1))
    assert built == CLOCK_REPLY_EC
    f = g.decode_frame(CLOCK_REPLY_EC)
    assert f.control.acd_fcb == 1 and f.control.acd
    assert f.ec == (3, 1)
    obj = g.frame_to_json(f)
    assert obj["ec"] == {"ec1": 3, "ec2": 1}
    assert obj["units"][0]["data"] == {"clock": "2018-08-28 16:19:39", "weekday": 2}


def test_password_on_downlink_control() -> None:
    pw = bytes(range(16))
    raw = g.build_allow_close(ADDR, [1], seq=2, pw=pw)
    # PW sits between the data units and CS: the 16 bytes just before CS.
    assert raw[-18:-2] == pw
    f = g.decode_frame(raw)
    assert f.pw == pw
    assert g.frame_to_json(f)["pw"] == "000102030405060708090a0b0c0d0e0f"


def test_address_fields_msa_and_group() -> None:
    addr = g.Address("4403", 65535, msa=127, group=True)
    raw = g.build_class1_request(addr, [0], [2], 0)
    # A1 = 03 44 (low byte first), A2 = FF FF, A3 = 127 << 1 | 1 = FFH
    assert raw[7:12] == bytes.fromhex("03 44 FF FF FF")
    assert g.decode_frame(raw).address == addr


def test_control_field_bits_roundtrip() -> None:
    c = g.Control.from_byte(0x7B)  # 0111 1011: DIR 0, PRM 1, FCB 1, FCV 1, function 11
    assert c == g.Control(0, 1, 1, 1, 11)
    assert c.to_byte() == 0x7B
    assert g.Seq.from_byte(0xB5) == g.Seq(1, 0, 1, 1, 5)
    assert g.Seq(1, 0, 1, 1, 5).to_byte() == 0xB5


def test_checksum_helper() -> None:
    assert g.checksum(HEARTBEAT[6:-2]) == 0xE3


# --- frame_length (stream splitter contract) ---------------------------------------------------------


def test_frame_length_whole_and_partial() -> None:
    assert g.frame_length(HEARTBEAT, 0) == 20  # 6 + 12 + 2
    assert g.frame_length(b"\xaa\xaa" + HEARTBEAT, 2) == 20
    assert g.frame_length(HEARTBEAT[:5], 0) is None  # second 68H not yet there
    assert g.frame_length(HEARTBEAT[:1], 0) is None
    assert g.frame_length(b"", 0) is None
    assert g.frame_length(HEARTBEAT[:6], 0) == 20  # header is enough


@pytest.mark.parametrize(
    ("buf", "error", "position"),
    [
        (bytes.fromhex("16 32 00 32 00 68"), BadStartByte, 0),
        (bytes.fromhex("68 32 00 32 00 16"), BadStartByte, 5),
        (bytes.fromhex("68 32 00 36 00 68"), BadLength, 3),  # L copies differ
        (bytes.fromhex("68 30 00"), BadField, 1),  # protocol id 0
        (bytes.fromhex("68 33 00 33 00 68"), BadField, 1),  # protocol id 3
        (bytes.fromhex("68 1E 00 1E 00 68"), BadLength, 1),  # user data 7 bytes < 8
    ],
)
def test_frame_length_impossible_headers(buf: bytes, error: type[FrameError], position: int) -> None:
    with pytest.raises(error) as info:
        g.frame_length(buf, 0)
    assert info.value.position == position


# --- decode errors: FrameError subclasses with code and position -------------------------------------


@pytest.mark.parametrize(
    ("raw", "error", "code", "position"),
    [
        (b"", TruncatedFrame, "truncated", 0),
        (HEARTBEAT[:4], TruncatedFrame, "truncated", 4),
        (HEARTBEAT[:15], TruncatedFrame, "truncated", 15),
        (b"\x00" + HEARTBEAT[1:], BadStartByte, "bad_delimiter", 0),
        (HEARTBEAT[:-1] + b"\x17", BadStartByte, "bad_delimiter", 19),
        (HEARTBEAT[:-2] + b"\xe4\x16", BadChecksum, "bad_checksum", 18),
    ],
)
def test_decode_errors(raw: bytes, error: type[FrameError], code: str, position: int) -> None:
    with pytest.raises(error) as info:
        g.decode_frame(raw)
    assert info.value.code == code
    assert info.value.position == position


def test_aux_fields_longer_than_user_data() -> None:
    # Heartbeat with TpV set but no Tp bytes: 12 bytes of user data cannot hold AFN, SEQ, a unit and Tp.
    user = bytes.fromhex("C9 71 01 22 08 00 02 F8 00 00 04 00")
    raw = bytes.fromhex("68 32 00 32 00 68") + user + bytes([sum(user) & 0xFF, 0x16])
    with pytest.raises(BadLength) as info:
        g.decode_frame(raw)
    assert info.value.position == 14


def test_first_data_unit_identifier_invalid() -> None:
    # DT1 = 00 names no Fn.
    user = bytes.fromhex("C9 71 01 22 08 00 02 78 00 00 00 01")
    raw = bytes.fromhex("68 32 00 32 00 68") + user + bytes([sum(user) & 0xFF, 0x16])
    with pytest.raises(BadField) as info:
        g.decode_frame(raw)
    assert info.value.position == 16


def test_encode_rejects_inconsistent_aux() -> None:
    frame = g.decode_frame(HEARTBEAT)
    frame.tp = g.Tp(1, 1, 0, 0, 0)  # TpV still 0
    with pytest.raises(BadField, match="TpV"):
        g.encode_frame(frame)
    frame = g.decode_frame(HEARTBEAT)
    frame.pw = bytes(16)  # uplink AFN02 carries no PW
    with pytest.raises(BadField, match="PW"):
        g.encode_frame(frame)
