"""MDM tasks: resolve the database and the lake, call the pure MDM pipelines, store what they return.

- :func:`meter_archive` — the meter archive (:data:`~gridcare.mdm.schema.METERS_SCHEMA`) from the metering
  points valid on a day;
- :func:`run_vee_task` — VEE of the freeze taken at 00:00 on a day (28 days of history), estimates of the gaps
  written as new reading versions, flags stored in ``<lake>/vee``;
- :func:`edit_reading` — an operator's correction: a new version (who, why, when), audited;
- :func:`reading_versions` — every version of a meter's readings, the effective one marked;
- :func:`compute_line_loss` — daily line loss of business day D (freezes D and D + 1) per 台区, stored in
  ``<lake>/lineloss`` with the meters' energies in ``<lake>/mdm_energy``;
- :func:`line_loss_report` — monthly line loss per 台区, feeder and organisation, and sold vs purchased.

Scope: MDM results belong to the organisation of the meter's 台区 (``org`` column, an organisation code); a
principal sees the results of the organisations in its scope (:func:`orgs_in_scope`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Float, String, and_, or_, select, type_coerce
from sqlalchemy.orm import Session

from gridcare.archives import queries
from gridcare.archives.asset_models import FeederMeter
from gridcare.archives.models import (
    Customer,
    Feeder,
    Meter,
    MeteringPoint,
    Organisation,
    PointPurpose,
    Terminal,
    TransformerArea,
)
from gridcare.config import Settings
from gridcare.mdm import (
    DI_FWD_ACTIVE,
    DI_FWD_ACTIVE_TARIFFS,
    DI_REV_ACTIVE,
    METERS_SCHEMA,
    DailyEnergy,
    Fleet,
    MdmInputError,
    VeeConfig,
    apply_edit,
    build_grid,
    daily_energy,
    daily_line_loss,
    estimate_gaps,
    latest_valid,
    monthly_line_loss,
    run_vee,
    sold_vs_purchased,
)
from gridcare.mdm.asset_tasks import adjust_for_assets
from gridcare.mdm.lineloss import _month_bounds
from gridcare.mdm.schema import (
    ROLE_CUSTOMER,
    ROLE_FEEDER,
    ROLE_SUPPLY,
    ROLES,
    TIMESTAMP,
    day_from_number,
    day_number,
)
from gridcare.mdm.store import KIND_LINELOSS, KIND_VEE, MdmLake, write_parts
from gridcare.security import audit
from gridcare.security.authz import require
from gridcare.security.principal import Principal
from gridcare.security.roles import Permission
from gridcare.storage.database import Database
from gridcare.timeutil import day_start, now_beijing, to_beijing

VEE_DIS = (DI_FWD_ACTIVE, DI_REV_ACTIVE, *DI_FWD_ACTIVE_TARIFFS)
"""Data items MDM validates and lets operators edit."""
HISTORY_DAYS = 28
LINE_LOSS_HISTORY_DAYS = 7
"""Freezes before day D that line loss reads, so a glitch or reset at D's freeze is recognised."""
ARCHIVE_COLUMNS = (*METERS_SCHEMA.names, "customer_no", "org_path")


