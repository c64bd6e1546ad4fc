"""Fleet specifications: which terminals exist, which meters hang under them, and each meter's customer.

Pure data and builders, no protocol and no database: :func:`build_fleet` invents a seeded fleet;
:func:`fleet_from_archive` takes plain dict rows of the archive tables (``meters``, ``metering_points``,
``terminals``, ``customers``, with the column names of :mod:`gridcare.archives.models`) as the demo
generator or a query writes them.

Per-customer draws (daily energy, power factor, register start value) use a generator seeded by
``(seed, meter address)``, so a meter keeps its draws when the rest of the fleet changes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any, Final

import numpy as np

from gridcare.simulator.profiles import (
    CLASSES,
    DEFAULT_CAPACITY_KVA,
    class_code,
    draw_daily_kwh,
    draw_power_factor,
)

REGISTER_MAX_KWH: Final = Decimal("999999.99")
"""Largest register value; the next 0.01 kWh wraps to 0."""
_ADDRESS = re.compile(r"^\d{12}$")
_AREA = re.compile(r"^\d{4}$")

DEFAULT_CLASS_MIX: Final = {
    "residential": 0.85,
    "general_commercial": 0.10,
    "large_industrial": 0.02,
    "agricultural": 0.03,
}


@dataclass(frozen=True)
class MeterSpec:
    """One meter and what it measures.

    ``customer_class`` None marks a 台区 supply meter (总表): it measures the sum of the true load of the
    customer meters under the same terminal, plus ``loss_fraction`` of it (technical line loss).
    ``feeder_head`` (with ``customer_class`` None) marks a feeder head meter (线路关口表) instead: it
    measures the 10 kV feeder ``feeder`` (any key, equal on the meters of one feeder), i.e. the sum of the
    true load of the feeder's supply meters and of its customers read by a terminal without a supply meter
    (专变), wherever they are in the bank, plus ``loss_fraction`` of it (10 kV line loss). ``feeder`` on the
    other meters says which feeder their 台区 hangs on (None: none known).
    Registers and instantaneous values are secondary-side (what the meter displays); primary energy is
    register x ``multiplier`` (CT ratio x PT ratio). ``daily_kwh`` is the customer's mean daily primary
    energy over a year [kWh/day]; ``initial_kwh`` the forward active total register at the start [kWh].
    """

    address: str
    customer_class: str | None
    point_number: int
    multiplier: int = 1
    contracted_capacity_kva: float | None = None
    daily_kwh: float = 0.0
    power_factor: float = 0.95
    phases: int = 1
    nominal_voltage_v: float = 220.0
    initial_kwh: Decimal = Decimal("0.00")
    loss_fraction: float = 0.0
    customer_no: str | None = None
    feeder: str | None = None
    feeder_head: bool = False

    def __post_init__(self) -> None:
        if not _ADDRESS.match(self.address):
            raise ValueError(f"address: {self.address!r} is not 12 decimal digits")
        if self.customer_class is not None:
            class_code(self.customer_class)
        if self.multiplier < 1:
            raise ValueError(f"multiplier: {self.multiplier} must be at least 1 (meter {self.address})")
        if self.phases not in (1, 3):
            raise ValueError(f"phases: {self.phases} must be 1 or 3 (meter {self.address})")
        if not 0 < self.power_factor <= 1:
            raise ValueError(f"power_factor: {self.power_factor} must be in (0, 1] (meter {self.address})")
        if self.daily_kwh < 0:
            raise ValueError(f"daily_kwh: {self.daily_kwh} must not be negative (meter {self.address})")
        if not Decimal(0) <= self.initial_kwh <= REGISTER_MAX_KWH:
            raise ValueError(f"initial_kwh: {self.initial_kwh} must be in 0..{REGISTER_MAX_KWH}")
        if not 0 <= self.loss_fraction < 1:
            raise ValueError(f"loss_fraction: {self.loss_fraction} must be in [0, 1) (meter {self.address})")
        if self.feeder_head and (self.customer_class is not None or self.feeder is None):
            raise ValueError(f"feeder_head: meter {self.address} needs a feeder and no customer class")

    @property
    def is_supply(self) -> bool:
        """A 台区 supply meter (总表)."""
        return self.customer_class is None and not self.feeder_head

    @property
    def is_customer(self) -> bool:
        return self.customer_class is not None


@dataclass(frozen=True)
class TerminalSpec:
    """A terminal: area code (4 digits) + terminal number (0..65535), and its meters by point number."""

    area_code: str
    terminal_number: int
    meters: tuple[MeterSpec, ...]
    terminal_type: str = "concentrator"

    def __post_init__(self) -> None:
        if not _AREA.match(self.area_code):
            raise ValueError(f"area_code: {self.area_code!r} is not 4 decimal digits")
        if not 0 <= self.terminal_number <= 65535:
            raise ValueError(f"terminal_number: {self.terminal_number} is outside 0..65535")
        points = [m.point_number for m in self.meters]
        if len(set(points)) != len(points):
            raise ValueError(f"point_number: duplicated under terminal {self.address}")

    @property
    def address(self) -> str:
        """Key "AAAA-NNNNN", the same text as :attr:`gridcare.archives.models.Terminal.address`."""
        return f"{self.area_code}-{self.terminal_number:05d}"


def meter_rng(seed: int, address: str) -> np.random.Generator:
    """The generator of one meter's draws."""
    return np.random.default_rng([seed, int(address)])


