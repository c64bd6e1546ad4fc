"""Real devices bend the standard: decode anyway, with a warning string, never crash."""

from __future__ import annotations

from gridcare.protocols import gdw1376 as g


def wrap(user_hex: str, protocol_id: int = 2) -> bytes:
    user = bytes.fromhex(user_hex)
    l_field = (len(user) << 2 | protocol_id).to_bytes(2, "little")
    return b"\x68" + l_field + l_field + b"\x68" + user + bytes([sum(user) & 0xFF, 0x16])


def test_confirm_with_trailing_padding() -> None:
    raw = wrap("80 71 01 22 08 00 00 61 00 00 01 00 00 00 00 00")  # terminal confirm all + 4 zero bytes
    f = g.decode_frame(raw)
    assert [(u.pn, u.fn) for u in f.units] == [([0], [1])]
    assert f.warnings == ["4 padding bytes 00000000 after the data units ignored"]


def test_heartbeat_with_extra_clock_bytes() -> None:
    raw = wrap("C9 71 01 22 08 00 02 78 00 00 04 00 39 19 16 28 48 18")
    f = g.decode_frame(raw)
    assert f.units[0].fn == [3]
    assert f.warnings == ["6 padding bytes 391916284818 after the data units ignored"]


def test_short_padding_after_reply() -> None:
    raw = wrap("88 71 01 22 08 00 0C 61 00 00 02 00 39 19 16 28 48 18 00 00")
    f = g.decode_frame(raw)
    assert f.units[0].items[0].data["clock"] == "2018-08-28 16:19:39"
    assert f.warnings == ["2 padding bytes 0000 after the data units ignored"]


def test_fir_zero_on_single_reply() -> None:
    raw = wrap("80 71 01 22 08 00 00 21 00 00 01 00")  # SEQ 21H: FIR 0, FIN 1
    f = g.decode_frame(raw)
    assert f.seq.fir == 0
    assert f.warnings == ["FIR=0 FIN=1 on a single-frame AFN00 message (device quirk)"]


def test_non_standard_dt_in_per_unit_confirm() -> None:
    # AFN04 confirm: p0 F1 ok, then an entry with DT 00 00 (no Fn), ERR 00
    raw = wrap("80 71 01 22 08 00 00 61 00 00 04 00 04 00 00 01 00 00 00 00 00 00 00")
    obj = g.frame_to_json(g.decode_frame(raw))
    assert obj["units"][0]["data"]["entries"] == [
        {"pn": [0], "fn": [1], "ok": True},
        {"da_dt": "00000000", "ok": True},
    ]
    assert obj["warnings"] == [
        "AFN00 F3 p0: non-standard DA/DT 00000000 in per-unit confirm kept raw "
        "(DT1 00H names no information class (DT2 00H) at byte 26)"
    ]
    assert g.encode_from_json(obj) == raw


def test_per_unit_confirm_without_afn_byte() -> None:
    raw = wrap("80 71 01 22 08 00 00 61 00 00 04 00 00 00 01 00 01")
    obj = g.frame_to_json(g.decode_frame(raw))
    assert obj["units"][0]["data"] == {"afn": None, "entries": [{"pn": [0], "fn": [1], "ok": False}]}
    assert obj["warnings"] == ["AFN00 F3 p0: per-unit confirm without the AFN byte (device quirk)"]
    assert g.encode_from_json(obj) == raw


def test_per_unit_confirm_unusual_err_code() -> None:
    raw = wrap("80 71 01 22 08 00 00 61 00 00 04 00 05 01 01 01 00 07")
    entry = g.frame_to_json(g.decode_frame(raw))["units"][0]["data"]["entries"][0]
    assert entry == {"pn": [1], "fn": [1], "ok": False, "err": 7}


def test_protocol_id_1_accepted_with_warning() -> None:
    raw = wrap("C9 71 01 22 08 00 02 78 00 00 04 00", protocol_id=1)
    assert raw[1] == 0x31  # 12 << 2 | 1
    f = g.decode_frame(raw)
    assert f.units[0].fn == [3]
    assert f.warnings == ["protocol id 1 (Q/GDW 130-2005) in the length field, decoded as 1376.1-2013"]


def test_bytes_after_end_byte() -> None:
    raw = wrap("C9 71 01 22 08 00 02 78 00 00 04 00") + b"\x00\x00"
    assert g.decode_frame(raw).warnings == ["2 bytes after the end byte ignored"]


def test_area_code_not_bcd() -> None:
    raw = wrap("C9 3A 01 22 08 00 02 78 00 00 04 00")
    f = g.decode_frame(raw)
    assert f.address.area == "013A"
    assert f.warnings == ["area code 013A is not BCD (kept as hex digits)"]
    assert g.encode_from_json(g.frame_to_json(f)) == raw


def test_ff_as_missing_data() -> None:
    raw = wrap("88 71 01 22 08 00 0C 61 01 01 01 10 18 16 28 08 18 01 FF FF FF FF FF 00 00 00 01 00")
    obj = g.frame_to_json(g.decode_frame(raw))
    assert obj["units"][0]["data"]["forward_active_kwh"] == [None, 100.0]
    assert obj["warnings"] == [
        "AFN0C F129 p1: forward_active_kwh[0]: all FFH used as no-data filler (the standard says EEH)"
    ]


def test_unsupported_fn_kept_raw() -> None:
    raw = wrap("88 71 01 22 08 00 0C 61 01 01 04 05 AA BB CC")  # F43
    obj = g.frame_to_json(g.decode_frame(raw))
    assert obj["units"][0]["data"] == {"raw": "aabbcc"}
    assert obj["units"][0]["name"] == "AFN0C F43"
    assert obj["warnings"] == ["AFN0C F43 p1: unsupported Fn, 3 bytes kept as raw hex"]
    assert g.encode_from_json(obj) == raw


def test_truncated_data_kept_raw_with_warning() -> None:
    raw = wrap(
        "88 71 01 22 08 00 0C 61 01 01 01 10 18 16 28 08 18 04 78 56 34"
    )  # 4 tariffs announced, 3 bytes
    obj = g.frame_to_json(g.decode_frame(raw))
    assert obj["units"][0]["data"] == {"raw": "18162808180478" + "5634"}
    assert obj["warnings"] == [
        "AFN0C F129 p1: data does not decode (forward_active_kwh[0]: needs 5 bytes, only 3 left at byte 24), "
        "9 bytes kept as raw hex"
    ]


def test_tariff_count_outside_standard_range() -> None:
    raw = wrap("88 71 01 22 08 00 0C 61 01 01 01 10 18 16 28 08 18 00 00 00 00 01 00")
    obj = g.frame_to_json(g.decode_frame(raw))
    assert obj["units"][0]["data"]["forward_active_kwh"] == [100.0]
    assert obj["warnings"] == ["AFN0C F129 p1: tariff count 0 outside 1..12"]


def test_unknown_function_code_warns() -> None:
    raw = wrap("C5 71 01 22 08 00 02 78 00 00 04 00")  # PRM 1, function 5 (undefined)
    assert g.decode_frame(raw).warnings == ["function code 5 is not defined for PRM=1"]


def test_class1_request_for_unsupported_fn_is_plain() -> None:
    raw = wrap("4A 71 01 22 08 00 0C 61 01 01 01 0F")  # F121 request: no data in a class 1 request
    f = g.decode_frame(raw)
    assert f.warnings == []
    assert g.frame_to_json(f)["units"][0]["data"] == {}
    assert g.encode_from_json(g.frame_to_json(f)) == raw
