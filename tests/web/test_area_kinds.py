"""The console and 台区 kinds: the 台区 list shows 公变 / 专变 and filters by kind, a 专变's page says 台区
line loss does not apply, and the dashboard's line-loss distribution counts the public 台区 only.

The world is the console's (tests.web.conftest: the small two-station archive with supply meters and a month
of operations data) plus the 专变 ZB-A1 of station A (tests.support.archive.add_dedicated_area), whose
专变终端 3301-00003 is the terminal the operations builder takes offline today.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from gridcare.api.app import create_app
from gridcare.config import Settings
from gridcare.security import risk
from gridcare.storage.database import Database
from gridcare.storage.db import transaction
from tests.support.archive import add_dedicated_area, build_small_archive
from tests.web.conftest import Console
from tests.web.html import has_id, text_of
from tests.web.world import add_supply_meters, build_operations


@pytest.fixture
def console(settings: Settings, database: Database) -> Console:
    with transaction(database.sessions) as session:
        build_small_archive(session)
        add_dedicated_area(session)
    risk.configure(settings)
    add_supply_meters(database)
    world = build_operations(settings, database)
    return Console(create_app(settings, database), settings, database, world)


def test_area_list_shows_the_kind_and_filters_by_it(console: Console) -> None:
    client = console.client("manager")
    html = client.get("/areas").text
    assert text_of(html, "area-table").startswith("编号 名称 类型 供电单位")
    rows = text_of(html, "area-table")
    assert "TQ-A 城关1号台区 公变 城关供电所" in rows
    assert "TQ-B 河口1号台区 公变 河口供电所" in rows
    assert "ZB-A1 东县机械厂专变 专变 城关供电所" in rows
    assert text_of(html, "area-kind-filter") == "类型：全部 公变 专变"
    dedicated = client.get("/areas", params={"kind": "dedicated"}).text
    assert "ZB-A1" in text_of(dedicated, "area-table")
    assert "TQ-A" not in text_of(dedicated, "area-table") and "TQ-B" not in text_of(dedicated, "area-table")
    assert '<option value="dedicated" selected>' in dedicated
    public = text_of(client.get("/areas", params={"kind": "public"}).text, "area-table")
    assert "TQ-A" in public and "TQ-B" in public and "ZB-A1" not in public
    # an unknown kind is no filter, like an unknown customer class
    assert "ZB-A1" in text_of(client.get("/areas", params={"kind": "private"}).text, "area-table")
    english = text_of(client.get("/areas", params={"lang": "en"}).text, "area-table")
    assert english.startswith("Code Name Type Organisation")
    assert "TQ-A 城关1号台区 Public" in english and "ZB-A1 东县机械厂专变 Dedicated" in english


def test_dedicated_area_page_says_line_loss_does_not_apply(console: Console) -> None:
    client = console.client("manager")
    html = client.get("/areas/ZB-A1").text
    assert text_of(html, "area-kind") == "专变"
    assert text_of(html, "area-loss-not-applicable").startswith(
        "专变不适用台区线损 专变为客户自有变压器，无台区总表"
    )
    assert not has_id(html, "chart-area-loss") and not has_id(html, "area-loss-empty")
    assert text_of(html, "area-loss-rate") == "—"
    english = client.get("/areas/ZB-A1", params={"lang": "en"}).text
    assert text_of(english, "area-loss-not-applicable").startswith(
        "Transformer-area line loss does not apply to a dedicated transformer"
    )
    public = client.get("/areas/TQ-A").text
    assert text_of(public, "area-kind") == "公变"
    assert has_id(public, "chart-area-loss") and not has_id(public, "area-loss-not-applicable")
    # the MDM drill-down of a 专变 answers with the reason, naming no chart
    drill = client.get("/mdm/lineloss/ZB-A1")
    assert drill.status_code == 422
    assert "ZB-A1 为专变，不适用台区线损" in drill.text


def test_dashboard_line_loss_counts_public_areas_only(console: Console) -> None:
    world = console.world
    assert world is not None
    client = console.client("manager")
    # the offline terminal is ZB-A1's 专变终端: TQ-A and TQ-B read today's freeze, which closes yesterday
    assert world.offline_terminals == ["3301-00003"]
    loss = client.get("/api/v1/console/line-loss-distribution").json()
    yesterday = world.today - timedelta(days=1)
    # 3 台区 in the archive, 2 public: TQ-A loses 4.5 %, TQ-B 6.2 %; ZB-A1 is neither counted nor
    # "not computable"
    assert (loss["day"], loss["areas"], loss["computed"], loss["not_computable"]) == (
        yesterday.isoformat(),
        2,
        2,
        0,
    )
    assert loss["not_computable_reasons"] == {}
    assert [(b["label"], b["count"]) for b in loss["bins"] if b["count"]] == [("4–6%", 1), ("6–8%", 1)]
    home = client.get("/").text
    assert has_id(home, "chart-line-loss") and not has_id(home, "line-loss-not-computable")
    ranking = text_of(client.get("/mdm/lineloss", params={"day": yesterday.isoformat()}).text, "mdm-ranking")
    assert "TQ-A" in ranking and "TQ-B" in ranking and "ZB-A1" not in ranking
