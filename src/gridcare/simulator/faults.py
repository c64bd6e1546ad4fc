"""Fault injection: a seeded plan of terminal and meter faults, the queries the transport layer asks, and
the ground truth written for the data-management and analytics work.

Terminal-level faults (the terminal/transport layer asks :class:`FaultPlan`):

* ``terminal_offline``: no connection in [start, end);
* ``dropped_replies``: each reply is lost with probability ``params["probability"]``;
* ``corrupted_bytes``: each reply is corrupted with probability ``params["probability"]``
  (:func:`corrupt_bytes` flips bytes);
* ``slow_replies``: each reply waits ``params["min_delay_s"]..params["max_delay_s"]`` wall seconds;
* ``clock_drift`` with ``meter`` None: the terminal clock runs ``params["drift_s_per_day"]`` fast (negative:
  slow) from ``start`` (:meth:`FaultPlan.terminal_clock_offset_s`).

Meter-level faults (applied inside :class:`gridcare.simulator.bank.MeterBank`):

* ``clock_drift``: from ``start`` the meter clock drifts ``drift_s_per_day`` after a step of ``step_s``;
* ``meter_stopped``: registers do not advance while the load continues (power and current stay non-zero);
* ``reversed_energy``: the forward register stops and the reverse register advances (wiring reversed;
  instantaneous active power is negative);
* ``meter_replacement`` (instant): the meter is swapped for ``new_address`` whose registers start at
  ``start_kwh``; the old meter's frozen data and curve go with it;
* ``register_rollover`` (instant): the forward total is preset ``margin_kwh`` below 999999.99 so that it
  wraps to 0 soon after;
* ``theft_scaled``: measured load is ``factor`` x true load; ``theft_intermittent``: measured load is zero
  in hours drawn with ``zero_probability``; ``theft_night_bypass``: zero from ``from_hour`` to
  ``to_hour`` (local, wrapping midnight). True load (and so the 台区 supply meter) is unchanged.

``end`` None means "until the end of the simulation" (or, for a clock, until the master station sets it).
All times are simulated Beijing time; reply delays are wall-clock seconds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from gridcare.simulator.specs import TerminalSpec
from gridcare.timeutil import to_beijing


class FaultKind(StrEnum):
    TERMINAL_OFFLINE = "terminal_offline"
    DROPPED_REPLIES = "dropped_replies"
    CORRUPTED_BYTES = "corrupted_bytes"
    SLOW_REPLIES = "slow_replies"
    CLOCK_DRIFT = "clock_drift"
    METER_STOPPED = "meter_stopped"
    REVERSED_ENERGY = "reversed_energy"
    METER_REPLACEMENT = "meter_replacement"
    REGISTER_ROLLOVER = "register_rollover"
    THEFT_SCALED = "theft_scaled"
    THEFT_INTERMITTENT = "theft_intermittent"
    THEFT_NIGHT_BYPASS = "theft_night_bypass"


TRANSPORT_KINDS = frozenset(
    {FaultKind.TERMINAL_OFFLINE, FaultKind.DROPPED_REPLIES, FaultKind.CORRUPTED_BYTES, FaultKind.SLOW_REPLIES}
)
THEFT_KINDS = frozenset({FaultKind.THEFT_SCALED, FaultKind.THEFT_INTERMITTENT, FaultKind.THEFT_NIGHT_BYPASS})
INSTANT_KINDS = frozenset({FaultKind.METER_REPLACEMENT, FaultKind.REGISTER_ROLLOVER})


class RandomSource(Protocol):
    """What the query methods need of a generator: :class:`random.Random` and numpy's both fit."""

    def random(self) -> float: ...


