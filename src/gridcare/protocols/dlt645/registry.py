"""DL/T 645-2007 data identifiers (DI3 DI2 DI1 DI0, shown most significant first, sent DI0 first).

Covered here (events, freezes and load profile in :mod:`registry_events`):

- 00 energy (table A.1): DI2 = 00 combined active, 01 forward active, 02 reverse active, 03/04 combined
  reactive 1/2, 05..08 reactive quadrants I..IV, 09/0A forward/reverse apparent; 15..1E, 29..32, 3D..46
  the same ten per phase A/B/C (total only). DI1 = 00 total, 01..3F tariff 1..63, FF block (total + T1..TM).
  DI0 = 00 current, 01..0C settlement day 1..12 ago, FF block (current + settlement days; not with DI1=FF).
  XXXXXX.XX, 4 bytes; combined quantities carry a sign bit. 00 90 01 00/01 remaining/overdraft energy
  (kWh) and 00 90 02 00/01 remaining/overdraft money (yuan) of prepaid meters.
- 01 maximum demand (table A.2): DI2 = 01..0A as above, DI1/DI0 as for energy; each item is
  XX.XXXX (3 bytes, kW/kvar/kVA) followed by its time YYMMDDhhmm (5 bytes).
- 02 variables (table A.3): voltage, current, active/reactive/apparent power, power factor, phase angle
  (DI1 = 00 total, 01..03 phase, FF block) and 02 80 00 01..0A (neutral current, frequency, ...).
- 04 parameters (table A.5): date and week, time, demand period, slip time, address, meter number,
  constants, run status words 1..7.
"""

from __future__ import annotations

from gridcare.protocols.dlt645.datablock import DataSpec, single
from gridcare.protocols.dlt645.values import Field, number, when

# DI2 -> (English base name, Chinese name, energy unit, demand unit, signed)
QUANTITIES: dict[int, tuple[str, str, str, str, bool]] = {
    0x00: ("combined_active", "组合有功", "kWh", "kW", True),
    0x01: ("forward_active", "正向有功", "kWh", "kW", False),
    0x02: ("reverse_active", "反向有功", "kWh", "kW", False),
    0x03: ("combined_reactive_1", "组合无功1", "kvarh", "kvar", True),
    0x04: ("combined_reactive_2", "组合无功2", "kvarh", "kvar", True),
    0x05: ("q1_reactive", "第一象限无功", "kvarh", "kvar", False),
    0x06: ("q2_reactive", "第二象限无功", "kvarh", "kvar", False),
    0x07: ("q3_reactive", "第三象限无功", "kvarh", "kvar", False),
    0x08: ("q4_reactive", "第四象限无功", "kvarh", "kvar", False),
    0x09: ("forward_apparent", "正向视在", "kVAh", "kVA", False),
    0x0A: ("reverse_apparent", "反向视在", "kVAh", "kVA", False),
}
PHASE_BASES = {0x14: "a", 0x28: "b", 0x3C: "c"}
MAX_TARIFFS = 63
SETTLEMENT_DAYS = 12


def parse_di(di: str) -> tuple[int, int, int, int]:
    """ "0001FF00" -> (DI3, DI2, DI1, DI0)."""
    raw = bytes.fromhex(di)
    return raw[0], raw[1], raw[2], raw[3]


def _quantity(di2: int) -> tuple[str, str, str, str, bool, str | None] | None:
    if di2 in QUANTITIES:
        return (*QUANTITIES[di2], None)
    for base, phase in PHASE_BASES.items():
        if base < di2 <= base + 0x0A:
            return (*QUANTITIES[di2 - base], phase)
    return None


def _tariff_en(di1: int) -> str:
    return "total" if di1 == 0 else f"t{di1}"


def _tariff_zh(di1: int) -> str:
    return "总" if di1 == 0 else f"费率{di1}"


def _when_en(di0: int) -> str:
    return "" if di0 == 0 else f"_last{di0}"


def _when_zh(di0: int) -> str:
    return "(当前)" if di0 == 0 else f"(上{di0}结算日)"


def _energy_field(name: str, zh: str, unit: str, signed: bool) -> Field:
    return number(name, "XXXXXX.XX", unit, signed, zh)


