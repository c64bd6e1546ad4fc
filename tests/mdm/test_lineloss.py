import math

import pytest

from gridcare.mdm import (
    LineLossConfig,
    MdmInputError,
    abnormal_tgs,
    build_grid,
    daily_energy,
    daily_line_loss,
    monthly_line_loss,
    sold_vs_purchased,
)

from .builders import cumulative, day, meter_id, meters, readings, rows


def _m(n, tg, role="customer", multiplier=1.0, **kw):
    return {"meter": meter_id(n), "tg": tg, "role": role, "multiplier": multiplier, **kw}


def _two(n, start, end):
    return rows(meter_id(n), [start, end], skip=[i for i, v in enumerate([start, end]) if v is None])


DAILY_FLEET = meters(
    [
        _m(1, "TG-H", "supply", 80.0), _m(2, "TG-H"), _m(3, "TG-H"), _m(4, "TG-H", multiplier=20.0),
        _m(10, "TG-Q", "supply"), _m(11, "TG-Q"),
        _m(20, "TG-N", "supply"), _m(21, "TG-N"), _m(22, "TG-N"),
        _m(30, "TG-M", "supply"), _m(31, "TG-M"), _m(32, "TG-M"), _m(33, "TG-M"),
        _m(40, "TG-S", "supply"), _m(41, "TG-S"),
        _m(50, "TG-X"),
        _m(60, "TG-Z", "supply"), _m(61, "TG-Z"),
    ]
)  # fmt: skip

DAILY_READINGS = readings(
    _two(1, 1000.00, 1001.50),  # 1.50 x 80 = 120 kWh supplied
    _two(2, 500.00, 550.00),  # 50
    _two(3, 200.00, 240.00),  # 40
    _two(4, 10.00, 10.25),  # 0.25 x 20 = 5
    _two(10, 0.00, 100.00),
    _two(11, 0.00, 93.00),
    _two(20, 0.00, 100.00),
    _two(21, 0.00, 60.00),
    _two(22, 0.00, 44.00),
    _two(30, 0.00, 100.00),
    _two(31, 0.00, 50.00),
    _two(32, 0.00, None),  # end reading missing
    _two(33, None, None),  # nothing collected
    _two(40, 0.00, None),  # supply end reading missing
    _two(41, 0.00, 10.00),
    _two(50, 0.00, 10.00),
    _two(60, 5.00, 5.00),
    _two(61, 0.00, 0.00),
)


def _daily(config=LineLossConfig()):
    grid = build_grid(DAILY_READINGS, DAILY_FLEET, day(0), day(1))
    return {r["tg"]: r for r in daily_line_loss(daily_energy(grid), config).to_pylist()}


def test_daily_line_loss_against_hand_computed_tg():
    got = _daily()
    h = got["TG-H"]
    # supply 1.50 x 80 = 120; sold 50 + 40 + 0.25 x 20 = 95; loss 25; rate 25 / 120
    assert (h["supply_kwh"], h["sold_kwh"], h["loss_kwh"]) == (120.0, 95.0, 25.0)
    assert h["loss_rate"] == pytest.approx(25 / 120)
    assert (h["status"], h["reason"], h["customers"], h["missing_points"]) == ("high", None, 3, 0)
    assert h["day"] == day(0)
    q = got["TG-Q"]  # (100 - 93) / 100 = 7 %
    assert (q["loss_kwh"], q["loss_rate"], q["status"]) == (7.0, pytest.approx(0.07), "qualified")
    n = got["TG-N"]  # (100 - 104) / 100 = -4 %
    assert (n["loss_kwh"], n["loss_rate"], n["status"]) == (-4.0, pytest.approx(-0.04), "negative")


@pytest.mark.parametrize(
    ("tg", "reason", "missing_points", "supply_kwh", "sold_kwh"),
    [
        ("TG-M", "customers_missing", 2, 100.0, None),
        ("TG-S", "supply_missing", 1, None, 10.0),
        ("TG-X", "no_supply_meter", 0, 0.0, 10.0),
        ("TG-Z", "supply_zero", 0, 0.0, 0.0),
    ],
)
def test_not_computable_reasons(tg, reason, missing_points, supply_kwh, sold_kwh):
    r = _daily()[tg]
    assert (r["status"], r["reason"], r["missing_points"]) == ("not_computable", reason, missing_points)
    assert r["loss_rate"] is None or math.isnan(r["loss_rate"])
    assert (r["supply_kwh"], r["sold_kwh"]) == (supply_kwh, sold_kwh)


