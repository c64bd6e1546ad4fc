"""The demo supply company (`gridcare demo init`): determinism, realism of the archive, refusing to
overwrite, --reset, and the CLI."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from faker.providers.phone_number.zh_CN import Provider as PhoneProvider
from sqlalchemy import func, select
from typer.testing import CliRunner

from gridcare.archives.demo import (
    ArchivesExistError,
    ArchivesInUseError,
    build_demo,
    generate_demo,
    reset_archives,
)
from gridcare.archives.demo_build import area_sizes
from gridcare.archives.demo_catalog import AS_OF, capacity_for_demand, ct_ratio_for
from gridcare.archives.demo_people import id_check_char, org_code_check_char, uscc_check_char
from gridcare.archives.demo_store import ARCHIVE_TABLES
from gridcare.archives.models import Customer, Organisation, OrgLevel
from gridcare.cli.demo import app
from gridcare.config import load_settings
from gridcare.security.crypto import bind_keyring
from gridcare.security.models import Alert, AlertSeverity
from gridcare.storage.database import Database, open_database
from gridcare.storage.db import transaction

STANDARD_KVA = [50, 80, 100, 125, 160, 200, 250, 315, 400, 500, 630]
SUPPLY_CT = {
    50: "100/5",
    80: "150/5",
    100: "200/5",
    125: "250/5",
    160: "300/5",
    200: "400/5",
    250: "500/5",
    315: "600/5",
    400: "750/5",
    500: "1000/5",
    630: "1200/5",
}
ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
USCC = re.compile(r"^9[12]\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


def _open(data_dir: Path) -> Database:
    return open_database(load_settings(environ={}, data_dir=data_dir))


def _ratio(text: str) -> int:
    primary, secondary = text.split("/")
    return int(primary) // int(secondary)


def _dump(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every archive row, decrypted, ordered by id."""
    with db.sessions() as session:
        return {
            t.name: [tuple(r) for r in session.execute(select(t).order_by(t.c.id))] for t in ARCHIVE_TABLES
        }


def _count(db: Database, model: Any) -> int:
    with db.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


@dataclass
class Archive:
    orgs: dict[int, dict[str, Any]]
    areas: dict[int, dict[str, Any]]
    boxes: dict[int, dict[str, Any]]
    customers: dict[int, dict[str, Any]]
    meters: dict[int, dict[str, Any]]
    terminals: dict[int, dict[str, Any]]
    points: list[dict[str, Any]]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    """5,000 customers, seed 7, written to a fresh SQLite data directory and read back."""
    db = _open(tmp_path_factory.mktemp("demo5000"))
    generate_demo(db.sessions, 5000, 7)
    with db.sessions() as session:
        rows = {
            t.name: [dict(r) for r in session.execute(select(t).order_by(t.c.id)).mappings()]
            for t in ARCHIVE_TABLES
        }
    db.dispose()

    def by_id(name: str) -> dict[int, dict[str, Any]]:
        return {r["id"]: r for r in rows[name]}

    yield Archive(
        orgs=by_id("organisations"),
        areas=by_id("transformer_areas"),
        boxes=by_id("meter_boxes"),
        customers=by_id("customers"),
        meters=by_id("meters"),
        terminals=by_id("terminals"),
        points=rows["metering_points"],
    )


# -- reference functions --------------------------------------------------------------------------


def test_check_characters_match_published_examples() -> None:
    assert id_check_char("11010519491231002") == "X"  # GB 11643 example
    assert id_check_char("44052418800101001") == "4"
    assert org_code_check_char("70846113") == "6"
    assert uscc_check_char("91440300708461136") == "T"
    assert uscc_check_char("91110000802100433") == "B"


def test_transformer_and_ct_sizing() -> None:
    assert capacity_for_demand(0) == 50
    assert capacity_for_demand(50) == 50
    assert capacity_for_demand(50.01) == 80
    assert capacity_for_demand(300) == 315
    assert capacity_for_demand(2000) == 630  # the public series stops at 630 kVA
    assert {kva: ct_ratio_for(kva, 0.4) for kva in STANDARD_KVA} == SUPPLY_CT
    assert ct_ratio_for(1000, 10) == "75/5"  # 57.7 A x 1.25
    assert ct_ratio_for(315, 10) == "30/5"


@pytest.mark.parametrize("total", [50, 51, 299, 300, 301, 599, 5000, 12345])
def test_area_sizes_partition_into_50_to_300(total: int) -> None:
    import numpy as np

    sizes = area_sizes(np.random.default_rng(total), total)
    assert int(sizes.sum()) == total
    assert sizes.min() >= 50 and sizes.max() <= 300


