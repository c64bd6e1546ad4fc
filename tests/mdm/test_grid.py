from datetime import datetime
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from gridcare.mdm import DI_FWD_ACTIVE, DI_FWD_ACTIVE_TARIFFS, DI_REV_ACTIVE, MdmInputError, build_grid

from .builders import day, meter_id, meters, readings, rows

A, B = meter_id(1), meter_id(2)
FLEET = meters([{"meter": A}, {"meter": B}])


def _grid(*groups):
    return build_grid(readings(*groups), FLEET, day(0), day(2))


def test_one_row_per_cell_lands_in_place():
    g = _grid(rows(A, [1.0, 2.0, 3.0]), rows(B, [10.0, None, 30.0]))
    np.testing.assert_array_equal(g.total.value, [[1.0, 2.0, 3.0], [10.0, np.nan, 30.0]])
    assert g.total.row.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert g.total.firm.all()
    assert not g.total.estimated.any()
    assert g.total.max_version.tolist() == [[1, 1, 1], [1, 1, 1]]
    assert g.conflict_rows.size == 0
    assert g.reverse is None
    assert g.tariffs is None


def test_actual_beats_a_newer_estimate():
    g = _grid(rows(A, [1.0, 2.0, 3.0]), rows(A, [9.0], start=1, source="estimated", version=2))
    assert g.total.value[0].tolist() == [1.0, 2.0, 3.0]
    assert g.total.estimated[0].tolist() == [False, False, False]
    assert g.total.max_version[0].tolist() == [1, 2, 1]


def test_latest_estimate_wins_when_no_actual():
    g = _grid(
        rows(A, [1.0, None, 3.0], skip=[1]),
        rows(A, [1.5], start=1, source="estimated", version=1),
        rows(A, [1.7], start=1, source="estimated", version=2),
    )
    assert g.total.value[0, 1] == 1.7
    assert g.total.estimated[0, 1]
    assert not g.total.firm[0, 1]


def test_edit_with_higher_version_beats_actual():
    g = _grid(rows(A, [1.0, 2.0, 3.0]), rows(A, [2.5], start=1, source="edited", version=2))
    assert g.total.value[0].tolist() == [1.0, 2.5, 3.0]


def test_equal_duplicates_are_harmless_but_disagreeing_ones_conflict():
    g = _grid(
        rows(A, [1.0, 2.0, 3.0]),
        rows(A, [2.0], start=1),  # same value, same version
        rows(B, [10.0, 20.0, 30.0]),
        rows(B, [21.0], start=1),  # same version, different value
    )
    assert g.total.value[0, 1] == 2.0
    assert not g.total.conflict[0].any()
    assert g.total.conflict[1].tolist() == [False, True, False]
    assert np.isnan(g.total.value[1, 1])
    assert sorted(g.conflict_rows.tolist()) == [5, 7]  # B on day 1 and its duplicate


def test_conflict_below_the_winning_version_is_reported_but_not_blocking():
    g = _grid(
        rows(A, [1.0, 2.0, 3.0]),
        rows(A, [2.2], start=1),
        rows(A, [2.1], start=1, source="edited", version=2),
    )
    assert g.total.value[0, 1] == 2.1
    assert not g.total.conflict[0, 1]
    assert sorted(g.conflict_rows.tolist()) == [1, 3]


def test_unknown_meters_other_items_and_days_outside_are_set_aside():
    g = _grid(
        rows(A, [1.0, 2.0, 3.0]),
        rows(meter_id(99), [5.0]),
        rows(A, [7.0], di="00010000"),
        rows(A, [8.0], start=5),
    )
    assert g.unknown_rows.tolist() == [3]
    assert g.total.value[0].tolist() == [1.0, 2.0, 3.0]


def test_reverse_and_tariff_registers_are_compact():
    g = _grid(
        rows(A, [1.0, 2.0, 3.0]),
        rows(B, [0.0, 0.0, 0.5], di=DI_REV_ACTIVE),
        *[
            rows(A, [v], start=2, di=di)
            for v, di in zip([0.5, 0.5, 1.0, 1.0], DI_FWD_ACTIVE_TARIFFS, strict=True)
        ],
    )
    assert g.reverse is not None
    assert g.reverse.members.tolist() == [1]
    assert g.reverse.value.tolist() == [[0.0, 0.0, 0.5]]
    assert g.tariffs is not None
    assert g.tariffs.members.tolist() == [0]
    assert g.tariffs.cols.tolist() == [2]
    assert g.tariffs.total.tolist() == [[3.0]]
    assert g.tariffs.count.tolist() == [[4]]


def test_lake_style_columns_are_accepted():
    """Dictionary strings, decimal values and naive timestamps (Beijing) give the same grid."""
    t = readings(rows(A, [1.0, 2.0, 3.0]))
    lake = pa.table(
        {
            "meter": pc.dictionary_encode(t["meter"]),
            "di": pc.dictionary_encode(t["di"]),
            "freeze_time": pa.array([datetime(2024, 6, 1 + i) for i in range(3)], pa.timestamp("ms")),
            "value": pa.array([Decimal("1.00"), Decimal("2.00"), Decimal("3.00")], pa.decimal128(10, 2)),
            "version": pa.array([1, 1, 1], pa.int64()),
            "source": pc.dictionary_encode(t["source"]),
        }
    )
    g = build_grid(lake, FLEET, day(0), day(2))
    assert g.total.value[0].tolist() == [1.0, 2.0, 3.0]
    assert DI_FWD_ACTIVE == "05060101"


def test_bad_input_names_the_column():
    t = readings(rows(A, [1.0], source="guessed"))
    with pytest.raises(MdmInputError, match=r"readings.source: unknown label\(s\) \['guessed'\]"):
        build_grid(t, FLEET, day(0), day(2))
    with pytest.raises(MdmInputError, match="readings: missing column"):
        build_grid(t.drop_columns(["version"]), FLEET, day(0), day(2))
    with pytest.raises(MdmInputError, match="last_freeze"):
        build_grid(readings(rows(A, [1.0])), FLEET, day(2), day(0))


def test_parquet_round_trip_keeps_the_layout(tmp_path):
    import pyarrow.parquet as pq

    from gridcare.mdm import READINGS_SCHEMA

    t = readings(rows(A, [1.0, 2.0, 3.0]), rows(B, [4.0], start=1, source="edited", version=2))
    pq.write_table(t, tmp_path / "day.parquet")
    back = pq.read_table(tmp_path / "day.parquet", read_dictionary=["meter", "di", "source"])
    assert back.schema.field("freeze_time").type == READINGS_SCHEMA.field("freeze_time").type
    g = build_grid(back, FLEET, day(0), day(2))
    np.testing.assert_array_equal(g.total.value, [[1.0, 2.0, 3.0], [np.nan, 4.0, np.nan]])
