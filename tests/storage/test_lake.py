"""Readings lake: durable write-ahead, Parquet partitions by freeze day, replay, current version."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from gridcare.storage.lake import ReadingsLake, freeze_instant, readings_table

DAY1, DAY2 = date(2026, 11, 21), date(2026, 11, 22)


def _row(meter: str, day: date, value: str | None, **extra: object) -> dict[str, object]:
    return {"meter": meter, "di": "05060101", "freeze_time": freeze_instant(day), "value": value, **extra}


def test_flush_partitions_by_beijing_freeze_day(tmp_path: Path) -> None:
    lake = ReadingsLake(tmp_path)
    lake.append(
        readings_table([_row("201000000001", DAY1, "1230.00"), _row("201000000001", DAY2, "1234.56")])
    )
    assert lake.flush() == 2
    assert lake.days() == [DAY1, DAY2]
    parts = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.parquet"))
    assert [re.sub(r"-[0-9a-f]{12}\.", ".", p) for p in parts] == [
        "readings/day=2026-11-21/part-000000000001.parquet",
        "readings/day=2026-11-22/part-000000000001.parquet",
    ]
    assert list(tmp_path.glob("_wal/*.arrows")) == []
    values = lake.current(DAY2, DAY2).column("value").to_pylist()
    assert values == [Decimal("1234.5600")]


def test_same_reading_twice_is_stored_once_in_current(tmp_path: Path) -> None:
    lake = ReadingsLake(tmp_path)
    lake.append(readings_table([_row("201000000001", DAY1, "10.00")]))
    lake.flush()
    lake.append(readings_table([_row("201000000001", DAY1, "10.00")]))  # a re-read of the same day
    lake.flush()
    assert lake.raw().num_rows == 2
    assert lake.current().num_rows == 1


def test_missing_value_stays_null(tmp_path: Path) -> None:
    lake = ReadingsLake(tmp_path)
    lake.append(readings_table([_row("201000000001", DAY1, None)]))
    lake.flush()
    assert lake.current().column("value").to_pylist() == [None]


def test_actual_beats_estimate_and_edits_keep_history(tmp_path: Path) -> None:
    lake = ReadingsLake(tmp_path)
    lake.append(readings_table([_row("201000000002", DAY1, "99.00", version=2, source="estimated")]))
    lake.append(readings_table([_row("201000000002", DAY1, "100.00", version=1, source="actual")]))
    lake.flush()
    current = lake.current().to_pylist()
    assert [(r["value"], r["source"]) for r in current] == [(Decimal("100.0000"), "actual")]
    assert lake.raw().num_rows == 2


def test_unflushed_segments_are_replayed_by_a_new_process(tmp_path: Path) -> None:
    first = ReadingsLake(tmp_path)
    first.append(readings_table([_row("201000000003", DAY1, "1.00")]))
    # the process dies here: no flush, no close
    second = ReadingsLake(tmp_path)
    second.append(readings_table([_row("201000000003", DAY2, "2.00")]))
    assert second.flush() == 2
    assert second.current().column("value").to_pylist() == [Decimal("1.0000"), Decimal("2.0000")]


def test_torn_tail_of_a_segment_is_dropped(tmp_path: Path) -> None:
    lake = ReadingsLake(tmp_path)
    lake.append(readings_table([_row("201000000004", DAY1, "1.00")]))
    lake.append(readings_table([_row("201000000004", DAY2, "2.00")]))
    segment = next(tmp_path.glob("_wal/*.arrows"))
    data = segment.read_bytes()
    segment.write_bytes(data[:-40])  # the second write never completed, so it was never acknowledged
    replay = ReadingsLake(tmp_path)
    assert replay.flush() == 1
    assert replay.current().column("value").to_pylist() == [Decimal("1.0000")]


def test_replaying_a_segment_twice_rewrites_the_same_part(tmp_path: Path) -> None:
    lake = ReadingsLake(tmp_path)
    lake.append(readings_table([_row("201000000005", DAY1, "5.00")]))
    segments = lake.wal.rotate()
    lake._write_partitions(lake.wal.read(segments[0]), f"part-{segments[0]}")  # crash before release
    assert ReadingsLake(tmp_path).flush() == 1
    assert lake.raw().num_rows == 1


def test_restarting_writers_never_overwrite_earlier_parts(tmp_path: Path) -> None:
    """Each process numbers its segments from 1 again once all were flushed; the files must not collide."""
    for day, value in ((DAY1, "1.00"), (DAY2, "2.00"), (DAY1, "3.00")):
        lake = ReadingsLake(tmp_path)  # a new process each time
        lake.append(readings_table([_row("201000000009", day, value, version=int(value[0]))]))
        lake.flush()
    assert sorted(ReadingsLake(tmp_path).raw().column("value").to_pylist()) == [
        Decimal("1.0000"),
        Decimal("2.0000"),
        Decimal("3.0000"),
    ]


def test_an_edit_outranks_the_actual_it_corrects(tmp_path: Path) -> None:
    lake = ReadingsLake(tmp_path)
    lake.append(readings_table([_row("201000000010", DAY1, "10.00")]))
    lake.append(readings_table([_row("201000000010", DAY1, "12.00", version=2, source="edited", who="li")]))
    lake.append(readings_table([_row("201000000010", DAY1, "11.00", version=3, source="estimated")]))
    lake.flush()
    assert [(r["value"], r["source"]) for r in lake.current().to_pylist()] == [(Decimal("12.0000"), "edited")]


def test_export_has_the_contract_columns(tmp_path: Path) -> None:
    lake = ReadingsLake(tmp_path / "lake")
    lake.append(readings_table([_row("201000000006", DAY1, "7.25"), _row("201000000006", DAY1, "7.25")]))
    lake.flush()
    assert lake.export(tmp_path / "out.parquet") == 1
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.column_names == ["meter", "di", "freeze_time", "value"]
    assert table.to_pylist()[0]["value"] == Decimal("7.2500")


def test_reads_include_durable_rows_not_yet_flushed(tmp_path: Path) -> None:
    writer = ReadingsLake(tmp_path)
    writer.append(readings_table([_row("201000000007", DAY1, "3.00"), _row("201000000007", DAY2, "4.00")]))
    reader = ReadingsLake(tmp_path)  # e.g. `gridcare readings export` while the front-end runs
    assert reader.current().column("value").to_pylist() == [Decimal("3.0000"), Decimal("4.0000")]
    assert reader.current(DAY2, DAY2).column("value").to_pylist() == [Decimal("4.0000")]


def test_frame_archive_keeps_bytes_and_errors(tmp_path: Path) -> None:
    from gridcare.storage.frames import FrameArchive, RawFrame, frames_table
    from gridcare.timeutil import BEIJING

    ts = datetime(2026, 11, 22, 0, 5, tzinfo=BEIJING)
    archive = FrameArchive(tmp_path)
    archive.append(
        frames_table(
            [
                RawFrame("f1", ts, "0171-02082", "127.0.0.1:5000", "up", b"\x68\x32\x00"),
                RawFrame("f2", ts, None, "127.0.0.1:5001", "up", b"\x00\xff", "bad_delimiter", "no 68H"),
            ]
        )
    )
    archive.flush()
    rows = archive.raw(DAY2, DAY2).to_pylist()
    assert [(r["frame_id"], r["frame"], r["error_code"]) for r in rows] == [
        ("f1", b"\x68\x32\x00", None),
        ("f2", b"\x00\xff", "bad_delimiter"),
    ]


def test_a_second_writer_is_refused(tmp_path: Path) -> None:
    import subprocess
    import sys

    from gridcare.storage.wal import WalLocked

    writer = ReadingsLake(tmp_path)
    writer.wal.lock()
    writer.wal.lock()  # taking it again is a no-op for the holder
    with pytest.raises(WalLocked, match="another gridcare process"):
        ReadingsLake(tmp_path).wal.lock()
    code = (
        "import sys; from pathlib import Path; from gridcare.storage.lake import ReadingsLake\n"
        "from gridcare.storage.wal import WalLocked\n"
        f"try:\n    ReadingsLake(Path({str(tmp_path)!r})).wal.lock()\nexcept WalLocked:\n    sys.exit(3)\n"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 3


def test_current_filters_data_items_including_tariff_registers(tmp_path: Path) -> None:
    lake = ReadingsLake(tmp_path)
    rows = [_row("201000000011", DAY1, "9.00"), {**_row("201000000011", DAY1, "1.00"), "di": "05060101.1"}]
    lake.append(readings_table(rows))
    assert lake.current(dis=["05060101.1"]).column("di").to_pylist() == ["05060101.1"]
    assert lake.current(dis=["05060101"]).column("value").to_pylist() == [Decimal("9.0000")]