# --- archive ----------------------------------------------------------------------------------------
def meter_archive(session: Session, on: date | None = None, *, until: date | None = None) -> pa.Table:
    """The meter archive of the metering points valid on ``on`` (None: the current ones), or with ``until``
    of the points in service on any day of ``on .. until`` (a point closed on ``on`` included: the meter
    replaced that day). Feeder head meters (线路关口表, ``feeder_meters``) come with role "feeder", no 台区,
    and the feeder's organisation.

    Columns: :data:`METERS_SCHEMA` (tg = 台区 code, role supply/customer/feeder, feeder code, org =
    organisation code of the 台区, terminal "AAAA-NNNNN", capacity = the customer's contracted or the
    transformer's capacity [kVA], tg_kind = the 台区's kind, public 公变 or dedicated 专变) plus
    ``customer_no`` and ``org_path``. A meter in several valid points keeps the one valid from latest.
    """
    if until is not None and on is None:
        raise MdmInputError("on: a range of days needs its first day")
    if until is not None and on is not None and until < on:
        raise MdmInputError(f"until: {until} is before {on}")
    stmt = (
        select(
            Meter.address,
            type_coerce(Meter.multiplier, Float),
            type_coerce(MeteringPoint.purpose, String),
            type_coerce(Customer.customer_class, String),
            type_coerce(Customer.contracted_capacity_kva, Float),
            Customer.customer_no,
            TransformerArea.code,
            type_coerce(TransformerArea.capacity_kva, Float),
            Feeder.code,
            Organisation.code,
            Organisation.path,
            Terminal.area_code,
            Terminal.terminal_number,
            TransformerArea.kind,
        )
        .select_from(MeteringPoint)
        .join(Meter, Meter.id == MeteringPoint.meter_id)
        .join(TransformerArea, TransformerArea.id == MeteringPoint.transformer_area_id)
        .join(Feeder, Feeder.id == TransformerArea.feeder_id)
        .join(Organisation, Organisation.id == TransformerArea.org_id)
        .outerjoin(Customer, Customer.id == MeteringPoint.customer_id)
        .outerjoin(Terminal, Terminal.id == MeteringPoint.terminal_id)
        .order_by(Meter.address, MeteringPoint.valid_from.desc())
    )
    stmt = stmt.where(_valid(MeteringPoint, on, until))
    names = ("meter", "mult", "purpose", "cls", "cap", "customer_no", "tg", "tg_cap", "feeder", "org", "path",
             "area", "number", "tg_kind")  # fmt: skip
    rows = session.execute(stmt).all()
    types = [pa.string(), pa.float64(), pa.string(), pa.string(), pa.float64(), pa.string(), pa.string(),
             pa.float64(), pa.string(), pa.string(), pa.string(), pa.string(), pa.int64(),
             pa.string()]  # fmt: skip
    raw = pa.table(
        [pa.array(list(col), t) for col, t in zip(zip(*rows, strict=True), types, strict=True)]
        if rows
        else [pa.array([], t) for t in types],
        names=names,
    )
    if raw.num_rows > 1:  # a meter in several valid points: keep its first row (latest valid_from)
        addr = raw["meter"].combine_chunks()
        first = pc.not_equal(addr.slice(1), addr.slice(0, len(addr) - 1))
        raw = raw.filter(pa.concat_arrays([pa.array([True]), first]))
    n = raw.num_rows
    supply = pc.equal(raw["purpose"], PointPurpose.SUPPLY.value)
    terminal = pc.binary_join_element_wise(
        raw["area"], pc.utf8_lpad(pc.cast(raw["number"], pa.string()), 5, "0"), "-"
    )
    cols = {
        "meter": raw["meter"],
        "multiplier": pc.fill_null(raw["mult"], 1.0),
        "customer_class": pc.if_else(supply, pa.scalar(None, pa.string()), raw["cls"]),
        "capacity_kva": pc.if_else(supply, raw["tg_cap"], raw["cap"]),
        "forward_only": pa.nulls(n, pa.bool_()),  # the archive does not record generation: reverse unchecked
        "tg": raw["tg"],
        "role": pc.if_else(supply, ROLE_SUPPLY, ROLE_CUSTOMER),
        "rollover_kwh": pa.nulls(n, pa.float64()),
        "feeder": raw["feeder"],
        "org": raw["org"],
        "terminal": terminal,
        "tg_kind": raw["tg_kind"],
        "customer_no": raw["customer_no"],
        "org_path": raw["path"],
    }
    schema = pa.schema(
        [*METERS_SCHEMA, pa.field("customer_no", pa.string()), pa.field("org_path", pa.string())]
    )
    points = pa.table(cols, schema=schema)
    heads = _feeder_heads(session, on, until, schema)
    if heads.num_rows == 0:
        return points
    known = pc.is_in(heads["meter"], value_set=points["meter"].combine_chunks())
    return pa.concat_tables([points, heads.filter(pc.invert(known))])


def _valid(table: Any, on: date | None, until: date | None) -> Any:
    """Rows of ``table`` (valid_from, valid_to) valid on ``on`` (None: current), or overlapping ``on ..
    until`` including the rows closed on ``on``."""
    if on is None:
        return table.valid_to.is_(None)
    if until is None:
        return and_(table.valid_from <= on, or_(table.valid_to.is_(None), table.valid_to > on))
    return and_(table.valid_from <= until, or_(table.valid_to.is_(None), table.valid_to >= on))


