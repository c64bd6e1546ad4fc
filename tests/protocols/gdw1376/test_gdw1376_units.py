"""DA/DT <-> Pn/Fn, and units naming several points and classes."""

from __future__ import annotations

import pytest

from gridcare.protocols import gdw1376 as g
from gridcare.protocols.errors import BadField
from gridcare.protocols.gdw1376.units import decode_da, decode_dt, encode_da, encode_dt


@pytest.mark.parametrize(
    ("da", "pns"),
    [
        ("00 00", [0]),  # p0
        ("01 01", [1]),  # bit 0 of group 1
        ("80 01", [8]),
        ("01 02", [9]),  # (2 - 1) * 8 + 0 + 1
        ("05 02", [9, 11]),
        ("80 FF", [2040]),  # (255 - 1) * 8 + 7 + 1
        ("FF 01", [1, 2, 3, 4, 5, 6, 7, 8]),
    ],
)
def test_da(da: str, pns: list[int]) -> None:
    raw = bytes.fromhex(da)
    assert decode_da(raw[0], raw[1]) == (pns, False)
    assert encode_da(pns) == raw


@pytest.mark.parametrize(
    ("dt", "fns"),
    [
        ("01 00", [1]),
        ("04 00", [3]),
        ("02 00", [2]),
        ("01 03", [25]),  # 3 * 8 + 1
        ("01 04", [33]),
        ("02 04", [34]),
        ("40 03", [31]),  # 3 * 8 + 6 + 1
        ("01 10", [129]),  # 16 * 8 + 1
        ("01 14", [161]),  # 20 * 8 + 1
        ("01 16", [177]),  # 22 * 8 + 1
        ("05 10", [129, 131]),
        ("80 1E", [248]),
    ],
)
def test_dt(dt: str, fns: list[int]) -> None:
    raw = bytes.fromhex(dt)
    assert decode_dt(raw[0], raw[1]) == fns
    assert encode_dt(fns) == raw


def test_all_points() -> None:
    assert decode_da(0xFF, 0x00) == ([], True)
    assert encode_da([], all_points=True) == b"\xff\x00"


@pytest.mark.parametrize("pns", [[1, 9], [0, 1], [2041], [], [3, 3]])
def test_encode_da_rejects(pns: list[int]) -> None:
    with pytest.raises(BadField):
        encode_da(pns)


@pytest.mark.parametrize("fns", [[8, 9], [249], [0], []])
def test_encode_dt_rejects(fns: list[int]) -> None:
    with pytest.raises(BadField):
        encode_dt(fns)


def test_decode_dt_rejects_dt2_above_30() -> None:
    with pytest.raises(BadField):
        decode_dt(0x01, 31)


def _wrap(user: bytes) -> bytes:
    l_field = (len(user) << 2 | 2).to_bytes(2, "little")
    return b"\x68" + l_field + l_field + b"\x68" + user + bytes([sum(user) & 0xFF, 0x16])


def test_several_points_and_classes_in_one_unit() -> None:
    """DA 03 01 = p1, p2; DT 05 10 = F129, F131. Data repeats p1F129, p1F131, p2F129, p2F131 (Pn outer)."""

    def block(kwh_bcd: str) -> str:  # read time 2018-08-28 16:18, M = 1, total and tariff 1 (A.14)
        return "18 16 28 08 18 01 " + kwh_bcd + " " + kwh_bcd

    body = " ".join(
        [
            block("00 00 00 01 00"),  # 100.0000
            block("00 00 00 02 00"),  # 200.0000
            block("00 00 00 03 00"),  # 300.0000
            block("00 00 00 04 00"),  # 400.0000
        ]
    )
    user = bytes.fromhex("88 71 01 22 08 00 0C 61 03 01 05 10 " + body)
    raw = _wrap(user)
    f = g.decode_frame(raw)
    assert f.warnings == []
    unit = f.units[0]
    assert (unit.pn, unit.fn) == ([1, 2], [129, 131])
    got = [
        (i.pn, i.fn, i.data.get("forward_active_kwh") or i.data.get("reverse_active_kwh")) for i in unit.items
    ]
    assert [(p, fn, [float(v) for v in vals]) for p, fn, vals in got] == [
        (1, 129, [100.0, 100.0]),
        (1, 131, [200.0, 200.0]),
        (2, 129, [300.0, 300.0]),
        (2, 131, [400.0, 400.0]),
    ]
    obj = g.frame_to_json(f)
    items = obj["units"][0]["data"]["items"]
    assert [(i["pn"], i["fn"]) for i in items] == [(1, 129), (1, 131), (2, 129), (2, 131)]
    assert items[3]["data"]["reverse_active_kwh"] == [400.0, 400.0]
    assert g.encode_from_json(obj) == raw


def test_classes_of_different_groups_need_separate_units() -> None:
    with pytest.raises(BadField, match="one group of 8"):
        g.build_class1_request(g.Address("0171", 2082), [1], [25, 33], 1)


def test_request_several_points_one_group_of_classes() -> None:
    raw = g.build_class1_request(g.Address("0171", 2082), [1, 2, 3], [33, 34], 1)
    assert raw[14:18] == bytes.fromhex("07 01 03 04")  # p1..p3; F33 | F34 in group 4
    f = g.decode_frame(raw)
    assert len(f.units[0].items) == 6
    assert g.frame_to_json(f)["units"][0]["data"] == {}


def test_class2_request_repeats_td_per_point() -> None:
    raw = g.build_class2_request(g.Address("0171", 2082), [1, 2], [161], "2018-08-27", 2)
    # DA 03 01, DT 01 14, then td_d 27 08 18 once per point
    assert raw[14:24] == bytes.fromhex("03 01 01 14 27 08 18 27 08 18")
    obj = g.frame_to_json(g.decode_frame(raw))
    assert obj["units"][0]["data"]["items"][1] == {
        "pn": 2,
        "fn": 161,
        "name": "daily frozen forward active energy (日冻结正向有功电能示值)",
        "data": {"td": "2018-08-27"},
    }
    assert g.encode_from_json(obj) == raw