def test_too_few_customers_is_refused() -> None:
    with pytest.raises(ValueError, match="customers: must be between 50"):
        build_demo(49, 1)


# -- determinism ----------------------------------------------------------------------------------


def test_same_seed_same_data_other_seed_other_data() -> None:
    first, again, other = build_demo(2000, 7), build_demo(2000, 7), build_demo(2000, 8)
    assert first.fingerprint() == again.fingerprint()
    assert first.fingerprint() != other.fingerprint()
    assert first.tables["customers"].column("name") != other.tables["customers"].column("name")
    # the fingerprint sees a single changed value
    first.tables["meters"].columns["manufacturer"][5] = "某厂"
    assert first.fingerprint() != again.fingerprint()


def test_same_fingerprint_in_processes_with_other_hash_seeds() -> None:
    code = "from gridcare.archives.demo import build_demo; print(build_demo(500, 7).fingerprint())"
    prints = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for hash_seed in ("1", "2")
    }
    assert prints == {build_demo(500, 7).fingerprint()}


def test_database_rows_identical_for_a_seed(tmp_path: Path) -> None:
    dumps = {}
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        db = _open(tmp_path / name)
        generate_demo(db.sessions, 1000, seed)
        dumps[name] = _dump(db)
        db.dispose()
    assert dumps["a"] == dumps["b"]
    assert dumps["a"]["customers"][0][2] == dumps["b"]["customers"][0][2]  # decrypted id numbers equal
    assert dumps["a"] != dumps["c"]
    assert dumps["a"]["customers"] != dumps["c"]["customers"]


# -- realism --------------------------------------------------------------------------------------


def test_counts_and_class_mix(archive: Archive) -> None:
    assert len(archive.customers) == 5000
    mix = Counter(c["customer_class"].value for c in archive.customers.values())
    assert 0.85 <= mix["residential"] / 5000 <= 0.90
    assert 0.08 <= mix["general_commercial"] / 5000 <= 0.10
    assert 0.005 <= mix["large_industrial"] / 5000 <= 0.01
    assert 0.02 <= mix["agricultural"] / 5000 <= 0.04
    tariffs = {c["customer_class"].value: c["tariff_code"] for c in archive.customers.values()}
    assert tariffs == {
        "residential": "RES-TIER-2024",
        "general_commercial": "GC-TOU-2024",
        "large_industrial": "LI-TWOPART-2024",
        "agricultural": "AGR-FLAT-2024",
    }


def test_organisation_tree(archive: Archive) -> None:
    levels = Counter(o["level"] for o in archive.orgs.values())
    assert levels[OrgLevel.COMPANY] == 1
    assert levels[OrgLevel.COUNTY] >= 2
    assert levels[OrgLevel.STATION] >= levels[OrgLevel.COUNTY]
    expected_parent_level = {OrgLevel.COUNTY: OrgLevel.COMPANY, OrgLevel.STATION: OrgLevel.COUNTY}
    for org in archive.orgs.values():
        if org["parent_id"] is None:
            assert org["path"] == f"/{org['id']}/"
            assert re.fullmatch(r"国网.+市供电公司", org["name"])
        else:
            parent = archive.orgs[org["parent_id"]]
            assert org["path"] == f"{parent['path']}{org['id']}/"
            assert parent["level"] == expected_parent_level[org["level"]]
            assert org["code"].startswith(parent["code"])
    stations = {o["id"] for o in archive.orgs.values() if o["level"] is OrgLevel.STATION}
    assert all(o["name"].endswith("供电所") for o in archive.orgs.values() if o["id"] in stations)
    assert {c["org_id"] for c in archive.customers.values()} <= stations
    assert {m["org_id"] for m in archive.meters.values()} <= stations
    assert {a["org_id"] for a in archive.areas.values()} <= stations
    # every station has customers
    assert {c["org_id"] for c in archive.customers.values()} == stations


def test_public_areas_have_50_to_300_billing_points_and_one_supply_point(archive: Archive) -> None:
    billing: Counter[int] = Counter()
    supply: Counter[int] = Counter()
    contracted: dict[int, Decimal] = defaultdict(Decimal)
    for p in archive.points:
        if p["purpose"].value == "billing":
            billing[p["transformer_area_id"]] += 1
            contracted[p["transformer_area_id"]] += archive.customers[p["customer_id"]][
                "contracted_capacity_kva"
            ]
        else:
            supply[p["transformer_area_id"]] += 1
    public = [a for a in archive.areas.values() if a["code"].startswith("TQ")]
    dedicated = [a for a in archive.areas.values() if a["code"].startswith("ZB")]
    assert len(public) + len(dedicated) == len(archive.areas)
    assert {a["kind"] for a in public} == {"public"} and {a["kind"] for a in dedicated} == {"dedicated"}
    sizes = [billing[a["id"]] for a in public]
    assert min(sizes) >= 50 and max(sizes) <= 300
    assert sum(80 <= s <= 200 for s in sizes) / len(sizes) >= 0.6  # most
    assert all(supply[a["id"]] == 1 for a in public)
    for a in public:
        demand = float(contracted[a["id"]]) * 0.3
        assert a["capacity_kva"] == next((k for k in STANDARD_KVA if k >= demand), 630), a["code"]
    for a in dedicated:
        assert billing[a["id"]] == 1 and supply[a["id"]] == 0