def test_qualified_band_is_configurable():
    got = _daily(LineLossConfig(qualified_min=0.08, qualified_max=0.25))
    assert (got["TG-Q"]["status"], got["TG-H"]["status"]) == ("low", "qualified")
    with pytest.raises(MdmInputError, match="qualified_min"):
        LineLossConfig(qualified_min=0.2, qualified_max=0.1)


def test_abnormal_tgs_lists_every_tg_with_a_bad_day():
    grid = build_grid(DAILY_READINGS, DAILY_FLEET, day(0), day(1))
    assert abnormal_tgs(daily_line_loss(daily_energy(grid))) == [
        "TG-H",
        "TG-M",
        "TG-N",
        "TG-S",
        "TG-X",
        "TG-Z",
    ]


# --- a month: June 2024 = freezes of June 1 .. July 1 ------------------------------------------------
MONTH_FLEET = meters(
    [
        _m(1, "TG1", "supply", feeder="F1", org="O1"), _m(2, "TG1"), _m(3, "TG1"),
        _m(4, "TG2", "supply", feeder="F1", org="O1"), _m(5, "TG2"),
        _m(6, "TG3", "supply", feeder="F2", org="O1"), _m(7, "TG3"),
    ]
)  # fmt: skip


def _month_readings():
    return readings(
        rows(meter_id(1), cumulative(0.0, [100.0] * 30)),  # 3000
        rows(meter_id(2), cumulative(0.0, [50.0] * 30)),  # 1500
        rows(meter_id(3), cumulative(0.0, [40.0] * 30), skip=[9]),  # 1200, a gap inside the month is fine
        rows(meter_id(4), cumulative(0.0, [40.0] * 25 + [0.0] * 5)),  # 1000
        rows(meter_id(5), cumulative(0.0, [39.2] * 25 + [0.0] * 5)),  # 980
        rows(meter_id(6), cumulative(0.0, [10.0] * 30)),  # 300
        rows(meter_id(7), cumulative(0.0, [9.0] * 30), skip=[0]),  # no June 1 freeze: month not covered
    )


def test_monthly_loss_per_tg_feeder_and_org_aggregates_energy_first():
    grid = build_grid(_month_readings(), MONTH_FLEET, day(0), day(30))
    got = {(r["level"], r["unit"]): r for r in monthly_line_loss(daily_energy(grid), "2024-06").to_pylist()}
    tg1, tg2, tg3 = got[("tg", "TG1")], got[("tg", "TG2")], got[("tg", "TG3")]
    assert (tg1["supply_kwh"], tg1["sold_kwh"], tg1["loss_kwh"], tg1["status"]) == (
        3000.0,
        2700.0,
        300.0,
        "qualified",
    )
    assert tg1["loss_rate"] == pytest.approx(0.10)
    assert (tg2["supply_kwh"], tg2["sold_kwh"], tg2["status"]) == (1000.0, 980.0, "qualified")
    assert tg2["loss_rate"] == pytest.approx(0.02)
    assert (tg3["status"], tg3["missing_points"], tg3["sold_kwh"]) == ("not_computable", 1, None)
    f1 = got[("feeder", "F1")]
    # (3000 + 1000) - (2700 + 980) = 320 of 4000 = 8 % (the mean of the two rates would be 6 %)
    assert (f1["supply_kwh"], f1["sold_kwh"], f1["loss_kwh"], f1["tg_total"], f1["tg_computable"]) == (
        4000.0, 3680.0, 320.0, 2, 2,
    )  # fmt: skip
    assert f1["loss_rate"] == pytest.approx(0.08)
    f2 = got[("feeder", "F2")]
    assert (f2["status"], f2["tg_total"], f2["tg_computable"], f2["missing_points"]) == (
        "not_computable",
        1,
        0,
        1,
    )
    o1 = got[("org", "O1")]
    assert (o1["supply_kwh"], o1["sold_kwh"], o1["tg_total"], o1["tg_computable"], o1["missing_points"]) == (
        4000.0, 3680.0, 3, 2, 1,
    )  # fmt: skip
    assert o1["month"] == "2024-06"