def _initial_kwh(rng: np.random.Generator, daily_kwh: float, multiplier: int) -> Decimal:
    days_in_service = float(rng.uniform(60, 2500))
    value = days_in_service * daily_kwh / multiplier * float(rng.uniform(0.8, 1.2))
    value = min(value, float(REGISTER_MAX_KWH) * 0.9)
    return Decimal(int(value * 100)).scaleb(-2)


def customer_meter(
    address: str,
    customer_class: str,
    point_number: int,
    *,
    seed: int,
    multiplier: int = 1,
    contracted_capacity_kva: float | None = None,
    phases: int = 1,
    nominal_voltage_v: float = 220.0,
    customer_no: str | None = None,
) -> MeterSpec:
    """A customer meter with its daily energy, power factor and register start drawn for ``seed``."""
    rng = meter_rng(seed, address)
    daily = draw_daily_kwh(customer_class, contracted_capacity_kva, rng)
    return MeterSpec(
        address=address,
        customer_class=str(customer_class),
        point_number=point_number,
        multiplier=multiplier,
        contracted_capacity_kva=contracted_capacity_kva,
        daily_kwh=round(daily, 3),
        power_factor=round(draw_power_factor(customer_class, rng), 3),
        phases=phases,
        nominal_voltage_v=nominal_voltage_v,
        initial_kwh=_initial_kwh(rng, daily, multiplier),
        customer_no=customer_no,
    )


def supply_meter(address: str, point_number: int, *, seed: int, multiplier: int) -> MeterSpec:
    """A 台区 supply meter (3-phase, CT) with a technical loss of 2..6 % drawn for ``seed``."""
    rng = meter_rng(seed, address)
    return MeterSpec(
        address=address,
        customer_class=None,
        point_number=point_number,
        multiplier=multiplier,
        power_factor=round(float(rng.uniform(0.88, 0.95)), 3),
        phases=3,
        initial_kwh=Decimal(int(rng.uniform(1000, 50000)) * 100).scaleb(-2),
        loss_fraction=round(float(rng.uniform(0.02, 0.06)), 4),
    )


def feeder_meter(address: str, point_number: int, *, seed: int, multiplier: int, feeder: str) -> MeterSpec:
    """A feeder head meter (线路关口表, 3-phase 3x57.7 V via PT and CT) of ``feeder`` with a 10 kV line
    loss of 2..5 % drawn for ``seed``."""
    rng = meter_rng(seed, address)
    return MeterSpec(
        address=address,
        customer_class=None,
        point_number=point_number,
        multiplier=multiplier,
        power_factor=round(float(rng.uniform(0.9, 0.97)), 3),
        phases=3,
        nominal_voltage_v=57.7,
        initial_kwh=Decimal(int(rng.uniform(1000, 50000)) * 100).scaleb(-2),
        loss_fraction=round(float(rng.uniform(0.02, 0.05)), 4),
        feeder=feeder,
        feeder_head=True,
    )


