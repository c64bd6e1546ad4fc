"""`gridcare archives import|export`: counts on success; on a bad file a table of every bad row,
"nothing was imported" and exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from gridcare.archives.models import Customer
from gridcare.archives.transfer import export_archive
from gridcare.cli.archives import app
from gridcare.config import Settings
from gridcare.security.principal import SYSTEM
from gridcare.storage.database import Database
from gridcare.storage.db import transaction
from tests.archives.fixtures.transfer_archive import STATION_B, build_archive, principal_of

HEADER = "customer_no,name,org_code,customer_class,voltage_level,contracted_capacity_kva,tariff_code"
runner = CliRunner()


@pytest.fixture
def data_dir(settings: Settings, database: Database) -> Path:
    with transaction(database.sessions) as session:
        build_archive(session)
    return settings.data_dir


def invoke(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def customers(database: Database) -> int:
    with database.sessions() as session:
        return session.scalar(select(func.count()).select_from(Customer)) or 0


def test_import_good_file_prints_counts(data_dir: Path, database: Database, tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(
        f"{HEADER}\n0000000100,赵敏,S010101,residential,220V,6,RES\n0000000001,张伟,S010101,residential,220V,9,RES\n",
        encoding="utf-8",
    )
    code, output = invoke("import", "customers", path, "--data-dir", data_dir)
    assert code == 0, output
    assert "已导入 imported 2 customers row(s): 1 新增 inserted, 1 更新 updated, 0 未变 unchanged" in output
    assert customers(database) == 7


def test_import_bad_file_lists_every_bad_row_and_exits_2(
    data_dir: Path, database: Database, tmp_path: Path
) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(
        f"{HEADER}\n"
        "0000000100,,S010101,residential,220V,6,RES\n"
        "0000000101,好行,S010101,residential,220V,6,RES\n"
        "0000000102,坏类,S010101,[bold]martian,220V,6,RES\n"
        "0000000103,坏单位,S999,residential,220V,6,RES\n",
        encoding="utf-8",
    )
    code, output = invoke("import", "customers", path, "--data-dir", data_dir)
    assert code == 2
    assert "3 行有误 bad line(s), 3 个问题 problem(s)" in output
    assert "行 line" in output and "列 column" in output and "原因 reason" in output
    rows = [
        tuple(cell.strip() for cell in line.split("│")[1:-1]) for line in output.splitlines() if "│" in line
    ]
    assert rows == [
        ("2", "name", "required value is missing"),
        (
            "4",
            "customer_class",
            "unknown value '[bold]martian'; expected one of: residential, general_commercial, "
            "large_industrial, agricultural",
        ),
        ("5", "org_code", "unknown organisation code 'S999'"),
    ]
    assert "nothing was imported (未导入任何数据)" in output
    assert customers(database) == 6


def test_import_format_from_option_or_extension(data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "customers.txt"
    path.write_text(f"{HEADER}\n", encoding="utf-8")
    code, output = invoke("import", "customers", path, "--data-dir", data_dir)
    assert code == 2
    assert "format: unknown format 'txt'; expected csv or xlsx" in output
    code, output = invoke("import", "customers", path, "--format", "csv", "--data-dir", data_dir)
    assert (code, "0 新增 inserted" in output) == (0, True)
    code, output = invoke("import", "customers", tmp_path / "missing.csv", "--data-dir", data_dir)
    assert code == 2
    assert "missing.csv: no such file" in output


def test_unknown_kind_is_refused(data_dir: Path, tmp_path: Path) -> None:
    code, output = invoke("import", "bills", tmp_path / "x.csv", "--data-dir", data_dir)
    assert code == 2
    assert "bills" in output


def test_export_to_file_and_to_stdout(data_dir: Path, database: Database, tmp_path: Path) -> None:
    with database.sessions() as session:
        expected = export_archive(session, "metering-points", "csv", SYSTEM)
        station_b = principal_of(session, STATION_B, permissions=SYSTEM.permissions)
        expected_b = export_archive(session, "customers", "csv", station_b)
    out = tmp_path / "points.csv"
    code, output = invoke("export", "metering-points", "--out", out, "--data-dir", data_dir)
    assert code == 0, output
    assert "已导出 exported 8 metering-points row(s)" in output
    assert out.read_bytes() == expected
    result = runner.invoke(app, ["export", "customers", "--org", STATION_B, "--data-dir", str(data_dir)])
    assert result.exit_code == 0
    assert result.stdout_bytes == expected_b


def test_export_xlsx_needs_a_file_and_a_known_org(data_dir: Path, tmp_path: Path) -> None:
    code, output = invoke("export", "meters", "--format", "xlsx", "--data-dir", data_dir)
    assert code == 2
    assert "an .xlsx workbook must be written to a file" in output
    code, output = invoke("export", "meters", "--org", "NOPE", "--data-dir", data_dir)
    assert code == 2
    assert "--org: unknown organisation code 'NOPE'" in output
    out = tmp_path / "meters.xlsx"
    code, output = invoke("export", "meters", "--out", out, "--data-dir", data_dir)
    assert code == 0, output
    assert out.read_bytes()[:2] == b"PK"
    code, output = invoke("import", "meters", out, "--data-dir", data_dir)
    assert code == 0, output
    assert "0 新增 inserted, 0 更新 updated, 9 未变 unchanged" in output