def test_supply_meters_are_ct_meters_sized_to_the_transformer(archive: Archive) -> None:
    supply_points = [p for p in archive.points if p["purpose"].value == "supply"]
    assert supply_points
    for p in supply_points:
        meter = archive.meters[p["meter_id"]]
        area = archive.areas[p["transformer_area_id"]]
        assert p["customer_id"] is None
        assert meter["meter_type"].value == "three_phase_ct"
        assert meter["ct_ratio"] == SUPPLY_CT[area["capacity_kva"]]
        assert meter["pt_ratio"] == "1/1"
        assert meter["multiplier"] == _ratio(meter["ct_ratio"])
        assert p["point_number"] == 1


def test_meter_addresses_valid_and_unique(archive: Archive) -> None:
    addresses = [m["address"] for m in archive.meters.values()]
    assert all(re.fullmatch(r"\d{12}", a) for a in addresses)
    assert not {"000000000000", "999999999999"} & set(addresses)
    assert len(set(addresses)) == len(addresses)


def test_meter_fields(archive: Archive) -> None:
    makers = {"威胜", "林洋", "华立", "海兴", "炬华", "科陆", "三星医疗"}
    for m in archive.meters.values():
        assert m["multiplier"] == _ratio(m["ct_ratio"]) * _ratio(m["pt_ratio"])
        assert m["status"].value == "installed"
        assert m["manufacturer"] in makers
        assert date(2013, 1, 1) <= m["install_date"] <= AS_OF
        assert re.fullmatch(r"20\d\d-0[1-3]-[A-Z]{2}-\d{3}", m["batch"])
    assert {m["manufacturer"] for m in archive.meters.values()} == makers


def test_customer_classes_have_consistent_supply_and_meters(archive: Archive) -> None:
    meter_of = {p["customer_id"]: archive.meters[p["meter_id"]] for p in archive.points if p["customer_id"]}
    assert len(meter_of) == len(archive.customers)
    for c in archive.customers.values():
        meter, cls, kva = meter_of[c["id"]], c["customer_class"].value, c["contracted_capacity_kva"]
        if cls == "residential":
            assert c["voltage_level"].value == "220V" and Decimal(4) <= kva <= Decimal(10)
            assert meter["meter_type"].value == "single_phase" and meter["multiplier"] == 1
        elif cls == "large_industrial":
            assert c["voltage_level"].value == "10kV" and kva >= 315
            assert meter["meter_type"].value == "three_phase_ct"
            assert meter["ct_ratio"] != "1/1"
            if kva in (315, 400):  # 高供低计: metered on the low side, transformer loss added (demo_terms)
                assert meter["pt_ratio"] == "1/1" and meter["rated_voltage"] == "3x220/380V"
                assert meter["multiplier"] == _ratio(meter["ct_ratio"])
            else:
                assert meter["pt_ratio"] == "10000/100"
                assert meter["multiplier"] == _ratio(meter["ct_ratio"]) * 100
        else:
            assert c["voltage_level"].value in {"220V", "380V"} and kva <= 100
            single = c["voltage_level"].value == "220V"
            assert (meter["meter_type"].value == "single_phase") == single
            if meter["meter_type"].value == "three_phase_ct":
                assert kva > 40 and meter["ct_ratio"] == ct_ratio_for(float(kva), 0.4)


def test_large_industrial_customers_have_a_large_customer_terminal(archive: Archive) -> None:
    industrial = {
        c["id"] for c in archive.customers.values() if c["customer_class"].value == "large_industrial"
    }
    assert industrial
    seen = set()
    for p in archive.points:
        if p["customer_id"] in industrial:
            terminal = archive.terminals[p["terminal_id"]]
            assert terminal["terminal_type"].value == "large_customer"
            assert terminal["transformer_area_id"] == p["transformer_area_id"]
            assert p["point_number"] == 1
            assert archive.areas[p["transformer_area_id"]]["capacity_kva"] == int(
                archive.customers[p["customer_id"]]["contracted_capacity_kva"]
            )
            seen.add(p["customer_id"])
    assert seen == industrial
    large = [t for t in archive.terminals.values() if t["terminal_type"].value == "large_customer"]
    assert len(large) == len(industrial)


