from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pytest

from gridcare.mdm import Fleet, MdmInputError
from gridcare.mdm.schema import day_number, fmt2, to_day_numbers

from .builders import D0, meters


def test_fleet_sorts_by_address_and_fills_defaults():
    table = pa.table(
        {
            "meter": ["000000000009", "000000000002"],
            "multiplier": pa.array([40.0, None]),
            "tg": ["TG-B", None],
        }
    )
    fleet = Fleet.from_table(table)
    assert fleet.meters.to_pylist() == ["000000000002", "000000000009"]
    assert fleet.multiplier.tolist() == [1.0, 40.0]
    assert fleet.rollover_kwh.tolist() == [999999.99, 999999.99]
    assert fleet.role.tolist() == [0, 0]  # customer
    assert fleet.tgs == ["TG-B"]
    assert fleet.tg_idx.tolist() == [-1, 0]
    assert np.isnan(fleet.capacity_kva).all()


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"meter": "12345678901"}], "meters.meter"),
        ([{"meter": "12345678901A"}], "meters.meter"),
        ([{"meter": "000000000001"}, {"meter": "000000000001"}], "duplicate address 000000000001"),
        ([{"meter": "000000000001", "role": "transformer"}], "meters.role"),
        ([{"meter": "000000000001", "multiplier": 0.0}], "meters.multiplier"),
    ],
)
def test_fleet_rejects_bad_archives(rows, message):
    with pytest.raises(MdmInputError, match=message):
        Fleet.from_table(meters(rows))


def test_lookup_sorted_scattered_and_malformed_addresses():
    fleet = Fleet.from_table(meters([{"meter": f"{i:012d}"} for i in (5, 7, 9)]))
    assert fleet.lookup(pa.array(["000000000005", "000000000006", "000000000009"])).tolist() == [0, -1, 2]
    scattered = ["000000000009", "000000000005"] * 200 + ["000000000007"]
    assert fleet.lookup(pa.array(scattered)).tolist() == [2, 0] * 200 + [1]
    # "7" casts to the integer 7 but is not a 12-digit address; "x" does not cast at all
    assert fleet.lookup(pa.array(["7", "000000000007"])).tolist() == [-1, 1]
    assert fleet.lookup(pa.array(["x", "000000000007"])).tolist() == [-1, 1]
    with pytest.raises(MdmInputError, match="000000000006"):
        fleet.position("000000000006")


def test_fmt2_is_two_decimals_text():
    text = fmt2(np.array([12.3, -0.05, 0.0, np.nan, 1234567.891]))
    assert text.to_pylist() == ["12.30", "-0.05", "0.00", "?", "1234567.89"]


def test_day_numbers_naive_is_beijing_and_aware_is_converted():
    naive = pa.array([datetime(2024, 6, 1, 0, 0), datetime(2024, 6, 1, 23, 59)], pa.timestamp("s"))
    aware = pa.array([datetime(2024, 5, 31, 16, 0, tzinfo=UTC)], pa.timestamp("ms", tz="UTC"))
    assert to_day_numbers(naive, "t").tolist() == [day_number(D0)] * 2
    assert to_day_numbers(aware, "t").tolist() == [day_number(D0)]
    with pytest.raises(MdmInputError, match="t: expected a timestamp"):
        to_day_numbers(pa.array([1, 2]), "t")
