import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridcare.mdm import DailyEnergy, build_grid, daily_energy, register_advances

from .builders import day, meter_id, meters, readings, rows


def _adv(values, limit=999999.99, has_row=None, fraction=0.01):
    v = np.array([values], dtype=np.float64)
    present = ~np.isnan(v) if has_row is None else np.array([has_row])
    return register_advances(v, present, np.array([limit]), max_wrap_fraction=fraction)


def _list(x):
    return [None if np.isnan(a) else round(float(a), 2) for a in x[0]]


def test_plain_advances():
    a = _adv([100.0, 110.5, 121.0])
    assert _list(a.advance) == [None, 10.5, 10.5]
    assert a.span.tolist() == [[0, 1, 1]]
    assert not a.decrease.any() and not a.rollover.any() and not a.invalid.any()


def test_rollover_at_999999_99():
    # 999990.00 -> 999999.99 is 9.99, -> 0.00 is 0.01 more, -> 5.00 is 5.00 more: 15.00
    a = _adv([999990.00, 5.00, 7.50])
    assert _list(a.advance) == [None, 15.0, 2.5]
    assert a.rollover.tolist() == [[False, True, False]]
    assert not a.decrease.any()


def test_rollover_on_a_small_register():
    a = _adv([9990.00, 20.00], limit=9999.99, fraction=0.01)
    assert _list(a.advance) == [None, 30.0]  # 10.00 + 20.00


def test_large_drop_is_a_decrease_not_a_rollover():
    # wrapped advance would be 500010.00, far above 1 % of the register range
    a = _adv([500000.0, 10.0])
    assert a.decrease.tolist() == [[False, True]]
    assert not a.rollover.any()


def test_level_shift_keeps_later_advances():
    a = _adv([100.0, 50.0, 60.0, 70.0])
    assert _list(a.advance) == [None, None, 10.0, 10.0]
    assert a.decrease.tolist() == [[False, True, False, False]]
    assert not a.glitch.any()


def test_stray_zero_is_skipped():
    a = _adv([100.0, 110.0, 0.0, 130.0])
    assert a.glitch.tolist() == [[False, False, True, False]]
    assert _list(a.advance) == [None, 10.0, None, 20.0]
    assert a.span.tolist() == [[0, 1, 0, 2]]


def test_stray_jump_is_skipped():
    a = _adv([100.0, 900.0, 102.0, 104.0])
    assert a.glitch.tolist() == [[False, True, False, False]]
    assert a.decrease.tolist() == [[False, True, False, False]]
    assert _list(a.advance) == [None, None, 2.0, 2.0]


def test_negative_null_and_over_range_values_are_invalid():
    a = _adv([100.0, -5.0, np.nan, 1_500_000.0, 104.0], has_row=[True] * 5)
    assert a.invalid.tolist() == [[False, True, True, True, False]]
    assert _list(a.advance) == [None, None, None, None, 4.0]
    assert a.span.tolist() == [[0, 0, 0, 0, 4]]
    assert not a.decrease.any()


def test_daily_energy_applies_multiplier_and_shifts_to_business_days():
    fleet = meters([{"meter": meter_id(1), "multiplier": 40.0}])
    g = build_grid(readings(rows(meter_id(1), [100.0, 100.5, 101.25])), fleet, day(0), day(2))
    e = daily_energy(g)
    assert e.days == [day(0), day(1)]
    assert e.energy_kwh.tolist() == [[20.0, 30.0]]  # 0.5 x 40, 0.75 x 40
    back = DailyEnergy.from_table(e.to_table(), fleet, day(0), day(1))
    assert back.energy_kwh.tolist() == [[20.0, 30.0]]
    assert back.span_days.tolist() == [[1, 1]]
    assert e.to_table().column("day").to_pylist() == [day(0), day(1)]


