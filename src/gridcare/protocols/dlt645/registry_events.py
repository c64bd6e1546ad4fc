"""DL/T 645-2007 event, freeze and load-profile identifiers, and :func:`lookup` over the whole registry.

Events (table A.4 and the State Grid smart-meter additions, Q/GDW 1354-2013 numbering):

- 03 30 0x 00: counts (XXXXXX) of programming (00), meter clear (01), demand clear (02), event clear (03),
  time setting (04), meter cover open (0D), terminal cover open (0E); 03 30 00/01/03/04/0D/0E NN
  (NN = 01..0A, the last NN-th occurrence): their records.
- 1D 00 00 01 / 1E 00 00 01: trip / close counts; 1D 00 FF NN / 1E 00 FF NN: the last NN-th trip / close
  record (time, operator, six energy totals); 1D 00 01 NN / 1E 00 01 NN: its time alone.
- 10 00 00 01 / 10 00 00 02: loss-of-voltage count / cumulative minutes; 10 00 01 01 / 10 00 02 01: start /
  end of the latest loss of voltage; 10 0p 00 01 / 10 0p 00 02 (p = 1..3): per phase A..C;
  10 0p 01 NN: start time of the last NN-th loss of voltage of phase p.

Freezes (table A.6): 05 00 (timed, NN = 01..3C), 05 01 (instant, 01..03) and 05 06 (daily, 01..3E);
DI1 = 00 freeze time, 01/02 forward/reverse active, 03/04 combined reactive 1/2, 05..08 quadrants I..IV
(total + tariffs blocks), 09/0A forward/reverse active maximum demand with time, 10 powers.
05 04 (hourly, NN = 01..FE): DI1 = 00 time, 01/02 forward/reverse active total.

Load profile (table A.7): 06 00 00 00 / 01 / 02 (earliest / given-time / latest record blocks, all six
classes) and 06 0k 00 00..02 (class k = 1..6 alone), decoded by :mod:`loadprofile`.
"""

from __future__ import annotations

from functools import lru_cache

from gridcare.protocols.dlt645.datablock import DataSpec, single
from gridcare.protocols.dlt645.registry import MAX_TARIFFS, QUANTITIES, lookup_basic, parse_di
from gridcare.protocols.dlt645.values import Field, number, when

_COUNTS = {
    0x00: ("programming_count", "编程总次数"),
    0x01: ("meter_clear_count", "电表清零总次数"),
    0x02: ("demand_clear_count", "需量清零总次数"),
    0x03: ("event_clear_count", "事件清零总次数"),
    0x04: ("time_setting_count", "校时总次数"),
    0x0D: ("cover_open_count", "开表盖总次数"),
    0x0E: ("terminal_cover_open_count", "开端钮盒总次数"),
}


def _count(name: str, zh: str) -> Field:
    return number(name, "XXXXXX", "", False, zh)


def _operator() -> Field:
    return Field("operator", "hex", 4, "C0C1C2C3", "", name_zh="操作者代码")


def _totals(prefix: str, zh: str) -> tuple[Field, ...]:
    """Forward/reverse active and quadrant I..IV reactive totals, named ``{prefix}{quantity}_total``."""
    out = []
    for di2 in (0x01, 0x02, 0x05, 0x06, 0x07, 0x08):
        base, qzh, unit, _, _ = QUANTITIES[di2]
        out.append(number(f"{prefix}{base}_total", "XXXXXX.XX", unit, False, f"{zh}{qzh}总电能"))
    return tuple(out)


def _phase_energies(prefix: str, zh: str) -> tuple[Field, ...]:
    out = []
    for phase in "abc":
        for di2 in (0x01, 0x02, 0x05, 0x06, 0x07, 0x08):
            base, qzh, unit, _, _ = QUANTITIES[di2]
            out.append(
                number(
                    f"{prefix}{base}_phase_{phase}",
                    "XXXXXX.XX",
                    unit,
                    False,
                    f"{zh}{phase.upper()}相{qzh}电能",
                )
            )
    return tuple(out)