@dataclass(frozen=True)
class Fault:
    """One injected fault. ``meter`` is the meter's address at ``start`` (None: a terminal fault)."""

    fault_id: int
    kind: FaultKind
    terminal: str
    meter: str | None
    start: datetime
    end: datetime | None
    params: Mapping[str, Any] = field(default_factory=dict)

    def active(self, t: datetime) -> bool:
        """Whether ``t`` is in [start, end)."""
        t = to_beijing(t)
        return self.start <= t and (self.end is None or t < self.end)

    def to_record(self) -> dict[str, Any]:
        """The ground-truth JSON object."""
        return {
            "fault_id": self.fault_id,
            "kind": self.kind.value,
            "level": "terminal" if self.meter is None else "meter",
            "terminal": self.terminal,
            "meter": self.meter,
            "start": self.start.isoformat(),
            "end": None if self.end is None else self.end.isoformat(),
            "params": dict(self.params),
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Fault:
        return cls(
            fault_id=int(record["fault_id"]),
            kind=FaultKind(record["kind"]),
            terminal=str(record["terminal"]),
            meter=record.get("meter"),
            start=to_beijing(datetime.fromisoformat(record["start"])),
            end=None if record.get("end") is None else to_beijing(datetime.fromisoformat(record["end"])),
            params=dict(record.get("params") or {}),
        )


class FaultPlan:
    """Faults with the queries the terminal/transport layer calls; a ``base_*`` rate applies everywhere."""

    def __init__(
        self,
        faults: Iterable[Fault] = (),
        *,
        base_drop_probability: float = 0.0,
        base_corrupt_probability: float = 0.0,
        base_delay_s: tuple[float, float] = (0.0, 0.0),
    ) -> None:
        self.faults: tuple[Fault, ...] = tuple(sorted(faults, key=lambda f: (f.start, f.fault_id)))
        self.base_drop_probability = base_drop_probability
        self.base_corrupt_probability = base_corrupt_probability
        self.base_delay_s = base_delay_s
        self._by_terminal: dict[str, list[Fault]] = {}
        for f in self.faults:
            if f.meter is None:
                self._by_terminal.setdefault(f.terminal, []).append(f)

    def __len__(self) -> int:
        return len(self.faults)

    def meter_faults(self) -> list[Fault]:
        return [f for f in self.faults if f.meter is not None]

    def of_kind(self, kind: FaultKind) -> list[Fault]:
        return [f for f in self.faults if f.kind == kind]

    def _active(self, terminal: str, kind: FaultKind, t: datetime) -> Fault | None:
        for f in self._by_terminal.get(terminal, ()):
            if f.kind == kind and f.active(t):
                return f
        return None

    def is_offline(self, terminal: str, t: datetime) -> bool:
        """Whether terminal "AAAA-NNNNN" has no connection at ``t``."""
        return self._active(terminal, FaultKind.TERMINAL_OFFLINE, t) is not None

    def drop_reply(self, terminal: str, t: datetime, rng: RandomSource) -> bool:
        """Draw whether the reply the terminal is about to send at ``t`` is lost."""
        f = self._active(terminal, FaultKind.DROPPED_REPLIES, t)
        p = max(self.base_drop_probability, float(f.params["probability"]) if f else 0.0)
        return p > 0 and rng.random() < p

    def corrupt(self, terminal: str, t: datetime, rng: RandomSource) -> bool:
        """Draw whether the reply sent at ``t`` has corrupted bytes (see :func:`corrupt_bytes`)."""
        f = self._active(terminal, FaultKind.CORRUPTED_BYTES, t)
        p = max(self.base_corrupt_probability, float(f.params["probability"]) if f else 0.0)
        return p > 0 and rng.random() < p

    def reply_delay_s(self, terminal: str, t: datetime, rng: RandomSource) -> float:
        """Wall-clock seconds to wait before sending the reply at ``t``."""
        low, high = self.base_delay_s
        f = self._active(terminal, FaultKind.SLOW_REPLIES, t)
        if f is not None:
            low, high = float(f.params["min_delay_s"]), float(f.params["max_delay_s"])
        if high <= 0:
            return 0.0
        return low + (high - low) * rng.random()

    def terminal_clock_offset_s(self, terminal: str, t: datetime) -> float:
        """Seconds the terminal's clock is ahead of true time at ``t`` (clock-drift faults)."""
        t = to_beijing(t)
        total = 0.0
        for f in self._by_terminal.get(terminal, ()):
            if f.kind == FaultKind.CLOCK_DRIFT and f.start <= t:
                until = t if f.end is None else min(t, f.end)
                days = (until - f.start).total_seconds() / 86400
                total += float(f.params.get("step_s", 0.0)) + float(f.params["drift_s_per_day"]) * days
        return total

    def records(self) -> list[dict[str, Any]]:
        return [f.to_record() for f in self.faults]


def corrupt_bytes(data: bytes, rng: RandomSource, count: int = 1) -> bytes:
    """``data`` with ``count`` bytes flipped (each XORed with a non-zero value)."""
    out = bytearray(data)
    if not out:
        return bytes(out)
    for _ in range(count):
        i = min(len(out) - 1, int(rng.random() * len(out)))
        out[i] ^= 1 + min(254, int(rng.random() * 255))
    return bytes(out)


def write_ground_truth(path: str | Path, plan: FaultPlan) -> int:
    """Write one JSON object per fault (see :meth:`Fault.to_record`) to ``path``; returns the count."""
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as out:
        for record in plan.records():
            out.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
    tmp.replace(target)
    return len(plan)


def read_ground_truth(path: str | Path) -> list[Fault]:
    """The faults of a ground-truth file."""
    with Path(path).open(encoding="utf-8") as src:
        return [Fault.from_record(json.loads(line)) for line in src if line.strip()]


@dataclass(frozen=True)
class FaultRates:
    """How many faults a plan gets: each rate is the fraction of terminals (transport kinds and
    ``terminal_clock_drift``) or of meters (the rest) that get one fault in the planned period. Meter
    faults are exclusive: a meter gets at most one. ``*_hours``/``*_days`` are duration ranges."""

    terminal_offline: float = 0.05
    offline_hours: tuple[float, float] = (1.0, 48.0)
    dropped_replies: float = 0.05
    drop_probability: tuple[float, float] = (0.1, 0.5)
    corrupted_bytes: float = 0.02
    corrupt_probability: tuple[float, float] = (0.05, 0.3)
    slow_replies: float = 0.05
    delay_s: tuple[float, float] = (2.0, 30.0)
    transport_hours: tuple[float, float] = (2.0, 72.0)
    terminal_clock_drift: float = 0.02
    clock_drift: float = 0.01
    drift_s_per_day: tuple[float, float] = (30.0, 600.0)
    meter_stopped: float = 0.002
    reversed_energy: float = 0.002
    meter_replacement: float = 0.005
    register_rollover: float = 0.001
    theft_scaled: float = 0.003
    theft_intermittent: float = 0.002
    theft_night_bypass: float = 0.002
    meter_fault_days: tuple[float, float] = (3.0, 30.0)
    theft_factor: tuple[float, float] = (0.3, 0.7)

    @classmethod
    def none(cls) -> FaultRates:
        """No faults at all."""
        return cls(
            terminal_offline=0.0,
            dropped_replies=0.0,
            corrupted_bytes=0.0,
            slow_replies=0.0,
            terminal_clock_drift=0.0,
            clock_drift=0.0,
            meter_stopped=0.0,
            reversed_energy=0.0,
            meter_replacement=0.0,
            register_rollover=0.0,
            theft_scaled=0.0,
            theft_intermittent=0.0,
            theft_night_bypass=0.0,
        )


def _instant(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return to_beijing(value)
    return to_beijing(datetime(value.year, value.month, value.day))


def plan_faults(
    fleet: Sequence[TerminalSpec],
    start: date | datetime,
    end: date | datetime,
    *,
    rates: FaultRates | None = None,
    seed: int = 0,
) -> FaultPlan:
    """A seeded fault plan for ``fleet`` between ``start`` and ``end`` (simulated Beijing time).

    Start instants are whole minutes drawn uniformly in the period; windows are cut at ``end``. Theft
    is planned for customer meters only; replacement addresses are new 12-digit addresses not in the fleet.
    """
    rates = rates or FaultRates()
    t0, t1 = _instant(start), _instant(end)
    if t1 <= t0:
        raise ValueError("end: must be after start")
    span_min = int((t1 - t0).total_seconds() // 60)
    rng = np.random.default_rng([seed, 13])
    faults: list[Fault] = []

    def at(fraction: float) -> datetime:
        return t0 + timedelta(minutes=int(fraction * span_min))

    def add(
        kind: FaultKind, terminal: str, meter: str | None, begin: datetime, hours: float | None, **params: Any
    ) -> None:
        if hours is None or hours == 0:
            finish = None if hours is None else begin  # an instant fault ends where it starts
        else:
            finish = min(t1, begin + timedelta(minutes=max(1, round(hours * 60))))
        faults.append(Fault(len(faults) + 1, kind, terminal, meter, begin, finish, params))

    def pick(population: int, rate: float) -> np.ndarray:
        count = int(rng.binomial(population, min(1.0, max(0.0, rate)))) if population else 0
        return rng.choice(population, size=count, replace=False) if count else np.zeros(0, dtype=int)

    def draw(low_high: tuple[float, float]) -> float:
        return float(rng.uniform(*low_high))

    names = [t.address for t in fleet]
    for i in pick(len(names), rates.terminal_offline):
        add(FaultKind.TERMINAL_OFFLINE, names[i], None, at(rng.random()), draw(rates.offline_hours))
    for i in pick(len(names), rates.dropped_replies):
        p = round(draw(rates.drop_probability), 3)
        add(
            FaultKind.DROPPED_REPLIES,
            names[i],
            None,
            at(rng.random()),
            draw(rates.transport_hours),
            probability=p,
        )
    for i in pick(len(names), rates.corrupted_bytes):
        p = round(draw(rates.corrupt_probability), 3)
        add(
            FaultKind.CORRUPTED_BYTES,
            names[i],
            None,
            at(rng.random()),
            draw(rates.transport_hours),
            probability=p,
        )
    for i in pick(len(names), rates.slow_replies):
        low = draw(rates.delay_s)
        high = max(low, draw(rates.delay_s))
        add(
            FaultKind.SLOW_REPLIES,
            names[i],
            None,
            at(rng.random()),
            draw(rates.transport_hours),
            min_delay_s=round(low, 2),
            max_delay_s=round(high, 2),
        )
    for i in pick(len(names), rates.terminal_clock_drift):
        drift = round(draw(rates.drift_s_per_day) * (1 if rng.random() < 0.5 else -1), 1)
        add(FaultKind.CLOCK_DRIFT, names[i], None, at(rng.random()), None, drift_s_per_day=drift, step_s=0.0)

    pairs = [(t, m) for t in fleet for m in t.meters]
    taken = {m.address for _, m in pairs}
    order = rng.permutation(len(pairs))
    cursor = 0
    meter_kinds = (
        (FaultKind.CLOCK_DRIFT, rates.clock_drift),
        (FaultKind.METER_STOPPED, rates.meter_stopped),
        (FaultKind.REVERSED_ENERGY, rates.reversed_energy),
        (FaultKind.METER_REPLACEMENT, rates.meter_replacement),
        (FaultKind.REGISTER_ROLLOVER, rates.register_rollover),
        (FaultKind.THEFT_SCALED, rates.theft_scaled),
        (FaultKind.THEFT_INTERMITTENT, rates.theft_intermittent),
        (FaultKind.THEFT_NIGHT_BYPASS, rates.theft_night_bypass),
    )
    for kind, rate in meter_kinds:
        count = int(rng.binomial(len(pairs), min(1.0, max(0.0, rate)))) if pairs else 0
        chosen: list[int] = []
        while len(chosen) < count and cursor < len(order):
            candidate = int(order[cursor])
            cursor += 1
            if kind in THEFT_KINDS and not pairs[candidate][1].is_customer:
                continue  # skipped candidates are not reused: meter faults stay exclusive
            chosen.append(candidate)
        for idx in chosen:
            terminal, meter = pairs[idx]
            begin = at(rng.random())
            days = draw(rates.meter_fault_days)
            if kind == FaultKind.CLOCK_DRIFT:
                drift = round(draw(rates.drift_s_per_day) * (1 if rng.random() < 0.5 else -1), 1)
                add(kind, terminal.address, meter.address, begin, None, drift_s_per_day=drift, step_s=0.0)
            elif kind in (FaultKind.METER_STOPPED, FaultKind.REVERSED_ENERGY):
                add(kind, terminal.address, meter.address, begin, days * 24)
            elif kind == FaultKind.METER_REPLACEMENT:
                new = _new_address(meter.address, taken)
                taken.add(new)
                start_kwh = round(float(rng.uniform(0.0, 2.0)), 2)
                add(kind, terminal.address, meter.address, begin, 0.0, new_address=new, start_kwh=start_kwh)
            elif kind == FaultKind.REGISTER_ROLLOVER:
                daily = max(0.5, meter.daily_kwh / meter.multiplier) if meter.is_customer else 50.0
                margin = round(daily * float(rng.uniform(1.0, 5.0)), 2)
                add(kind, terminal.address, meter.address, begin, 0.0, margin_kwh=margin)
            elif kind == FaultKind.THEFT_SCALED:
                factor = round(draw(rates.theft_factor), 3)
                add(kind, terminal.address, meter.address, begin, days * 24, factor=factor)
            elif kind == FaultKind.THEFT_INTERMITTENT:
                p = round(float(rng.uniform(0.2, 0.5)), 3)
                add(kind, terminal.address, meter.address, begin, days * 24, zero_probability=p)
            else:
                hours = [(22, 6), (23, 5), (0, 6)][int(rng.integers(3))]
                add(
                    kind,
                    terminal.address,
                    meter.address,
                    begin,
                    days * 24,
                    from_hour=hours[0],
                    to_hour=hours[1],
                )
    return FaultPlan(faults)


def _new_address(old: str, taken: set[str]) -> str:
    candidate = int(old)
    while True:
        candidate = (candidate + 500_000_000_007) % 10**12
        text = f"{candidate:012d}"
        if text not in taken:
            return text