def _demand_group(name: str, zh: str, unit: str, signed: bool) -> tuple[Field, Field]:
    return (
        number(name, "XX.XXXX", unit, signed, f"{zh}最大需量"),
        when(f"{name}_time", "YYMMDDhhmm", f"{zh}最大需量发生时间"),
    )


def _energy_or_demand(di: str, di3: int, di2: int, di1: int, di0: int) -> DataSpec | None:
    q = _quantity(di2)
    if q is None or (di3 == 0x01 and di2 == 0x00):
        return None
    base, zh, e_unit, d_unit, signed, phase = q
    demand = di3 == 0x01
    if phase is not None:
        if di1 != 0:
            return None
        base, zh = f"{base}_phase_{phase}", f"{phase.upper()}相{zh}"
    base_en = f"{base}_demand" if demand else base
    kind_zh = "最大需量及发生时间" if demand else "电能"
    unit = d_unit if demand else e_unit

    def item(tariff: int, settle: int) -> tuple[Field, ...]:
        name = base_en if phase is not None else f"{base_en}_{_tariff_en(tariff)}"
        name += _when_en(settle)
        label = f"{_when_zh(settle)}{zh}{'' if phase is not None else _tariff_zh(tariff)}"
        if demand:
            return _demand_group(name, label, unit, signed)
        return (_energy_field(name, f"{label}电能", unit, signed),)

    if di1 == 0xFF and di0 == 0xFF:
        return None
    if di1 == 0xFF:
        if phase is not None or not 0 <= di0 <= SETTLEMENT_DAYS:
            return None
        groups = tuple(item(t, di0) for t in range(MAX_TARIFFS + 1))
        return DataSpec(
            di, f"{_when_zh(di0)}{zh}{kind_zh}数据块", f"{base_en} block (total, tariffs)", groups, True
        )
    if di1 > MAX_TARIFFS:
        return None
    if di0 == 0xFF:
        groups = tuple(item(di1, s) for s in range(SETTLEMENT_DAYS + 1))
        return DataSpec(
            di,
            f"{zh}{_tariff_zh(di1)}{kind_zh}(当前及结算日)数据块",
            f"{base_en} settlement block",
            groups,
            True,
        )
    if di0 > SETTLEMENT_DAYS:
        return None
    fields = item(di1, di0)
    zh_name = fields[0].name_zh + ("及发生时间" if demand else "")
    return single(di, zh_name, fields[0].name, *fields)


_PREPAID = {
    "00900100": ("remaining_energy", "(当前)剩余电量", "kWh"),
    "00900101": ("overdraft_energy", "(当前)透支电量", "kWh"),
    "00900200": ("remaining_money", "(当前)剩余金额", "yuan"),
    "00900201": ("overdraft_money", "(当前)透支金额", "yuan"),
}

# DI2 -> (base name, Chinese, format, unit, signed, first DI1 (0 when a total exists))
_VARIABLES: dict[int, tuple[str, str, str, str, bool, int]] = {
    0x01: ("voltage", "电压", "XXX.X", "V", False, 1),
    0x02: ("current", "电流", "XXX.XXX", "A", True, 1),
    0x03: ("active_power", "有功功率", "XX.XXXX", "kW", True, 0),
    0x04: ("reactive_power", "无功功率", "XX.XXXX", "kvar", True, 0),
    0x05: ("apparent_power", "视在功率", "XX.XXXX", "kVA", True, 0),
    0x06: ("power_factor", "功率因数", "X.XXX", "", True, 0),
    0x07: ("phase_angle", "相角", "XXX.X", "°", False, 1),
}
_PHASE_NAMES = {0: ("total", "总"), 1: ("a", "A相"), 2: ("b", "B相"), 3: ("c", "C相")}

