"""VEE rule registry (code, default severity, titles) and the rule parameters with their defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Final

from gridcare.mdm.schema import SEVERITIES, MdmInputError, Severity


@dataclass(frozen=True)
class Rule:
    """A validation rule: stable code, default severity, Chinese and English titles."""

    code: str
    severity: Severity
    title_zh: str
    title_en: str


MISSING: Final = "MISSING"
INVALID_VALUE: Final = "INVALID_VALUE"
REG_DECREASE: Final = "REG_DECREASE"
ROLLOVER: Final = "ROLLOVER"
SPIKE: Final = "SPIKE"
OVER_CAPACITY: Final = "OVER_CAPACITY"
METER_STOPPED: Final = "METER_STOPPED"
REVERSE_ENERGY: Final = "REVERSE_ENERGY"
CLOCK_ERROR: Final = "CLOCK_ERROR"
DUPLICATE_CONFLICT: Final = "DUPLICATE_CONFLICT"
TARIFF_SUM: Final = "TARIFF_SUM"
FLAT_LINE: Final = "FLAT_LINE"
ZERO_RUN: Final = "ZERO_RUN"
UNKNOWN_METER: Final = "UNKNOWN_METER"

RULES: Final[Mapping[str, Rule]] = {
    r.code: r
    for r in (
        Rule(MISSING, "error", "日冻结数据缺失", "missing daily frozen reading"),
        Rule(
            INVALID_VALUE,
            "error",
            "示值无效(空值/负值/超量程)",
            "invalid register value (null, negative, over range)",
        ),
        Rule(REG_DECREASE, "error", "示值倒走", "register decreased (not a rollover)"),
        Rule(ROLLOVER, "info", "示值翻转", "register rolled over"),
        Rule(SPIKE, "warning", "电量突增", "consumption spike against the customer's typical day"),
        Rule(OVER_CAPACITY, "error", "电量超容量", "consumption above contracted capacity x 24 h"),
        Rule(METER_STOPPED, "error", "电能表停走", "meter stopped while power or current flowed"),
        Rule(REVERSE_ENERGY, "warning", "反向电量异常", "reverse energy on a forward-only customer"),
        Rule(CLOCK_ERROR, "warning", "时钟超差", "meter or terminal clock offset above threshold"),
        Rule(DUPLICATE_CONFLICT, "error", "重复数据冲突", "duplicate readings of one version disagree"),
        Rule(TARIFF_SUM, "warning", "总分不平", "tariff registers do not sum to the total"),
        Rule(FLAT_LINE, "warning", "电量恒定", "same consumption for several days"),
        Rule(ZERO_RUN, "warning", "连续零电量", "zero consumption for several days in a consuming class"),
        Rule(UNKNOWN_METER, "warning", "档案外电能表", "reading from a meter not in the archive"),
    )
}


@dataclass(frozen=True)
class VeeConfig:
    """Parameters of the VEE rules. Energies are primary-side [kWh] unless named otherwise.

    - ``max_wrap_fraction``: a register drop counts as a rollover when the wrapped advance is at most this
      fraction of the register range (limit + 0.01 kWh).
    - ``spike_factor`` (k), ``spike_history_days``, ``spike_min_history_days``: SPIKE when the energy per day
      exceeds k x the median single-day energy of the previous ``spike_history_days`` days (needs at least
      ``spike_min_history_days`` of them, or a typical value passed in); ``spike_min_kwh`` is an absolute
      floor per day below which nothing is a spike.
    - ``capacity_factor``: OVER_CAPACITY when energy per day > capacity [kVA] x 24 h x this factor.
    - ``stopped_min_power_kw`` / ``stopped_min_current_a``: activity above these makes a zero advance a
      METER_STOPPED.
    - ``reverse_min_kwh``: reverse advance from which REVERSE_ENERGY fires.
    - ``clock_max_offset_meter_s`` / ``clock_max_offset_terminal_s``: CLOCK_ERROR when |offset| exceeds.
    - ``duplicate_tolerance_kwh``: values closer than this are the same reading.
    - ``tariff_tolerance_kwh``: TARIFF_SUM when |T1+..+T4 - total| exceeds this [register kWh]; four
      registers each truncated to 0.01 may differ from the total by up to 0.04.
    - ``flat_days``: FLAT_LINE when this many consecutive single-day energies are equal and non-zero.
    - ``zero_days``: ZERO_RUN when this many consecutive single-day energies are zero and the customer's
      class normally consumes: at least ``zero_class_min_share`` of the class's meter-days in the grid are
      non-zero, and the class is not in ``zero_exempt_classes``.
    - ``disabled_rules``: rule codes not run; ``severity_overrides``: code -> severity.
    """

    max_wrap_fraction: float = 0.01
    spike_factor: float = 5.0
    spike_history_days: int = 28
    spike_min_history_days: int = 7
    spike_min_kwh: float = 1.0
    capacity_factor: float = 1.0
    stopped_min_power_kw: float = 0.01
    stopped_min_current_a: float = 0.05
    reverse_min_kwh: float = 0.01
    clock_max_offset_meter_s: float = 10.0
    clock_max_offset_terminal_s: float = 5.0
    duplicate_tolerance_kwh: float = 0.005
    tariff_tolerance_kwh: float = 0.05
    flat_days: int = 5
    zero_days: int = 7
    zero_class_min_share: float = 0.5
    zero_exempt_classes: frozenset[str] = frozenset()
    disabled_rules: frozenset[str] = frozenset()
    severity_overrides: Mapping[str, Severity] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
                raise MdmInputError(f"VeeConfig.{f.name}: must not be negative, got {value}")
        if not 0 < self.max_wrap_fraction < 1:
            raise MdmInputError("VeeConfig.max_wrap_fraction: must be between 0 and 1")
        if self.spike_factor <= 1:
            raise MdmInputError("VeeConfig.spike_factor: must be above 1")
        for name in ("spike_history_days", "flat_days", "zero_days"):
            if getattr(self, name) < 2:
                raise MdmInputError(f"VeeConfig.{name}: must be at least 2")
        unknown = sorted((set(self.disabled_rules) | set(self.severity_overrides)) - set(RULES))
        if unknown:
            raise MdmInputError(f"VeeConfig: unknown rule code(s) {unknown}")
        bad = {k: v for k, v in self.severity_overrides.items() if v not in SEVERITIES}
        if bad:
            raise MdmInputError(
                f"VeeConfig.severity_overrides: unknown severity {bad}; expected {SEVERITIES}"
            )

    def severity(self, code: str) -> Severity:
        return self.severity_overrides.get(code, RULES[code].severity)

    def enabled(self, code: str) -> bool:
        return code not in self.disabled_rules