def _record_30(di1: int, n: int) -> tuple[str, str, tuple[Field, ...]] | None:
    if di1 == 0x00:
        dis = tuple(
            Field(f"programmed_di_{k}", "hex", 4, "DI3DI2DI1DI0", name_zh=f"编程的第{k}个数据标识码")
            for k in range(1, 11)
        )
        return "编程记录", "programming record", (when("time", "YYMMDDhhmmss", "发生时刻"), _operator(), *dis)
    if di1 == 0x01:
        fields = (
            when("time", "YYMMDDhhmmss", "发生时刻"),
            _operator(),
            *_totals("before_", "电表清零前"),
            *_phase_energies("before_", "电表清零前"),
        )
        return "电表清零记录", "meter clear record", fields
    if di1 == 0x03:
        cleared = Field("cleared_di", "hex", 4, "DI3DI2DI1DI0", name_zh="事件清零数据标识码")
        return (
            "事件清零记录",
            "event clear record",
            (when("time", "YYMMDDhhmmss", "发生时刻"), _operator(), cleared),
        )
    if di1 == 0x04:
        fields = (
            _operator(),
            when("time_before", "YYMMDDhhmmss", "校时前时间"),
            when("time_after", "YYMMDDhhmmss", "校时后时间"),
        )
        return "校时记录", "time setting record", fields
    if di1 in (0x0D, 0x0E):
        what = "开表盖" if di1 == 0x0D else "开端钮盒"
        en = "cover open record" if di1 == 0x0D else "terminal cover open record"
        fields = (
            when("start_time", "YYMMDDhhmmss", "发生时刻"),
            when("end_time", "YYMMDDhhmmss", "结束时刻"),
            *_totals("before_", f"{what}前"),
            *_totals("after_", f"{what}后"),
        )
        return f"{what}记录", en, fields
    return None


def _events_30(di: str, di1: int, di0: int) -> DataSpec | None:
    if di1 not in _COUNTS:
        return None
    if di0 == 0:
        name, zh = _COUNTS[di1]
        return single(di, zh, name, _count(name, zh))
    if not 1 <= di0 <= 10:
        return None
    rec = _record_30(di1, di0)
    if rec is None:
        return None
    zh, en, fields = rec
    return single(di, f"(上{di0}次){zh}", f"last {di0} {en}", *fields)


def _relay(di: str, di3: int, di1: int, di0: int) -> DataSpec | None:
    trip = di3 == 0x1D
    zh, en = ("跳闸", "trip") if trip else ("合闸", "close")
    if di1 == 0x00:
        if di0 != 1:
            return None
        return single(di, f"{zh}总次数", f"{en}_count", _count(f"{en}_count", f"{zh}总次数"))
    if not 1 <= di0 <= 10:
        return None
    if di1 == 0x01:
        return single(
            di, f"(上{di0}次){zh}发生时刻", f"{en}_time", when(f"{en}_time", "YYMMDDhhmmss", f"{zh}发生时刻")
        )
    if di1 == 0xFF:
        fields = (when(f"{en}_time", "YYMMDDhhmmss", f"{zh}发生时刻"), _operator(), *_totals("", f"{zh}时"))
        return single(di, f"(上{di0}次){zh}记录", f"last {di0} {en} record", *fields)
    return None


def _loss_of_voltage(di: str, di2: int, di1: int, di0: int) -> DataSpec | None:
    phase = {0: ("", ""), 1: ("_phase_a", "A相"), 2: ("_phase_b", "B相"), 3: ("_phase_c", "C相")}.get(di2)
    if phase is None:
        return None
    suffix, pzh = phase
    if di1 == 0x00 and di0 in (1, 2):
        if di0 == 1:
            name, zh, unit = f"loss_of_voltage_count{suffix}", f"{pzh}失压总次数", ""
        else:
            name, zh, unit = f"loss_of_voltage_minutes{suffix}", f"{pzh}失压总累计时间", "min"
        return single(di, zh, name, number(name, "XXXXXX", unit, False, zh))
    if di2 == 0 and di1 in (1, 2) and di0 == 1:
        name = "last_loss_of_voltage_start" if di1 == 1 else "last_loss_of_voltage_end"
        zh = "最近一次失压发生时刻" if di1 == 1 else "最近一次失压结束时刻"
        return single(di, zh, name, when(name, "YYMMDDhhmmss", zh))
    if di2 != 0 and di1 == 0x01 and 1 <= di0 <= 10:
        name, zh = f"loss_of_voltage_start{suffix}", f"(上{di0}次){pzh}失压发生时刻"
        return single(di, zh, name, when(name, "YYMMDDhhmmss", zh))
    return None


_FREEZES = {
    0x00: ("定时冻结", "timed", 0x3C),
    0x01: ("瞬时冻结", "instant", 0x03),
    0x06: ("日冻结", "daily", 0x3E),
}