_VARIABLES_80: dict[int, tuple[str, str, str, str, bool]] = {
    0x01: ("neutral_current", "零线电流", "XXX.XXX", "A", True),
    0x02: ("frequency", "电网频率", "XX.XX", "Hz", False),
    0x03: ("active_power_avg_1min", "一分钟有功总平均功率", "XX.XXXX", "kW", True),
    0x04: ("active_demand_current", "当前有功需量", "XX.XXXX", "kW", True),
    0x05: ("reactive_demand_current", "当前无功需量", "XX.XXXX", "kvar", True),
    0x06: ("apparent_demand_current", "当前视在需量", "XX.XXXX", "kVA", True),
    0x07: ("meter_temperature", "表内温度", "XXX.X", "℃", True),
    0x08: ("clock_battery_voltage", "时钟电池电压(内部)", "XX.XX", "V", False),
    0x09: ("reading_battery_voltage", "停电抄表电池电压(外部)", "XX.XX", "V", False),
    0x0A: ("battery_working_time", "内部电池工作时间", "XXXXXXXX", "min", False),
}


def _variable(di: str, di2: int, di1: int, di0: int) -> DataSpec | None:
    if di2 == 0x80:
        if di1 != 0 or di0 not in _VARIABLES_80:
            return None
        name, zh, fmt, unit, signed = _VARIABLES_80[di0]
        return single(di, zh, name, number(name, fmt, unit, signed, zh))
    if di2 not in _VARIABLES or di0 != 0:
        return None
    base, zh, fmt, unit, signed, first = _VARIABLES[di2]

    def field(k: int) -> Field:
        suffix, label = _PHASE_NAMES[k]
        return number(f"{base}_{suffix}", fmt, unit, signed, f"{label}{zh}")

    if di1 == 0xFF:
        groups = tuple((field(k),) for k in range(first, 4))
        return DataSpec(di, f"{zh}数据块", f"{base} block", groups, True)
    if not first <= di1 <= 3:
        return None
    f = field(di1)
    return single(di, f.name_zh, f.name, f)


def _status_word(n: int) -> Field:
    return Field(f"status_word_{n}", "bin", 2, "XXXX", "", name_zh=f"电表运行状态字{n}")


_PARAMETERS: dict[str, DataSpec] = {
    spec.di: spec
    for spec in (
        single(
            "04000101",
            "日期及星期(其中0代表星期天)",
            "date and weekday",
            Field("weekday", "bcd", 1, "WW", "", name_zh="星期"),
            when("date", "YYMMDD", "日期"),
        ),
        single("04000102", "时间", "time", when("time", "hhmmss", "时间")),
        single(
            "04000103",
            "最大需量周期",
            "demand period",
            number("demand_period", "NN", "min", name_zh="最大需量周期"),
        ),
        single("04000104", "滑差时间", "slip time", number("slip_time", "NN", "min", name_zh="滑差时间")),
        single(
            "04000401",
            "通信地址",
            "address",
            Field("address", "digits", 6, "NNNNNNNNNNNN", name_zh="通信地址"),
        ),
        single(
            "04000402",
            "表号",
            "meter number",
            Field("meter_number", "digits", 6, "NNNNNNNNNNNN", name_zh="表号"),
        ),
        single(
            "04000409",
            "电表有功常数",
            "active constant",
            number("active_constant", "XXXXXX", "imp/kWh", name_zh="电表有功常数"),
        ),
        single(
            "0400040A",
            "电表无功常数",
            "reactive constant",
            number("reactive_constant", "XXXXXX", "imp/kvarh", name_zh="电表无功常数"),
        ),
        *(
            single(f"0400050{n}", f"电表运行状态字{n}", f"run status word {n}", _status_word(n))
            for n in range(1, 8)
        ),
        DataSpec(
            "040005FF",
            "电表运行状态字数据块",
            "run status words",
            tuple((_status_word(n),) for n in range(1, 8)),
            True,
        ),
    )
}


def lookup_basic(di: str) -> DataSpec | None:
    """Spec of an energy, demand, variable, prepaid or parameter identifier, or None."""
    di = di.upper()
    di3, di2, di1, di0 = parse_di(di)
    if di in _PREPAID:
        name, zh, unit = _PREPAID[di]
        return single(di, zh, name, number(name, "XXXXXX.XX", unit, False, zh))
    if di3 in (0x00, 0x01):
        return _energy_or_demand(di, di3, di2, di1, di0)
    if di3 == 0x02:
        return _variable(di, di2, di1, di0)
    return _PARAMETERS.get(di)