def _feeder_heads(session: Session, on: date | None, until: date | None, schema: pa.Schema) -> pa.Table:
    """Feeder head meters valid as in :func:`meter_archive`, in its layout (one row per meter)."""
    valid = _valid(FeederMeter, on, until)
    stmt = (
        select(
            Meter.address,
            type_coerce(Meter.multiplier, Float),
            Feeder.code,
            Organisation.code,
            Organisation.path,
        )
        .select_from(FeederMeter)
        .join(Meter, Meter.id == FeederMeter.meter_id)
        .join(Feeder, Feeder.id == FeederMeter.feeder_id)
        .join(Organisation, Organisation.id == Feeder.org_id)
        .where(valid)
        .order_by(Meter.address, FeederMeter.valid_from.desc())
    )
    rows: list[Any] = []
    seen: set[str] = set()
    for address, mult, feeder, org, path in session.execute(stmt):
        if address not in seen:
            seen.add(address)
            rows.append((address, mult, feeder, org, path))
    n = len(rows)
    col: list[Any] = list(zip(*rows, strict=True)) if rows else [(), (), (), (), ()]
    return pa.table(
        {
            "meter": pa.array(list(col[0]), pa.string()),
            "multiplier": pa.array([1.0 if m is None else m for m in col[1]], pa.float64()),
            "customer_class": pa.nulls(n, pa.string()),
            "capacity_kva": pa.nulls(n, pa.float64()),
            "forward_only": pa.nulls(n, pa.bool_()),
            "tg": pa.nulls(n, pa.string()),
            "role": pa.array([ROLE_FEEDER] * n, pa.string()),
            "rollover_kwh": pa.nulls(n, pa.float64()),
            "feeder": pa.array(list(col[2]), pa.string()),
            "org": pa.array(list(col[3]), pa.string()),
            "terminal": pa.nulls(n, pa.string()),
            "tg_kind": pa.nulls(n, pa.string()),
            "customer_no": pa.nulls(n, pa.string()),
            "org_path": pa.array(list(col[4]), pa.string()),
        },
        schema=schema,
    )


def orgs_in_scope(session: Session, principal: Principal) -> set[str] | None:
    """Codes of the organisations ``principal`` sees; None when it sees the whole company."""
    if principal.sees_everything:
        return None
    return {o.code for o in queries.list_organisations(session, principal)}


def scoped_rows(table: pa.Table, orgs: set[str] | None) -> pa.Table:
    """Rows of ``table`` whose ``org`` is in ``orgs`` (all rows when ``orgs`` is None)."""
    if orgs is None:
        return table
    mask = pc.is_in(table["org"], value_set=pa.array(sorted(orgs), pa.string()))
    return table.filter(pc.fill_null(mask, False))


def _labels(fleet: Fleet, positions: np.ndarray, idx: np.ndarray, labels: list[str]) -> pa.Array:
    """Label (tg, org, feeder ...) of the fleet positions (-1 = none, null)."""
    known = positions >= 0
    codes = np.where(known, idx[np.maximum(positions, 0)], -1) if fleet.n else np.full(positions.size, -1)
    table = pa.array([*labels, None], pa.string())
    return table.take(pa.array(np.where(codes < 0, len(labels), codes)))


# --- VEE --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VeeRun:
    """What :func:`run_vee_task` did."""

    day: date
    run_at: datetime
    meters: int
    readings: int
    flags: int
    estimates: int
    seconds: float
    by_rule: dict[str, int] = field(default_factory=dict)
    by_severity: dict[str, int] = field(default_factory=dict)
    estimates_by_method: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "run_at": self.run_at.isoformat(),
            "meters": self.meters,
            "readings": self.readings,
            "flags": self.flags,
            "estimates": self.estimates,
            "seconds": round(self.seconds, 3),
            "by_rule": self.by_rule,
            "by_severity": self.by_severity,
            "estimates_by_method": self.estimates_by_method,
        }


def _counts(column: pa.ChunkedArray) -> dict[str, int]:
    vc = pc.value_counts(column).to_pylist() if len(column) else []
    return {str(v["values"]): int(v["counts"]) for v in sorted(vc, key=lambda v: -v["counts"])}