@settings(max_examples=60, deadline=None)
@given(
    start=st.integers(0, 999_999).map(lambda x: x / 100),
    cents=st.lists(st.integers(0, 5_000), min_size=2, max_size=40),
    dropped=st.sets(st.integers(1, 38)),
)
def test_advances_add_up_to_the_consumption_across_gaps_and_rollovers(start, cents, dropped):
    """Registers on a 9999.99 register with random gaps: the advances sum to what was consumed."""
    regs = np.round((start + np.concatenate([[0], np.cumsum(cents)]) / 100) % 10_000, 2)
    keep = np.array([i == 0 or i == len(regs) - 1 or i not in dropped for i in range(len(regs))])
    values = np.where(keep, regs, np.nan)
    a = _adv(values.tolist(), limit=9999.99, fraction=0.6)
    assert not a.decrease.any()
    assert np.nansum(a.advance) == pytest.approx(sum(cents) / 100, abs=1e-6)
    assert int(a.span.sum()) == len(regs) - 1


def _reference(row, limit, fraction):
    """Per-reading loop version of the advance rules (module docstring of gridcare.mdm.registers)."""
    eps = 0.005
    modulus = limit + 0.01
    v = [None if (x is None or np.isnan(x) or x < 0 or x > limit + eps) else x for x in row]

    def prev(vals, j):
        return next((i for i in range(j - 1, -1, -1) if vals[i] is not None), None)

    def nxt(vals, j):
        return next((i for i in range(j + 1, len(vals)) if vals[i] is not None), None)

    def step(vals):
        out = []
        for j, x in enumerate(vals):
            p = prev(vals, j)
            if x is None or p is None:
                out.append((None, 0, False, False))
                continue
            d = x - vals[p]
            if d < -eps:
                wrap = round(modulus - vals[p] + x, 2)
                if wrap <= fraction * modulus:
                    out.append((wrap, j - p, True, False))
                else:
                    out.append((None, j - p, False, True))
            else:
                out.append((round(d, 2), j - p, False, False))
        return out

    first = step(v)
    glitch = set()
    for j, (_, _, _, dec) in enumerate(first):
        if not dec:
            continue
        p = prev(v, j)
        n = nxt(v, j)
        if n is not None and v[n] >= v[p] - eps:
            glitch.add(j)
            continue
        pp = prev(v, p)
        if pp is not None and v[j] >= v[pp] - eps:
            glitch.add(p)
    if glitch:
        v = [None if i in glitch else x for i, x in enumerate(v)]
    final = step(v) if glitch else first
    advance = [a for a, _, _, _ in final]
    span = [s for _, s, _, _ in final]
    decrease = [d or i in glitch for i, (_, _, _, d) in enumerate(final)]
    return advance, span, decrease


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.lists(
            st.one_of(
                st.none(),
                st.just(0.0),
                st.just(-1.0),
                st.integers(0, 99_999).map(lambda x: x / 100),
                st.integers(99_900, 99_999).map(lambda x: x / 100),
            ),
            min_size=1,
            max_size=12,
        ),
        min_size=1,
        max_size=4,
    ).map(lambda rs: [r + [None] * (12 - len(r)) for r in rs])
)
def test_vectorised_advances_match_a_per_reading_loop(matrix):
    values = np.array([[np.nan if x is None else x for x in r] for r in matrix])
    limit = 999.99
    a = register_advances(values, ~np.isnan(values), np.full(len(matrix), limit), max_wrap_fraction=0.05)
    for i, row in enumerate(matrix):
        advance, span, decrease = _reference(row, limit, 0.05)
        got = [None if np.isnan(x) else round(float(x), 2) for x in a.advance[i]]
        assert got == advance
        assert a.span[i].tolist() == span
        assert a.decrease[i].tolist() == decrease


def test_estimates_close_intervals_only_when_asked():
    fleet = meters([{"meter": meter_id(1)}])
    t = readings(
        rows(meter_id(1), [100.0, None, 120.0], skip=[1]),
        rows(meter_id(1), [110.0], start=1, source="estimated", version=2),
    )
    grid = build_grid(t, fleet, day(0), day(2))
    actual_only = daily_energy(grid)
    assert _list(actual_only.energy_kwh) == [None, 20.0]
    assert actual_only.span_days.tolist() == [[0, 2]]
    with_estimates = daily_energy(grid, include_estimates=True)
    assert _list(with_estimates.energy_kwh) == [10.0, 10.0]
    assert with_estimates.span_days.tolist() == [[1, 1]]