def test_month_outside_the_energy_days_is_an_error():
    grid = build_grid(_month_readings(), MONTH_FLEET, day(0), day(30))
    with pytest.raises(MdmInputError, match="month: 2024-07"):
        monthly_line_loss(daily_energy(grid), "2024-07")
    with pytest.raises(MdmInputError, match="YYYY-MM"):
        monthly_line_loss(daily_energy(grid), "June")


def test_sold_vs_purchased_per_feeder_and_org():
    fleet = meters(
        [
            {"meter": meter_id(100), "role": "feeder", "multiplier": 1000.0, "feeder": "F1", "org": "O1"},
            _m(1, "TG1", feeder="F1", org="O1"),
            _m(2, "TG1", feeder="F1", org="O1"),
            {"meter": meter_id(200), "role": "feeder", "multiplier": 1000.0, "feeder": "F2", "org": "O2"},
            _m(3, "TG2", feeder="F2", org="O2"),
            {"meter": meter_id(300), "role": "feeder", "multiplier": 1000.0, "feeder": "F3", "org": "O2"},
            _m(4, "TG3", feeder="F3", org="O2"),
            _m(5, "TG4", feeder="F4", org="O2"),
        ]
    )
    t = readings(
        rows(meter_id(100), cumulative(10.0, [0.14] * 30)),  # 4.20 x 1000 = 4200
        rows(meter_id(1), cumulative(0.0, [70.0] * 30)),  # 2100
        rows(meter_id(2), cumulative(0.0, [50.0] * 30)),  # 1500
        rows(meter_id(200), cumulative(0.0, [0.01] * 30)),  # 300
        rows(meter_id(3), cumulative(0.0, [9.5] * 30)),  # 285
        rows(meter_id(300), cumulative(0.0, [0.01] * 30)),  # 300
        rows(meter_id(4), cumulative(0.0, [11.0] * 30)),  # 330
        rows(meter_id(5), cumulative(0.0, [1.0] * 30), skip=[30]),  # F4 has no head meter; month incomplete
    )
    grid = build_grid(t, fleet, day(0), day(30))
    got = {(r["level"], r["unit"]): r for r in sold_vs_purchased(daily_energy(grid), "2024-06").to_pylist()}
    f1 = got[("feeder", "F1")]  # (4200 - 3600) / 4200 = 14.3 % > 8 %
    assert (f1["purchased_kwh"], f1["sold_kwh"], f1["loss_kwh"], f1["status"]) == (
        4200.0,
        3600.0,
        600.0,
        "high_loss",
    )
    assert f1["loss_rate"] == pytest.approx(600 / 4200)
    f2 = got[("feeder", "F2")]  # (300 - 285) / 300 = 5 %
    assert (f2["purchased_kwh"], f2["sold_kwh"], f2["status"]) == (300.0, 285.0, "ok")
    assert f2["loss_rate"] == pytest.approx(0.05)
    assert got[("feeder", "F3")]["status"] == "sold_exceeds_purchased"  # 330 sold of 300
    f4 = got[("feeder", "F4")]
    assert (f4["status"], f4["missing_points"], f4["purchased_kwh"]) == ("not_computable", 1, 0.0)
    o2 = got[("org", "O2")]
    assert (o2["purchased_kwh"], o2["status"], o2["missing_points"]) == (600.0, "not_computable", 1)
    o1 = got[("org", "O1")]
    assert (o1["purchased_kwh"], o1["sold_kwh"], o1["status"]) == (4200.0, 3600.0, "high_loss")


# --- 专变 (dedicated 台区): not 台区 line-loss objects ---------------------------------------------------

