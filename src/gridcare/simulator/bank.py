"""Many meters' state as numpy arrays, advanced together through simulated time.

A :class:`MeterBank` holds, for every meter, its registers (integer hundredths), daily frozen data (a ring
of ``freeze_days`` days), the 15-minute load curve of the last ``curve_days`` days, clock error, relay state
and the meter-level faults of a :class:`~gridcare.simulator.faults.FaultPlan`. ``advance_to(t)`` moves all
meters from the bank's time to ``t`` one Beijing day at a time, vectorised over meters and quarter hours.
:class:`~gridcare.simulator.meter.VirtualMeter` is a view of one meter.

Energy: in quarter hour k of day d a customer's true mean power is
``daily_kwh * profiles.day_factors(d)[class, k] * noise`` [kW, primary]; an open relay makes it 0; a
supply meter's is the sum of its terminal's customers' true power x (1 + loss); a feeder head meter's
(线路关口表) is the sum, over the whole bank, of the true power of its feeder's supply meters and of
the feeder's customers under a terminal without a supply meter (专变), x (1 + its 10 kV line loss).
Theft faults reduce what the meter measures; the register advance is measured energy / multiplier, in
hundredths of a kWh with a carried sub-hundredth remainder per meter, so registers never drift from the
exact sum however the time is cut into ``advance_to`` calls. Each quarter hour's increment goes to the
tariff register of that quarter hour (TOU calendar) and to the total, so total = T1 + T2 + T3 + T4 exactly
(modulo the rollover).
Reactive energy goes to Q1 (Q3 when energy flows in reverse) at the meter's power factor.

Maximum demand (最大需量): the highest mean forward active power of a quarter hour since the last
settlement [kW, secondary, 0.0001 resolution], with the end of that quarter hour; it is frozen with the
daily freeze and reset right after the freeze of the 1st of a month (by the meter's clock), so the freeze
at 00:00 on the 1st holds the whole previous month's maximum. A quarter hour counts once complete.

Freezing: when a meter's own clock passes 00:00 its registers at that true instant (interpolated within
the quarter hour, still exact integers) are frozen; a meter whose clock jumps over several midnights
freezes once, for the latest day. A fault window covers a quarter hour when the quarter hour's middle is in
the window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from itertools import pairwise
from typing import Any

import numpy as np

from gridcare.simulator.calendar import DEFAULT_TOU, SLOTS_PER_DAY, TouCalendar
from gridcare.simulator.faults import THEFT_KINDS, FaultKind, FaultPlan
from gridcare.simulator.profiles import DAY_SIGMA, SLOT_SIGMA, ProfileSet, class_code, default_profiles
from gridcare.simulator.registers import (
    COLUMNS,
    DAY_S,
    FWD,
    FWD_TARIFFS,
    LOCAL_OFFSET_S,
    Q1,
    Q3,
    REV,
    REV_TARIFFS,
    ROLLOVER,
    SLOT_S,
    FrozenRecord,
    Instantaneous,
    Registers,
    day_date,
    day_number,
    day_start_s,
    epoch_s,
    from_epoch,
    kwh,
    local_day,
)
from gridcare.simulator.specs import MeterSpec, TerminalSpec

_TARIFF_SHARE = np.array([0.05, 0.35, 0.30, 0.30])  # split of a start value over T1..T4
_CH_FWD, _CH_REV, _CH_Q1, _CH_Q3 = range(4)


@dataclass(frozen=True)
class _Pieces:
    """The quarter hours (or parts of them) of one day between two instants."""

    day: int
    k0: int
    k1: int
    starts: np.ndarray  # epoch seconds, float
    ends: np.ndarray

    @property
    def weights(self) -> np.ndarray:
        return (self.ends - self.starts) / SLOT_S


@dataclass
class _Window:
    index: int
    kind: FaultKind
    start: float
    end: float
    params: dict[str, Any]
    fault_id: int


@dataclass(order=True)
class _Event:
    time: int
    order: int
    kind: FaultKind
    index: int
    params: dict[str, Any]
    fault_id: int


@dataclass
class _Channel:
    total: int
    tariffs: tuple[int, ...]
    energy: np.ndarray  # hundredths per piece
    cumulative: np.ndarray  # running sum of energy over the chunk's pieces
    residual_before: np.ndarray
    reactive: int
    reactive_before: np.ndarray


class MeterBank:
    """State of ``meters`` from ``start`` on; see the module docstring.

    ``groups`` gives each meter's terminal (index); a supply meter sums the customers of its group.
    ``seed`` fixes the load noise and the draws that specs leave open. Times are aware datetimes (naive =
    Beijing); the bank never goes back in time.
    """

    def __init__(
        self,
        meters: Sequence[MeterSpec],
        start: datetime,
        *,
        seed: int = 0,
        groups: Sequence[int] | None = None,
        terminals: Sequence[str] | None = None,
        profiles: ProfileSet | None = None,
        tou: TouCalendar = DEFAULT_TOU,
        curve_days: int = 2,
        freeze_days: int = 62,
        faults: FaultPlan | None = None,
    ) -> None:
        n = len(meters)
        if curve_days < 0 or freeze_days < 1:
            raise ValueError("curve_days must be >= 0 and freeze_days >= 1")
        if groups is not None and len(groups) != n:
            raise ValueError("groups: one entry per meter")
        self.specs = list(meters)
        self.n = n
        self.seed = int(seed)
        self.profiles = profiles or default_profiles()
        self.tou = tou
        self.addresses = [m.address for m in self.specs]
        if len(set(self.addresses)) != n:
            raise ValueError("address: meter addresses in a bank must be unique")
        self._index = {a: i for i, a in enumerate(self.addresses)}
        self._ever = dict(self._index)
        self.terminal_of = list(terminals) if terminals is not None else [""] * n
        self.groups = np.asarray(groups if groups is not None else [0] * n, dtype=np.int64)

        self.class_code = np.array(
            [-1 if m.customer_class is None else class_code(m.customer_class) for m in self.specs],
            dtype=np.int64,
        )
        self._class_row = np.maximum(self.class_code, 0)
        customer = self.class_code >= 0
        self.daily_kwh = np.array([m.daily_kwh for m in self.specs], dtype=np.float64) * customer
        self.multiplier = np.array([m.multiplier for m in self.specs], dtype=np.float64)
        self._inv_multiplier = 1.0 / self.multiplier
        self.power_factor = np.array([m.power_factor for m in self.specs], dtype=np.float64)
        self._tanphi = np.tan(np.arccos(self.power_factor))
        self.phases = np.array([m.phases for m in self.specs], dtype=np.int64)
        self.nominal_v = np.array([m.nominal_voltage_v for m in self.specs], dtype=np.float64)
        self.loss = np.array([m.loss_fraction for m in self.specs], dtype=np.float64)
        self._slot_sigma = np.where(customer, SLOT_SIGMA[self._class_row], 0.0)
        self._day_sigma = np.where(customer, DAY_SIGMA[self._class_row], 0.0)
        self._v_offset = np.random.default_rng([self.seed, 3]).uniform(-0.02, 0.02, n)

        self.regs = np.zeros((len(COLUMNS), n), dtype=np.int64)
        for i, m in enumerate(self.specs):
            self._preset_forward(i, int(m.initial_kwh.scaleb(2)))
        self.residual = np.zeros((4, n), dtype=np.float64)
        self.demand_e4 = np.zeros(n, dtype=np.int64)  # max demand since settlement [0.0001 kW, secondary]
        self.demand_at_s = np.zeros(n)  # epoch s of the end of that quarter hour (0: none yet)
        self.relay_closed = np.ones(n, dtype=bool)
        self.t = epoch_s(start)
        self.clock_offset_s = np.zeros(n)
        self.clock_drift_s_per_day = np.zeros(n)
        self.clock_ref_s = np.full(n, float(self.t))

        self.freeze_days = freeze_days
        self.frozen = np.zeros((freeze_days, len(COLUMNS), n), dtype=np.int32)
        self.frozen_day = np.full((freeze_days, n), -1, dtype=np.int64)
        self.frozen_true_s = np.zeros((freeze_days, n))
        self.frozen_demand_e4 = np.zeros((freeze_days, n), dtype=np.int64)
        self.frozen_demand_at_s = np.zeros((freeze_days, n))
        self.last_frozen = self._meter_day(self.t - 1)
        self.curve_slots = curve_days * SLOTS_PER_DAY
        self.curve_kw = np.zeros((n, self.curve_slots), dtype=np.float32)
        self.curve_slot = np.full(self.curve_slots, -1, dtype=np.int64)
        self.curve_from_s = np.full(n, float(self.t))

        head = np.array([m.feeder_head for m in self.specs], dtype=bool)
        supply = np.nonzero(~customer & ~head)[0]
        cust = np.nonzero(customer)[0]
        order = cust[np.argsort(self.groups[cust], kind="stable")]
        group_ids, starts = np.unique(self.groups[order], return_index=True)
        pos = np.searchsorted(group_ids, self.groups[supply])
        valid = np.zeros(len(supply), dtype=bool)
        if len(group_ids):
            valid = (pos < len(group_ids)) & (
                group_ids[np.minimum(pos, len(group_ids) - 1)] == self.groups[supply]
            )
        self._cust_order, self._group_starts = order, starts
        self._supply_rows, self._supply_pos = supply[valid], pos[valid]
        self._empty_supply = supply[~valid]
        self._p_ref = np.maximum(self.daily_kwh / 12.0, 1e-6)
        for row, p in zip(self._supply_rows, self._supply_pos, strict=True):
            members = order[starts[p] : starts[p + 1] if p + 1 < len(starts) else len(order)]
            self._p_ref[row] = max(1e-6, float(self.daily_kwh[members].sum()) / 12.0)
        self._feeder_heads(head, supply, cust)

        self._day_cache: dict[int, np.ndarray] = {}
        self._windows: list[_Window] = []
        self._w_start = np.zeros(0)
        self._w_end = np.zeros(0)
        self._events: list[_Event] = []
        self.replacements: list[dict[str, Any]] = []
        """Meter swaps done: time, old and new address, the old meter's last registers (拆表底度)."""
        self._freeze(self.t, self.t, None, [], [])  # a clock reading exactly 00:00 freezes at once
        if faults is not None:
            self.apply_faults(faults)

    def _feeder_heads(self, head: np.ndarray, supply: np.ndarray, cust: np.ndarray) -> None:
        """Members of each feeder head meter: its feeder's supply meters and its customers under a terminal
        without a supply meter (``_head_rows`` with members, ``_head_order`` / ``_head_starts`` as for
        ``np.add.reduceat``; ``_empty_heads`` without)."""
        feeders = [m.feeder for m in self.specs]
        direct = cust[~np.isin(self.groups[cust], self.groups[supply])]
        by_feeder: dict[str, list[int]] = {}
        for row in np.sort(np.concatenate([supply, direct])).tolist():
            key = feeders[row]
            if key is not None:
                by_feeder.setdefault(key, []).append(row)
        rows: list[int] = []
        order: list[int] = []
        starts: list[int] = []
        empty: list[int] = []
        for row in np.nonzero(head)[0].tolist():
            members = by_feeder.get(str(feeders[row]), [])
            if not members:
                empty.append(row)
                continue
            rows.append(row)
            starts.append(len(order))
            order.extend(members)
            self._p_ref[row] = max(1e-6, float(self._p_ref[members].sum()))
        self._head_rows = np.array(rows, dtype=np.int64)
        self._head_order = np.array(order, dtype=np.int64)
        self._head_starts = np.array(starts, dtype=np.int64)
        self._empty_heads = np.array(empty, dtype=np.int64)

    @classmethod
    def from_fleet(cls, fleet: Sequence[TerminalSpec], start: datetime, **kwargs: Any) -> MeterBank:
        """A bank of every meter of ``fleet``, grouped by terminal."""
        specs = [m for t in fleet for m in t.meters]
        groups = [g for g, t in enumerate(fleet) for _ in t.meters]
        terminals = [t.address for t in fleet for _ in t.meters]
        return cls(specs, start, groups=groups, terminals=terminals, **kwargs)

    # -- lookups -------------------------------------------------------------------------------------
    @property
    def now(self) -> datetime:
        """The instant every meter has been advanced to."""
        return from_epoch(self.t)

    def index_of(self, address: str) -> int:
        """Position of the meter now at ``address``; KeyError if none."""
        try:
            return self._index[address]
        except KeyError:
            raise KeyError(f"meter {address!r} is not in this bank") from None

    def __contains__(self, address: object) -> bool:
        return address in self._index

    # -- faults --------------------------------------------------------------------------------------
    def apply_faults(self, plan: FaultPlan) -> int:
        """Take over the meter-level faults of ``plan`` for meters in this bank; returns how many."""
        taken = 0
        for f in plan.meter_faults():
            i = self._ever.get(f.meter or "")
            if i is None:
                continue
            start = float(epoch_s(f.start))
            end = float("inf") if f.end is None else float(epoch_s(f.end))
            params = dict(f.params)
            if f.kind in (FaultKind.METER_REPLACEMENT, FaultKind.REGISTER_ROLLOVER, FaultKind.CLOCK_DRIFT):
                self._events.append(_Event(int(start), f.fault_id, f.kind, i, params, f.fault_id))
                if f.kind == FaultKind.METER_REPLACEMENT:
                    self._ever[str(params["new_address"])] = i
            else:
                self._windows.append(_Window(i, f.kind, start, end, params, f.fault_id))
            taken += 1
        self._events.sort()
        self._w_start = np.array([w.start for w in self._windows])
        self._w_end = np.array([w.end for w in self._windows])
        return taken

    def _apply_events(self) -> None:
        while self._events and self._events[0].time <= self.t:
            ev = self._events.pop(0)
            i = ev.index
            if ev.kind == FaultKind.METER_REPLACEMENT:
                self._replace(i, ev)
            elif ev.kind == FaultKind.REGISTER_ROLLOVER:
                margin = round(float(ev.params["margin_kwh"]) * 100)
                target = ROLLOVER - 1 - max(0, margin)  # margin_kwh below 999999.99
                delta = target - int(self.regs[FWD, i])
                if delta > 0:
                    self.regs[FWD, i] = target
                    self.regs[FWD_TARIFFS[2], i] = (self.regs[FWD_TARIFFS[2], i] + delta) % ROLLOVER
            elif ev.kind == FaultKind.CLOCK_DRIFT:
                error = self._clock_error_of(i, self.t)
                self.clock_offset_s[i] = error + float(ev.params.get("step_s", 0.0))
                self.clock_ref_s[i] = self.t
                self.clock_drift_s_per_day[i] = float(ev.params["drift_s_per_day"])

    def _replace(self, i: int, ev: _Event) -> None:
        old, new = self.addresses[i], str(ev.params["new_address"])
        self.replacements.append(
            {
                "fault_id": ev.fault_id,
                "time": self.now,
                "old_address": old,
                "new_address": new,
                "old_registers": Registers.from_hundredths(self.regs[:, i].tolist()),
            }
        )
        del self._index[old]
        self._index[new] = i
        self.addresses[i] = new
        self.regs[:, i] = 0
        self._preset_forward(i, round(float(ev.params.get("start_kwh", 0.0)) * 100))
        self.residual[:, i] = 0.0
        self.demand_e4[i] = 0
        self.demand_at_s[i] = 0.0
        self.frozen_day[:, i] = -1
        self.clock_offset_s[i] = 0.0
        self.clock_drift_s_per_day[i] = 0.0
        self.clock_ref_s[i] = self.t
        self.last_frozen[i] = self._meter_day(self.t)[i]
        self.curve_from_s[i] = self.t
        self.relay_closed[i] = True

    def _preset_forward(self, i: int, total: int) -> None:
        parts = np.floor(_TARIFF_SHARE * total).astype(np.int64)
        parts[2] += total - int(parts.sum())
        self.regs[FWD, i] = total
        self.regs[list(FWD_TARIFFS), i] = parts

    # -- time ----------------------------------------------------------------------------------------
    def _clock_error(self, t: float) -> np.ndarray:
        return self.clock_offset_s + self.clock_drift_s_per_day * (t - self.clock_ref_s) / DAY_S

    def _clock_error_of(self, i: int, t: float) -> float:
        """Meter ``i``'s clock error [s] at true epoch instant ``t``."""
        drift = float(self.clock_drift_s_per_day[i]) * (t - float(self.clock_ref_s[i])) / DAY_S
        return float(self.clock_offset_s[i]) + drift

    def _meter_day(self, t: float) -> np.ndarray:
        return np.floor((t + self._clock_error(t) + LOCAL_OFFSET_S) / DAY_S).astype(np.int64)

    def meter_time(self, i: int, t: datetime | None = None) -> datetime:
        """Meter ``i``'s clock reading at true time ``t`` (default: the bank's time)."""
        te = self.t if t is None else epoch_s(t)
        return from_epoch(te + self._clock_error_of(i, te))

    def set_clock(self, i: int, t: datetime, meter_time: datetime) -> None:
        """Set meter ``i``'s clock to read ``meter_time`` at true time ``t`` (校时); its drift goes on."""
        self.advance_to(t)
        self.clock_offset_s[i] = float(epoch_s(meter_time) - self.t)
        self.clock_ref_s[i] = self.t

    def set_relay(self, i: int, closed: bool, t: datetime) -> None:
        """Open (trip, 跳闸) or close (合闸) meter ``i``'s relay at ``t``; an open relay stops consumption."""
        self.advance_to(t)
        self.relay_closed[i] = closed

    def advance_to(self, t: datetime) -> None:
        """Advance every meter to ``t`` (not before the bank's time)."""
        target = epoch_s(t)
        if target < self.t:
            raise ValueError(
                f"t: {from_epoch(target).isoformat()} is before the bank's time {self.now.isoformat()}"
            )
        self._apply_events()
        while self.t < target:
            nxt = min(target, day_start_s(local_day(self.t) + 1))
            if self._events:
                nxt = min(nxt, max(self._events[0].time, self.t + 1))
            self._advance_chunk(self.t, nxt)
            self.t = nxt
            self._apply_events()

    # -- load ----------------------------------------------------------------------------------------
    def _day_power(self, day: int) -> np.ndarray:
        """True mean power of every meter in each quarter hour of ``day`` with every relay closed
        [kW, primary]; read-only, cached for the last two days."""
        hit = self._day_cache.get(day)
        if hit is not None:
            return hit
        factors = self.profiles.day_factors(day_date(day))
        rng = np.random.default_rng([self.seed, 7, day])
        z = rng.standard_normal((self.n, SLOTS_PER_DAY + 2))
        zs = z[:, :-2] + z[:, 1:-1]
        zs += z[:, 2:]
        zs *= self._slot_sigma[:, None] * (1.0 / np.sqrt(3.0))
        zs -= 0.5 * self._slot_sigma[:, None] ** 2
        power = np.exp(zs, out=zs)
        zd = rng.standard_normal(self.n)
        sd = self._day_sigma
        power *= (np.exp(sd * zd - 0.5 * sd * sd) * self.daily_kwh)[:, None]
        power *= factors[self._class_row]
        self._fill_supply(power)
        power.setflags(write=False)
        if len(self._day_cache) >= 2:
            self._day_cache.pop(min(self._day_cache))
        self._day_cache[day] = power
        return power

    def _fill_supply(self, power: np.ndarray) -> None:
        """Supply rows := (1 + loss) x the sum of their customers' rows, then feeder head rows := (1 + loss)
        x the sum of their members' rows (in place)."""
        if self._supply_rows.size:
            sums = np.add.reduceat(power[self._cust_order], self._group_starts, axis=0)
            power[self._supply_rows] = sums[self._supply_pos] * (1.0 + self.loss[self._supply_rows, None])
        if self._empty_supply.size:
            power[self._empty_supply] = 0.0
        if self._head_rows.size:
            sums = np.add.reduceat(power[self._head_order], self._head_starts, axis=0)
            power[self._head_rows] = sums * (1.0 + self.loss[self._head_rows, None])
        if self._empty_heads.size:
            power[self._empty_heads] = 0.0

    @staticmethod
    def _pieces(a: int, b: int) -> _Pieces:
        day = local_day(a)
        base = day_start_s(day)
        k0 = (a - base) // SLOT_S
        k1 = -((base - b) // SLOT_S)
        slots = np.arange(k0, k1)
        starts = np.maximum(float(a), base + slots * float(SLOT_S))
        ends = np.minimum(float(b), base + (slots + 1) * float(SLOT_S))
        return _Pieces(day, int(k0), int(k1), starts, ends)

    def _power(
        self, pc: _Pieces
    ) -> tuple[np.ndarray, np.ndarray, list[tuple[int, np.ndarray]], list[tuple[int, np.ndarray]]]:
        """(true, measured) power [kW, primary] per meter and piece, and the stopped / reversed pieces.
        Both arrays may be read-only views of the day cache."""
        true = self._day_power(pc.day)[:, pc.k0 : pc.k1]
        if not self.relay_closed.all():
            true = true * self.relay_closed[:, None]
            self._fill_supply(true)
        measured = true
        stopped: list[tuple[int, np.ndarray]] = []
        reversed_: list[tuple[int, np.ndarray]] = []
        if not self._windows:
            return true, measured, stopped, reversed_
        active = np.nonzero((self._w_start < pc.ends[-1]) & (self._w_end > pc.starts[0]))[0]
        mids = (pc.starts + pc.ends) / 2
        hours = np.arange(pc.k0, pc.k1) // 4
        for w in (self._windows[int(x)] for x in active):
            sel = (mids >= w.start) & (mids < w.end)
            if not sel.any():
                continue
            if w.kind == FaultKind.METER_STOPPED:
                stopped.append((w.index, sel))
                continue
            if w.kind == FaultKind.REVERSED_ENERGY:
                reversed_.append((w.index, sel))
                continue
            if w.kind not in THEFT_KINDS:
                continue
            if measured is true:
                measured = true.copy()
            if w.kind == FaultKind.THEFT_SCALED:
                measured[w.index, sel] *= float(w.params["factor"])
                continue
            if w.kind == FaultKind.THEFT_INTERMITTENT:
                rng = np.random.default_rng([self.seed, 17, w.fault_id, pc.day])
                zero_hours = rng.random(24) < float(w.params["zero_probability"])
                measured[w.index, sel & zero_hours[hours]] = 0.0
                continue
            lo, hi = int(w.params["from_hour"]), int(w.params["to_hour"])
            night = ((hours >= lo) | (hours < hi)) if lo > hi else ((hours >= lo) & (hours < hi))
            measured[w.index, sel & night] = 0.0
        return true, measured, stopped, reversed_

    # -- advancing -----------------------------------------------------------------------------------
    def _accumulate(
        self,
        channel: int,
        total: int,
        tariffs: tuple[int, ...],
        energy: np.ndarray,
        runs: list[tuple[int, int, int]],
        reactive: tuple[int, int],
    ) -> _Channel:
        """Add ``energy`` [hundredths, meters x pieces] to a total, its tariff registers (by ``runs`` of
        equal tariff: (tariff, first piece, end piece)) and, at the power factor, to a reactive register."""
        cumulative = np.cumsum(energy, axis=1)
        r0 = self.residual[channel].copy()
        q_channel, q_col = reactive
        rq0 = self.residual[q_channel].copy()
        end = r0 + cumulative[:, -1]
        whole = np.floor(end)
        self.residual[channel] = end - whole
        self.regs[total] += whole.astype(np.int64)
        previous = np.zeros(self.n)
        for tariff, _first, stop in runs:
            upto = whole if stop == energy.shape[1] else np.floor(r0 + cumulative[:, stop - 1])
            self.regs[tariffs[tariff - 1]] += (upto - previous).astype(np.int64)
            previous = upto
        q_end = rq0 + self._tanphi * cumulative[:, -1]
        q_whole = np.floor(q_end)
        self.residual[q_channel] = q_end - q_whole
        self.regs[q_col] += q_whole.astype(np.int64)
        return _Channel(total, tariffs, energy, cumulative, r0, q_col, rq0)

    def _advance_chunk(self, a: int, b: int) -> None:
        pc = self._pieces(a, b)
        _true, measured, stopped, reversed_ = self._power(pc)
        secondary = measured * self._inv_multiplier[:, None]
        energy = secondary * (pc.weights * 25.0)  # hundredths of a kWh: kW x 0.25 h x w x 100
        tar = self.tou.slots(day_date(pc.day).month)[pc.k0 : pc.k1]
        cuts = [0, *(np.flatnonzero(np.diff(tar)) + 1).tolist(), len(tar)]
        runs = [(int(tar[s]), s, e) for s, e in pairwise(cuts)]
        reverse = np.zeros_like(energy) if reversed_ else None
        signed = secondary
        if stopped or reversed_:
            forward = energy.copy()
            signed = secondary.copy()
        else:
            forward = energy
        for i, sel in stopped:
            forward[i, sel] = 0.0
        for i, sel in reversed_:
            assert reverse is not None
            reverse[i, sel] = energy[i, sel]
            forward[i, sel] = 0.0
            signed[i, sel] *= -1.0
        before = self.regs.copy()
        demand = self._slot_demand(pc, secondary, stopped, reversed_)
        channels = [self._accumulate(_CH_FWD, FWD, FWD_TARIFFS, forward, runs, (_CH_Q1, Q1))]
        if reverse is not None:
            channels.append(self._accumulate(_CH_REV, REV, REV_TARIFFS, reverse, runs, (_CH_Q3, Q3)))
        self.regs %= ROLLOVER
        if self.curve_slots:
            first = pc.day * SLOTS_PER_DAY + pc.k0
            self.curve_slot[np.arange(first, first + len(tar)) % self.curve_slots] = np.arange(
                first, first + len(tar)
            )
            r0 = first % self.curve_slots
            head = min(len(tar), self.curve_slots - r0)
            self.curve_kw[:, r0 : r0 + head] = signed[:, :head]
            if head < len(tar):
                self.curve_kw[:, : len(tar) - head] = signed[:, head:]
        self._freeze(a, b, pc, channels, runs, before, demand)

    def _slot_demand(
        self,
        pc: _Pieces,
        secondary: np.ndarray,
        stopped: list[tuple[int, np.ndarray]],
        reversed_: list[tuple[int, np.ndarray]],
    ) -> tuple[np.ndarray, np.ndarray]:
        """Demand of each quarter hour completed in this chunk [0.0001 kW, meters x pieces; 0 for a
        part of a quarter hour, a stopped meter or reverse flow] and the quarter hours' end instants."""
        slot_end = day_start_s(pc.day) + (np.arange(pc.k0, pc.k1) + 1) * float(SLOT_S)
        complete = pc.ends >= slot_end
        demand = np.rint(secondary * 10_000.0).astype(np.int64)
        demand[:, ~complete] = 0
        for i, sel in (*stopped, *reversed_):
            demand[i, sel] = 0
        return demand, slot_end

    def _raise_demand(self, rows: np.ndarray | slice, values: np.ndarray, slot_end: np.ndarray) -> None:
        """Running maximum demand of ``rows`` raised by ``values`` (rows x pieces)."""
        if values.shape[1] == 0:
            return
        top = np.argmax(values, axis=1)
        peak = values[np.arange(values.shape[0]), top]
        better = peak > self.demand_e4[rows]
        self.demand_e4[rows] = np.where(better, peak, self.demand_e4[rows])
        self.demand_at_s[rows] = np.where(better, slot_end[top], self.demand_at_s[rows])

    def _freeze(
        self,
        a: int,
        b: int,
        pc: _Pieces | None,
        channels: list[_Channel],
        runs: list[tuple[int, int, int]],
        before: np.ndarray | None = None,
        demand: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        target = self._meter_day(b)
        due = np.nonzero(target > self.last_frozen)[0]
        if not due.size:
            if demand is not None:
                self._raise_demand(slice(None), demand[0], demand[1])
            return
        day = target[due]
        drift = self.clock_drift_s_per_day[due] / DAY_S
        midnight = day_start_s(0) + day * float(DAY_S)
        t_star = (midnight - self.clock_offset_s[due] + drift * self.clock_ref_s[due]) / (1.0 + drift)
        t_star = np.clip(t_star, a, b)
        values = self.regs[:, due].copy()  # exact for a freeze at the end of the chunk
        inside = t_star < b
        if pc is not None and before is not None and inside.any():
            sub = due[inside]
            values[:, inside] = self._values_at(sub, t_star[inside], pc, channels, runs, before)
        slot = day % self.freeze_days
        self.frozen[slot, :, due] = values.T
        if demand is not None:  # the quarter hours up to the freeze count before it, the rest after
            values_kw, slot_end = demand
            rest = np.ones(self.n, dtype=bool)
            rest[due] = False
            self._raise_demand(rest, values_kw[rest], slot_end)
            upto = slot_end[None, :] <= t_star[:, None]
            self._raise_demand(due, np.where(upto, values_kw[due], 0), slot_end)
        self.frozen_demand_e4[slot, due] = self.demand_e4[due]
        self.frozen_demand_at_s[slot, due] = self.demand_at_s[due]
        as_days = day.astype("datetime64[D]")
        settle = due[as_days.astype("datetime64[M]").astype("datetime64[D]") == as_days]
        if settle.size:  # monthly settlement: the demand register starts again
            self.demand_e4[settle] = 0
            self.demand_at_s[settle] = 0.0
        if demand is not None:
            self._raise_demand(due, np.where(upto, 0, values_kw[due]), slot_end)
        self.frozen_day[slot, due] = day
        self.frozen_true_s[slot, due] = t_star
        self.last_frozen[due] = day

    def _values_at(
        self,
        due: np.ndarray,
        t_star: np.ndarray,
        pc: _Pieces,
        channels: list[_Channel],
        runs: list[tuple[int, int, int]],
        before: np.ndarray,
    ) -> np.ndarray:
        """Registers of meters ``due`` at instants ``t_star`` inside the chunk just advanced."""
        out = before[:, due].copy()
        k = len(pc.starts)
        j = np.clip(np.searchsorted(pc.ends, t_star, side="left"), 0, k - 1)
        f = np.clip((t_star - pc.starts[j]) / (pc.ends[j] - pc.starts[j]), 0.0, 1.0)
        rows = np.arange(len(due))
        for ch in channels:
            cum = ch.cumulative[due]
            e = ch.energy[due]
            r0 = ch.residual_before[due]
            prev = np.where(j > 0, cum[rows, np.maximum(j - 1, 0)], 0.0)
            at = np.where(f >= 1.0, cum[rows, j], np.minimum(cum[rows, j], prev + f * e[rows, j]))
            whole_at = np.floor(r0 + at)
            out[ch.total] += whole_at.astype(np.int64)
            previous = np.zeros(len(due))
            for tariff, first, stop in runs:
                run_end = np.floor(r0 + cum[:, stop - 1])
                upto = np.where(j >= stop, run_end, np.where(j >= first, whole_at, previous))
                out[ch.tariffs[tariff - 1]] += (upto - previous).astype(np.int64)
                previous = upto
            out[ch.reactive] += np.floor(ch.reactive_before[due] + self._tanphi[due] * at).astype(np.int64)
        return out % ROLLOVER

    # -- readings ------------------------------------------------------------------------------------
    def registers(self, i: int) -> Registers:
        """Meter ``i``'s registers at the bank's time."""
        return Registers.from_hundredths(self.regs[:, i].tolist())

    def frozen_record(self, i: int, day: date) -> FrozenRecord | None:
        """Meter ``i``'s freeze of 00:00 on ``day`` by its own clock; None if not (or no longer) held."""
        number = day_number(day)
        slot = number % self.freeze_days
        if self.frozen_day[slot, i] != number:
            return None
        return FrozenRecord(
            meter=self.addresses[i],
            day=day,
            freeze_time=from_epoch(day_start_s(number)),
            true_time=from_epoch(float(self.frozen_true_s[slot, i])),
            registers=Registers.from_hundredths(self.frozen[slot, :, i].tolist()),
            max_demand_kw=Decimal(int(self.frozen_demand_e4[slot, i])).scaleb(-4),
            max_demand_time=(
                from_epoch(float(self.frozen_demand_at_s[slot, i]))
                if self.frozen_demand_at_s[slot, i]
                else None
            ),
        )

    def frozen_history(self, i: int) -> list[FrozenRecord]:
        """Every freeze meter ``i`` holds, oldest first (at most ``freeze_days``)."""
        days = sorted(int(d) for d in self.frozen_day[:, i] if d >= 0)
        return [r for r in (self.frozen_record(i, day_date(d)) for d in days) if r is not None]

    def daily_frozen(self, meter: str, freeze_day: date) -> list[Decimal | None] | None:
        """Forward active total and T1..T4 frozen at 00:00 on ``freeze_day`` [kWh]; None if not held."""
        i = self._index.get(meter)
        if i is None:
            return None
        record = self.frozen_record(i, freeze_day)
        if record is None:
            return None
        r = record.registers
        return [r.forward_total, *r.forward_tariffs]

    def load_curve(self, i: int, start: datetime, end: datetime) -> list[tuple[datetime, Decimal]]:
        """15-minute load-curve points of meter ``i`` with meter-clock times in [start, end].

        The point at T is the mean active power of the quarter hour ending at T [kW, secondary, negative
        when reversed], labelled by the meter's clock rounded to the quarter hour. Only the last
        ``curve_days`` days are held.
        """
        lo, hi = epoch_s(start), epoch_s(end)
        valid = self.curve_slot >= 0
        slot_end = (self.curve_slot + 1) * SLOT_S - LOCAL_OFFSET_S
        valid &= (slot_end <= self.t) & (slot_end - SLOT_S >= self.curve_from_s[i])
        points: list[tuple[int, float]] = []
        for ring in np.nonzero(valid)[0]:
            true_end = int(slot_end[ring])
            error = self._clock_error_of(i, true_end)
            label = true_end + round(error / SLOT_S) * SLOT_S
            if lo <= label <= hi:
                points.append((label, float(self.curve_kw[i, ring])))
        points.sort()
        return [(from_epoch(s), Decimal(repr(round(v, 4)))) for s, v in points]

    def instantaneous(self, i: int, t: datetime | None = None) -> Instantaneous:
        """Voltage, current, power and power factor of meter ``i`` at ``t`` (default: the bank's time),
        consistent with its load in that quarter hour (and with its faults and relay now)."""
        te = self.t if t is None else epoch_s(t)
        base = day_start_s(local_day(te))
        k = (te - base) // SLOT_S
        pc = _Pieces(
            local_day(te),
            int(k),
            int(k) + 1,
            np.array([base + k * SLOT_S], float),
            np.array([base + (k + 1) * SLOT_S], float),
        )
        true, measured, _stopped, reversed_ = self._power(pc)
        sign = -1.0 if any(idx == i and sel[0] for idx, sel in reversed_) else 1.0
        p = float(measured[i, 0]) / float(self.multiplier[i])
        ratio = min(1.5, float(true[i, 0]) / float(self._p_ref[i]))
        phases = int(self.phases[i])
        jitter = np.random.default_rng([self.seed, 19, i, int(te // SLOT_S)]).normal(0.0, 0.003, phases)
        volts = self.nominal_v[i] * (1.0 + self._v_offset[i] - 0.03 * ratio + jitter)
        pf = float(self.power_factor[i])
        amps = [abs(p) * 1000.0 / (phases * float(v) * pf) for v in volts]
        return Instantaneous(
            voltage_v=tuple(Decimal(f"{v:.1f}") for v in volts),
            current_a=tuple(Decimal(f"{a:.3f}") for a in amps),
            active_kw=Decimal(f"{sign * p:.4f}"),
            reactive_kvar=Decimal(f"{sign * p * float(self._tanphi[i]):.4f}"),
            power_factor=Decimal(f"{pf:.3f}"),
            relay_closed=bool(self.relay_closed[i]),
        )

    def total_kwh(self, i: int) -> Decimal:
        """Forward active total of meter ``i`` now [kWh]."""
        return kwh(int(self.regs[FWD, i]))