def _tariff_block(base: str, zh: str, unit: str, signed: bool) -> tuple[tuple[Field, ...], ...]:
    return tuple(
        (
            number(
                f"{base}_{'total' if t == 0 else f't{t}'}",
                "XXXXXX.XX",
                unit,
                signed,
                f"{zh}{'总' if t == 0 else f'费率{t}'}电能",
            ),
        )
        for t in range(MAX_TARIFFS + 1)
    )


def _demand_block(base: str, zh: str) -> tuple[tuple[Field, ...], ...]:
    groups = []
    for t in range(MAX_TARIFFS + 1):
        name = f"{base}_demand_{'total' if t == 0 else f't{t}'}"
        label = f"{zh}{'总' if t == 0 else f'费率{t}'}最大需量"
        groups.append(
            (
                number(name, "XX.XXXX", "kW", False, label),
                when(f"{name}_time", "YYMMDDhhmm", f"{label}发生时间"),
            )
        )
    return tuple(groups)


def _freeze(di: str, di2: int, di1: int, di0: int) -> DataSpec | None:
    if di2 == 0x04:  # hourly freeze
        if not 1 <= di0 <= 0xFE:
            return None
        prefix = f"(上{di0}次)整点冻结"
        if di1 == 0x00:
            return single(di, f"{prefix}时间", "freeze_time", when("freeze_time", "YYMMDDhhmm", "冻结时间"))
        if di1 in (0x01, 0x02):
            base, qzh, unit, _, _ = QUANTITIES[di1]
            name = f"{base}_total"
            return single(
                di, f"{prefix}{qzh}总电能", name, number(name, "XXXXXX.XX", unit, False, f"{qzh}总电能")
            )
        return None
    if di2 not in _FREEZES:
        return None
    fzh, fen, last = _FREEZES[di2]
    if not 1 <= di0 <= last:
        return None
    prefix = f"(上{di0}次){fzh}"
    if di1 == 0x00:
        return single(
            di, f"{prefix}时间", f"{fen} freeze time", when("freeze_time", "YYMMDDhhmm", "冻结时间")
        )
    if 0x01 <= di1 <= 0x08:
        base, qzh, unit, _, signed = QUANTITIES[di1]
        return DataSpec(
            di,
            f"{prefix}{qzh}电能数据",
            f"{fen} freeze {base} block",
            _tariff_block(base, qzh, unit, signed),
            True,
        )
    if di1 in (0x09, 0x0A):
        base, qzh, _, _, _ = QUANTITIES[di1 - 8]
        groups = _demand_block(base, qzh)
        return DataSpec(
            di, f"{prefix}{qzh}最大需量及发生时间数据", f"{fen} freeze {base} demand block", groups, True
        )
    if di1 == 0x10:
        fields = []
        for base, zh, unit in (("active_power", "有功功率", "kW"), ("reactive_power", "无功功率", "kvar")):
            for suffix, pzh in (("total", "总"), ("a", "A相"), ("b", "B相"), ("c", "C相")):
                fields.append(number(f"{base}_{suffix}", "XX.XXXX", unit, True, f"{pzh}{zh}"))
        return single(di, f"{prefix}变量数据", f"{fen} freeze powers", *fields)
    return None


_PROFILE_KINDS = {
    0: ("最早记录块", "earliest"),
    1: ("给定时间记录块", "given time"),
    2: ("最近一个记录块", "latest"),
}


def _load_profile(di: str, di2: int, di1: int, di0: int) -> DataSpec | None:
    if di2 > 6 or di1 != 0 or di0 not in _PROFILE_KINDS:
        return None
    zh, en = _PROFILE_KINDS[di0]
    which = "" if di2 == 0 else f"第{di2}类负荷"
    return DataSpec(di, f"{which}{zh}", f"load profile {en} records", (), special="load_profile")


@lru_cache(maxsize=4096)  # specs are immutable; building the 64-tariff freeze blocks is costly
def lookup(di: str) -> DataSpec | None:
    """The DL/T 645-2007 spec for identifier ``di`` ("0001FF00"), or None when it is not in the registry."""
    if len(di) != 8:
        return None
    try:
        di3, di2, di1, di0 = parse_di(di)
    except ValueError:
        return None
    di = di.upper()
    if di3 == 0x03:
        return _events_30(di, di1, di0) if di2 == 0x30 else None
    if di3 in (0x1D, 0x1E):
        return _relay(di, di3, di1, di0) if di2 == 0x00 else None
    if di3 == 0x10:
        return _loss_of_voltage(di, di2, di1, di0)
    if di3 == 0x05:
        return _freeze(di, di2, di1, di0)
    if di3 == 0x06:
        return _load_profile(di, di2, di1, di0)
    return lookup_basic(di)