def run_vee_task(
    settings: Settings,
    database: Database,
    day: date,
    *,
    history_days: int = HISTORY_DAYS,
    config: VeeConfig | None = None,
    now: datetime | None = None,
    who: str = "mdm.vee",
) -> VeeRun:
    """Validate the freeze taken at 00:00 on ``day`` against ``history_days`` of history; estimate gaps.

    Gaps (no actual or edited reading) anywhere in the window are estimated; an estimate becomes a new reading
    version (source "estimated") only when it is new or its value changed, so a re-run writes nothing twice
    and an actual read later (补抄) wins. Flags go to ``<lake>/vee/day=<day>``; the run is recorded last.
    """
    if history_days < 1:
        raise MdmInputError(f"history_days: must be at least 1, got {history_days}")
    cfg = config or VeeConfig()
    started = time.perf_counter()
    run_at = to_beijing(now or now_beijing())
    lake = MdmLake(settings.lake_dir)
    with database.sessions() as session:
        archive = meter_archive(session, on=day)
    fleet = Fleet.from_table(archive)
    first = day - timedelta(days=history_days)
    # history of the total and reverse registers; tariff registers only where TARIFF_SUM looks (the day)
    readings = pa.concat_tables(
        [
            lake.read_readings(first, day, dis=[DI_FWD_ACTIVE, DI_REV_ACTIVE]),
            lake.read_readings(day, day, dis=DI_FWD_ACTIVE_TARIFFS),
        ]
    )
    grid = build_grid(readings, fleet, first, day, duplicate_tolerance_kwh=cfg.duplicate_tolerance_kwh)
    flags = run_vee(grid, day, day, config=cfg)
    estimates = estimate_gaps(grid, when=run_at, start=first, end=day)
    lake.write_readings(estimates, run_at)

    pos = fleet.lookup(flags["meter"])
    stored = flags.append_column("tg", _labels(fleet, pos, fleet.tg_idx, fleet.tgs))
    stored = stored.append_column("org", _labels(fleet, pos, fleet.org_idx, fleet.orgs))
    stored = stored.append_column("run_at", pa.array([run_at] * flags.num_rows, TIMESTAMP))
    write_parts(lake.vee, stored)
    seconds = time.perf_counter() - started
    lake.record_run(
        {
            "kind": KIND_VEE,
            "day": day,
            "run_at": run_at,
            "who": who,
            "meters": fleet.n,
            "readings": readings.num_rows,
            "results": flags.num_rows,
            "estimates": estimates.num_rows,
            "seconds": seconds,
        }
    )
    return VeeRun(
        day=day,
        run_at=run_at,
        meters=fleet.n,
        readings=readings.num_rows,
        flags=flags.num_rows,
        estimates=estimates.num_rows,
        seconds=seconds,
        by_rule=_counts(flags["rule"]),
        by_severity=_counts(flags["severity"]),
        estimates_by_method=_counts(estimates["method"]),
    )


# --- edits and history ------------------------------------------------------------------------------
def _freeze_instant(value: datetime | date, what: str = "freeze_time") -> datetime:
    """00:00 Beijing of a freeze; a datetime must be exactly on a midnight (naive = Beijing time)."""
    if isinstance(value, datetime):
        aware = to_beijing(value)
        if (aware.hour, aware.minute, aware.second, aware.microsecond) != (0, 0, 0, 0):
            raise MdmInputError(f"{what}: {aware.isoformat()} is not a daily freeze (00:00 Beijing time)")
        return aware
    if isinstance(value, date):
        return day_start(value)
    raise MdmInputError(f"{what}: expected a date or datetime, got {type(value).__name__}")


