"""Register layout, reading value types and time helpers shared by the meter bank and its views.

Registers are integer hundredths of a kWh (kvarh for reactive) in int64 arrays; they wrap from
999999.99 to 0 independently, so "total = T1 + T2 + T3 + T4" holds exactly modulo 10**8 hundredths
(and exactly as long as no register has wrapped). Readings are handed out as :class:`~decimal.Decimal`
with two places.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Final

from gridcare.timeutil import BEIJING, to_beijing

ROLLOVER: Final = 100_000_000
"""Register modulus in hundredths: 999999.99 kWh + 0.01 wraps to 0."""

COLUMNS: Final = (
    "forward_total",
    "forward_t1",
    "forward_t2",
    "forward_t3",
    "forward_t4",
    "reverse_total",
    "reverse_t1",
    "reverse_t2",
    "reverse_t3",
    "reverse_t4",
    "reactive_q1",
    "reactive_q2",
    "reactive_q3",
    "reactive_q4",
)
"""Register rows of a bank: forward/reverse active total and tariffs T1..T4 (sharp, peak, flat, valley)
[kWh], reactive energy by quadrant [kvarh]."""
FWD: Final = 0
FWD_TARIFFS: Final = (1, 2, 3, 4)
REV: Final = 5
REV_TARIFFS: Final = (6, 7, 8, 9)
Q1, Q2, Q3, Q4 = 10, 11, 12, 13

LOCAL_OFFSET_S: Final = 8 * 3600
"""Beijing time is UTC+8 all year."""
DAY_S: Final = 86400
SLOT_S: Final = 900
_EPOCH_DAY: Final = date(1970, 1, 1)


def epoch_s(t: datetime) -> int:
    """Whole seconds since the Unix epoch; a naive ``t`` is Beijing local time."""
    return int(to_beijing(t).timestamp() // 1)


def from_epoch(seconds: float) -> datetime:
    """Aware Beijing datetime of an epoch instant."""
    return datetime.fromtimestamp(seconds, BEIJING)


def local_day(seconds: float) -> int:
    """Beijing day number (days since 1970-01-01) of an epoch instant."""
    return int((seconds + LOCAL_OFFSET_S) // DAY_S)


def day_date(day_number: int) -> date:
    return _EPOCH_DAY + timedelta(days=int(day_number))


def day_number(day: date) -> int:
    return (day - _EPOCH_DAY).days


def day_start_s(day_number: int) -> int:
    """Epoch seconds of 00:00 Beijing time on a day number."""
    return int(day_number) * DAY_S - LOCAL_OFFSET_S


def kwh(hundredths: int) -> Decimal:
    """Hundredths -> Decimal with two places."""
    return Decimal(int(hundredths)).scaleb(-2)


@dataclass(frozen=True)
class Registers:
    """One meter's registers [kWh / kvarh], secondary side (multiply by the meter multiplier for primary)."""

    forward_total: Decimal
    forward_tariffs: tuple[Decimal, Decimal, Decimal, Decimal]
    reverse_total: Decimal
    reverse_tariffs: tuple[Decimal, Decimal, Decimal, Decimal]
    reactive: tuple[Decimal, Decimal, Decimal, Decimal]

    @classmethod
    def from_hundredths(cls, row: Sequence[int]) -> Registers:
        v = [kwh(x) for x in row]
        return cls(
            forward_total=v[FWD],
            forward_tariffs=(v[1], v[2], v[3], v[4]),
            reverse_total=v[REV],
            reverse_tariffs=(v[6], v[7], v[8], v[9]),
            reactive=(v[Q1], v[Q2], v[Q3], v[Q4]),
        )

    @property
    def combined_reactive_1(self) -> Decimal:
        """组合无功1 with the combination word quadrant I + quadrant IV [kvarh] (wraps like a register)."""
        return kwh((int(self.reactive[0].scaleb(2)) + int(self.reactive[3].scaleb(2))) % ROLLOVER)

    def hundredths(self) -> tuple[int, ...]:
        """The 14 registers in :data:`COLUMNS` order as integer hundredths."""
        values = (
            self.forward_total,
            *self.forward_tariffs,
            self.reverse_total,
            *self.reverse_tariffs,
            *self.reactive,
        )
        return tuple(int(v.scaleb(2)) for v in values)


@dataclass(frozen=True)
class FrozenRecord:
    """A daily freeze (日冻结): made when the meter's own clock reads 00:00 of ``day``.

    ``freeze_time`` is that instant by the meter's clock (what it reports); ``true_time`` the true
    instant (ground truth: differs by the meter's clock error). ``max_demand_kw`` is the maximum
    quarter-hour demand since the last settlement [kW, secondary] and ``max_demand_time`` the end of
    that quarter hour (None while there is none).
    """

    meter: str
    day: date
    freeze_time: datetime
    true_time: datetime
    registers: Registers
    max_demand_kw: Decimal = Decimal("0.0000")
    max_demand_time: datetime | None = None


@dataclass(frozen=True)
class Instantaneous:
    """Instantaneous values, secondary side: per-phase voltage [V] and current [A], total active power
    [kW] (negative when energy flows in reverse), reactive power [kvar], power factor."""

    voltage_v: tuple[Decimal, ...]
    current_a: tuple[Decimal, ...]
    active_kw: Decimal
    reactive_kvar: Decimal
    power_factor: Decimal
    relay_closed: bool