_CAPACITIES: Final = {
    "residential": (4, 6, 8, 10, 12),
    "general_commercial": (10, 20, 30, 50, 80, 100),
    "large_industrial": (315, 400, 630, 800, 1000, 1250),
    "agricultural": (10, 15, 20, 30, 50),
}
_TRANSFORMERS: Final = ((200, 60), (315, 100), (400, 120), (630, 200))  # (kVA, CT ratio of the 总表)


def _wiring(customer_class: str, capacity: float) -> tuple[int, int, float]:
    """(multiplier, phases, nominal voltage) for a class and capacity."""
    if customer_class == "large_industrial":  # 10 kV, PT 10000/100, CT x/5
        ct = 10 if capacity <= 400 else 15 if capacity <= 630 else 20 if capacity <= 1000 else 30
        return 100 * ct, 3, 57.7
    if customer_class == "general_commercial" and capacity >= 50:
        return 20, 3, 220.0  # CT 100/5
    if customer_class == "general_commercial" or capacity > 12:
        return 1, 3, 220.0
    return 1, 1, 220.0


def build_fleet(
    terminals: int,
    meters_per_terminal: int,
    seed: int,
    start: date,
    class_mix: Mapping[str, float] | None = None,
    *,
    area_code: str = "3301",
    first_terminal_number: int = 1,
    with_supply_meter: bool = True,
) -> list[TerminalSpec]:
    """A seeded fleet of ``terminals`` concentrators with ``meters_per_terminal`` customer meters each.

    Customer classes are drawn from ``class_mix`` (weights, normalised; default :data:`DEFAULT_CLASS_MIX`),
    capacities from typical values per class, wiring (multiplier, phases, voltage) from class and capacity.
    With ``with_supply_meter`` each terminal also has a 台区 supply meter at point 1 (customers from 2).
    Meter addresses are the area code followed by an 8-digit running number; ``start`` is the date the
    registers' start values refer to (the meters were in service 60..2500 days before it).
    """
    if terminals < 0 or meters_per_terminal < 0:
        raise ValueError("terminals and meters_per_terminal must not be negative")
    if first_terminal_number + terminals - 1 > 65535:
        raise ValueError("terminal_number: the fleet does not fit in 0..65535")
    mix = dict(class_mix or DEFAULT_CLASS_MIX)
    for name in mix:
        class_code(name)
    weights = np.array([float(mix.get(c, 0.0)) for c in CLASSES])
    if (weights < 0).any() or weights.sum() <= 0:
        raise ValueError("class_mix: weights must be non-negative with a positive sum")
    weights = weights / weights.sum()
    rng = np.random.default_rng([seed, 5, start.toordinal()])
    per_terminal = meters_per_terminal + (1 if with_supply_meter else 0)
    if terminals * per_terminal > 10**8:
        raise ValueError("fleet too large for 8-digit running meter numbers")
    classes = rng.choice(len(CLASSES), size=terminals * meters_per_terminal, p=weights)
    fleet: list[TerminalSpec] = []
    running = 0
    for t in range(terminals):
        meters: list[MeterSpec] = []
        if with_supply_meter:
            running += 1
            _kva, ct = _TRANSFORMERS[int(rng.integers(len(_TRANSFORMERS)))]
            meters.append(supply_meter(f"{area_code}{running:08d}", 1, seed=seed, multiplier=ct))
        for j in range(meters_per_terminal):
            running += 1
            name = CLASSES[int(classes[t * meters_per_terminal + j])]
            capacity = float(rng.choice(_CAPACITIES[name]))
            multiplier, phases, volts = _wiring(name, capacity)
            meters.append(
                customer_meter(
                    f"{area_code}{running:08d}",
                    name,
                    j + (2 if with_supply_meter else 1),
                    seed=seed,
                    multiplier=multiplier,
                    contracted_capacity_kva=capacity,
                    phases=phases,
                    nominal_voltage_v=volts,
                )
            )
        fleet.append(TerminalSpec(area_code, first_terminal_number + t, tuple(meters)))
    return fleet