def edit_reading(
    session: Session,
    settings: Settings,
    principal: Principal,
    *,
    meter: str,
    di: str,
    freeze_time: datetime | date,
    value: float,
    reason: str,
    when: datetime | None = None,
) -> dict[str, Any]:
    """Correct a reading: a new version (source "edited", who = the principal, why = ``reason``), audited.

    Raises MdmInputError (naming the field) for bad input, NotFound for a meter outside the archive or the
    principal's scope, PermissionDenied without ``edit_archives``. The audit record is added to ``session``
    (the caller commits); the reading is durable when this returns. Returns the new row.
    """
    require(principal, Permission.EDIT_ARCHIVES)
    if not (isinstance(meter, str) and len(meter) == 12 and meter.isdigit()):
        raise MdmInputError(f"meter: {meter!r} is not a 12-digit address")
    if di not in VEE_DIS:
        raise MdmInputError(f"di: {di!r} is not an editable data item; expected one of {', '.join(VEE_DIS)}")
    if not isinstance(reason, str) or not reason.strip():
        raise MdmInputError("reason: the reason for the edit is required")
    instant = _freeze_instant(freeze_time)
    queries.get_meter(session, principal, meter)  # NotFound when unknown or out of scope
    stamp = to_beijing(when or now_beijing())
    lake = MdmLake(settings.lake_dir)
    day = instant.date()
    existing = lake.read_readings(day, day, dis=[di], meters=[meter])
    row = apply_edit(existing, meter, di, instant, value, principal.username, reason.strip(), stamp)
    previous = latest_valid(existing)
    before = previous["value"][0].as_py() if previous.num_rows else None
    version = int(row["version"][0].as_py())
    audit.record(
        session,
        principal,
        "mdm.reading_edit",
        f"meter {meter}",
        detail={
            "di": di,
            "freeze_time": instant.isoformat(),
            "version": version,
            "value_before": before,
            "value": row["value"][0].as_py(),
            "reason": reason.strip()[:200],
        },
        now=stamp,
    )
    lake.write_readings(row, stamp)
    return {
        "meter": meter,
        "di": di,
        "freeze_time": instant,
        "value": row["value"][0].as_py(),
        "value_before": before,
        "version": version,
        "source": "edited",
        "who": principal.username,
        "why": reason.strip(),
        "recorded_at": stamp,
    }


def reading_versions(
    session: Session,
    settings: Settings,
    principal: Principal,
    meter: str,
    *,
    first: date | None = None,
    last: date | None = None,
    di: str | None = None,
) -> pa.Table:
    """Every stored version of ``meter``'s readings (default: the last 62 freeze days), oldest freeze first,
    versions ascending, with ``effective`` marking the version queries use. NotFound out of scope."""
    queries.get_meter(session, principal, meter)
    last = last or (now_beijing().date() + timedelta(days=1))
    first = first or (last - timedelta(days=62))
    if first > last:
        raise MdmInputError(f"first: {first} is after last {last}")
    lake = MdmLake(settings.lake_dir)
    cols = ("meter", "di", "freeze_time", "value", "version", "source", "method", "recorded_at", "who", "why")
    rows = lake.read_readings(first, last, dis=[di] if di else None, meters=[meter], columns=cols)
    order = pc.sort_indices(
        rows, sort_keys=[("freeze_time", "ascending"), ("di", "ascending"), ("version", "ascending")]
    )
    rows = rows.take(order)
    eff = latest_valid(rows)
    key = ["di", "freeze_time", "version", "source"]
    marked = eff.select(key).append_column("effective", pa.array([True] * eff.num_rows, pa.bool_()))
    joined = rows.join(marked, keys=key, join_type="left outer")
    joined = joined.take(
        pc.sort_indices(
            joined, sort_keys=[("freeze_time", "ascending"), ("di", "ascending"), ("version", "ascending")]
        )
    )
    return joined.set_column(
        joined.schema.get_field_index("effective"), "effective", pc.fill_null(joined["effective"], False)
    )


# --- line loss --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LineLossRun:
    """What :func:`compute_line_loss` did."""

    day: date
    run_at: datetime
    meters: int
    readings: int
    tgs: int
    seconds: float
    by_status: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "run_at": self.run_at.isoformat(),
            "meters": self.meters,
            "readings": self.readings,
            "tgs": self.tgs,
            "seconds": round(self.seconds, 3),
            "by_status": self.by_status,
        }


