"""`gridcare frame decode|encode`: the external contract of both codecs, golden frames with exact JSON.

All frames are hand-checked. DL/T 645: the header 68 12 00 00 00 10 20 68 of meter 201000000012 sums to
104+18+16+32+104 = 274; data bytes are sent +33H; CS = sum from the first 68H mod 256. Q/GDW 1376.1:
terminal 0171/2082 is A = 71 01 22 08 00; L = user-data length << 2 | 2; CS = sum of the user data mod 256.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gridcare.cli import app

runner = CliRunner()


def h(text: str) -> str:
    return text.replace(" ", "").upper()


# --- golden frames ---------------------------------------------------------------------------------------

# Read reply 00010000 = 1234.56 kWh: 91H, L 8, DI 33 33 34 33, value 56 34 12 00 + 33H = 89 67 45 33.
# CS = 274 + 91H (145) + 8 + 205 + 360 = 992 = 3E0H -> E0.
ENERGY_REPLY = "68 12 00 00 00 10 20 68 91 08 33 33 34 33 89 67 45 33 E0 16"
METER_JSON: dict[str, Any] = {
    "protocol": "dlt645-2007",
    "address": "201000000012",
    "control": 145,
    "direction": "reply",
    "abnormal": False,
    "follow_up": False,
    "function": 17,
    "di": "00010000",
    "values": [{"name": "forward_active_total", "value": 1234.56, "unit": "kWh"}],
    "error_bits": None,
    "warnings": [],
}
# Block 0001FF00: total 1234.56, T1 300.00, T2 missing (FF FF FF FF), T3 500.00, T4 434.56. L = 4 + 20 = 18H.
# CS = 274 + 145 + 24 + DI 33 32 34 33 (204) + 360 + 33 33 36 33 (207) + 32 x 4 (200) + 33 33 38 33 (209)
#    + 89 67 37 33 (346) = 1969 -> B1.
BLOCK_REPLY = (
    "68 12 00 00 00 10 20 68 91 18 33 32 34 33 89 67 45 33"
    " 33 33 36 33 32 32 32 32 33 33 38 33 89 67 37 33 B1 16"
)
# Abnormal reply to a read (D1H), error byte 02H (no data requested) sent as 35H.
# CS = 274 + 209 + 1 + 53 = 537 -> 19.
ABNORMAL_REPLY = "68 12 00 00 00 10 20 68 D1 01 35 19 16"
# Read address reply (93H): data = the address 12 00 00 00 10 20 + 33H. CS = 274 + 147 + 6 + 372 = 799 -> 1F.
ADDRESS_REPLY = "68 12 00 00 00 10 20 68 93 06 45 33 33 33 43 53 1F 16"
# Read requests: 00010000 (CS 274 + 17 + 4 + 205 = 500 -> F4), 1997 9010 (DI 10 90 + 33H = 43 C3; CS 274 + 1 +
# 2 + 262 = 539 -> 1B), read address to AAAAAAAAAAAA (CS 104 + 6 x 170 + 104 + 19 = 1247 -> DF).
READ_REQUEST = "68 12 00 00 00 10 20 68 11 04 33 33 34 33 F4 16"
READ_REQUEST_1997 = "68 12 00 00 00 10 20 68 01 02 43 C3 1B 16"
READ_ADDRESS_REQUEST = "68 AA AA AA AA AA AA 68 13 00 DF 16"

# Heartbeat: C9H (DIR 1, PRM 1, link test), AFN 02, SEQ 78H (FIR FIN CON, seq 8), p0 (00 00), F3 (04 00).
# 12 user bytes -> L = 12 << 2 | 2 = 32H. CS = C9+71+01+22+08+00+02+78+00+00+04+00 = 483 -> E3.
HEARTBEAT = "68 32 00 32 00 68 C9 71 01 22 08 00 02 78 00 00 04 00 E3 16"
# Login: SEQ 71H (seq 1), F1 (01 00). CS = 483 - 7 - 3 = 473 -> D9.
LOGIN = "68 32 00 32 00 68 C9 71 01 22 08 00 02 71 00 00 01 00 D9 16"
# AFN0D F161 reply for p1: C 88H, SEQ 63H, DA 01 01, DT 01 14, td 27 08 18 (2018-08-27), read time
# 05 00 28 08 18 (2018-08-28 00:05), 4 tariffs, A.14 values 1234.5600 / 300 / 400 / 500 / 34.56 kWh
# (5 bytes each, low byte first).
# 46 user bytes -> L = BAH. CS = 404 + 23 + 71 + 77 + 4 + 156 + 3 + 4 + 5 + 138 = 885 -> 75.
F161_REPLY = (
    "68 BA 00 BA 00 68 88 71 01 22 08 00 0D 63 01 01 01 14 27 08 18 05 00 28 08 18 04"
    " 00 56 34 12 00 00 00 00 03 00 00 00 00 04 00 00 00 00 05 00 00 56 34 00 00 75 16"
)
# AFN10 F1 forward reply: SEQ 65H, p0 F1, port 1, length 14 00, the 20 bytes of ENERGY_REPLY. 35 user bytes
# -> L = 8EH. CS = 409 + 1 + 21 + (992 + E0H + 16H = 1238) = 1669 -> 85.
FORWARD_REPLY = "68 8E 00 8E 00 68 88 71 01 22 08 00 10 65 00 00 01 00 01 14 00 " + ENERGY_REPLY + " 85 16"
# Requests (golden bytes shared with tests/protocols/gdw1376): F161 request p1 2018-08-27 (CS B4), clock set
# 2018-08-28 16:19:39 (CS 91), forwarding of READ_REQUEST after FE FE FE FE, 2400 bd 8E1 (CS 61).
F161_REQUEST = "68 3E 00 3E 00 68 4B 71 01 22 08 00 0D 62 01 01 01 14 27 08 18 B4 16"
PW_ZERO = " 00" * 16
CLOCK_SET = "68 8A 00 8A 00 68 4A 71 01 22 08 00 05 73 00 00 40 03 39 19 16 28 48 18" + PW_ZERO + " 91 16"
FORWARD_REQUEST = (
    "68 DA 00 DA 00 68 4A 71 01 22 08 00 10 65 00 00 01 00 01 6B 85 0A 14 00 FE FE FE FE "
    + READ_REQUEST
    + PW_ZERO
) + " 61 16"

TERMINAL = {"area": "0171", "terminal": 2082, "msa": 0, "group": False}
UP_LINK = {"dir": 1, "prm": 1, "acd_fcb": 0, "fcv": 0, "function": 9}
UP_REPLY = {"dir": 1, "prm": 0, "acd_fcb": 0, "fcv": 0, "function": 8}
DOWN_CLASS1 = {"dir": 0, "prm": 1, "acd_fcb": 0, "fcv": 0, "function": 10}
DOWN_CLASS2 = {"dir": 0, "prm": 1, "acd_fcb": 0, "fcv": 0, "function": 11}


def seq(n: int, con: int = 0) -> dict[str, int]:
    return {"tpv": 0, "fir": 1, "fin": 1, "con": con, "seq": n}


def link(fn: int, name: str, n: int) -> dict[str, Any]:
    return {
        "protocol": "gdw1376.1",
        "control": UP_LINK,
        "address": TERMINAL,
        "afn": 2,
        "seq": seq(n, con=1),
        "units": [{"pn": [0], "fn": [fn], "name": name, "data": {}}],
        "tp": None,
        "warnings": [],
    }


def meter(control: int, function: int, **changes: Any) -> dict[str, Any]:
    return {
        **METER_JSON,
        "control": control,
        "direction": "reply" if control & 0x80 else "request",
        "abnormal": bool(control & 0x40),
        "function": function,
        **changes,
    }


HEARTBEAT_JSON = link(3, "heartbeat (心跳)", 8)
LOGIN_JSON = link(1, "login (登录)", 1)
F161_NAME = "daily frozen forward active energy (日冻结正向有功电能示值)"
F161_REPLY_JSON = {
    "protocol": "gdw1376.1",
    "control": UP_REPLY,
    "address": TERMINAL,
    "afn": 13,
    "seq": seq(3),
    "units": [
        {
            "pn": [1],
            "fn": [161],
            "name": F161_NAME,
            "data": {
                "td": "2018-08-27",
                "read_time": "2018-08-28 00:05",
                "tariff_count": 4,
                "forward_active_kwh": [1234.56, 300, 400, 500, 34.56],
            },
        }
    ],
    "tp": None,
    "warnings": [],
}
FORWARD_REPLY_JSON = {
    "protocol": "gdw1376.1",
    "control": UP_REPLY,
    "address": TERMINAL,
    "afn": 16,
    "seq": seq(5),
    "units": [
        {
            "pn": [0],
            "fn": [1],
            "name": "transparent forwarding (透明转发)",
            "data": {
                "port": 1,
                "content_hex": h(ENERGY_REPLY).lower(),
                "fe_preamble": 0,
                "forwarded": METER_JSON,
            },
        }
    ],
    "tp": None,
    "warnings": [],
}
READ_REQUEST_JSON = meter(0x11, 0x11, values=[])
F161_REQUEST_JSON = {
    "protocol": "gdw1376.1",
    "control": DOWN_CLASS2,
    "address": TERMINAL,
    "afn": 13,
    "seq": seq(2),
    "units": [{"pn": [1], "fn": [161], "name": F161_NAME, "data": {"td": "2018-08-27"}}],
    "tp": None,
    "warnings": [],
}
CLOCK_SET_JSON = {
    "protocol": "gdw1376.1",
    "control": DOWN_CLASS1,
    "address": TERMINAL,
    "afn": 5,
    "seq": seq(3, con=1),
    "units": [
        {
            "pn": [0],
            "fn": [31],
            "name": "clock set (对时命令)",
            "data": {"clock": "2018-08-28 16:19:39", "weekday": 2},
        }
    ],
    "tp": None,
    "warnings": [],
    "pw": "00" * 16,
}
FORWARD_REQUEST_JSON = {
    "protocol": "gdw1376.1",
    "control": DOWN_CLASS1,
    "address": TERMINAL,
    "afn": 16,
    "seq": seq(5),
    "units": [
        {
            "pn": [0],
            "fn": [1],
            "name": "transparent forwarding (透明转发)",
            "data": {
                "port": 1,
                "baud": 2400,
                "parity": "even",
                "data_bits": 8,
                "stop_bits": 1,
                "frame_timeout_value": 5,
                "frame_timeout_unit": "s",
                "byte_timeout_10ms": 10,
                "content_hex": "fefefefe" + h(READ_REQUEST).lower(),
                "fe_preamble": 4,
                "forwarded": READ_REQUEST_JSON,
            },
        }
    ],
    "tp": None,
    "warnings": [],
    "pw": "00" * 16,
}

DECODE_GOLDEN = {
    "dlt645 read reply 1234.56 kWh": (ENERGY_REPLY, METER_JSON),
    "dlt645 FE preamble": ("FE FE FE FE " + ENERGY_REPLY, METER_JSON),
    "dlt645 block, missing tariff": (
        BLOCK_REPLY,
        meter(
            0x91,
            0x11,
            di="0001FF00",
            values=[
                {"name": "forward_active_total", "value": 1234.56, "unit": "kWh"},
                {"name": "forward_active_t1", "value": 300, "unit": "kWh"},
                {"name": "forward_active_t2", "value": None, "unit": "kWh"},
                {"name": "forward_active_t3", "value": 500, "unit": "kWh"},
                {"name": "forward_active_t4", "value": 434.56, "unit": "kWh"},
            ],
        ),
    ),
    "dlt645 abnormal reply": (ABNORMAL_REPLY, meter(0xD1, 0x11, di=None, values=[], error_bits=2)),
    "dlt645 read address reply": (
        ADDRESS_REPLY,
        meter(0x93, 0x13, di=None, values=[{"name": "address", "value": "201000000012", "unit": ""}]),
    ),
    "dlt645 read request": (READ_REQUEST, READ_REQUEST_JSON),
    "gdw1376 heartbeat": (HEARTBEAT, HEARTBEAT_JSON),
    "gdw1376 login": (LOGIN, LOGIN_JSON),
    "gdw1376 AFN0D F161 reply": (F161_REPLY, F161_REPLY_JSON),
    "gdw1376 AFN10 forward reply": (FORWARD_REPLY, FORWARD_REPLY_JSON),
}


def lines(output: str) -> list[Any]:
    return [json.loads(line) for line in output.splitlines()]


# --- decode ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(DECODE_GOLDEN))
def test_decode_golden(name: str) -> None:
    hex_text, expected = DECODE_GOLDEN[name]
    result = runner.invoke(app, ["frame", "decode", hex_text])
    assert result.exit_code == 0, result.output
    assert lines(result.stdout) == [expected]


def test_decode_prints_one_json_object_per_frame_in_order() -> None:
    result = runner.invoke(app, ["frame", "decode", h(HEARTBEAT), h(BLOCK_REPLY), h(LOGIN)])
    assert result.exit_code == 0
    objs = lines(result.stdout)
    assert [o.get("afn", o.get("di")) for o in objs] == [2, "0001FF00", 2]
    assert [o["protocol"] for o in objs] == ["gdw1376.1", "dlt645-2007", "gdw1376.1"]
    assert "心跳" in result.stdout  # UTF-8 text, not \\u escapes


@pytest.mark.parametrize(
    ("hex_text", "error"),
    [
        ("68 3Z", {"code": "bad_hex", "message": "not hexadecimal: character 'Z' at text position 4"}),
        ("683", {"code": "bad_hex", "message": "odd number of hex digits (3)"}),
        (
            HEARTBEAT[:-5] + "E4 16",
            {"code": "bad_checksum", "message": "checksum E4H, computed E3H at byte 18"},
        ),
        (
            "FE FE " + ENERGY_REPLY[:-5] + "E1 16",
            {"code": "bad_checksum", "message": "checksum E1, computed E0 at byte 20"},
        ),
        ("16 68", {"code": "bad_delimiter", "message": "expected start byte 68H, found 16H at byte 0"}),
        (
            "FE FE 00",
            {
                "code": "bad_delimiter",
                "message": "expected start byte 68H after the FEH preamble, found 00H at byte 2",
            },
        ),
        (HEARTBEAT[:29], {"code": "truncated", "message": "frame needs 20 bytes, got 10 at byte 10"}),
        (
            ENERGY_REPLY[:-3],
            {"code": "truncated", "message": "length field says 8 data bytes, buffer ends at byte 19"},
        ),
    ],
)
def test_decode_errors(hex_text: str, error: dict[str, str]) -> None:
    result = runner.invoke(app, ["frame", "decode", hex_text])
    assert result.exit_code == 2
    assert lines(result.stdout) == [{"error": error}]


def test_stdin_mixed_good_and_bad_lines_exit_2() -> None:
    text = "\n".join(
        [HEARTBEAT, "", h(ENERGY_REPLY), HEARTBEAT[:-5] + "E4 16", "not hex", "  " + F161_REPLY + "  ", ""]
    )
    result = runner.invoke(app, ["frame", "decode", "--stdin"], input=text)
    assert result.exit_code == 2
    assert lines(result.stdout) == [
        HEARTBEAT_JSON,
        METER_JSON,
        {"error": {"code": "bad_checksum", "message": "checksum E4H, computed E3H at byte 18"}},
        {"error": {"code": "bad_hex", "message": "not hexadecimal: character 'n' at text position 0"}},
        F161_REPLY_JSON,
    ]


def test_stdin_all_good_exit_0() -> None:
    result = runner.invoke(app, ["frame", "decode", "--stdin"], input=f"{LOGIN}\n{FORWARD_REPLY}\n")
    assert result.exit_code == 0
    assert lines(result.stdout) == [LOGIN_JSON, FORWARD_REPLY_JSON]


def test_decode_without_frames_is_a_usage_error() -> None:
    assert runner.invoke(app, ["frame", "decode", "--stdin"], input="\n \n").exit_code == 2
    assert runner.invoke(app, ["frame", "decode", "--stdin", LOGIN], input=LOGIN).exit_code == 2


# --- protocol detection -------------------------------------------------------------------------------------

# DL/T 645 read request to meter 206800000000 (address bytes 00 00 00 00 68 20): it also has the 1376.1 shape
# 68 L L 68 (L = 00 00 twice, 68H at offset 5). The DL/T 645 length byte accounts for all 16 bytes, the 1376.1
# one does not, so DL/T 645 wins. CS = 68+68+20+68 (344) + 11 + 04 + 205 = 570 -> 3A.
AMBIGUOUS_METER = "68 00 00 00 00 68 20 68 11 04 33 33 34 33 3A 16"


def test_detect_ambiguous_meter_address_as_dlt645() -> None:
    result = runner.invoke(app, ["frame", "decode", AMBIGUOUS_METER])
    assert result.exit_code == 0
    assert lines(result.stdout) == [{**READ_REQUEST_JSON, "address": "206800000000"}]


def test_detect_terminal_area_with_68_as_gdw1376() -> None:
    # area 0168 puts 68H at offset 7, where a DL/T 645 frame has its second start byte.
    # CS = 483 - 71H + 68H = 474 -> DA.
    heartbeat = "68 32 00 32 00 68 C9 68 01 22 08 00 02 78 00 00 04 00 DA 16"
    result = runner.invoke(app, ["frame", "decode", heartbeat])
    assert result.exit_code == 0
    assert lines(result.stdout) == [{**HEARTBEAT_JSON, "address": {**TERMINAL, "area": "0168"}}]


@pytest.mark.parametrize(
    ("hex_text", "error"),
    [
        # 1376.1 shape with the two length fields differing: blamed on 1376.1
        (
            "68 32 00 33 00 68 C9 71 01 22",
            {"code": "bad_length", "message": "length field 3300 differs from 3200 at byte 3"},
        ),
        # neither shape, 8 bytes or more: blamed on DL/T 645 (no second 68H at offset 7)
        (
            "68 12 00 00 00 10 20 69 11 00",
            {"code": "bad_delimiter", "message": "expected second start byte 68H, found 69 at byte 7"},
        ),
        # both shapes, both fail: the error of the protocol whose length fits (DL/T 645), not 1376.1's
        (
            AMBIGUOUS_METER[:-5] + "3B 16",
            {"code": "bad_checksum", "message": "checksum 3B, computed 3A at byte 14"},
        ),
        (
            "68 12 00",
            {
                "code": "truncated",
                "message": "3 bytes are too few to tell a 1376.1 from a DL/T 645 frame at byte 3",
            },
        ),
        ("FE FE", {"code": "truncated", "message": "only 2 FEH preamble byte(s), no frame at byte 2"}),
    ],
)
def test_detect_errors_name_the_likelier_protocol(hex_text: str, error: dict[str, str]) -> None:
    result = runner.invoke(app, ["frame", "decode", hex_text])
    assert result.exit_code == 2
    assert lines(result.stdout) == [{"error": error}]


# --- encode ----------------------------------------------------------------------------------------------

ENCODE_GOLDEN = {
    "login": (LOGIN_JSON, LOGIN),
    "heartbeat": (HEARTBEAT_JSON, HEARTBEAT),
    "AFN0D F161 request": (F161_REQUEST_JSON, F161_REQUEST),
    "AFN05 F31 clock set": (CLOCK_SET_JSON, CLOCK_SET),
    "AFN10 forward request": (FORWARD_REQUEST_JSON, FORWARD_REQUEST),
    "dlt645 read request": (READ_REQUEST_JSON, READ_REQUEST),
    "dlt645-1997 read request": (
        meter(0x01, 0x01, protocol="dlt645-1997", di="9010", values=[]),
        READ_REQUEST_1997,
    ),
    "dlt645 read address request": (
        meter(0x13, 0x13, address="AAAAAAAAAAAA", di=None, values=[]),
        READ_ADDRESS_REQUEST,
    ),
}


@pytest.mark.parametrize("name", list(ENCODE_GOLDEN))
def test_encode_golden_and_back(name: str) -> None:
    obj, hex_text = ENCODE_GOLDEN[name]
    result = runner.invoke(app, ["frame", "encode", "--json"], input=json.dumps(obj, ensure_ascii=False))
    assert result.exit_code == 0, result.output
    assert result.stdout == h(hex_text) + "\n"
    back = runner.invoke(app, ["frame", "decode", result.stdout.strip()])
    assert back.exit_code == 0
    assert lines(back.stdout) == [obj]


def test_encode_one_object_per_line_and_a_list() -> None:
    per_line = f"{json.dumps(LOGIN_JSON)}\n\n{json.dumps(READ_REQUEST_JSON)}\n"
    result = runner.invoke(app, ["frame", "encode", "--json"], input=per_line)
    assert (result.exit_code, result.stdout) == (0, f"{h(LOGIN)}\n{h(READ_REQUEST)}\n")
    as_list = json.dumps([HEARTBEAT_JSON, F161_REQUEST_JSON], indent=2)  # one document over many lines
    result = runner.invoke(app, ["frame", "encode", "--json"], input=as_list)
    assert (result.exit_code, result.stdout) == (0, f"{h(HEARTBEAT)}\n{h(F161_REQUEST)}\n")


def _without(obj: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k != key}


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        (_without(READ_REQUEST_JSON, "address"), "address must be 12 characters of text, got None"),
        (_without(LOGIN_JSON, "control"), "control: expected an object, got NoneType"),
        (_without(LOGIN_JSON, "protocol"), "protocol: missing (gdw1376.1, dlt645-2007 or dlt645-1997)"),
        (
            {**LOGIN_JSON, "address": {**TERMINAL, "terminal": 70000}},
            "address.terminal: 70000 is not an integer 0..65535",
        ),
        ({**F161_REQUEST_JSON, "units": [{"pn": [1], "fn": [161], "data": {"td": "2018-02-30"}}]}, "td: "),
        (
            {**READ_REQUEST_JSON, "protocol": "dlt698"},
            "protocol: expected gdw1376.1, dlt645-2007 or dlt645-1997",
        ),
        ([1, 2], "expected a JSON object, got int"),
    ],
)
def test_encode_bad_field_names_it(obj: Any, message: str) -> None:
    result = runner.invoke(app, ["frame", "encode", "--json"], input=json.dumps(obj))
    assert result.exit_code == 2
    errors = lines(result.stdout)
    assert {e["error"]["code"] for e in errors} == {"bad_field"}
    assert errors[0]["error"]["message"].startswith(message)


def test_encode_bad_json_line_and_good_line() -> None:
    result = runner.invoke(
        app, ["frame", "encode", "--json"], input='{"protocol": \n' + json.dumps(LOGIN_JSON)
    )
    assert result.exit_code == 2
    assert result.stdout.splitlines() == [
        json.dumps(
            {"error": {"code": "bad_json", "message": "line 1: not JSON: Expecting value at column 14"}}
        ),
        h(LOGIN),
    ]


def test_encode_needs_the_json_flag_and_input() -> None:
    assert runner.invoke(app, ["frame", "encode"], input=json.dumps(LOGIN_JSON)).exit_code == 2
    assert runner.invoke(app, ["frame", "encode", "--json"], input="").exit_code == 2


def test_decode_encode_roundtrip_of_raw_unit_with_several_points() -> None:
    # AFN0C reply, DA 03 01 (p1 and p2), DT 04 00 (F3, not supported: kept raw), data AB CD.
    # 14 user bytes -> L = 3AH;
    # CS = 88+71+01+22+08+00+0C+61 (401) + 03+01+04+00 (8) + AB+CD (376) = 785 -> 11.
    # Today the encoder sends AB CD twice (68 42 00 42 00 68 ... 04 00 AB CD AB CD 89 16).
    raw = "683A003A0068887101220800 0C61 0301 0400 ABCD 11 16"
    decoded = runner.invoke(app, ["frame", "decode", raw])
    assert decoded.exit_code == 0
    encoded = runner.invoke(app, ["frame", "encode", "--json"], input=decoded.stdout)
    assert encoded.stdout.strip() == h(raw)


# --- the installed console script -------------------------------------------------------------------------


def test_console_script_decodes_and_encodes() -> None:
    script = Path(sys.executable).with_name("gridcare")
    assert script.exists(), f"console script missing: {script}"
    done = subprocess.run(
        [str(script), "frame", "decode", h(HEARTBEAT), h(ENERGY_REPLY) + "00"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert lines(done.stdout) == [
        HEARTBEAT_JSON,
        {"error": {"code": "bad_length", "message": "1 byte(s) after the end byte 16H at byte 20"}},
    ]
    done = subprocess.run(
        [str(script), "frame", "encode", "--json"],
        input=json.dumps(CLOCK_SET_JSON),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )
    assert (done.returncode, done.stdout) == (0, h(CLOCK_SET) + "\n")
