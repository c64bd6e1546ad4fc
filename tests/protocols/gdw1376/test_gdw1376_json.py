"""encode_from_json for the request types the master station and the CLI build by hand."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gridcare.protocols import gdw1376 as g
from gridcare.protocols.errors import BadField, FrameError

ADDRESS = {"area": "0171", "terminal": 2082, "msa": 0, "group": False}


def request(afn: int, units: list[dict[str, Any]], function: int = 10, **extra: Any) -> dict[str, Any]:
    return {
        "protocol": "gdw1376.1",
        "control": {"dir": 0, "prm": 1, "acd_fcb": 0, "fcv": 0, "function": function},
        "address": dict(ADDRESS),
        "afn": afn,
        "seq": {"tpv": 0, "fir": 1, "fin": 1, "con": 0, "seq": 1},
        "units": units,
        "tp": None,
        "warnings": [],
        **extra,
    }


def test_heartbeat_from_json() -> None:
    obj = {
        "protocol": "gdw1376.1",
        "control": {"dir": 1, "prm": 1, "acd_fcb": 0, "fcv": 0, "function": 9},
        "address": ADDRESS,
        "afn": 2,
        "seq": {"tpv": 0, "fir": 1, "fin": 1, "con": 1, "seq": 8},
        "units": [{"pn": [0], "fn": [3], "name": "ignored", "data": {}}],
        "tp": None,
        "warnings": ["ignored"],
    }
    assert g.encode_from_json(obj) == bytes.fromhex(
        "68 32 00 32 00 68 C9 71 01 22 08 00 02 78 00 00 04 00 E3 16"
    )


def test_class1_request_from_json() -> None:
    obj = request(0x0C, [{"pn": [1], "fn": [129]}])
    assert g.encode_from_json(obj) == bytes.fromhex(
        "68 32 00 32 00 68 4A 71 01 22 08 00 0C 61 01 01 01 10 66 16"
    )


def test_class2_request_from_json_with_td() -> None:
    obj = request(0x0D, [{"pn": [1], "fn": [161], "data": {"td": "2018-08-27"}}], function=11)
    obj["seq"]["seq"] = 2
    assert g.encode_from_json(obj) == bytes.fromhex(
        "68 3E 00 3E 00 68 4B 71 01 22 08 00 0D 62 01 01 01 14 27 08 18 B4 16"
    )


def test_event_request_from_json() -> None:
    obj = request(0x0E, [{"pn": [0], "fn": [1], "data": {"pm": 0, "pn": 5}}], function=11)
    obj["seq"]["seq"] = 5
    assert g.encode_from_json(obj) == bytes.fromhex(
        "68 3A 00 3A 00 68 4B 71 01 22 08 00 0E 65 00 00 01 00 00 05 60 16"
    )


def test_remote_trip_from_json_default_pw() -> None:
    obj = request(5, [{"pn": [1], "fn": [1], "data": {"alarm_delay_min": 5, "trip_duration_half_h": 2}}])
    obj["seq"].update(con=1, seq=2)
    expected = bytes.fromhex(
        "68 76 00 76 00 68 4A 71 01 22 08 00 05 72 01 01 01 00 25" + " 00" * 16 + " 85 16"
    )
    assert g.encode_from_json(obj) == expected


def test_confirm_from_json_with_tp() -> None:
    obj = request(0, [{"pn": [0], "fn": [1]}], function=11)
    obj["control"]["prm"] = 0
    obj["seq"] = {"fir": 1, "fin": 1, "con": 0, "seq": 8}  # tpv implied by tp
    obj["tp"] = {"pfc": 2, "day": 28, "time": "16:19:39", "delay_min": 0}
    raw = g.encode_from_json(obj)
    assert raw[13] == 0xE8  # TpV 1, FIR 1, FIN 1, seq 8
    assert raw[-8:-2] == bytes.fromhex("02 39 19 16 28 00")
    assert g.frame_to_json(g.decode_frame(raw))["tp"] == obj["tp"]


def test_json_round_trip_is_serialisable() -> None:
    raw = g.build_class1_reply(g.Address("0171", 2082), [(1, 25, {"voltage_v": [220.1, 219.9, 221.0]})], 1)
    text = json.dumps(g.frame_to_json(g.decode_frame(raw)), ensure_ascii=False)
    assert '"voltage_v": [220.1, 219.9, 221.0]' in text
    assert g.encode_from_json(json.loads(text)) == raw


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda o: o.update(protocol="dlt645-2007"), "protocol"),
        (lambda o: o.pop("control"), "control"),
        (lambda o: o["control"].update(function=16), "control.function"),
        (lambda o: o["address"].update(area="171"), "address.area"),
        (lambda o: o["address"].update(terminal=70000), "address.terminal"),
        (lambda o: o.update(afn="0C"), "afn"),
        (lambda o: o["units"][0].update(fn=["x"]), "units[0].fn"),
        (lambda o: o["units"][0].update(pn=[1, 9]), "pn"),
        (lambda o: o.update(afn=0x0D, units=[{"pn": [1], "fn": [161], "data": {"td": "27/08/2018"}}]), "td"),
        (lambda o: o.update(afn=0x0D), "AFN0D F129: no encoder"),
        (lambda o: o.update(tp={"pfc": 1, "day": 40, "time": "00:00:00"}), "TpV"),
        (lambda o: o.update(seq={"tpv": 1}, tp={"pfc": 1, "day": 40, "time": "00:00:00"}), "tp.day"),
        (lambda o: o.update(ec={"ec1": 1, "ec2": 2}), "ec"),
        (lambda o: o.update(pw="zz"), "pw"),
        (lambda o: o.update(units="nope"), "units"),
    ],
)
def test_bad_json_raises_bad_field_naming_the_field(mutate: Any, message: str) -> None:
    obj = request(0x0C, [{"pn": [1], "fn": [129]}])
    mutate(obj)
    with pytest.raises(FrameError) as info:
        g.encode_from_json(obj)
    assert isinstance(info.value, BadField)
    assert message in str(info.value)


def test_unknown_fn_without_raw_cannot_be_encoded() -> None:
    obj = request(0x0D, [{"pn": [1], "fn": [100], "data": {}}], function=11)
    with pytest.raises(BadField, match="no encoder"):
        g.encode_from_json(obj)