def _tg_attributes(fleet: Fleet) -> tuple[pa.Array, pa.Array]:
    """Feeder and organisation of each 台区 (label order): its supply meter's, else any meter's."""
    n = len(fleet.tgs)
    feeder = np.full(n, -1, np.int64)
    org = np.full(n, -1, np.int64)
    has = fleet.tg_idx >= 0
    order = np.flatnonzero(has)
    order = order[np.argsort(fleet.role[order] == ROLES.index(ROLE_SUPPLY), kind="stable")]  # supply last
    feeder[fleet.tg_idx[order]] = fleet.feeder_idx[order]
    org[fleet.tg_idx[order]] = fleet.org_idx[order]

    def lab(codes: np.ndarray, labels: list[str]) -> pa.Array:
        return pa.array([*labels, None], pa.string()).take(pa.array(np.where(codes < 0, len(labels), codes)))

    return lab(feeder, fleet.feeders), lab(org, fleet.orgs)


def _one_day(energy: DailyEnergy, day: date) -> DailyEnergy:
    j = day_number(day) - energy.first_day
    return DailyEnergy(
        fleet=energy.fleet,
        first_day=day_number(day),
        energy_kwh=energy.energy_kwh[:, j : j + 1],
        span_days=energy.span_days[:, j : j + 1],
    )


def compute_line_loss(
    settings: Settings,
    database: Database,
    day: date,
    *,
    now: datetime | None = None,
    who: str = "mdm.lineloss",
) -> LineLossRun:
    """Daily line loss of business day ``day`` (closed by the freeze of ``day + 1``) for every public 台区
    (公变; a 专变 is not a 台区 line-loss object). The meters' energies are stored for every meter.

    Energies come from actual and edited readings (estimates do not close intervals), read with
    :data:`LINE_LOSS_HISTORY_DAYS` of history so glitches and register resets are recognised.
    """
    started = time.perf_counter()
    run_at = to_beijing(now or now_beijing())
    lake = MdmLake(settings.lake_dir)
    first, last = day - timedelta(days=LINE_LOSS_HISTORY_DAYS), day + timedelta(days=1)
    with database.sessions() as session:
        archive = meter_archive(session, on=day, until=day)
        fleet = Fleet.from_table(archive)
        readings = lake.read_readings(first, last, dis=[DI_FWD_ACTIVE])
        grid = build_grid(readings, fleet, first, last)
        energy = _one_day(adjust_for_assets(session, lake, daily_energy(grid), grid), day)
    daily = daily_line_loss(energy)  # public 台区 only: a 专变 has no 台区 line loss
    feeder, org = _tg_attributes(fleet)
    label = pc.index_in(daily["tg"], value_set=pa.array(fleet.tgs, pa.string()))
    feeder, org = feeder.take(label), org.take(label)
    n = daily.num_rows
    stamps = pa.array([run_at] * n, TIMESTAMP)
    stored = daily.append_column("feeder", feeder).append_column("org", org).append_column("run_at", stamps)
    write_parts(lake.lineloss, stored)
    single = energy.single_day()[:, 0]
    roles = pa.array(list(ROLES), pa.string()).take(pa.array(fleet.role.astype(np.int64)))
    positions = np.arange(fleet.n)
    per_meter = pa.table(
        {
            "meter": fleet.meters,
            "day": pa.array([day] * fleet.n, pa.date32()),
            "energy_kwh": pa.array(single, from_pandas=True),
            "span_days": pa.array(energy.span_days[:, 0].astype(np.int32)),
            "role": roles,
            "tg": _labels(fleet, positions, fleet.tg_idx, fleet.tgs),
            "org": _labels(fleet, positions, fleet.org_idx, fleet.orgs),
            "run_at": pa.array([run_at] * fleet.n, TIMESTAMP),
        }
    )
    write_parts(lake.energy, per_meter)
    seconds = time.perf_counter() - started
    lake.record_run(
        {
            "kind": KIND_LINELOSS,
            "day": day,
            "run_at": run_at,
            "who": who,
            "meters": fleet.n,
            "readings": readings.num_rows,
            "results": n,
            "estimates": 0,
            "seconds": seconds,
        }
    )
    return LineLossRun(
        day=day,
        run_at=run_at,
        meters=fleet.n,
        readings=readings.num_rows,
        tgs=n,
        seconds=seconds,
        by_status=_counts(daily["status"]),
    )


@dataclass(frozen=True)
class LineLossReport:
    """Monthly line loss (level tg | feeder | org) and sold vs purchased (feeder | org) of one month."""

    month: str
    loss: pa.Table
    purchased: pa.Table
    meters: int


