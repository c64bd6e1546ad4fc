from datetime import datetime

import duckdb
import pytest

from gridcare.mdm import (
    DI_FWD_ACTIVE,
    MdmInputError,
    append_rows,
    apply_edit,
    latest_valid,
    latest_valid_sql,
    reading_history,
)
from gridcare.timeutil import BEIJING

from .builders import day, freeze, meter_id, readings, rows

A, B, C, D, E, F = (meter_id(i) for i in range(1, 7))


def _mixed():
    return readings(
        rows(A, [10.0]),
        rows(A, [11.0], source="estimated", version=2),  # A: actual v1 beats estimate v2
        rows(B, [20.0], source="estimated"),
        rows(B, [21.0], source="estimated", version=2),  # B: latest estimate
        rows(C, [30.0]),
        rows(C, [31.0], source="edited", version=2),  # C: the edit corrects the actual
        rows(D, [40.0], source="edited", version=2),
        rows(D, [41.0], version=3),  # D: an actual ingested after the edit
        rows(E, [50.0]),
        rows(E, [50.5]),  # E: same version, different values: conflicting, left out
        rows(F, [60.0]),
        rows(F, [60.0]),  # F: harmless exact duplicate
    )


def _summary(table):
    return [(r["meter"], r["value"], r["version"], r["source"]) for r in table.to_pylist()]


def test_latest_valid_picks_per_key():
    assert _summary(latest_valid(_mixed())) == [
        (A, 10.0, 1, "actual"),
        (B, 21.0, 2, "estimated"),
        (C, 31.0, 2, "edited"),
        (D, 41.0, 3, "actual"),
        (F, 60.0, 1, "actual"),
    ]


def test_latest_valid_sql_matches_in_duckdb():
    mixed = _mixed()  # noqa: F841 - read by DuckDB's replacement scan
    got = duckdb.sql(latest_valid_sql("mixed") + " ORDER BY meter").arrow()
    if hasattr(got, "read_all"):
        got = got.read_all()
    assert _summary(got) == _summary(latest_valid(_mixed()))


def test_apply_edit_returns_a_new_version_and_changes_nothing():
    t = readings(rows(A, [10.0, 20.0]), rows(A, [15.0], start=1, source="estimated", version=2))
    when = datetime(2024, 6, 5, 9, 30, tzinfo=BEIJING)
    edit = apply_edit(t, A, DI_FWD_ACTIVE, freeze(day(1)), 19.5, "clerk-007", "on-site reading", when)
    assert t.num_rows == 3
    assert edit.to_pylist() == [
        {
            "meter": A,
            "di": DI_FWD_ACTIVE,
            "freeze_time": freeze(day(1)),
            "value": 19.5,
            "version": 3,
            "source": "edited",
            "method": "manual_edit",
            "recorded_at": when,
            "who": "clerk-007",
            "why": "on-site reading",
        }
    ]
    history = reading_history(append_rows(t, edit), A, DI_FWD_ACTIVE, freeze(day(1)))
    assert [(r["version"], r["source"], r["value"], r["effective"]) for r in history.to_pylist()] == [
        (1, "actual", 20.0, False),
        (2, "estimated", 15.0, False),
        (3, "edited", 19.5, True),
    ]


def test_first_edit_of_a_key_is_version_1_and_naive_times_are_beijing():
    t = readings(rows(A, [10.0]))
    edit = apply_edit(
        t, B, DI_FWD_ACTIVE, datetime(2024, 6, 1), 5.0, "clerk", "meter replaced", datetime(2024, 6, 2, 8)
    )
    row = edit.to_pylist()[0]
    assert row["version"] == 1
    assert row["freeze_time"] == freeze(day(0))
    assert row["recorded_at"] == datetime(2024, 6, 2, 8, tzinfo=BEIJING)


@pytest.mark.parametrize(
    ("meter", "value", "who", "why", "message"),
    [
        ("12345", 1.0, "x", "y", "meter"),
        (A, -1.0, "x", "y", "value"),
        (A, float("nan"), "x", "y", "value"),
        (A, 1.0, " ", "y", "who"),
        (A, 1.0, "x", "", "why"),
    ],
)
def test_apply_edit_rejects_bad_input(meter, value, who, why, message):
    t = readings(rows(A, [10.0]))
    with pytest.raises(MdmInputError, match=message):
        apply_edit(t, meter, DI_FWD_ACTIVE, freeze(day(0)), value, who, why, datetime(2024, 6, 2))
