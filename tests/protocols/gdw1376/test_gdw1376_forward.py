"""AFN 10H F1 transparent forwarding with a nested DL/T 645 frame."""

from __future__ import annotations

from gridcare.protocols import gdw1376 as g

ADDR = g.Address("0171", 2082)

# DL/T 645-2007 read of 00010000 (forward active total) from meter 201000000012:
# 68 | 12 00 00 00 10 20 | 68 | 11 | 04 | 33 33 34 33 (DI + 33H) | CS F4 | 16
# (CS: 68+12+10+20+68+11+04+33+33+34+33 = 500 = 1F4H)
METER_REQUEST = bytes.fromhex("68 12 00 00 00 10 20 68 11 04 33 33 34 33 F4 16")
# Its reply: 91H, L 8, DI, value 001234.56 kWh = 56 34 12 00 + 33H each = 89 67 45 33, CS E0.
METER_REPLY = bytes.fromhex("68 12 00 00 00 10 20 68 91 08 33 33 34 33 89 67 45 33 E0 16")

# Downlink: C 4AH, AFN 10, SEQ 65H, p0 F1, port 1, control word 6BH (2400 bd = code 3 << 5, 1 stop bit, parity
# on (08H), even, 8 data bits (3)), frame timeout 85H (5 s), byte timeout 0AH (100 ms), length 0014H = 20,
# FE FE FE FE + the 16-byte meter frame, PW 16 x 00. User data 54 bytes -> L = 54 << 2 | 2 = DAH.
# CS = 4A+71+01+22+08+00+10+65 (347) + 01 + (01+6B+85+0A+14+00 = 271) + 4 x FE (1016) + 500 + F4 + 16 (766)
#    = 2401 = 9 x 256 + 97 -> 61.
FORWARD_REQUEST = bytes.fromhex(
    "68 DA 00 DA 00 68 4A 71 01 22 08 00 10 65 00 00 01 00 01 6B 85 0A 14 00"
    " FE FE FE FE 68 12 00 00 00 10 20 68 11 04 33 33 34 33 F4 16" + " 00" * 16 + " 61 16"
)


def test_forward_request_golden_with_nested_frame() -> None:
    assert g.build_forward_request(ADDR, b"\xfe" * 4 + METER_REQUEST, seq=5) == FORWARD_REQUEST
    obj = g.frame_to_json(g.decode_frame(FORWARD_REQUEST))
    data = obj["units"][0]["data"]
    assert {k: v for k, v in data.items() if k != "forwarded"} == {
        "port": 1,
        "baud": 2400,
        "parity": "even",
        "data_bits": 8,
        "stop_bits": 1,
        "frame_timeout_value": 5,
        "frame_timeout_unit": "s",
        "byte_timeout_10ms": 10,
        "content_hex": "fefefefe" + METER_REQUEST.hex(),
        "fe_preamble": 4,
    }
    nested = data["forwarded"]
    assert (nested["protocol"], nested["address"], nested["di"], nested["direction"]) == (
        "dlt645-2007",
        "201000000012",
        "00010000",
        "request",
    )
    assert obj["warnings"] == []
    assert g.encode_from_json(obj) == FORWARD_REQUEST


def test_forward_request_from_nested_json_only() -> None:
    """The master station gives only the DL/T 645 JSON object: it is encoded with the DL/T 645 codec."""
    from gridcare.protocols import dlt645

    obj = g.frame_to_json(g.decode_frame(FORWARD_REQUEST))
    data = obj["units"][0]["data"]
    data.pop("content_hex")
    data["forwarded"] = dlt645.frame_to_json(dlt645.decode_frame(METER_REQUEST))
    assert g.encode_from_json(obj) == FORWARD_REQUEST


def test_forward_reply_nested_value() -> None:
    raw = g.build_forward_reply(ADDR, 1, METER_REPLY, 5)
    # port 01, length 14 00, then the 20 meter bytes
    assert raw[18:21] == bytes.fromhex("01 14 00") and raw[21:41] == METER_REPLY
    obj = g.frame_to_json(g.decode_frame(raw))
    data = obj["units"][0]["data"]
    assert (data["port"], data["content_hex"], data["fe_preamble"]) == (1, METER_REPLY.hex(), 0)
    assert data["forwarded"]["values"] == [{"name": "forward_active_total", "value": 1234.56, "unit": "kWh"}]
    assert g.encode_from_json(obj) == raw


def test_forward_reply_bad_nested_frame_kept_raw() -> None:
    broken = METER_REPLY[:-2] + b"\x00\x16"  # wrong DL/T 645 checksum
    raw = g.build_forward_reply(ADDR, 2, broken, 5)
    obj = g.frame_to_json(g.decode_frame(raw))
    data = obj["units"][0]["data"]
    assert data["forwarded"] is None
    assert data["content_hex"] == broken.hex()
    assert len(obj["warnings"]) == 1
    assert obj["warnings"][0].startswith(
        "AFN10 F1 p0: forwarded DL/T 645 frame does not decode, kept as raw hex"
    )
    assert g.encode_from_json(obj) == raw


def test_forward_reply_not_a_meter_frame() -> None:
    raw = g.build_forward_reply(ADDR, 3, b"\x01\x02\x03", 5)
    obj = g.frame_to_json(g.decode_frame(raw))
    assert obj["units"][0]["data"]["forwarded"] is None
    assert obj["warnings"] == ["AFN10 F1 p0: forwarded bytes are not a DL/T 645 frame; kept as raw hex"]


def test_forward_reply_meter_silent() -> None:
    raw = g.build_forward_reply(ADDR, 1, b"", 5)
    obj = g.frame_to_json(g.decode_frame(raw))
    assert obj["units"][0]["data"] == {"port": 1, "content_hex": "", "fe_preamble": 0, "forwarded": None}
    assert obj["warnings"] == []


def test_control_word_variants() -> None:
    raw = g.build_forward_request(
        ADDR,
        METER_REQUEST,
        baud=9600,
        parity="odd",
        data_bits=7,
        stop_bits=2,
        frame_timeout_value=50,
        frame_timeout_unit="10ms",
        byte_timeout_10ms=2,
    )
    # 9600 = code 6 -> C0H; 2 stop bits 10H; parity on 08H; odd 04H; 7 data bits 02H -> DEH.
    # Frame timeout 50 x 10 ms = 32H.
    assert raw[19:22] == bytes.fromhex("DE 32 02")
    data = g.decode_frame(raw).units[0].items[0].data
    assert (data["baud"], data["parity"], data["data_bits"], data["stop_bits"]) == (9600, "odd", 7, 2)
    assert (data["frame_timeout_value"], data["frame_timeout_unit"]) == (50, "10ms")