def _org_levels(session: Session, archive: pa.Table) -> list[pa.Array]:
    """Per depth of the organisation tree: each meter's ancestor organisation code at that depth (null when
    its 台区's organisation is shallower), from the archive's ``org_path``."""
    codes = {f"/{i}/": c for i, c in session.execute(select(Organisation.id, Organisation.code))}
    paths = archive["org_path"].to_pylist()
    chains = [[] if p is None else [s for s in p.strip("/").split("/") if s] for p in paths]
    depth = max((len(c) for c in chains), default=0)
    return [
        pa.array([codes.get(f"/{c[k]}/") if len(c) > k else None for c in chains], pa.string())
        for k in range(depth)
    ]


def line_loss_report(
    session: Session, settings: Settings, principal: Principal, month: str | date
) -> LineLossReport:
    """Monthly line loss per 台区, feeder and organisation (every level of the tree: company, county,
    station), and sold vs purchased per feeder and organisation, for the 台区 in ``principal``'s scope.
    Line loss covers the public 台区 (公变) only; sold vs purchased counts a 专变 customer's energy as sold.

    Roll-ups cover the in-scope 台区 only (``tg_total`` says how many); organisation rows are given for the
    organisations in scope. Energies come from the freezes of the month's first day to the next month's first
    day. Purchased energy is the feeder head meters' (``feeder_meters``, role "feeder"); a feeder without one
    is "not_computable" in sold vs purchased. Meters installed, removed or replaced inside the month count
    for their days in service, a replacement day from the replacement readings, and multiplier changes
    apply from their effective dates (:func:`gridcare.mdm.asset_tasks.adjust_for_assets`).
    """
    lo, hi, label = _month_bounds(month)
    first, nxt = day_from_number(lo), day_from_number(hi)
    scope = orgs_in_scope(session, principal)
    archive = scoped_rows(meter_archive(session, on=first, until=nxt - timedelta(days=1)), scope)
    fleet = Fleet.from_table(archive)
    lake = MdmLake(settings.lake_dir)
    readings = lake.read_readings(first, nxt, dis=[DI_FWD_ACTIVE])
    grid = build_grid(readings, fleet, first, nxt)
    energy = adjust_for_assets(session, lake, daily_energy(grid), grid)
    loss = monthly_line_loss(energy, label)
    loss = loss.filter(pc.not_equal(loss["level"], "org"))
    purchased = sold_vs_purchased(energy, label)
    purchased = purchased.filter(pc.not_equal(purchased["level"], "org"))
    loss_parts, purchased_parts, seen = [loss], [purchased], set()
    for codes in _org_levels(session, fleet.table):
        level_fleet = Fleet.from_table(
            fleet.table.set_column(fleet.table.schema.get_field_index("org"), "org", codes)
        )
        level = DailyEnergy(level_fleet, energy.first_day, energy.energy_kwh, energy.span_days)
        units = [u for u in level_fleet.orgs if u not in seen and (scope is None or u in scope)]
        seen.update(units)
        keep = pa.array(units, pa.string())
        for parts, table in (
            (loss_parts, monthly_line_loss(level, label)),
            (purchased_parts, sold_vs_purchased(level, label)),
        ):
            org_rows = table.filter(pc.equal(table["level"], "org"))
            parts.append(org_rows.filter(pc.is_in(org_rows["unit"], value_set=keep)))
    return LineLossReport(
        month=label,
        loss=pa.concat_tables(loss_parts),
        purchased=pa.concat_tables(purchased_parts),
        meters=fleet.n,
    )


def parse_month(text: str) -> str:
    """The month label of ``text`` ("YYYY-MM"); MdmInputError naming ``month`` otherwise."""
    return _month_bounds(text)[2]


def column_counts(table: pa.Table, column: str) -> dict[str, int]:
    return _counts(table[column])


__all__: Sequence[str] = (
    "LineLossReport",
    "LineLossRun",
    "VeeRun",
    "compute_line_loss",
    "edit_reading",
    "line_loss_report",
    "meter_archive",
    "orgs_in_scope",
    "reading_versions",
    "run_vee_task",
    "scoped_rows",
)
