"""`gridcare vee | lineloss`: meter data management on the command line.

- ``gridcare vee run --date D``: validate the freeze taken at 00:00 on D (28 days of history), estimate gaps;
- ``gridcare vee history --meter ADDR``: every version of a meter's readings, the effective one marked;
- ``gridcare vee edit --meter --di --freeze-time --value --reason``: correct a reading (a new version;
  who = ``--operator`` or the OS user; audited);
- ``gridcare lineloss compute --date D``: daily 台区 line loss of business day D (freezes D and D + 1);
- ``gridcare lineloss report --month M``: monthly line loss per 台区, feeder and organisation, sold vs
  purchased (feeder head meters vs customers);
- ``gridcare lineloss show --tg CODE --date D``: one 台区's supply curve, meters and, when a day is not
  qualified, the loss-cause hints.

台区 line loss covers the public 台区 (公变); a 专变 (dedicated transformer) is left out of it, and
``lineloss show`` of a 专变 says so and exits with code 2.

Commands act for the whole company (the operator at the server's shell). ``--json`` prints JSON instead of
tables. Bad input prints ``错误 error: --option: reason`` on stderr, exits with code 2 and changes nothing.
"""

from __future__ import annotations

import getpass
import math
from datetime import datetime
from typing import Annotated, Any, NoReturn

import pyarrow as pa
import typer
from rich.table import Table

from gridcare.archives.queries import NotFound
from gridcare.cli.admin import cli_principal, open_secured
from gridcare.cli.common import (
    ConfigOption,
    DataDirOption,
    console,
    echo_json,
    fail_field,
    plain,
    settings_from,
)
from gridcare.mdm import results, tasks
from gridcare.mdm.schema import MdmInputError
from gridcare.mdm.vee_config import RULES
from gridcare.security.principal import Principal

vee_app = typer.Typer(
    help="数据校验 VEE: validation, estimation and editing of meter readings.", no_args_is_help=True
)
lineloss_app = typer.Typer(
    help="线损 台区 line loss: daily computation and monthly reports.", no_args_is_help=True
)

DateOption = Annotated[datetime, typer.Option("--date", formats=["%Y-%m-%d"], help="day (YYYY-MM-DD)")]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON instead of tables")]
_OPTIONS = {
    "meter": "--meter",
    "di": "--di",
    "freeze_time": "--freeze-time",
    "value": "--value",
    "reason": "--reason",
    "why": "--reason",
    "who": "--operator",
    "month": "--month",
    "history_days": "--history-days",
    "first": "--from",
    "days": "--days",
    "tg": "--tg",
}
STATUS_ZH = {
    "qualified": "合格",
    "high": "高损",
    "negative": "负损",
    "low": "低损",
    "not_computable": "不可计算",
    "ok": "正常",
    "high_loss": "高损",
    "sold_exceeds_purchased": "售大于购",
}


def register(app: typer.Typer) -> None:
    """Add the ``vee`` and ``lineloss`` command groups to the ``gridcare`` app."""
    app.add_typer(vee_app, name="vee")
    app.add_typer(lineloss_app, name="lineloss")


def _fail(message: str) -> NoReturn:
    fail_field(message, _OPTIONS)


def _num(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:,.{digits}f}"


def _pct(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value * 100:.2f}"


def _rows(table: pa.Table) -> list[dict[str, Any]]:
    return [plain(r) for r in table.to_pylist()]