def test_terminals_and_point_numbers(archive: Archive) -> None:
    public = {a["id"] for a in archive.areas.values() if a["code"].startswith("TQ")}
    concentrators = [t for t in archive.terminals.values() if t["terminal_type"].value == "concentrator"]
    assert sorted(t["transformer_area_id"] for t in concentrators) == sorted(public)
    addresses = [(t["area_code"], t["terminal_number"]) for t in archive.terminals.values()]
    assert len(set(addresses)) == len(addresses)
    assert all(re.fullmatch(r"\d{4}", a) and 1 <= n <= 65535 for a, n in addresses)
    assert {t["channel"].value for t in archive.terminals.values()} <= {"gprs", "4g", "ethernet"}
    assert {t["channel"].value for t in concentrators} >= {"gprs", "4g"}
    numbers: dict[int, list[int]] = defaultdict(list)
    for p in archive.points:
        numbers[p["terminal_id"]].append(p["point_number"])
    assert all(sorted(v) == list(range(1, len(v) + 1)) for v in numbers.values())
    assert set(numbers) == set(archive.terminals)


def test_metering_points_link_consistently(archive: Archive) -> None:
    box_load: Counter[int] = Counter()
    codes = set()
    for p in archive.points:
        area = archive.areas[p["transformer_area_id"]]
        meter = archive.meters[p["meter_id"]]
        box = archive.boxes[p["meter_box_id"]]
        assert archive.terminals[p["terminal_id"]]["transformer_area_id"] == area["id"]
        assert box["transformer_area_id"] == area["id"]
        assert meter["org_id"] == area["org_id"]
        assert p["valid_from"] == meter["install_date"] and p["valid_to"] is None
        if p["customer_id"]:
            customer = archive.customers[p["customer_id"]]
            assert customer["org_id"] == area["org_id"]
            assert p["valid_from"] >= customer["opened_on"]
        box_load[box["id"]] += 1
        codes.add(p["code"])
    assert len(codes) == len(archive.points)
    assert set(box_load) == set(archive.boxes)
    assert min(box_load.values()) >= 1 and max(box_load.values()) <= 12


def test_people_names_numbers_and_addresses(archive: Archive) -> None:
    company = next(o for o in archive.orgs.values() if o["level"] is OrgLevel.COMPANY)
    city = company["name"].removeprefix("国网").removesuffix("供电公司")
    prefixes = {str(p) for p in PhoneProvider.phonenumber_prefixes}
    persons = firms = born_local = 0
    ids = []
    for c in archive.customers.values():
        station = archive.orgs[c["org_id"]]
        county = archive.orgs[station["parent_id"]]
        county_name = county["name"].removeprefix(f"国网{city}").removesuffix("供电公司")
        town = station["name"].removesuffix("供电所")
        assert re.fullmatch(r".+(省|自治区)" + re.escape(city + county_name + town) + r".+", c["address"])
        assert re.fullmatch(r"1\d{10}", c["phone"]) and c["phone"][:3] in prefixes
        assert c["billing_group"].startswith(station["code"] + "-")
        assert c["customer_no"].isdigit() and len(c["customer_no"]) == 10
        number = c["id_number"]
        if number[0] == "9":
            assert USCC.fullmatch(number) and uscc_check_char(number[:17]) == number[17]
            assert number[2:8] == county["code"]
            firms += 1
        else:
            total = sum(int(d) * w for d, w in zip(number[:17], ID_WEIGHTS, strict=True))
            assert len(number) == 18 and number[17] == "10X98765432"[total % 11]
            born = datetime.strptime(number[6:14], "%Y%m%d").date()
            assert 19 <= (AS_OF - born).days / 365.25 <= 86
            assert 2 <= len(c["name"]) <= 4
            born_local += number[:6] == county["code"]
            persons += 1
            ids.append(number)
    assert len(set(ids)) == len(ids)
    assert firms >= 400 and persons >= 4000
    assert born_local / persons >= 0.75


@pytest.mark.slow
def test_large_build_stays_in_bands() -> None:
    data = build_demo(100_000, 1)
    mix = data.class_counts()
    assert 0.85 <= mix["residential"] / 100_000 <= 0.90
    assert 0.005 <= mix["large_industrial"] / 100_000 <= 0.01
    levels = Counter(data.tables["organisations"].column("level"))
    assert levels["county"] >= 5 and levels["station"] >= 20
    assert len(set(data.tables["meters"].column("address"))) == len(data.tables["meters"])