DEDICATED_FLEET = meters(
    [
        {"meter": meter_id(100), "role": "feeder", "multiplier": 1000.0, "feeder": "F1", "org": "O1"},
        _m(1, "TG1", "supply", feeder="F1", org="O1", tg_kind="public"),
        _m(2, "TG1", feeder="F1", org="O1", tg_kind="public"),
        # a 专变 with a 考核 meter of its own on the low side: the kind decides, not the meters it has
        _m(3, "ZB1", "supply", feeder="F1", org="O1", tg_kind="dedicated"),
        _m(4, "ZB1", multiplier=100.0, feeder="F1", org="O1", tg_kind="dedicated"),
        # a 专变 without any supply meter (the usual case)
        _m(5, "ZB2", multiplier=100.0, feeder="F1", org="O1", tg_kind="dedicated"),
    ]
)  # fmt: skip


def _dedicated_energy():
    t = readings(
        rows(meter_id(100), cumulative(0.0, [1.0] * 30)),  # 1.00 x 1000 = 1000 kWh a day, 30000 in June
        rows(meter_id(1), cumulative(0.0, [100.0] * 30)),  # 3000
        rows(meter_id(2), cumulative(0.0, [95.0] * 30)),  # 2850
        rows(meter_id(3), cumulative(0.0, [500.0] * 30)),  # 15000 (low side of ZB1)
        rows(meter_id(4), cumulative(0.0, [4.0] * 30)),  # 4.00 x 100 = 400 a day, 12000
        rows(meter_id(5), cumulative(0.0, [5.0] * 30)),  # 5.00 x 100 = 500 a day, 15000
    )
    return daily_energy(build_grid(t, DEDICATED_FLEET, day(0), day(30)))


def test_dedicated_areas_have_no_daily_line_loss():
    rows_ = daily_line_loss(_dedicated_energy()).to_pylist()
    assert {r["tg"] for r in rows_} == {"TG1"}
    assert len(rows_) == 30
    first = rows_[0]
    assert (first["supply_kwh"], first["sold_kwh"], first["loss_kwh"], first["status"]) == (
        100.0,
        95.0,
        5.0,
        "qualified",
    )
    assert abnormal_tgs(daily_line_loss(_dedicated_energy())) == []


def test_dedicated_areas_have_no_monthly_row_and_are_in_no_roll_up():
    got = {(r["level"], r["unit"]): r for r in monthly_line_loss(_dedicated_energy(), "2024-06").to_pylist()}
    assert sorted(got) == [("feeder", "F1"), ("org", "O1"), ("tg", "TG1")]
    tg1 = got[("tg", "TG1")]
    key = ("supply_kwh", "sold_kwh", "loss_kwh", "status", "tg_total", "tg_computable")
    assert tuple(tg1[k] for k in key) == (3000.0, 2850.0, 150.0, "qualified", 1, 1)
    # the feeder and the organisation are TG1 alone: ZB1's 15000 supplied / 12000 sold are left out
    assert tuple(got[("feeder", "F1")][k] for k in key) == tuple(tg1[k] for k in key)
    assert tuple(got[("org", "O1")][k] for k in key) == tuple(tg1[k] for k in key)
    assert got[("org", "O1")]["loss_rate"] == pytest.approx(150 / 3000)


def test_sold_vs_purchased_counts_dedicated_customers_as_sold():
    got = {(r["level"], r["unit"]): r for r in sold_vs_purchased(_dedicated_energy(), "2024-06").to_pylist()}
    # purchased 30000; sold = customers TG1 2850 + ZB1 12000 + ZB2 15000 = 29850 (supply meters are not sold)
    for unit in (("feeder", "F1"), ("org", "O1")):
        r = got[unit]
        assert (r["purchased_kwh"], r["sold_kwh"], r["loss_kwh"], r["status"]) == (
            30000.0,
            29850.0,
            150.0,
            "ok",
        )
        assert r["loss_rate"] == pytest.approx(150 / 30000)


def test_unknown_tg_kind_is_refused_naming_the_column():
    bad = meters([_m(1, "TG1", "supply", tg_kind="private")])
    with pytest.raises(MdmInputError, match=r"^meters\.tg_kind: unknown kind\(s\) \['private'\]"):
        build_grid(readings(rows(meter_id(1), [0.0, 1.0])), bad, day(0), day(1))