# --- vee ----------------------------------------------------------------------------------------------
@vee_app.command("run")
def vee_run(
    day: DateOption,
    history_days: Annotated[
        int, typer.Option("--history-days", help="days of history before the freeze")
    ] = 28,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Validate the freeze taken at 00:00 on DATE and write estimates for the gaps (new versions)."""
    if history_days < 1:
        _fail(f"--history-days: must be at least 1, got {history_days}")
    settings = settings_from(data_dir, config)
    database = open_secured(settings)
    try:
        run = tasks.run_vee_task(settings, database, day.date(), history_days=history_days)
    except MdmInputError as exc:
        _fail(str(exc))
    finally:
        database.dispose()
    if as_json:
        echo_json(run.to_json())
        return
    console.print(
        f"[bold]{run.day} 日冻结数据校验 VEE of the freeze at 00:00[/]: 电能表 meters {run.meters}, "
        f"读数 readings {run.readings}, 异常 flags {run.flags}, 估算 estimates written {run.estimates} "
        f"({run.seconds:.2f} s)"
    )
    table = Table("规则 rule", "名称 title", "级别 severity", "数量 count")
    for code, count in run.by_rule.items():
        rule = RULES.get(code)
        table.add_row(code, rule.title_zh if rule else "", rule.severity if rule else "", str(count))
    console.print(table)
    if run.estimates_by_method:
        est = Table("估算方法 estimation method", "数量 count")
        for method, count in run.estimates_by_method.items():
            est.add_row(method, str(count))
        console.print(est)


@vee_app.command("history")
def vee_history(
    meter: Annotated[str, typer.Option("--meter", help="meter address (12 digits)")],
    di: Annotated[str | None, typer.Option("--di", help="data item, e.g. 05060101 [all]")] = None,
    first: Annotated[
        datetime | None, typer.Option("--from", formats=["%Y-%m-%d"], help="first freeze day [62 days ago]")
    ] = None,
    last: Annotated[
        datetime | None, typer.Option("--to", formats=["%Y-%m-%d"], help="last freeze day")
    ] = None,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Every version of a meter's readings (actual, estimated, edited), the effective one marked ✓."""
    if not (len(meter) == 12 and meter.isdigit()):
        _fail(f"--meter: {meter!r} is not a 12-digit address")
    settings = settings_from(data_dir, config)
    database = open_secured(settings)
    try:
        with database.sessions() as session:
            rows = tasks.reading_versions(
                session,
                settings,
                cli_principal(),
                meter,
                first=first.date() if first else None,
                last=last.date() if last else None,
                di=di,
            )
    except NotFound:
        _fail(f"--meter: {meter} is not in the meter archive")
    except MdmInputError as exc:
        _fail(str(exc))
    finally:
        database.dispose()
    items = _rows(rows)
    if as_json:
        echo_json({"meter": meter, "versions": items})
        return
    table = Table(
        "冻结时间 freeze",
        "数据项 di",
        "版本 ver",
        "来源 source",
        "示值 value",
        "方法 method",
        "记录 recorded",
        "人员 who",
        "原因 why",
        "生效 eff.",
    )
    for r in items:
        table.add_row(
            str(r["freeze_time"])[:10],
            r["di"],
            str(r["version"]),
            r["source"],
            _num(r["value"]),
            r["method"] or "",
            str(r["recorded_at"] or "")[:19],
            r["who"] or "",
            r["why"] or "",
            "✓" if r["effective"] else "",
        )
    console.print(f"[bold]{meter}[/] 读数版本 reading versions: {len(items)}")
    console.print(table)


@vee_app.command("edit")
def vee_edit(
    meter: Annotated[str, typer.Option("--meter", help="meter address (12 digits)")],
    di: Annotated[str, typer.Option("--di", help="data item, e.g. 05060101")],
    freeze_time: Annotated[
        datetime,
        typer.Option(
            "--freeze-time",
            formats=[
                "%Y-%m-%d",
                "%Y-%m-%d %H:%M",
                "%Y-%m-%dT%H:%M",
                "%Y-%m-%d %H:%M:%S",
                "%Y-%m-%dT%H:%M:%S",
            ],
            help="freeze instant, 00:00 Beijing time (YYYY-MM-DD)",
        ),
    ],
    value: Annotated[float, typer.Option("--value", help="corrected register value [kWh]")],
    reason: Annotated[str, typer.Option("--reason", help="why the reading is corrected")],
    operator: Annotated[str | None, typer.Option("--operator", help="who corrects it [the OS user]")] = None,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Correct a reading: a new version with who, why and when (the old versions stay), audited."""
    if operator is not None and not operator.strip():
        _fail("--operator: must not be empty")
    who = (operator or _os_user()).strip()[:64]
    principal = Principal(username=who, org_paths=("/",), permissions=frozenset({"*"}))
    settings = settings_from(data_dir, config)
    database = open_secured(settings)
    try:
        with database.sessions() as session:
            row = tasks.edit_reading(
                session,
                settings,
                principal,
                meter=meter,
                di=di,
                freeze_time=freeze_time,
                value=value,
                reason=reason,
            )
            session.commit()
    except NotFound:
        _fail(f"--meter: {meter} is not in the meter archive")
    except MdmInputError as exc:
        _fail(str(exc))
    finally:
        database.dispose()
    if as_json:
        echo_json(row)
        return
    console.print(
        f"已更正 edited: {meter} {di} {row['freeze_time']:%Y-%m-%d %H:%M} -> {_num(row['value'])} kWh "
        f"(版本 version {row['version']}, 原值 before {_num(row['value_before'])}, {who})"
    )


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


# --- line loss ----------------------------------------------------------------------------------------
@lineloss_app.command("compute")
def lineloss_compute(
    day: DateOption,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Daily line loss of every public 台区 (公变) for business day DATE (closed by the freeze at 00:00 on
    DATE + 1); 专变 (dedicated transformers) have no 台区 line loss."""
    settings = settings_from(data_dir, config)
    database = open_secured(settings)
    try:
        run = tasks.compute_line_loss(settings, database, day.date())
    except MdmInputError as exc:
        _fail(str(exc))
    finally:
        database.dispose()
    if as_json:
        echo_json(run.to_json())
        return
    console.print(
        f"[bold]{run.day} 台区日线损 daily line loss[/]: 台区 {run.tgs}, 电能表 meters {run.meters}, "
        f"读数 readings {run.readings} ({run.seconds:.2f} s)"
    )
    table = Table("状态 status", "台区数 areas")
    for status, count in run.by_status.items():
        table.add_row(f"{STATUS_ZH.get(status, '')} {status}", str(count))
    console.print(table)


@lineloss_app.command("report")
def lineloss_report(
    month: Annotated[str, typer.Option("--month", help="calendar month (YYYY-MM)")],
    top: Annotated[int, typer.Option("--top", help="台区 rows shown, worst first (tables only)")] = 30,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Monthly line loss per 台区, feeder and organisation, and sold vs purchased energy."""
    try:
        label = tasks.parse_month(month)
    except MdmInputError as exc:
        _fail(str(exc))
    if top < 0:
        _fail(f"--top: must not be negative, got {top}")
    settings = settings_from(data_dir, config)
    database = open_secured(settings)
    try:
        with database.sessions() as session:
            report = tasks.line_loss_report(session, settings, cli_principal(), label)
    except MdmInputError as exc:
        _fail(str(exc))
    finally:
        database.dispose()
    loss, purchased = _rows(report.loss), _rows(report.purchased)
    if as_json:
        echo_json({"month": report.month, "meters": report.meters, "line_loss": loss, "purchased": purchased})
        return
    console.print(f"[bold]{report.month} 月度线损 monthly line loss[/] (电能表 meters {report.meters})")
    by_level: dict[str, list[dict[str, Any]]] = {}
    for r in loss:
        by_level.setdefault(r["level"], []).append(r)
    titles = {"org": "供电单位 organisation", "feeder": "线路 feeder", "tg": "台区 transformer area"}
    for level in ("org", "feeder", "tg"):
        rows = by_level.get(level, [])
        if level == "tg":
            rows = sorted(rows, key=lambda r: (r["loss_rate"] is None, -(r["loss_rate"] or 0.0)))[:top]
        table = Table(
            titles[level],
            "供电量 supply kWh",
            "售电量 sold kWh",
            "损失 loss kWh",
            "线损率 rate %",
            "状态 status",
            "台区 areas",
            "缺数 missing",
        )
        for r in rows:
            table.add_row(
                r["unit"],
                _num(r["supply_kwh"]),
                _num(r["sold_kwh"]),
                _num(r["loss_kwh"]),
                _pct(r["loss_rate"]),
                f"{STATUS_ZH.get(r['status'], '')} {r['status']}",
                f"{r['tg_computable']}/{r['tg_total']}",
                str(r["missing_points"]),
            )
        console.print(table)
    table = Table(
        "层级 level",
        "单位 unit",
        "购电量 purchased kWh",
        "售电量 sold kWh",
        "损失 loss kWh",
        "损失率 rate %",
        "状态 status",
    )
    for r in purchased:
        table.add_row(
            r["level"],
            r["unit"],
            _num(r["purchased_kwh"]),
            _num(r["sold_kwh"]),
            _num(r["loss_kwh"]),
            _pct(r["loss_rate"]),
            f"{STATUS_ZH.get(r['status'], '')} {r['status']}",
        )
    console.print("[bold]购售电量对比 sold vs purchased[/]")
    console.print(table)


@lineloss_app.command("show")
def lineloss_show(
    tg: Annotated[str, typer.Option("--tg", help="台区 code")],
    day: DateOption,
    days: Annotated[int, typer.Option("--days", help="length of the supply curve and hint window")] = 30,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """One 台区: daily line loss over DAYS ending on DATE, its meters on DATE, and loss-cause hints."""
    settings = settings_from(data_dir, config)
    database = open_secured(settings)
    try:
        with database.sessions() as session:
            detail = results.tg_detail(session, settings, cli_principal(), tg, day.date(), days)
    except NotFound:
        _fail(f"--tg: {tg} is not a 台区 code")
    except MdmInputError as exc:
        _fail(str(exc))
    finally:
        database.dispose()
    if as_json:
        echo_json(detail)
        return
    console.print(f"[bold]{detail['tg']} {detail['name']}[/] ({detail['capacity_kva']} kVA), {detail['day']}")
    curve = Table(
        "日期 day", "供电量 supply kWh", "售电量 sold kWh", "损失 loss kWh", "线损率 rate %", "状态 status"
    )
    for r in detail["curve"]:
        curve.add_row(
            str(r["day"]),
            _num(r["supply_kwh"]),
            _num(r["sold_kwh"]),
            _num(r["loss_kwh"]),
            _pct(r["loss_rate"]),
            f"{STATUS_ZH.get(r['status'], '')} {r['status']}",
        )
    console.print(curve)
    if not detail["hints"]:
        console.print("无异常原因提示 no loss-cause hints (no abnormal day in the window)")
        return
    hints = Table("原因 hint", "电能表 meter", "户号 customer", "分值 score", "说明 detail")
    for h in detail["hints"]:
        hints.add_row(
            h["label"], h["meter"] or "", h["customer_no"] or "", _num(h["score"]), h["detail"] or ""
        )
    console.print("[bold]线损异常原因提示 loss-cause hints[/]")
    console.print(hints)
