import numpy as np
import pyarrow as pa
import pytest

from gridcare.mdm import (
    HintConfig,
    MdmInputError,
    build_grid,
    daily_energy,
    loss_cause_hints,
    pairwise_pearson,
)

from .builders import cumulative, day, meter_id, meters, readings, rows

SA, A1, A2, X = (meter_id(i) for i in (1, 2, 3, 4))
SB, B1, B2 = (meter_id(i) for i in (11, 12, 13))
SC, C1, C2 = (meter_id(i) for i in (21, 22, 23))

X_KWH = np.array([7, 3, 9, 4, 8, 2, 6, 10, 5, 1, 9, 3, 7, 2, 8, 4, 10, 6, 1, 5], float)
A1_KWH = np.array([12, 15, 11, 18, 14, 13, 17, 12, 16, 11, 15, 18, 13, 14, 12, 17, 11, 16, 14, 13], float)
B2_KWH = np.array([3, 3, 0, 0, 0, 0, 0] + [3] * 13, float)
C2_KWH = np.array([45] * 10 + [15] * 10, float)


def _energy():
    """Three 台区 over 20 days.

    TG-A: X is archived here but is fed by TG-B, so TG-A sells more than it gets (negative loss);
          A2 missed the freeze of day 5.
    TG-B: supplies X too (high loss); B2 stood still on days 2..6.
    TG-C: loss 5 % in the first ten days, then C2 drops from 45 to 15 kWh/day while supply stays at 100.
    """
    fleet = meters(
        [
            {"meter": SA, "tg": "TG-A", "role": "supply"},
            {"meter": A1, "tg": "TG-A"},
            {"meter": A2, "tg": "TG-A"},
            {"meter": X, "tg": "TG-A"},
            {"meter": SB, "tg": "TG-B", "role": "supply"},
            {"meter": B1, "tg": "TG-B"},
            {"meter": B2, "tg": "TG-B"},
            {"meter": SC, "tg": "TG-C", "role": "supply"},
            {"meter": C1, "tg": "TG-C"},
            {"meter": C2, "tg": "TG-C"},
        ]
    )
    sb_kwh = np.round(1.05 * (10 + X_KWH + B2_KWH), 2)
    t = readings(
        rows(SA, cumulative(0.0, np.round(1.05 * (A1_KWH + 20), 2))),
        rows(A1, cumulative(0.0, A1_KWH)),
        rows(A2, cumulative(0.0, [20.0] * 20), skip=[5]),
        rows(X, cumulative(0.0, X_KWH)),
        rows(SB, cumulative(0.0, sb_kwh)),
        rows(B1, cumulative(0.0, [10.0] * 20)),
        rows(B2, cumulative(0.0, B2_KWH)),
        rows(SC, cumulative(0.0, [100.0] * 20)),
        rows(C1, cumulative(0.0, [50.0] * 20)),
        rows(C2, cumulative(0.0, C2_KWH)),
    )
    return daily_energy(build_grid(t, fleet, day(0), day(20))), sb_kwh


def _by_hint(table):
    out: dict[str, list] = {}
    for r in table.to_pylist():
        out.setdefault(r["hint"], []).append(r)
    return out


def test_cause_hints_for_abnormal_tgs():
    energy, sb_kwh = _energy()
    got = _by_hint(loss_cause_hints(energy))
    assert [(r["tg"], r["meter"], r["score"], r["detail"]) for r in got["missing_collection"]] == [
        ("TG-A", A2, 2.0, "no single-day energy on 2 day(s)")
    ]
    assert [(r["tg"], r["meter"], r["score"]) for r in got["meter_stopped"]] == [("TG-B", B2, 5.0)]
    (rel,) = got["relation_error"]
    own = np.corrcoef(X_KWH, np.round(1.05 * (A1_KWH + 20), 2))[0, 1]  # about -0.33
    other = np.corrcoef(X_KWH, sb_kwh)[0, 1]  # about 0.91
    assert (rel["tg"], rel["meter"]) == ("TG-A", X)
    assert rel["score"] == pytest.approx(other, abs=1e-9)
    assert rel["detail"] == f"correlates {other:.2f} with 台区 TG-B but {own:.2f} with its own"
    (theft,) = got["suspected_theft"]
    # first half: (100 - 95) / 100 = 5 %; second half: (100 - 65) / 100 = 35 %; C2 fell by 30 kWh/day
    assert (theft["tg"], theft["meter"], theft["score"]) == ("TG-C", C2, 30.0)
    assert (
        theft["detail"]
        == "mean energy fell from 45.00 to 15.00 kWh/day while the loss rate rose by 30.00 points"
    )


def test_vee_flags_add_stopped_meters_and_short_periods_skip_correlation():
    energy, _ = _energy()
    flags = pa.table({"meter": [B1], "rule": ["METER_STOPPED"]})
    stopped = _by_hint(loss_cause_hints(energy, vee_results=flags))["meter_stopped"]
    assert sorted(r["meter"] for r in stopped) == [B1, B2]
    strict = _by_hint(loss_cause_hints(energy, config=HintConfig(min_corr_days=21)))
    assert "relation_error" not in strict
    with pytest.raises(MdmInputError, match="min_corr_days"):
        HintConfig(min_corr_days=2)


def test_pairwise_pearson_matches_numpy_on_common_days():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(3, 12))
    y = rng.normal(size=(2, 12))
    x[0, 3] = np.nan
    y[1, [0, 5]] = np.nan
    r, n = pairwise_pearson(x, y)
    for i in range(3):
        for j in range(2):
            ok = ~np.isnan(x[i]) & ~np.isnan(y[j])
            assert n[i, j] == ok.sum()
            assert r[i, j] == pytest.approx(np.corrcoef(x[i, ok], y[j, ok])[0, 1], abs=1e-12)
    flat, _ = pairwise_pearson(np.ones((1, 5)), y[:, :5])
    assert np.isnan(flat).all()  # no variance, no correlation