def _need(row: Mapping[str, Any], key: str, table: str) -> Any:
    if key not in row or row[key] is None:
        raise ValueError(f"{table}.{key}: missing in row {dict(row)!r}")
    return row[key]


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _phases_volts(meter: Mapping[str, Any]) -> tuple[int, float]:
    phases = int(meter.get("phases") or 1)
    rated = str(meter.get("rated_voltage") or "")
    match = re.search(r"(\d+(?:\.\d+)?)\s*(?:/|V)", rated.split("x")[-1])
    volts = float(match.group(1)) if match else 220.0
    return (phases if phases in (1, 3) else 3), volts


def fleet_from_archive(
    meters: Iterable[Mapping[str, Any]],
    metering_points: Iterable[Mapping[str, Any]],
    terminals: Iterable[Mapping[str, Any]],
    customers: Iterable[Mapping[str, Any]] = (),
    *,
    seed: int = 0,
    on: date | None = None,
    transformer_areas: Iterable[Mapping[str, Any]] = (),
    feeder_meters: Iterable[Mapping[str, Any]] = (),
) -> list[TerminalSpec]:
    """Terminal specs from archive rows (plain dicts keyed by column name).

    Uses the metering points current on ``on`` (``valid_from <= on < valid_to``; None = the open rows) that
    have a terminal. A point's class and capacity come from its customer row (``customer_id``) or from
    ``customer_class`` / ``contracted_capacity_kva`` keys on the point row itself; a point with neither
    (purpose ``supply``) is a supply meter. Meter rows need ``id`` and ``address``; ``multiplier``,
    ``phases`` and ``rated_voltage`` ("220V", "3x57.7/100V") are used when present. Terminal rows need
    ``id``, ``area_code`` and ``terminal_number``. A missing field is a ValueError naming it.

    With ``transformer_areas`` rows (``id``, ``feeder_id``) each meter knows its feeder
    (``MeterSpec.feeder`` = the feeder id as text). With ``feeder_meters`` rows (``feeder_id``,
    ``meter_id``, ``valid_from``, ``valid_to``, valid as the points are) each feeder head meter
    (线路关口表) is added to the terminal the archive says reads it (``terminal_id``, at ``point_number``),
    as the master station reads it there; its Pn must be free on that terminal.
    A row without ``terminal_id`` (an archive that does not place its head meters) falls back to the rule
    the demo archive places them by: a terminal of the feeder (one of its 台区), a 专变 terminal
    (``large_customer``) if there is one, else the one with the lowest id, at the next free Pn (the master
    station does not read such a meter; it is simulated for the ground truth of the feeder).
    An unplaced head meter of a feeder with no terminal in the fleet is left out.
    """
    meter_by_id = {_need(m, "id", "meters"): m for m in meters}
    customer_by_id = {_need(c, "id", "customers"): c for c in customers}
    terminal_by_id = {_need(t, "id", "terminals"): t for t in terminals}
    feeder_of_area = {
        _need(a, "id", "transformer_areas"): str(_need(a, "feeder_id", "transformer_areas"))
        for a in transformer_areas
    }
    grouped: dict[Any, list[MeterSpec]] = {}
    feeder_terminals: dict[str, set[Any]] = {}
    for point in metering_points:
        terminal_id = point.get("terminal_id")
        if terminal_id is None or not _current(point, on):
            continue
        if terminal_id not in terminal_by_id:
            raise ValueError(f"metering_points.terminal_id: {terminal_id!r} is not in terminals")
        meter_id = _need(point, "meter_id", "metering_points")
        if meter_id not in meter_by_id:
            raise ValueError(f"metering_points.meter_id: {meter_id!r} is not in meters")
        meter = meter_by_id[meter_id]
        address = str(_need(meter, "address", "meters"))
        number = int(_need(point, "point_number", "metering_points"))
        multiplier = int(meter.get("multiplier") or 1)
        customer = customer_by_id.get(point.get("customer_id"), {})
        cls = customer.get("customer_class", point.get("customer_class"))
        capacity = customer.get("contracted_capacity_kva", point.get("contracted_capacity_kva"))
        if cls is None or str(point.get("purpose", "")) == "supply":
            spec = supply_meter(address, number, seed=seed, multiplier=multiplier)
        else:
            phases, volts = _phases_volts(meter)
            cap = float(capacity) if capacity is not None else DEFAULT_CAPACITY_KVA.get(str(cls))
            try:
                spec = customer_meter(
                    address,
                    str(cls),
                    number,
                    seed=seed,
                    multiplier=multiplier,
                    contracted_capacity_kva=cap,
                    phases=phases,
                    nominal_voltage_v=volts,
                    customer_no=customer.get("customer_no"),
                )
            except ValueError as exc:
                raise ValueError(f"metering point of meter {address}: {exc}") from None
        feeder = feeder_of_area.get(point.get("transformer_area_id"))
        if feeder is not None:
            spec = replace(spec, feeder=feeder)
            feeder_terminals.setdefault(feeder, set()).add(terminal_id)
        grouped.setdefault(terminal_id, []).append(spec)
    _add_feeder_heads(feeder_meters, on, meter_by_id, terminal_by_id, feeder_terminals, grouped, seed)
    fleet = []
    for terminal_id, specs in grouped.items():
        row = terminal_by_id[terminal_id]
        fleet.append(
            TerminalSpec(
                area_code=str(_need(row, "area_code", "terminals")),
                terminal_number=int(_need(row, "terminal_number", "terminals")),
                meters=tuple(sorted(specs, key=lambda m: m.point_number)),
                terminal_type=str(row.get("terminal_type") or "concentrator"),
            )
        )
    return sorted(fleet, key=lambda t: (t.area_code, t.terminal_number))


