"""One simulated electricity meter: a view of one position of a :class:`~gridcare.simulator.bank.MeterBank`.

A standalone meter is a bank of one (:meth:`VirtualMeter.create`); a fleet shares one bank, so advancing
any meter advances all of them to the same instant (the bank's time never goes back).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from gridcare.simulator.bank import MeterBank
from gridcare.simulator.registers import FrozenRecord, Instantaneous, Registers
from gridcare.simulator.specs import MeterSpec


@dataclass(frozen=True)
class VirtualMeter:
    """Meter ``index`` of ``bank``."""

    bank: MeterBank
    index: int

    @classmethod
    def create(cls, spec: MeterSpec, start: datetime, *, seed: int = 0, **bank_options: Any) -> VirtualMeter:
        """A meter in a bank of its own, starting at ``start``."""
        return cls(MeterBank([spec], start, seed=seed, **bank_options), 0)

    @classmethod
    def of(cls, bank: MeterBank, address: str) -> VirtualMeter:
        """The view of the meter now at ``address``."""
        return cls(bank, bank.index_of(address))

    @property
    def address(self) -> str:
        """Current address (changes when the meter is replaced)."""
        return self.bank.addresses[self.index]

    @property
    def spec(self) -> MeterSpec:
        return self.bank.specs[self.index]

    @property
    def customer_class(self) -> str | None:
        return self.spec.customer_class

    @property
    def multiplier(self) -> int:
        return int(self.bank.multiplier[self.index])

    @property
    def now(self) -> datetime:
        return self.bank.now

    def advance_to(self, t: datetime) -> None:
        """Advance (the whole bank) to ``t``."""
        self.bank.advance_to(t)

    def registers(self) -> Registers:
        """Registers at the bank's time."""
        return self.bank.registers(self.index)

    def read(self, t: datetime) -> Registers:
        """Advance to ``t`` and read the registers."""
        self.bank.advance_to(t)
        return self.bank.registers(self.index)

    def frozen(self, day: date) -> FrozenRecord | None:
        """The daily freeze of 00:00 on ``day`` (by the meter's clock), or None."""
        return self.bank.frozen_record(self.index, day)

    def frozen_history(self) -> list[FrozenRecord]:
        return self.bank.frozen_history(self.index)

    def load_curve(self, start: datetime, end: datetime) -> list[tuple[datetime, Decimal]]:
        return self.bank.load_curve(self.index, start, end)

    def clock(self, t: datetime | None = None) -> datetime:
        """The meter's clock reading at true time ``t`` (default: the bank's time)."""
        return self.bank.meter_time(self.index, t)

    def set_clock(self, t: datetime, meter_time: datetime) -> None:
        self.bank.set_clock(self.index, t, meter_time)

    @property
    def relay_closed(self) -> bool:
        return bool(self.bank.relay_closed[self.index])

    def open_relay(self, t: datetime) -> None:
        """Trip (跳闸) at ``t``: consumption stops."""
        self.bank.set_relay(self.index, False, t)

    def close_relay(self, t: datetime) -> None:
        """Close (合闸) at ``t``."""
        self.bank.set_relay(self.index, True, t)

    def instantaneous(self, t: datetime | None = None) -> Instantaneous:
        return self.bank.instantaneous(self.index, t)
