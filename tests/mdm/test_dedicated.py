"""专变 (dedicated 台区) end to end: left out of 台区 line loss (daily, monthly, ranking, organisation
roll-ups), kept as sold energy in sold vs purchased; asking for a 专变's 台区 line loss is refused in the
services, the CLI and the API, naming the field.

The world is the MDM task world (``tests.mdm.test_tasks_world``: public 台区 TQ-A of station A and TQ-B of
station B, both with a supply meter, on feeder F101) plus the 专变 ZB-A1 of station A
(``tests.support.archive.add_dedicated_area``: customer 0000000005, CT/PT meter 201000000005 x600, 2.00 a
day = 1200 kWh) and the head meter 201000000099 of F101 (CT/PT x4000, 0.32 a day = 1280 kWh).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from typer.testing import CliRunner

from gridcare.api.app import create_app
from gridcare.archives.asset_models import FeederMeter
from gridcare.archives.models import AreaKind, Meter, MeterStatus, MeterType, TransformerArea
from gridcare.cli import app
from gridcare.config import Settings
from gridcare.mdm import results, tasks
from gridcare.mdm.store import KIND_LINELOSS, MdmLake
from gridcare.security.principal import SYSTEM
from gridcare.storage.database import Database
from gridcare.storage.db import transaction
from gridcare.timeutil import day_start
from tests.mdm.test_tasks_world import actual_rows, build_world, day, write_actuals
from tests.security.helpers import make_staff, token_for
from tests.support.archive import (
    COUNTY,
    DEDICATED_CODE,
    DEDICATED_METER,
    add_dedicated_area,
)

HEAD = "201000000099"
HEAD_MULTIPLIER = 4000  # CT 200/5 x PT 10000/100
NOT_APPLICABLE = f"{DEDICATED_CODE} 为专变，不适用台区线损"


def _registers(start: str, per_day: str, days: range) -> list[tuple[int, Decimal]]:
    return [(i, Decimal(start) + Decimal(per_day) * i) for i in days]


def _rows(meter: str, registers: list[tuple[int, Decimal]]) -> list[dict[str, Any]]:
    return [
        {"meter": meter, "di": "05060101", "freeze_time": day_start(day(i)), "value": v} for i, v in registers
    ]


def build_dedicated_world(settings: Settings, database: Database) -> None:
    """The world of the module docstring with the freezes of 2024-06-01 .. 2024-07-01 in the lake."""
    build_world(database)
    with transaction(database.sessions) as session:
        add_dedicated_area(session)
        session.add(
            Meter(
                id=99,
                address=HEAD,
                meter_type=MeterType.THREE_PHASE_CT,
                phases=3,
                rated_voltage="3x57.7/100V",
                rated_current="1.5(6)A",
                ct_ratio="200/5",
                pt_ratio="10000/100",
                multiplier=HEAD_MULTIPLIER,
                org_id=COUNTY,
                status=MeterStatus.INSTALLED,
                install_date=date(2020, 1, 1),
            )
        )
        session.flush()
        session.add(FeederMeter(feeder_id=1, meter_id=99, valid_from=date(2020, 1, 1)))
    rows = actual_rows(range(31))
    rows += _rows(DEDICATED_METER, _registers("1000.00", "2.00", range(31)))
    rows += _rows(HEAD, _registers("100.00", "0.32", range(31)))
    write_actuals(settings, rows, flush=True)


@pytest.fixture
def world(settings: Settings, database: Database) -> tuple[Settings, Database]:
    build_dedicated_world(settings, database)
    return settings, database


def _set_kind(database: Database, kind: AreaKind) -> None:
    with transaction(database.sessions) as session:
        session.execute(
            update(TransformerArea).where(TransformerArea.code == DEDICATED_CODE).values(kind=kind.value)
        )


def test_daily_line_loss_covers_the_public_areas_only(world: tuple[Settings, Database]) -> None:
    settings, database = world
    run = tasks.compute_line_loss(settings, database, day(5))
    # 8 meters: 4 customers and 2 supply meters of the public 台区, the 专变's meter, the feeder head meter
    assert (run.tgs, run.meters, run.by_status) == (2, 8, {"qualified": 2})
    lake = MdmLake(settings.lake_dir)
    table = lake.results(lake.lineloss, KIND_LINELOSS, day(5))
    assert table is not None
    got = {r["tg"]: (r["supply_kwh"], r["sold_kwh"], r["loss_kwh"], r["org"]) for r in table.to_pylist()}
    assert got == {"TQ-A": (19.5, 18.0, 1.5, "S010101"), "TQ-B": (4.4, 4.0, 0.4, "S010102")}
    # the meters' energies are kept for every meter, the 专变's included (2.00 x 600)
    energy = lake.results(lake.energy, KIND_LINELOSS, day(5))
    assert energy is not None
    by_meter = {r["meter"]: (r["energy_kwh"], r["tg"]) for r in energy.to_pylist()}
    assert by_meter[DEDICATED_METER] == (1200.0, DEDICATED_CODE)
    assert by_meter[HEAD] == (1280.0, None)
    with database.sessions() as session:
        ranking = results.line_loss_ranking(session, settings, SYSTEM, day(5))
    assert [i["tg"] for i in ranking["items"]] == ["TQ-B", "TQ-A"]  # worst first: 9.09 %, 7.69 %
    assert ranking["by_status"]["not_computable"] == 0


def test_monthly_report_leaves_the_dedicated_area_out_but_sells_its_energy(
    world: tuple[Settings, Database],
) -> None:
    settings, database = world
    with database.sessions() as session:
        report = tasks.line_loss_report(session, settings, SYSTEM, "2024-06")
    loss = {
        (r["level"], r["unit"]): (r["supply_kwh"], r["sold_kwh"], r["loss_kwh"], r["status"], r["tg_total"])
        for r in report.loss.to_pylist()
    }
    # June: TQ-A supply 30 x 19.5 = 585, sold 150 + 90 + 310 = 550; TQ-B supply 132, sold 120; no ZB-A1 row
    assert loss == {
        ("tg", "TQ-A"): (585.0, 550.0, 35.0, "qualified", 1),
        ("tg", "TQ-B"): (132.0, 120.0, 12.0, "qualified", 1),
        ("feeder", "F101"): (717.0, 670.0, 47.0, "qualified", 2),
        ("org", "C01"): (717.0, 670.0, 47.0, "qualified", 2),
        ("org", "C0101"): (717.0, 670.0, 47.0, "qualified", 2),
        # station A holds TQ-A and the 专变 ZB-A1: its 台区 line loss is TQ-A's alone
        ("org", "S010101"): (585.0, 550.0, 35.0, "qualified", 1),
        ("org", "S010102"): (132.0, 120.0, 12.0, "qualified", 1),
    }
    bought = {(r["level"], r["unit"]): r for r in report.purchased.to_pylist()}
    # purchased: 30 x 0.32 x 4000 = 38400; sold: every customer meter, the 专变's 30 x 1200 = 36000 included:
    # 550 + 120 + 36000 = 36670; loss 1730 = 4.51 % (within the 8 % limit)
    for unit in (("feeder", "F101"), ("org", "C0101"), ("org", "C01")):
        r = bought[unit]
        assert (r["purchased_kwh"], r["sold_kwh"], r["loss_kwh"], r["status"]) == (
            38400.0,
            36670.0,
            1730.0,
            "ok",
        )
        assert r["loss_rate"] == pytest.approx(1730 / 38400)


def test_results_stored_before_the_area_was_marked_dedicated_leave_the_ranking(
    world: tuple[Settings, Database],
) -> None:
    settings, database = world
    _set_kind(database, AreaKind.PUBLIC)  # as an archive from before 台区 kinds holds it
    tasks.compute_line_loss(settings, database, day(5))
    lake = MdmLake(settings.lake_dir)
    stored = lake.results(lake.lineloss, KIND_LINELOSS, day(5))
    assert stored is not None
    old = {r["tg"]: (r["status"], r["reason"]) for r in stored.to_pylist()}
    assert old[DEDICATED_CODE] == ("not_computable", "no_supply_meter")
    _set_kind(database, AreaKind.DEDICATED)
    with database.sessions() as session:
        ranking = results.line_loss_ranking(session, settings, SYSTEM, day(5))
    assert [i["tg"] for i in ranking["items"]] == ["TQ-B", "TQ-A"]  # worst first: 9.09 %, 7.69 %
    assert ranking["by_status"] == {"high": 0, "negative": 0, "not_computable": 0, "low": 0, "qualified": 2}


def test_drill_down_of_a_dedicated_area_is_refused_naming_the_field(world: tuple[Settings, Database]) -> None:
    settings, database = world
    tasks.compute_line_loss(settings, database, day(5))
    with database.sessions() as session:
        with pytest.raises(results.LineLossNotApplicable, match=f"^tg: {NOT_APPLICABLE}") as caught:
            results.tg_detail(session, settings, SYSTEM, DEDICATED_CODE, day(5))
        assert "is a dedicated transformer (专变): 台区 line loss does not apply" in str(caught.value)
        with pytest.raises(results.LineLossNotApplicable):
            results.tg_hints(session, settings, SYSTEM, DEDICATED_CODE, day(5))
        assert results.tg_detail(session, settings, SYSTEM, "TQ-A", day(5))["line_loss"]["supply_kwh"] == 19.5


def test_cli_show_of_a_dedicated_area_says_it_does_not_apply_and_exits_2(
    world: tuple[Settings, Database],
) -> None:
    settings, _ = world
    runner = CliRunner()
    data_dir = str(settings.data_dir)
    assert (
        runner.invoke(app, ["lineloss", "compute", "--date", "2024-06-06", "--data-dir", data_dir]).exit_code
        == 0
    )
    out = runner.invoke(
        app, ["lineloss", "show", "--tg", DEDICATED_CODE, "--date", "2024-06-06", "--data-dir", data_dir]
    )
    assert out.exit_code == 2
    message = " ".join(out.stderr.split())
    assert f"错误 error: --tg: {NOT_APPLICABLE}" in message
    assert "is a dedicated transformer (专变): 台区 line loss does not apply" in message
    assert out.stdout == ""
    shown = runner.invoke(
        app, ["lineloss", "show", "--tg", "TQ-A", "--date", "2024-06-06", "--json", "--data-dir", data_dir]
    )
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["line_loss"]["loss_kwh"] == 1.5
    computed = runner.invoke(
        app, ["lineloss", "compute", "--date", "2024-06-06", "--json", "--data-dir", data_dir]
    )
    assert (json.loads(computed.stdout)["tgs"], json.loads(computed.stdout)["by_status"]) == (
        2,
        {"qualified": 2},
    )


@pytest.fixture
def api(world: tuple[Settings, Database]) -> Iterator[TestClient]:
    settings, database = world
    tasks.compute_line_loss(settings, database, day(5))
    token = token_for(database, settings, make_staff(database, settings, "analyst-c", ["analyst"], "C01"))
    with TestClient(create_app(settings, database)) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def test_api_refuses_the_line_loss_of_a_dedicated_area_with_422(api: TestClient) -> None:
    r = api.get(f"/api/v1/mdm/lineloss/{DEDICATED_CODE}", params={"day": "2024-06-06"})
    assert r.status_code == 422
    assert r.json()["detail"].startswith(f"code: {NOT_APPLICABLE}")
    ranking = api.get("/api/v1/mdm/lineloss", params={"day": "2024-06-06"}).json()
    assert [i["tg"] for i in ranking["items"]] == ["TQ-B", "TQ-A"]  # worst first: 9.09 %, 7.69 %
    report = api.get("/api/v1/mdm/lineloss/report", params={"month": "2024-06"}).json()
    assert DEDICATED_CODE not in {r["unit"] for r in report["line_loss"]}
    assert api.get(f"/api/v1/transformer-areas/{DEDICATED_CODE}").json()["kind"] == "dedicated"