# -- refusing, reset ------------------------------------------------------------------------------


@pytest.fixture
def small(database: Database) -> Database:
    generate_demo(database.sessions, 300, 1)
    return database


def test_second_init_is_refused_and_changes_nothing(small: Database) -> None:
    before = _dump(small)
    with pytest.raises(ArchivesExistError) as info:
        generate_demo(small.sessions, 300, 2)
    assert info.value.counts["customers"] == 300
    assert _dump(small) == before


def test_reset_replaces_the_archive_with_a_fresh_one(small: Database, tmp_path: Path) -> None:
    summary = generate_demo(small.sessions, 400, 2, reset=True)
    assert summary.deleted["customers"] == 300
    assert summary.counts["customers"] == 400
    fresh = _open(tmp_path / "fresh")
    generate_demo(fresh.sessions, 400, 2)
    assert _dump(small) == _dump(fresh)
    fresh.dispose()


def test_reset_archives_deletes_every_archive_row(small: Database) -> None:
    deleted = reset_archives(small.sessions)
    assert deleted["customers"] == 300 and deleted["organisations"] >= 4
    assert all(rows == [] for rows in _dump(small).values())


def test_failed_reset_keeps_the_old_archive(small: Database) -> None:
    before = _dump(small)

    def explode(step: str, done: int, total: int) -> None:
        if step == "meters":
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        generate_demo(small.sessions, 500, 3, progress=explode, reset=True)
    assert _dump(small) == before


def test_reset_refused_while_other_data_refers_to_the_archive(small: Database) -> None:
    now = datetime(2024, 6, 1, tzinfo=UTC)
    with transaction(small.sessions) as session:
        session.add(
            Alert(
                rule="login_failures",
                severity=AlertSeverity.LOW,
                subject="x",
                message="m",
                org_id=1,
                first_seen_at=now,
                last_seen_at=now,
            )
        )
    with pytest.raises(ArchivesInUseError) as info:
        generate_demo(small.sessions, 300, 2, reset=True)
    assert info.value.references == {"alerts.org_id": 1}
    assert _count(small, Customer) == 300


@pytest.mark.postgres
def test_postgres_insert_and_ids_continue(postgres_url: str, tmp_path: Path) -> None:
    settings = load_settings(environ={}, data_dir=tmp_path, database_url=postgres_url)
    db = open_database(settings)
    bind_keyring(db.engine, settings.keyring_path)
    try:
        summary = generate_demo(db.sessions, 300, 4)
        with transaction(db.sessions) as session:
            org = Organisation(code="X1", name="新供电所", level=OrgLevel.STATION, parent_id=1, path="")
            session.add(org)
            session.flush()
            assert org.id == summary.counts["organisations"] + 1
            session.delete(org)
        with db.sessions() as session:
            customer = session.get(Customer, 1)
            assert customer is not None and customer.id_number[:1].isdigit()
    finally:
        reset_archives(db.sessions)
        db.dispose()


# -- CLI ------------------------------------------------------------------------------------------

runner = CliRunner()


def test_cli_init_refuse_and_reset(tmp_path: Path) -> None:
    args = ["init", "--customers", "300", "--seed", "5", "--data-dir", str(tmp_path)]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "客户 customers" in first.output and "300" in first.output
    assert "居民生活 residential" in first.output
    db = _open(tmp_path)
    assert _count(db, Customer) == 300

    again = runner.invoke(app, args)
    assert again.exit_code == 2
    assert str(tmp_path) in again.output and "--reset" in again.output
    assert _count(db, Customer) == 300

    reset = runner.invoke(app, [*args[:2], "400", *args[3:], "--reset"])
    assert reset.exit_code == 0, reset.output
    assert "已删除原有档案" in reset.output
    assert _count(db, Customer) == 400
    db.dispose()


def test_cli_defaults_from_settings_and_bad_count(tmp_path: Path) -> None:
    env = {"GRIDCARE_DEMO_CUSTOMERS": "120", "GRIDCARE_DEMO_SEED": "9"}
    result = runner.invoke(app, ["init", "--data-dir", str(tmp_path)], env=env)
    assert result.exit_code == 0, result.output
    db = _open(tmp_path)
    assert _count(db, Customer) == 120
    db.dispose()
    bad = runner.invoke(app, ["init", "--customers", "10", "--data-dir", str(tmp_path / "other")])
    assert bad.exit_code == 2
    assert "--customers" in bad.output
    assert not (tmp_path / "other" / "gridcare.db").exists()
