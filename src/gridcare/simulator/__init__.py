"""Simulated fleet of terminals and meters: realistic load, registers, freezes, clocks and faults.

The protocol-free core lives here (profiles, calendar, meter bank, faults, accelerated clock, fleet
specs); terminals speaking Q/GDW 1376.1 and DL/T 645 over TCP are built on top of it.
"""

from gridcare.simulator.bank import MeterBank
from gridcare.simulator.calendar import (
    DEFAULT_TOU,
    DayType,
    HolidayCalendar,
    Season,
    Tariff,
    TouCalendar,
    default_holidays,
    season_of,
)
from gridcare.simulator.clock import SimClock
from gridcare.simulator.faults import (
    Fault,
    FaultKind,
    FaultPlan,
    FaultRates,
    corrupt_bytes,
    plan_faults,
    read_ground_truth,
    write_ground_truth,
)
from gridcare.simulator.meter import VirtualMeter
from gridcare.simulator.profiles import CLASSES, ProfileSet, default_profiles, draw_daily_kwh
from gridcare.simulator.registers import FrozenRecord, Instantaneous, Registers
from gridcare.simulator.specs import MeterSpec, TerminalSpec, build_fleet, fleet_from_archive

__all__ = [
    "CLASSES",
    "DEFAULT_TOU",
    "DayType",
    "Fault",
    "FaultKind",
    "FaultPlan",
    "FaultRates",
    "FrozenRecord",
    "HolidayCalendar",
    "Instantaneous",
    "MeterBank",
    "MeterSpec",
    "ProfileSet",
    "Registers",
    "Season",
    "SimClock",
    "Tariff",
    "TerminalSpec",
    "TouCalendar",
    "VirtualMeter",
    "build_fleet",
    "corrupt_bytes",
    "default_holidays",
    "default_profiles",
    "draw_daily_kwh",
    "fleet_from_archive",
    "plan_faults",
    "read_ground_truth",
    "season_of",
    "write_ground_truth",
]
