"""Importing archive files: good files upsert; any bad row imports nothing and every problem is named
by line, column and reason."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from gridcare.archives.models import (
    Customer,
    CustomerClass,
    CustomerStatus,
    Meter,
    MeteringPoint,
    TransformerArea,
)
from gridcare.archives.transfer import ImportReport, RowError, export_archive, import_archive
from gridcare.archives.transfer import importer as importer_module
from gridcare.security.authz import PermissionDenied
from gridcare.security.models import AuditRecord
from gridcare.security.principal import SYSTEM, Principal
from gridcare.storage.database import Database
from gridcare.storage.db import transaction
from tests.archives.fixtures.transfer_archive import STATION_A, build_archive, principal_of, snapshot

CUSTOMER_HEADER = "customer_no,name,org_code,customer_class,voltage_level,contracted_capacity_kva,tariff_code"
METER_HEADER = (
    "meter_address,org_code,meter_type,phases,rated_voltage,rated_current,ct_ratio,pt_ratio,multiplier"
)
AREA_HEADER = "transformer_area_code,name,org_code,feeder_code,capacity_kva"
POINT_HEADER = (
    "metering_point_code,purpose,customer_no,meter_address,transformer_area_code,terminal_address,"
    "point_number,meter_box_code,valid_from,valid_to"
)


@pytest.fixture
def sessions(database: Database) -> Iterator[sessionmaker[Session]]:
    with transaction(database.sessions) as session:
        build_archive(session)
    yield database.sessions


def export_archive_csv(sessions: sessionmaker[Session], kind: str) -> bytes:
    with sessions() as session:
        return export_archive(session, kind, "csv", SYSTEM)


def csv_bytes(*lines: str, bom: bool = False) -> bytes:
    return ("\ufeff" if bom else "").encode() + "\r\n".join(lines).encode("utf-8") + b"\r\n"


def xlsx_bytes(*rows: Sequence[object]) -> bytes:
    workbook = Workbook()
    ws = workbook.active
    assert ws is not None
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def run(
    sessions: sessionmaker[Session], kind: str, data: bytes, fmt: str = "csv", principal: Principal = SYSTEM
) -> ImportReport:
    return import_archive(sessions, kind, data, fmt, principal)


def rejected(
    sessions: sessionmaker[Session], kind: str, data: bytes, fmt: str = "csv", **kw: Principal
) -> list[tuple[int, str, str]]:
    """Import a bad file: it must change nothing; return its errors as (line, column, reason)."""
    before = snapshot(sessions)
    report = run(sessions, kind, data, fmt, **kw)
    assert not report.ok
    assert (report.inserted, report.updated) == (0, 0)
    assert snapshot(sessions) == before
    return [(e.line, e.column, e.reason) for e in report.errors]


def customer(sessions: sessionmaker[Session], no: str) -> Customer | None:
    with sessions() as session:
        return session.scalar(select(Customer).where(Customer.customer_no == no))


# --- good files -------------------------------------------------------------------------------------


def test_customer_csv_with_bom_inserts_new_and_updates_stored(sessions: sessionmaker[Session]) -> None:
    data = csv_bytes(
        CUSTOMER_HEADER + ",status,opened_on,phone",
        "0000000100,赵敏,S010101,residential,220V,6,RES-TIER-2024,,2024-05-01,13700000000",
        "0000000101,河口农场,S010102,agricultural,380V,25.5,AGR-2024,suspended,,",
        "0000000001,张伟(改),S010101,residential,220V,8.00,RES-TIER-2024,active,2020-01-01,",
        bom=True,
    )
    report = run(sessions, "customers", data)
    assert report.errors == []
    assert (report.rows, report.inserted, report.updated, report.unchanged) == (3, 2, 1, 0)
    new = customer(sessions, "0000000100")
    assert new is not None
    assert new.name == "赵敏"
    assert new.contracted_capacity_kva == Decimal("6.00")
    assert new.status is CustomerStatus.ACTIVE  # empty cell = default
    assert new.opened_on == date(2024, 5, 1)
    assert new.billing_group == ""  # column left out, insert = default
    farm = customer(sessions, "0000000101")
    assert farm is not None
    assert farm.customer_class is CustomerClass.AGRICULTURAL
    assert farm.status is CustomerStatus.SUSPENDED
    assert farm.contracted_capacity_kva == Decimal("25.50")
    updated = customer(sessions, "0000000001")
    assert updated is not None
    assert updated.name == "张伟(改)"
    assert updated.phone == ""  # an empty cell stores the default
    assert updated.billing_group == "B01"  # a column left out keeps the stored value on update


def test_reimporting_the_same_rows_changes_nothing(sessions: sessionmaker[Session]) -> None:
    data = csv_bytes(CUSTOMER_HEADER, "0000000100,赵敏,S010101,residential,220V,6,RES-TIER-2024")
    assert (run(sessions, "customers", data).inserted, run(sessions, "customers", data).unchanged) == (1, 1)


def test_customer_xlsx_with_typed_cells(sessions: sessionmaker[Session]) -> None:
    data = xlsx_bytes(
        [*CUSTOMER_HEADER.split(","), "opened_on"],
        ["0000000200", "钱七", "S010101", "residential", "220V", 12.5, "RES-TIER-2024", datetime(2023, 2, 1)],
        [None] * 8,  # blank rows are skipped and keep their number
        ["0000000201", "孙八", "S010101", "residential", "220V", 4, "RES-TIER-2024", "2023-02-02"],
    )
    report = run(sessions, "customers", data, "xlsx")
    assert report.errors == []
    assert (report.rows, report.inserted) == (2, 2)
    first = customer(sessions, "0000000200")
    assert first is not None
    assert (first.contracted_capacity_kva, first.opened_on) == (Decimal("12.50"), date(2023, 2, 1))


def test_import_from_a_path_takes_the_format_from_the_extension(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    path = tmp_path / "areas.xlsx"
    path.write_bytes(xlsx_bytes(AREA_HEADER.split(","), ["TQ-C", "城关3号台区", "S010101", "F101", 630]))
    report = import_archive(sessions, "transformer_areas", path, None, SYSTEM)
    assert (report.ok, report.inserted) == (True, 1)
    with sessions() as session:
        area = session.scalars(select(TransformerArea).where(TransformerArea.code == "TQ-C")).one()
    assert (area.capacity_kva, area.address) == (630, "")


def _kinds(sessions: sessionmaker[Session]) -> dict[str, str]:
    with sessions() as session:
        return {
            code: kind for code, kind in session.execute(select(TransformerArea.code, TransformerArea.kind))
        }


def test_transformer_area_kind_in_both_spellings(sessions: sessionmaker[Session]) -> None:
    data = csv_bytes(
        AREA_HEADER + ",kind",
        "TQ-C,城关3号台区,S010101,F101,400,public",
        "ZB-D,东县机械厂专变,S010101,F101,630,dedicated",
        "TQ-E,城关5号台区,S010101,F101,315,公变",
        "ZB-F,河口砖厂专变,S010102,F102,800,专变",
        "TQ-G,城关7号台区,S010101,F101,200,",  # empty: a public 台区
        "TQ-A2,城关2号台区,S010101,F101,315,公变",  # stored dedicated, now public
    )
    report = run(sessions, "transformer-areas", data)
    assert report.errors == []
    assert (report.inserted, report.updated, report.unchanged) == (5, 1, 0)
    assert _kinds(sessions) == {
        "TQ-A": "public",
        "TQ-A2": "public",
        "TQ-B": "public",
        "TQ-C": "public",
        "ZB-D": "dedicated",
        "TQ-E": "public",
        "ZB-F": "dedicated",
        "TQ-G": "public",
    }
    # the export writes the values; importing it back changes nothing
    exported = export_archive_csv(sessions, "transformer-areas")
    assert "ZB-F,河口砖厂专变,S010102,F102,800,,dedicated" in exported.decode("utf-8-sig").split("\r\n")
    again = run(sessions, "transformer-areas", exported)
    assert (again.ok, again.inserted, again.updated, again.unchanged) == (True, 0, 0, 8)


def test_xlsx_kind_and_a_file_without_the_column_keeps_the_stored_kind(
    sessions: sessionmaker[Session],
) -> None:
    data = xlsx_bytes(
        [*AREA_HEADER.split(","), "kind"], ["ZB-H", "城关砖厂专变", "S010101", "F101", 400, "专变"]
    )
    assert run(sessions, "transformer-areas", data, "xlsx").inserted == 1
    renamed = csv_bytes(
        AREA_HEADER, "TQ-A2,城关2号配变,S010101,F101,315", "TQ-I,城关9号台区,S010101,F101,100"
    )
    report = run(sessions, "transformer-areas", renamed)
    assert (report.inserted, report.updated) == (1, 1)
    kinds = _kinds(sessions)
    assert (kinds["ZB-H"], kinds["TQ-A2"], kinds["TQ-I"]) == ("dedicated", "dedicated", "public")


def test_meter_multiplier_follows_ct_and_pt(sessions: sessionmaker[Session]) -> None:
    data = csv_bytes(
        METER_HEADER,
        "202000000001,S010101,three_phase_ct,3,3x220/380V,1.5(6)A,100/5,1/1,",
        "202000000002,S010101,three_phase_ct,3,3x57.7/100V,1.5(6)A,50/5,10000/100,1000",
        # stored meter 201000000005 (200/5 x 10000/100 = 4000) gets a new CT; multiplier left empty
        "201000000005,S010101,three_phase_ct,3,3x57.7/100V,1.5(6)A,300/5,10000/100,",
    )
    report = run(sessions, "meters", data)
    assert report.errors == []
    assert (report.inserted, report.updated) == (2, 1)
    with sessions() as session:
        rows = session.execute(select(Meter.address, Meter.multiplier).where(Meter.address.like("20%")))
        got: dict[str, int] = {address: multiplier for address, multiplier in rows}
    assert got["202000000001"] == 20
    assert got["202000000002"] == 1000
    assert got["201000000005"] == 6000


def test_meter_change_closes_one_period_and_opens_the_next(sessions: sessionmaker[Session]) -> None:
    data = csv_bytes(
        POINT_HEADER,
        "MP0001,billing,0000000001,201000000001,TQ-A,3301-00001,1,BX-A-01,2020-01-01,2024-07-01",
        "MP0001,billing,0000000001,201000000009,TQ-A,3301-00001,1,BX-A-01,2024-07-01,",
    )
    report = run(sessions, "metering-points", data)
    assert report.errors == []
    assert (report.inserted, report.updated) == (1, 1)
    with sessions() as session:
        periods = session.execute(
            select(Meter.address, MeteringPoint.valid_from, MeteringPoint.valid_to)
            .join(Meter, Meter.id == MeteringPoint.meter_id)
            .where(MeteringPoint.code == "MP0001")
            .order_by(MeteringPoint.valid_from)
        ).all()
    assert [tuple(p) for p in periods] == [
        ("201000000001", date(2020, 1, 1), date(2024, 7, 1)),
        ("201000000009", date(2024, 7, 1), None),
    ]


def test_supply_point_without_customer_or_terminal(sessions: sessionmaker[Session]) -> None:
    data = csv_bytes(POINT_HEADER, "ZB-TQ-A2,supply,,201000000009,TQ-A2,,,,2024-01-01,")
    report = run(sessions, "metering-points", data)
    assert (report.errors, report.inserted) == ([], 1)


# --- bad rows: nothing imported, every problem named -------------------------------------------------


def test_three_bad_customer_rows_import_nothing_and_are_all_named(sessions: sessionmaker[Session]) -> None:
    data = csv_bytes(
        CUSTOMER_HEADER,
        "0000000100,,S010101,residential,220V,6,RES",  # line 2: no name
        "0000000101,好行,S010101,residential,220V,6,RES",  # line 3: good
        "0000000102,坏类,S010101,martian,220V,6,RES",  # line 4: unknown class
        "0000000103,好行,S010101,residential,220V,6,RES",  # line 5: good
        "0000000104,坏容量,S010101,residential,220V,-1,RES",  # line 6: negative capacity
    )
    assert rejected(sessions, "customers", data) == [
        (2, "name", "required value is missing"),
        (
            4,
            "customer_class",
            "unknown value 'martian'; expected one of: "
            "residential, general_commercial, large_industrial, agricultural",
        ),
        (6, "contracted_capacity_kva", "must not be negative, got -1"),
    ]
    assert customer(sessions, "0000000101") is None


@pytest.mark.parametrize(
    ("cells", "column", "reason"),
    [
        ("0000000100,赵敏,S010101,residential,220V,abc,RES", "contracted_capacity_kva",
         "expected a number, got 'abc'"),
        ("0000000100,赵敏,S010101,residential,220V,8.123,RES", "contracted_capacity_kva",
         "at most 2 decimal places, got 8.123"),
        ("0000000100,赵敏,S010101,residential,230V,8,RES", "voltage_level",
         "unknown value '230V'; expected one of: 220V, 380V, 10kV, 35kV, 110kV"),
        ("0000000100,赵敏,S999,residential,220V,8,RES", "org_code", "unknown organisation code 'S999'"),
        ("00000001000000000000X,赵敏,S010101,residential,220V,8,RES", "customer_no",
         "longer than 20 characters (21)"),
        ("0000000100,赵敏,S010101,residential,220V,8,", "tariff_code", "required value is missing"),
    ],
)  # fmt: skip
def test_bad_customer_cell(sessions: sessionmaker[Session], cells: str, column: str, reason: str) -> None:
    assert rejected(sessions, "customers", csv_bytes(CUSTOMER_HEADER, cells)) == [(2, column, reason)]


@pytest.mark.parametrize(
    ("opened_on", "reason"),
    [
        ("2020/01/01", "expected a date as YYYY-MM-DD, got '2020/01/01'"),
        ("20200101", "expected a date as YYYY-MM-DD, got '20200101'"),
        ("2021-02-30", "2021-02-30 is not a calendar date"),
    ],
)
def test_bad_date(sessions: sessionmaker[Session], opened_on: str, reason: str) -> None:
    data = csv_bytes(
        CUSTOMER_HEADER + ",opened_on", f"0000000100,赵敏,S010101,residential,220V,8,RES,{opened_on}"
    )
    assert rejected(sessions, "customers", data) == [(2, "opened_on", reason)]


def test_duplicate_key_in_file_names_the_first_line(sessions: sessionmaker[Session]) -> None:
    data = csv_bytes(
        CUSTOMER_HEADER,
        "0000000100,赵敏,S010101,residential,220V,6,RES",
        "0000000200,钱七,S010101,residential,220V,6,RES",
        "0000000100,赵敏,S010101,residential,220V,7,RES",
    )
    assert rejected(sessions, "customers", data) == [
        (4, "customer_no", "duplicate customer_no 0000000100: already on line 2")
    ]


def test_line_numbers_count_line_breaks_inside_quoted_cells(sessions: sessionmaker[Session]) -> None:
    data = csv_bytes(
        CUSTOMER_HEADER + ",address",
        '0000000100,赵敏,S010101,residential,220V,6,RES,"解放路1号',
        '2单元"',
        "0000000101,钱七,S010101,residential,999V,6,RES,",
    )
    assert rejected(sessions, "customers", data) == [
        (4, "voltage_level", "unknown value '999V'; expected one of: 220V, 380V, 10kV, 35kV, 110kV")
    ]


def test_several_problems_in_one_row_are_all_reported_in_column_order(
    sessions: sessionmaker[Session],
) -> None:
    data = csv_bytes(CUSTOMER_HEADER, "0000000100,,S999,residential,220V,x,RES,extra")
    assert rejected(sessions, "customers", data) == [
        (2, "name", "required value is missing"),
        (2, "org_code", "unknown organisation code 'S999'"),
        (2, "contracted_capacity_kva", "expected a number, got 'x'"),
        (2, "#8", "a cell beyond the last header column"),
    ]


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("20100000001", "meter address must be exactly 12 decimal digits (BCD), got '20100000001'"),
        ("20100000000A", "meter address must be exactly 12 decimal digits (BCD), got '20100000000A'"),
        ("999999999999", "meter address 999999999999 is reserved (broadcast / unset)"),
    ],
)
def test_bad_meter_address(sessions: sessionmaker[Session], address: str, reason: str) -> None:
    data = csv_bytes(METER_HEADER, f"{address},S010101,single_phase,1,220V,5(60)A,1/1,1/1,")
    assert rejected(sessions, "meters", data) == [(2, "meter_address", reason)]


def test_xlsx_number_that_lost_its_leading_zeros(sessions: sessionmaker[Session]) -> None:
    data = xlsx_bytes(
        METER_HEADER.split(","),
        [12345678901, "S010101", "single_phase", 1, "220V", "5(60)A", "1/1", "1/1", None],
    )
    reason = (
        "meter address must be exactly 12 decimal digits (BCD), got '12345678901'"
        " (the cell holds a number: format the column as text to keep leading zeros)"
    )
    assert rejected(sessions, "meters", data, "xlsx") == [(2, "meter_address", reason)]


def test_bad_meter_rows(sessions: sessionmaker[Session]) -> None:
    data = csv_bytes(
        METER_HEADER,
        "202000000001,S010101,three_phase_ct,3,3x220/380V,1.5(6)A,200:5,1/1,",
        "202000000002,S010101,three_phase_ct,3,3x220/380V,1.5(6)A,7/2,1/1,",
        "202000000003,S010101,three_phase_ct,3,3x220/380V,1.5(6)A,200/5,1/1,60",
        "202000000004,S010101,single_phase,3,220V,5(60)A,1/1,1/1,",
        "202000000005,S010101,single_phase,1.5,220V,5(60)A,1/1,1/1,",
        "202000000006,S010101,single_phase,1,220V,5(60)A,1/1,1/1,0",
    )
    assert rejected(sessions, "meters", data) == [
        (2, "ct_ratio", "ratio must look like 200/5, got '200:5'"),
        (3, "ct_ratio", "ratio 7/2 must be a positive whole multiple (primary/secondary)"),
        (4, "multiplier", "multiplier 60 does not match CT 200/5 × PT 1/1 = 40 × 1 = 40"),
        (5, "phases", "a single_phase meter has 1 phase(s), got 3"),
        (6, "phases", "expected a whole number, got '1.5'"),
        (7, "multiplier", "must be at least 1, got 0"),
    ]


def test_bad_transformer_area_rows(sessions: sessionmaker[Session]) -> None:
    data = csv_bytes(
        AREA_HEADER,
        "TQ-C,城关3号台区,S010101,F999,400",
        "TQ-D,城关4号台区,S010101,F101,0",
        "TQ-E,城关5号台区,S010101,F101,400.5",
    )
    assert rejected(sessions, "transformer-areas", data) == [
        (2, "feeder_code", "unknown feeder code 'F999'"),
        (3, "capacity_kva", "must be at least 1, got 0"),
        (4, "capacity_kva", "expected a whole number, got '400.5'"),
    ]


def test_bad_transformer_area_kind_imports_nothing(sessions: sessionmaker[Session]) -> None:
    data = csv_bytes(
        AREA_HEADER + ",kind",
        "TQ-C,城关3号台区,S010101,F101,400,public",
        "ZB-D,东县机械厂专变,S010101,F101,630,专用变",
        "TQ-A,城关1号台区,S010101,F101,400,Public",
    )
    expected = "expected one of: public, dedicated, 公变, 专变"
    assert rejected(sessions, "transformer-areas", data) == [
        (3, "kind", f"unknown value '专用变'; {expected}"),
        (4, "kind", f"unknown value 'Public'; {expected}"),
    ]
    assert set(_kinds(sessions)) == {"TQ-A", "TQ-A2", "TQ-B"}


def test_bad_metering_point_references(sessions: sessionmaker[Session]) -> None:
    data = csv_bytes(
        POINT_HEADER,
        "MP0100,billing,0000000099,201000000009,TQ-A,,,,2024-01-01,",
        "MP0101,billing,0000000003,201000000099,TQ-A,,,,2024-01-01,",
        "MP0102,billing,0000000003,201000000009,TQ-Z,,,,2024-01-01,",
        "MP0103,billing,0000000003,201000000009,TQ-A,3301-1,,,2024-01-01,",
        "MP0104,billing,0000000003,201000000009,TQ-A,3301-00002,5,,2024-01-01,",
        "MP0105,billing,0000000003,201000000009,TQ-A,3301-00009,,,2024-01-01,",
        "MP0106,billing,0000000003,201000000009,TQ-A,,,BX-B-01,2024-01-01,",
    )
    assert rejected(sessions, "metering-points", data) == [
        (2, "customer_no", "no customer with customer_no 0000000099"),
        (3, "meter_address", "no meter with address 201000000099"),
        (4, "transformer_area_code", "no 台区 (transformer area) with code TQ-Z"),
        (
            5,
            "terminal_address",
            "terminal address must look like 3301-00002 (area code-terminal number), got '3301-1'",
        ),
        (6, "terminal_address", "terminal 3301-00002 serves 台区 TQ-B, not TQ-A"),
        (7, "terminal_address", "no terminal with address 3301-00009"),
        (8, "meter_box_code", "meter box BX-B-01 is in 台区 TQ-B, not TQ-A"),
    ]


def test_bad_metering_point_rules(sessions: sessionmaker[Session]) -> None:
    data = csv_bytes(
        POINT_HEADER,
        "MP0100,billing,0000000003,201000000009,TQ-A,,,,2024-01-01,2024-01-01",
        "MP0101,billing,,201000000009,TQ-A,,,,2024-01-01,",
        "MP0102,supply,0000000003,201000000009,TQ-A,,,,2024-01-01,",
        "MP0103,billing,0000000003,201000000009,TQ-A,,7,,2024-01-01,",
        "MP0104,billing,0000000003,201000000009,TQ-A,,,,2024-01-01,2023-12-31",
    )
    assert rejected(sessions, "metering-points", data) == [
        (2, "valid_to", "valid_to 2024-01-01 must be after valid_from 2024-01-01"),
        (3, "customer_no", "a billing metering point needs the customer_no it bills"),
        (4, "customer_no", "a supply (台区总表) metering point has no customer; leave it empty"),
        (5, "point_number", "a point_number needs the terminal_address it is numbered in"),
        (6, "valid_to", "valid_to 2023-12-31 must be after valid_from 2024-01-01"),
    ]


def test_overlapping_periods_against_the_database_and_within_the_file(
    sessions: sessionmaker[Session],
) -> None:
    data = csv_bytes(
        POINT_HEADER,
        # MP0001 is stored open from 2020-01-01: a second open period overlaps it
        "MP0001,billing,0000000001,201000000009,TQ-A,,,,2024-01-01,",
        # MP0002 is stored 2019-01-01..2021-06-01 and open from 2021-06-01
        "MP0002,billing,0000000002,201000000009,TQ-A,,,,2018-01-01,2019-02-01",
        "MP0100,billing,0000000003,201000000009,TQ-A,,,,2020-01-01,",
        "MP0100,billing,0000000003,201000000009,TQ-A,,,,2022-01-01,2023-01-01",
        "MP0100,billing,0000000003,201000000009,TQ-A,,,,2020-01-01,2021-01-01",
    )
    assert rejected(sessions, "metering-points", data) == [
        (2, "valid_from", "period 2024-01-01..(open) overlaps MP0001 2020-01-01..(open) in the database"),
        (
            3,
            "valid_from",
            "period 2018-01-01..2019-02-01 overlaps MP0002 2019-01-01..2021-06-01 in the database",
        ),
        (5, "valid_from", "period 2022-01-01..2023-01-01 overlaps MP0100 2020-01-01..(open) on line 4"),
        (6, "metering_point_code", "duplicate metering point MP0100 from 2020-01-01: already on line 4"),
    ]


# --- header and file problems -------------------------------------------------------------------------


def test_unknown_and_missing_header_columns(sessions: sessionmaker[Session]) -> None:
    data = csv_bytes(
        "custmer_no,name,org_code,customer_class,voltage_level,contracted_capacity_kva,tariff_code,colour",
        "0000000100,赵敏,S010101,residential,220V,6,RES,red",
    )
    assert rejected(sessions, "customers", data) == [
        (1, "custmer_no", "unknown column (did you mean customer_no?)"),
        (
            1,
            "colour",
            "unknown column; the customers columns are: customer_no, name, org_code, customer_class, "
            "voltage_level, contracted_capacity_kva, tariff_code, billing_group, status, opened_on, "
            "id_number, phone, address",
        ),
        (1, "customer_no", "required column is missing from the header"),
    ]


def test_header_names_ignore_case_but_not_repetition(sessions: sessionmaker[Session]) -> None:
    data = csv_bytes("Customer_No," + CUSTOMER_HEADER.split(",", 1)[1] + ",name", "0000000100,赵敏,S010101")
    assert rejected(sessions, "customers", data) == [(1, "name", "column appears twice (columns 2 and 8)")]


def test_semicolon_separated_file(sessions: sessionmaker[Session]) -> None:
    data = csv_bytes(CUSTOMER_HEADER.replace(",", ";"), "0000000100;赵敏")
    errors = rejected(sessions, "customers", data)
    assert errors[0] == (
        1,
        CUSTOMER_HEADER.replace(",", ";"),
        "unknown column: columns must be separated by commas",
    )
    assert len(errors) == 1 + 7  # and every required column is missing


def test_gbk_file_is_refused_with_its_line(sessions: sessionmaker[Session]) -> None:
    data = (CUSTOMER_HEADER + "\r\n0000000100,").encode() + "赵敏".encode("gbk") + b",S010101\r\n"
    assert rejected(sessions, "customers", data) == [
        (
            2,
            "",
            "the file is not UTF-8 text (byte 0xd5); "
            "save it as 'CSV UTF-8' (GBK and other encodings are not read)",
        )
    ]


def test_empty_file_and_not_a_workbook(sessions: sessionmaker[Session]) -> None:
    assert rejected(sessions, "customers", b"\xef\xbb\xbf\r\n") == [
        (1, "", "the file is empty; line 1 must be the header")
    ]
    assert rejected(sessions, "customers", b"customer_no,name\r\n", "xlsx") == [
        (0, "", "not an Excel .xlsx workbook (BadZipFile)")
    ]


def test_header_only_imports_nothing_and_is_fine(sessions: sessionmaker[Session]) -> None:
    report = run(sessions, "customers", csv_bytes(CUSTOMER_HEADER))
    assert (report.ok, report.rows, report.inserted) == (True, 0, 0)


def test_unknown_kind_and_format_are_the_callers_mistake(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(ValueError, match="unknown archive kind 'bills'"):
        run(sessions, "bills", b"")
    with pytest.raises(ValueError, match="format: unknown format 'ods'"):
        run(sessions, "customers", b"", "ods")


def test_database_refusal_rolls_everything_back(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_apply = importer_module._apply

    def apply_then_fail(session: Session, *args: Any) -> None:
        real_apply(session, *args)
        session.execute(text("INSERT INTO customers (id) VALUES (NULL)"))  # violates NOT NULL

    monkeypatch.setattr(importer_module, "_apply", apply_then_fail)
    data = csv_bytes(CUSTOMER_HEADER, "0000000100,赵敏,S010101,residential,220V,6,RES")
    errors = rejected(sessions, "customers", data)
    assert len(errors) == 1
    assert errors[0][:2] == (0, "")
    assert errors[0][2].startswith(
        "the database refused the rows, nothing was imported: NOT NULL constraint failed"
    )


# --- organisation scope ------------------------------------------------------------------------------


def test_clerk_cannot_write_outside_their_station(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        clerk = principal_of(session, STATION_A)
    data = csv_bytes(
        CUSTOMER_HEADER,
        "0000000100,赵敏,S010102,residential,220V,6,RES",  # new customer in station B
        "0000000004,李娜,S010101,residential,220V,8,RES",  # station B's customer moved into A
        "0000000101,钱七,S010101,residential,220V,6,RES",  # fine on its own
    )
    assert rejected(sessions, "customers", data, principal=clerk) == [
        (2, "org_code", "organisation S010102 is outside your scope"),
        (3, "customer_no", "customer_no 0000000004 belongs to an organisation outside your scope"),
    ]


def test_clerk_cannot_point_at_objects_outside_their_station(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        clerk = principal_of(session, STATION_A)
    data = csv_bytes(
        POINT_HEADER,
        "MP0100,billing,0000000004,201000000004,TQ-B,,,,2024-01-01,",
        "MP0004,billing,0000000004,201000000004,TQ-A,,,,2021-03-15,",
    )
    assert rejected(sessions, "metering-points", data, principal=clerk) == [
        (2, "customer_no", "no customer with customer_no 0000000004 in your scope"),
        (2, "meter_address", "no meter with address 201000000004 in your scope"),
        (2, "transformer_area_code", "no 台区 (transformer area) with code TQ-B in your scope"),
        (
            3,
            "metering_point_code",
            "metering point MP0004 from 2021-03-15 belongs to an organisation outside your scope",
        ),
        (3, "customer_no", "no customer with customer_no 0000000004 in your scope"),
        (3, "meter_address", "no meter with address 201000000004 in your scope"),
    ]


def test_clerk_imports_within_their_station(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        clerk = principal_of(session, STATION_A)
    data = csv_bytes(CUSTOMER_HEADER, "0000000100,赵敏,S010101,residential,220V,6,RES")
    assert run(sessions, "customers", data, principal=clerk).inserted == 1


def test_report_as_dict() -> None:
    report = ImportReport(kind="customers", rows=3, errors=[RowError(2, "name", "required value is missing")])
    assert report.as_dict() == {
        "kind": "customers",
        "ok": False,
        "rows": 3,
        "inserted": 0,
        "updated": 0,
        "unchanged": 0,
        "errors": [{"line": 2, "column": "name", "reason": "required value is missing"}],
    }


def audit_trail(sessions: sessionmaker[Session]) -> list[tuple[str, str, dict[str, object]]]:
    with sessions() as session:
        records = session.execute(select(AuditRecord.actor, AuditRecord.action, AuditRecord.detail)).all()
    return [(actor, action, json.loads(detail)) for actor, action, detail in records]


def test_import_needs_edit_archives_and_is_audited(sessions: sessionmaker[Session]) -> None:
    data = csv_bytes(CUSTOMER_HEADER, "0000000100,赵敏,S010101,residential,220V,6,RES")
    with sessions() as session:
        analyst = principal_of(session, STATION_A, permissions=frozenset({"read_data"}))
        clerk = principal_of(session, STATION_A)
    with pytest.raises(PermissionDenied, match="edit_archives"):
        run(sessions, "customers", data, principal=analyst)
    assert rejected(sessions, "customers", csv_bytes(CUSTOMER_HEADER, "0000000100,,S010101")) != []
    assert audit_trail(sessions) == []  # neither a refused nor a bad import writes anything
    assert run(sessions, "customers", data, principal=clerk).inserted == 1
    assert audit_trail(sessions) == [
        (
            "clerk-S010101",
            "archives.import",
            {"kind": "customers", "rows": 1, "inserted": 1, "updated": 0, "unchanged": 0},
        )
    ]
