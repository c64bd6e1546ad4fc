"""`gridcare vee` and `gridcare lineloss`: exit codes, output, and bad input that changes nothing."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from gridcare.cli import app
from gridcare.config import Settings
from gridcare.mdm.store import MdmLake
from gridcare.storage.database import Database
from tests.mdm.test_tasks_world import C2, C3, actual_rows, build_world, day, write_actuals

runner = CliRunner()
ON_DAY_10 = ["--from", "2024-06-11", "--to", "2024-06-11"]


@pytest.fixture
def data_dir(settings: Settings, database: Database) -> str:
    build_world(database)
    write_actuals(settings, actual_rows(range(11)), flush=True)
    return str(settings.data_dir)


def _versions(data_dir: str, meter: str) -> list[tuple[int, str, float]]:
    out = runner.invoke(
        app, ["vee", "history", "--meter", meter, *ON_DAY_10, "--json", "--data-dir", data_dir]
    )
    assert out.exit_code == 0, out.output
    return [(v["version"], v["source"], v["value"]) for v in json.loads(out.stdout)["versions"]]


def test_vee_run_prints_rule_counts(data_dir: str) -> None:
    out = runner.invoke(app, ["vee", "run", "--date", "2024-06-11", "--data-dir", data_dir])
    assert out.exit_code == 0, out.output
    assert "2024-06-11" in out.stdout
    assert "REG_DECREASE" in out.stdout and "MISSING" in out.stdout
    again = runner.invoke(app, ["vee", "run", "--date", "2024-06-11", "--json", "--data-dir", data_dir])
    body = json.loads(again.stdout)
    assert (body["flags"], body["estimates"], body["by_rule"]["REG_DECREASE"]) == (6, 0, 1)


def test_lineloss_compute_and_report_json(data_dir: str) -> None:
    out = runner.invoke(
        app, ["lineloss", "compute", "--date", "2024-06-06", "--json", "--data-dir", data_dir]
    )
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["by_status"] == {"qualified": 2}
    text = runner.invoke(app, ["lineloss", "compute", "--date", "2024-06-06", "--data-dir", data_dir])
    assert text.exit_code == 0 and "合格 qualified" in text.stdout
    report = runner.invoke(
        app, ["lineloss", "report", "--month", "2024-06", "--json", "--data-dir", data_dir]
    )
    assert report.exit_code == 0, report.output
    body = json.loads(report.stdout)
    assert body["month"] == "2024-06" and body["meters"] == 6
    tg = {r["unit"]: r for r in body["line_loss"] if r["level"] == "tg"}
    # only the freezes up to 2024-06-11 are in the lake: June is not covered, nothing is computable
    assert (tg["TQ-A"]["status"], tg["TQ-A"]["supply_kwh"], tg["TQ-A"]["missing_points"]) == (
        "not_computable",
        None,
        4,
    )
    table = runner.invoke(app, ["lineloss", "report", "--month", "2024-06", "--data-dir", data_dir])
    assert table.exit_code == 0 and "2024-06 月度线损" in table.stdout


def test_vee_edit_then_history(data_dir: str) -> None:
    args = ["vee", "edit", "--meter", C2, "--di", "05060101", "--freeze-time", "2024-06-11", "--value", "530",
            "--reason", "display photo", "--operator", "alice", "--data-dir", data_dir]  # fmt: skip
    out = runner.invoke(app, args)
    assert out.exit_code == 0, out.output
    assert "version 2" in out.stdout and "alice" in out.stdout
    assert _versions(data_dir, C2) == [(1, "actual", 100.0), (2, "edited", 530.0)]
    history = runner.invoke(
        app, ["vee", "history", "--meter", C2, *ON_DAY_10, "--json", "--data-dir", data_dir]
    )
    edited = json.loads(history.stdout)["versions"][1]
    assert (edited["who"], edited["why"], edited["effective"]) == ("alice", "display photo", True)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (["--meter", "2010000000"], "--meter: '2010000000' is not a 12-digit address"),
        (["--meter", "201000000099"], "--meter: 201000000099 is not in the meter archive"),
        (["--di", "0401"], "--di: '0401' is not an editable data item"),
        (
            ["--freeze-time", "2024-06-11 08:00"],
            "--freeze-time: 2024-06-11T08:00:00+08:00 is not a daily freeze",
        ),
        (["--value", "-3"], "--value: -3.0 is not a finite register value"),
        (["--reason", " "], "--reason: the reason for the edit is required"),
        (["--operator", ""], "--operator: must not be empty"),
    ],
)
def test_bad_edit_exits_2_and_changes_nothing(data_dir: str, change: list[str], message: str) -> None:
    base = {
        "--meter": C2,
        "--di": "05060101",
        "--freeze-time": "2024-06-11",
        "--value": "530",
        "--reason": "x",
    }
    base.update(dict(zip(change[::2], change[1::2], strict=True)))
    args = ["vee", "edit", *[x for kv in base.items() for x in kv], "--data-dir", data_dir]
    out = runner.invoke(app, args)
    assert out.exit_code == 2
    assert message in " ".join(out.stderr.split())
    assert out.stdout == ""
    assert _versions(data_dir, C2) == [(1, "actual", 100.0)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["vee", "run", "--date", "2024-06-31"], "--date"),
        (["vee", "run", "--date", "2024-06-11", "--history-days", "0"], "--history-days: must be at least 1"),
        (["lineloss", "compute", "--date", "yesterday"], "--date"),
        (["lineloss", "report", "--month", "2024-13"], "--month: '2024-13' is not YYYY-MM"),
        (["lineloss", "report", "--month", "June"], "--month: 'June' is not YYYY-MM"),
        (["vee", "history", "--meter", "abc"], "--meter: 'abc' is not a 12-digit address"),
        (["vee", "history", "--meter", "201000000099"], "--meter: 201000000099 is not in the meter archive"),
    ],
)
def test_bad_options_exit_2_naming_the_option(data_dir: str, args: list[str], message: str) -> None:
    out = runner.invoke(app, [*args, "--data-dir", data_dir])
    assert out.exit_code == 2
    assert message in " ".join(out.stderr.replace("│", " ").split())
    lake = MdmLake(Settings(data_dir=data_dir).lake_dir)  # type: ignore[arg-type]
    assert lake.latest_run("vee", day(10)) is None
    assert [r["version"] for r in lake.read_readings(day(10), day(10), meters=[C3]).to_pylist()] == []
