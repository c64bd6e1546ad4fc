"""Exporting archives: the principal's scope, key order, cell types and an exact round trip."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gridcare.archives.transfer import ArchiveKind, export_archive, import_archive
from gridcare.config import load_settings
from gridcare.security.authz import PermissionDenied
from gridcare.security.models import AuditRecord
from gridcare.security.principal import SYSTEM, Principal
from gridcare.storage.database import Database, open_database
from gridcare.storage.db import transaction
from tests.archives.fixtures.transfer_archive import (
    STATION_A,
    STATION_B,
    build_archive,
    build_devices,
    build_topology,
    principal_of,
)


@pytest.fixture
def sessions(database: Database) -> Iterator[sessionmaker[Session]]:
    with transaction(database.sessions) as session:
        build_archive(session)
    yield database.sessions


@pytest.fixture
def empty(tmp_path: Path) -> Iterator[Database]:
    """A second installation holding only the organisations and feeders, with other ids."""
    db = open_database(load_settings(environ={}, data_dir=tmp_path / "other"))
    with transaction(db.sessions) as session:
        build_topology(session, first_id=50)
    yield db
    db.dispose()


def export(
    sessions: sessionmaker[Session], kind: str, fmt: str = "csv", principal: Principal = SYSTEM
) -> bytes:
    with sessions() as session:
        return export_archive(session, kind, fmt, principal)


def lines(data: bytes) -> list[str]:
    return data.decode("utf-8-sig").split("\r\n")


def sheet_rows(data: bytes) -> list[tuple[object, ...]]:
    workbook = load_workbook(io.BytesIO(data))
    assert workbook.sheetnames[0] in {k.value for k in ArchiveKind}
    return list(workbook.worksheets[0].iter_rows(values_only=True))


def test_csv_export_is_utf8_with_bom_ordered_by_key(sessions: sessionmaker[Session]) -> None:
    data = export(sessions, "transformer-areas")
    assert data.startswith(b"\xef\xbb\xbf")
    assert lines(data) == [
        "transformer_area_code,name,org_code,feeder_code,capacity_kva,address,kind",
        'TQ-A,城关1号台区,S010101,F101,400,"解放路, 1号",public',
        "TQ-A2,城关2号台区,S010101,F101,315,,dedicated",
        "TQ-B,河口1号台区,S010102,F102,200,河口村,public",
        "",
    ]
    points = lines(export(sessions, "metering-points"))
    assert points[0] == (
        "metering_point_code,purpose,customer_no,meter_address,transformer_area_code,terminal_address,"
        "point_number,meter_box_code,valid_from,valid_to"
    )
    assert points[2:4] == [
        "MP0002,billing,0000000002,201000000012,TQ-A,3301-00001,2,BX-A-01,2019-01-01,2021-06-01",
        "MP0002,billing,0000000002,201000000002,TQ-A,3301-00001,2,BX-A-01,2021-06-01,",
    ]
    assert points[-2] == "ZB-TQ-B,supply,,201000000011,TQ-B,3301-00002,100,,2017-01-01,"
    meters = lines(export(sessions, "meters"))
    assert [m.split(",")[0] for m in meters[1:-1]] == sorted(m.split(",")[0] for m in meters[1:-1])
    assert (
        "201000000005,S010101,three_phase_ct,3,3x57.7/100V,1.5(6)A,0.5S,200/5,10000/100,4000,"
        in "\n".join(meters)
    )


def test_csv_export_quotes_commas_quotes_and_line_breaks(sessions: sessionmaker[Session]) -> None:
    text = export(sessions, "customers").decode("utf-8-sig")
    assert '0000000003,"城关超市 ""东门店"", 一楼",S010101,general_commercial,380V,50.00,' in text
    assert ',"解放路2号\n3单元"\r\n' in text
    assert (
        "0000000005,东县机械厂,S010101,large_industrial,10kV,630.25,GEN-2024,B01,active,2018-07-01," in text
    )


def test_xlsx_export_keeps_text_as_text_and_types_the_rest(sessions: sessionmaker[Session]) -> None:
    data = export(sessions, "customers", "xlsx")
    workbook = load_workbook(io.BytesIO(data))
    ws = workbook["customers"]
    assert ws.freeze_panes == "A2"
    header = [c.value for c in ws[1]]
    assert header[:3] == ["customer_no", "name", "org_code"]
    row = {h: c for h, c in zip(header, ws[2], strict=True)}
    assert (row["customer_no"].value, row["customer_no"].data_type) == ("0000000001", "s")
    assert row["contracted_capacity_kva"].value == 8
    assert row["opened_on"].value == datetime(2020, 1, 1)
    assert row["opened_on"].number_format == "yyyy-mm-dd"
    formula_like = {h: c for h, c in zip(header, ws[7], strict=True)}
    assert (formula_like["name"].value, formula_like["name"].data_type) == ("=1+1 便利店", "s")
    assert formula_like["opened_on"].value == datetime(2015, 5, 5)
    assert [r[0] for r in sheet_rows(data)[1:]] == [f"000000000{i}" for i in range(1, 7)]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_round_trip_of_all_four_kinds_is_exact(
    sessions: sessionmaker[Session], empty: Database, fmt: str
) -> None:
    files = {kind: export(sessions, kind, fmt) for kind in ArchiveKind}
    # 台区 first, then what only the archive's operator adds by hand (terminals, meter boxes), then the rest
    order = [
        ArchiveKind.TRANSFORMER_AREAS,
        ArchiveKind.CUSTOMERS,
        ArchiveKind.METERS,
        ArchiveKind.METERING_POINTS,
    ]
    expected_rows = {
        ArchiveKind.TRANSFORMER_AREAS: 3,
        ArchiveKind.CUSTOMERS: 6,
        ArchiveKind.METERS: 9,
        ArchiveKind.METERING_POINTS: 8,
    }
    for kind in order:
        report = import_archive(empty.sessions, kind, files[kind], fmt, SYSTEM)
        assert report.errors == []
        assert (report.inserted, report.updated) == (expected_rows[kind], 0)
        if kind is ArchiveKind.TRANSFORMER_AREAS:
            with transaction(empty.sessions) as session:
                build_devices(session)
    for kind in ArchiveKind:
        again = export(empty.sessions, kind, fmt)
        if fmt == "csv":
            assert again == files[kind], kind
        else:
            assert sheet_rows(again) == sheet_rows(files[kind]), kind
    # and importing the export into the archive it came from changes nothing
    for kind in order:
        report = import_archive(sessions, kind, files[kind], fmt, SYSTEM)
        assert (report.ok, report.inserted, report.updated, report.unchanged) == (
            True,
            0,
            0,
            expected_rows[kind],
        )


def test_export_by_a_station_clerk_shows_only_that_station(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        clerk_a, clerk_b = principal_of(session, STATION_A), principal_of(session, STATION_B)

    def keys(kind: str, principal: Principal) -> list[str]:
        return [line.split(",")[0] for line in lines(export(sessions, kind, principal=principal))[1:-1]]

    assert keys("customers", clerk_b) == ["0000000004", "0000000006"]
    assert keys("customers", clerk_a) == ["0000000001", "0000000002", "0000000003", "0000000005"]
    assert keys("meters", clerk_b) == ["201000000004", "201000000011"]
    assert keys("transformer-areas", clerk_b) == ["TQ-B"]
    assert keys("metering-points", clerk_b) == ["MP0004", "ZB-TQ-B"]
    assert len(keys("metering-points", clerk_a)) == 6
    assert [r[0] for r in sheet_rows(export(sessions, "customers", "xlsx", clerk_b))] == [
        "customer_no",
        "0000000004",
        "0000000006",
    ]


def test_a_clerk_round_trips_their_own_station(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        clerk = principal_of(session, STATION_B)
    for kind in (ArchiveKind.CUSTOMERS, ArchiveKind.METERS, ArchiveKind.METERING_POINTS):
        report = import_archive(sessions, kind, export(sessions, kind, principal=clerk), "csv", clerk)
        assert (report.errors, report.unchanged) == ([], report.rows)


def test_personal_data_only_for_those_allowed_and_audited(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        clerk = principal_of(session, STATION_A)
        manager = principal_of(
            session, STATION_A, permissions=frozenset({"read_data", "export_personal_data"})
        )
    plain = export(sessions, "customers", principal=clerk)
    assert lines(plain)[0] == (
        "customer_no,name,org_code,customer_class,voltage_level,contracted_capacity_kva,tariff_code,"
        "billing_group,status,opened_on"
    )
    assert "13812341234" not in plain.decode("utf-8-sig")
    # a file without the personal columns imports back without touching the stored personal data
    report = import_archive(sessions, "customers", plain, "csv", clerk)
    assert (report.errors, report.unchanged) == ([], 4)
    with sessions() as session:
        full = export_archive(session, "customers", "csv", manager)
        session.commit()
        trail = session.execute(select(AuditRecord.actor, AuditRecord.action, AuditRecord.detail)).all()
    assert lines(full)[0].endswith(",opened_on,id_number,phone,address")
    assert (
        "0000000001,张伟,S010101,residential,220V,8.00,RES-TIER-2024,B01,active,2020-01-01," in full.decode()
    )
    assert ",330102199001011234,13812341234,解放路1号" in full.decode()
    assert [(a, b, json.loads(c)) for a, b, c in trail][-1] == (
        "clerk-S010101",
        "personal.export",
        {"kind": "customers", "rows": 4, "fields": ["id_number", "phone", "address"]},
    )


def test_export_needs_read_data(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(PermissionDenied, match="read_data"):
        export(sessions, "meters", principal=Principal("nobody", permissions=frozenset()))