def _current(row: Mapping[str, Any], on: date | None) -> bool:
    """Whether a row with ``valid_from`` / ``valid_to`` is valid on ``on`` (None: an open row)."""
    valid_from, valid_to = _as_date(row.get("valid_from")), _as_date(row.get("valid_to"))
    if on is None:
        return valid_to is None
    return not ((valid_from is not None and valid_from > on) or (valid_to is not None and valid_to <= on))


def _add_feeder_heads(
    feeder_meters: Iterable[Mapping[str, Any]],
    on: date | None,
    meter_by_id: Mapping[Any, Mapping[str, Any]],
    terminal_by_id: Mapping[Any, Mapping[str, Any]],
    feeder_terminals: Mapping[str, set[Any]],
    grouped: dict[Any, list[MeterSpec]],
    seed: int,
) -> None:
    """Put each current feeder head meter on its archived terminal and Pn, or else on a terminal of its
    feeder (see :func:`fleet_from_archive`)."""
    rows = [r for r in feeder_meters if _current(r, on)]
    # archived places first, so that the fallback's "next free Pn" sees them
    rows.sort(key=lambda r: (r.get("terminal_id") is None, str(_need(r, "meter_id", "feeder_meters"))))
    for row in rows:
        feeder = str(_need(row, "feeder_id", "feeder_meters"))
        meter_id = row["meter_id"]
        if meter_id not in meter_by_id:
            raise ValueError(f"feeder_meters.meter_id: {meter_id!r} is not in meters")
        meter = meter_by_id[meter_id]
        terminal_id = row.get("terminal_id")
        if terminal_id is not None:
            if terminal_id not in terminal_by_id:
                raise ValueError(f"feeder_meters.terminal_id: {terminal_id!r} is not in terminals")
            pn = int(_need(row, "point_number", "feeder_meters"))
            taken = {m.point_number: m.address for m in grouped.get(terminal_id, [])}
            if pn in taken:
                raise ValueError(
                    f"feeder_meters: head meter {meter.get('address')} at Pn {pn} of terminal {terminal_id!r}"
                    f" clashes with meter {taken[pn]}"
                )
        else:
            candidates = feeder_terminals.get(feeder)
            if not candidates:
                continue
            terminal_id = min(
                candidates,
                key=lambda t: (str(terminal_by_id[t].get("terminal_type") or "") != "large_customer", t),
            )
            pn = max((m.point_number for m in grouped[terminal_id]), default=0) + 1
        grouped.setdefault(terminal_id, []).append(
            feeder_meter(
                str(_need(meter, "address", "meters")),
                pn,
                seed=seed,
                multiplier=int(meter.get("multiplier") or 1),
                feeder=feeder,
            )
        )


def all_meters(fleet: Sequence[TerminalSpec]) -> list[tuple[TerminalSpec, MeterSpec]]:
    """Every (terminal, meter) pair in fleet order."""
    return [(t, m) for t in fleet for m in t.meters]
