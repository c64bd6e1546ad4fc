"""Run a simulated fleet against a master station: terminals over TCP, meters answering DL/T 645.

:class:`BankMeters` puts a :class:`MeterBank` behind the terminals: daily frozen registers for AFN0D
F161, and DL/T 645 answers for frames the master station forwards (AFN10): clock and date, relay
state (run status word 3), current and frozen energy, remote trip / allow close, broadcast time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from gridcare.mdm.schema import (
    DI_FWD_ACTIVE,
    DI_FWD_ACTIVE_TARIFFS,
    DI_FWD_DEMAND,
    DI_FWD_DEMAND_TIME,
    DI_FWD_REACTIVE,
)
from gridcare.protocols import dlt645
from gridcare.protocols.errors import FrameError
from gridcare.simulator.bank import MeterBank
from gridcare.simulator.faults import FaultPlan
from gridcare.simulator.specs import TerminalSpec
from gridcare.simulator.terminal import Ledger, NoFaults, SimTerminal, TerminalFaults
from gridcare.timeutil import BEIJING

log = logging.getLogger("gridcare.simulator")

RELAY_OPEN_BIT = 1 << 4  # run status word 3, bit 4: relay open
ERR_NO_DATA = 0x02  # abnormal reply error bit: no data requested


class BankMeters:
    """The meters of a bank, as terminals see them. ``clock`` gives true (simulated) Beijing time."""

    def __init__(self, bank: MeterBank, clock: Callable[[], datetime]) -> None:
        self.bank = bank
        self.clock = clock

    def _advance(self) -> datetime:
        now = self.clock()
        if now > self.bank.now:
            self.bank.advance_to(now)
        return now

    def daily_frozen(self, meter: str, freeze_day: date) -> list[Decimal | None] | None:
        self._advance()
        return self.bank.daily_frozen(meter, freeze_day)

    def forward(self, meter: str, frame: bytes, now: datetime) -> bytes | None:
        """The meter's answer to a DL/T 645 request; None for broadcasts and undecodable frames."""
        try:
            request = dlt645.decode_frame(frame, allow_trailing=True)
        except FrameError:
            return None
        t = self._advance()
        try:
            i = self.bank.index_of(meter)
        except KeyError:
            return None
        if request.function == 0x08:  # broadcast time: every meter on the bus sets its clock, no answer
            value = request.values[0].value if request.values else None
            if value:
                self.bank.set_clock(i, t, datetime.fromisoformat(str(value)).replace(tzinfo=t.tzinfo))
            return None
        if request.function == 0x1C:
            command = next((v.value for v in request.values if v.name == "command"), None)
            if command in ("trip", "allow_close", "direct_close"):
                self.bank.set_relay(i, command != "trip", t)
                return dlt645.build_remote_control_reply(meter)
            return dlt645.build_abnormal_reply(meter, 0x1C, ERR_NO_DATA)
        if request.function == 0x11 and request.di:
            values = self._read(i, request.di, t)
            if values is None:
                return dlt645.build_abnormal_reply(meter, 0x11, ERR_NO_DATA)
            return dlt645.build_read_reply(meter, request.di, values)
        return dlt645.build_abnormal_reply(meter, request.function, ERR_NO_DATA)

    def _read(self, i: int, di: str, t: datetime) -> list[Decimal | int | str | None] | None:
        regs = self.bank.registers(i)
        meter_now = self.bank.meter_time(i, t)
        if di == "04000101":
            return [meter_now.isoweekday() % 7, meter_now.date().isoformat()]
        if di == "04000102":
            return [meter_now.strftime("%H:%M:%S")]
        if di == "04000503":
            closed = self.bank.instantaneous(i, t).relay_closed
            return [0 if closed else RELAY_OPEN_BIT]
        if di == "00010000":
            return [regs.forward_total]
        if di == "0001FF00":
            return [regs.forward_total, *regs.forward_tariffs]
        if di[:6] in ("050600", "050601", "050603", "050609") and len(di) == 8:  # last N daily freezes
            n = int(di[6:], 16)
            history = self.bank.frozen_history(i)
            if not 1 <= n <= len(history):
                return None
            record = history[-n]
            if di[:6] == "050600":
                return [record.freeze_time.strftime("%Y-%m-%d %H:%M")]
            if di[:6] == "050603":  # combined reactive 1 (Q1 + Q4): total only
                return [record.registers.combined_reactive_1]
            if di[:6] == "050609":  # forward active maximum demand and its time: total only
                when = record.max_demand_time or record.freeze_time
                return [record.max_demand_kw, when.strftime("%Y-%m-%d %H:%M")]
            return [record.registers.forward_total, *record.registers.forward_tariffs]
        return None


def build_terminals(
    fleet: Sequence[TerminalSpec],
    meters: BankMeters,
    clock: Callable[[], datetime],
    ledger: Ledger,
    faults: TerminalFaults | None = None,
    heartbeat_s: float = 60.0,
    seed: int = 0,
) -> list[SimTerminal]:
    """One :class:`SimTerminal` per terminal spec, sharing the bank and the ledger."""
    return [
        SimTerminal(
            spec.area_code,
            spec.terminal_number,
            {m.point_number: m.address for m in spec.meters},
            meters,
            clock,
            ledger,
            faults or NoFaults(),
            heartbeat_s=heartbeat_s,
            seed=seed,
        )
        for spec in fleet
    ]


async def run_fleet(terminals: Sequence[SimTerminal], host: str, port: int, stop: asyncio.Event) -> None:
    """Run every terminal until ``stop`` is set."""
    await asyncio.gather(*(t.run(host, port, stop) for t in terminals))


__all__ = ["BankMeters", "FaultPlan", "build_terminals", "run_fleet"]


def freeze_rows(
    bank: MeterBank, freeze_day: date, extra: Collection[str] = (), *, supply: bool = False
) -> list[dict[str, Any]]:
    """Ground-truth lake rows of the daily freeze at 00:00 on ``freeze_day`` of every customer meter and
    feeder head meter (线路关口表), with ``supply`` also of every 台区 supply meter: forward active total and
    T1..T4 [kWh]; for the meters in ``extra`` (those whose customers need them: 力调, demand-based basic
    charge) also 组合无功1 = Q1 + Q4 [kvarh], the maximum demand [kW] and its time (YYYYMMDDhhmm).
    Register units (secondary side), as the meters report them."""
    rows: list[dict[str, Any]] = []
    freeze = datetime(freeze_day.year, freeze_day.month, freeze_day.day, tzinfo=BEIJING)
    for i, address in enumerate(bank.addresses):
        if bank.specs[i].is_supply and not supply:
            continue
        record = bank.frozen_record(i, freeze_day)
        if record is None:
            continue
        r = record.registers
        values: list[tuple[str, Decimal]] = list(
            zip((DI_FWD_ACTIVE, *DI_FWD_ACTIVE_TARIFFS), (r.forward_total, *r.forward_tariffs), strict=True)
        )
        if address in extra:
            values.append((DI_FWD_REACTIVE, r.combined_reactive_1))
            values.append((DI_FWD_DEMAND, record.max_demand_kw))
            if record.max_demand_time is not None:
                values.append((DI_FWD_DEMAND_TIME, Decimal(record.max_demand_time.strftime("%Y%m%d%H%M"))))
        rows.extend(
            {"meter": address, "di": di, "freeze_time": freeze, "value": value, "frame_ref": None}
            for di, value in values
        )
    return rows
