"""`gridcare meter`: metering assets (计量资产) on the command line.

- ``gridcare meter transition --meter ADDR --to STATUS --date D --reason R``: lifecycle step (stock ->
  installed -> removed -> scrapped; removed -> stock; stock -> scrapped);
- ``gridcare meter replace --meter OLD --new-meter NEW --at "YYYY-MM-DD HH:MM" --old-final KWH
  --new-initial KWH --reason R``: 换表 on the old meter's metering point;
- ``gridcare meter multiplier --meter ADDR --ct 200/5 [--pt 10000/100] --from D --reason R``: CT/PT change;
- ``gridcare meter verify --meter ADDR --date D --reason R``: record a verification / on-site inspection;
- ``gridcare meter due [--org CODE] [--within-days N]`` and ``gridcare meter overdue [--org CODE]``;
- ``gridcare meter history --meter ADDR``: the meter's asset events.

Changes act as ``--operator`` (default the OS user) with full scope, are audited, and print
``错误 error: --option: reason`` with exit code 2 on bad input, changing nothing.
"""

from __future__ import annotations

import getpass
import json
from datetime import datetime
from typing import Annotated, Any, NoReturn

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from gridcare.archives import meter_assets
from gridcare.archives.queries import NotFound
from gridcare.cli.admin import cli_principal, open_secured
from gridcare.cli.common import (
    ConfigOption,
    DataDirOption,
    console,
    echo_json,
    fail_field,
    settings_from,
)
from gridcare.mdm.assets import STATUS_ZH, VerificationPolicy
from gridcare.mdm.schema import MdmInputError
from gridcare.security.principal import Principal
from gridcare.timeutil import today_beijing

app = typer.Typer(help="计量资产 Metering assets: lifecycle, replacement, multipliers, verification.",
                  no_args_is_help=True)  # fmt: skip

_OPTIONS = {
    "meter": "--meter",
    "new_meter": "--new-meter",
    "to_status": "--to",
    "effective_on": "--date",
    "verified_on": "--date",
    "replaced_at": "--at",
    "old_final_kwh": "--old-final",
    "new_initial_kwh": "--new-initial",
    "effective_from": "--from",
    "ct_ratio": "--ct",
    "pt_ratio": "--pt",
    "reason": "--reason",
    "within_days": "--within-days",
    "status": "--to",
}
MeterOption = Annotated[str, typer.Option("--meter", help="meter address (12 digits)")]
ReasonOption = Annotated[str, typer.Option("--reason", help="why (kept in the asset history and audit)")]
OperatorOption = Annotated[str | None, typer.Option("--operator", help="who does it [the OS user]")]
DayOption = Annotated[
    datetime, typer.Option("--date", formats=["%Y-%m-%d"], help="business date (YYYY-MM-DD)")
]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON instead of tables")]
OrgOption = Annotated[str | None, typer.Option("--org", help="organisation code (its whole subtree) [all]")]


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="meter")


def _fail(message: str) -> NoReturn:
    fail_field(message, _OPTIONS)


def _operator(operator: str | None) -> Principal:
    if operator is not None and not operator.strip():
        _fail("--operator: must not be empty")
    if operator is None:
        try:
            operator = getpass.getuser()
        except (KeyError, OSError):
            operator = "unknown"
    return Principal(username=operator.strip()[:64], org_paths=("/",), permissions=frozenset({"*"}))


def _change(data_dir: Any, config: Any, action: Any) -> Any:
    """Run ``action(session)`` in one transaction; bad input or an unknown meter exits 2, nothing kept."""
    settings = settings_from(data_dir, config)
    database = open_secured(settings)
    try:
        with database.sessions() as session:
            try:
                result = action(session)
                session.commit()
            except NotFound as exc:
                session.rollback()
                _fail(f"--meter: {exc} is not in the meter archive")
            except MdmInputError as exc:
                session.rollback()
                _fail(str(exc))
            return result
    finally:
        database.dispose()


def event_json(e: Any) -> dict[str, Any]:
    return {
        "kind": e.kind,
        "from_status": e.from_status,
        "to_status": e.to_status,
        "effective_on": e.effective_on,
        "recorded_at": e.recorded_at,
        "who": e.who,
        "why": e.why,
        "detail": json.loads(e.detail or "{}"),
    }


@app.command("transition")
def transition(
    meter: MeterOption,
    to: Annotated[str, typer.Option("--to", help="installed | removed | scrapped | stock")],
    day: DayOption,
    reason: ReasonOption,
    operator: OperatorOption = None,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Move a meter along its lifecycle (removing it closes its metering point on DATE)."""
    principal = _operator(operator)

    def act(session: Session) -> dict[str, Any]:
        event = meter_assets.transition_meter(
            session, principal, meter, to, effective_on=day.date(), reason=reason
        )
        return event_json(event)

    out = _change(data_dir, config, act)
    if as_json:
        echo_json({"meter": meter, **out})
        return
    console.print(
        f"{meter}: {STATUS_ZH[out['from_status']]} {out['from_status']} -> {STATUS_ZH[out['to_status']]} "
        f"{out['to_status']} ({out['effective_on']}, {out['who']})"
    )


@app.command("replace")
def replace(
    meter: MeterOption,
    new_meter: Annotated[str, typer.Option("--new-meter", help="the stock meter installed (12 digits)")],
    at: Annotated[
        datetime,
        typer.Option(
            "--at",
            formats=["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"],
            help="when, Beijing time (YYYY-MM-DD HH:MM)",
        ),
    ],
    old_final: Annotated[str, typer.Option("--old-final", help="old meter's final register [kWh]")],
    new_initial: Annotated[str, typer.Option("--new-initial", help="new meter's initial register [kWh]")],
    reason: ReasonOption,
    operator: OperatorOption = None,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """换表: the old meter leaves its metering point with its final reading, the new one takes it over."""
    principal = _operator(operator)

    def act(session: Session) -> dict[str, Any]:
        row = meter_assets.replace_meter(
            session,
            principal,
            old_address=meter,
            new_address=new_meter,
            replaced_at=at,
            old_final_kwh=old_final,
            new_initial_kwh=new_initial,
            reason=reason,
        )
        return replacement_json(row, meter, new_meter)

    out = _change(data_dir, config, act)
    if as_json:
        echo_json(out)
        return
    console.print(
        f"已换表 replaced on {out['point_code']} at {out['replaced_at']:%Y-%m-%d %H:%M}: {meter} "
        f"(止码 final {out['old_final_kwh']} kWh, 倍率 x{out['old_multiplier']}) -> {new_meter} "
        f"(起码 initial {out['new_initial_kwh']} kWh, 倍率 x{out['new_multiplier']})"
    )


def replacement_json(row: Any, old: str, new: str) -> dict[str, Any]:
    return {
        "point_code": row.point_code,
        "old_meter": old,
        "new_meter": new,
        "replaced_at": row.replaced_at,
        "old_final_kwh": row.old_final_kwh,
        "new_initial_kwh": row.new_initial_kwh,
        "old_multiplier": row.old_multiplier,
        "new_multiplier": row.new_multiplier,
        "who": row.who,
        "why": row.why,
        "recorded_at": row.recorded_at,
    }


@app.command("multiplier")
def multiplier(
    meter: MeterOption,
    ct: Annotated[str, typer.Option("--ct", help='new CT ratio, e.g. "200/5"')],
    effective_from: Annotated[
        datetime, typer.Option("--from", formats=["%Y-%m-%d"], help="first day of the new ratio (00:00)")
    ],
    reason: ReasonOption,
    pt: Annotated[str, typer.Option("--pt", help='new PT ratio, e.g. "10000/100"')] = "1/1",
    operator: OperatorOption = None,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """CT/PT change (倍率变更) from 00:00 of --from; energy before it keeps the old multiplier."""
    principal = _operator(operator)

    def act(session: Session) -> dict[str, Any]:
        row = meter_assets.change_multiplier(
            session,
            principal,
            meter,
            effective_from=effective_from.date(),
            ct_ratio=ct,
            pt_ratio=pt,
            reason=reason,
        )
        return multiplier_json(row, meter)

    out = _change(data_dir, config, act)
    if as_json:
        echo_json(out)
        return
    console.print(
        f"{meter} 倍率 multiplier x{out['old_multiplier']} -> x{out['new_multiplier']} "
        f"(CT {out['new_ct_ratio']}, PT {out['new_pt_ratio']}) from {out['effective_from']}"
    )


def multiplier_json(row: Any, meter: str) -> dict[str, Any]:
    return {
        "meter": meter,
        "effective_from": row.effective_from,
        "old_ct_ratio": row.old_ct_ratio,
        "old_pt_ratio": row.old_pt_ratio,
        "old_multiplier": row.old_multiplier,
        "new_ct_ratio": row.new_ct_ratio,
        "new_pt_ratio": row.new_pt_ratio,
        "new_multiplier": row.new_multiplier,
        "who": row.who,
        "why": row.why,
        "recorded_at": row.recorded_at,
    }


@app.command("verify")
def verify(
    meter: MeterOption,
    day: DayOption,
    reason: ReasonOption,
    operator: OperatorOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Record a verification (检定) or on-site inspection (现场检验) on DATE; the next due counts from it."""
    principal = _operator(operator)

    def act(session: Session) -> None:
        meter_assets.record_verification(session, principal, meter, verified_on=day.date(), reason=reason)

    _change(data_dir, config, act)
    console.print(f"{meter}: 检定 verified on {day.date()}")


AsOfOption = Annotated[
    datetime | None, typer.Option("--as-of", formats=["%Y-%m-%d"], help="the day the list is for [today]")
]


def _due_list(
    org: str | None,
    within_days: int | None,
    as_of: datetime | None,
    as_json: bool,
    data_dir: Any,
    config: Any,
) -> None:
    settings = settings_from(data_dir, config)
    try:
        policy = VerificationPolicy.from_settings(settings.meter_verification_months)
    except MdmInputError as exc:
        _fail(str(exc))
    today = as_of.date() if as_of else today_beijing()
    database = open_secured(settings)
    try:
        with database.sessions() as session:
            items = meter_assets.verification_list(
                session, cli_principal(), policy, today=today, within_days=within_days, org_code=org
            )
    except NotFound:
        _fail(f"--org: {org} is not an organisation code")
    except MdmInputError as exc:
        _fail(str(exc))
    finally:
        database.dispose()
    rows = [i.to_json() for i in items]
    if as_json:
        echo_json({"today": today, "within_days": within_days, "org": org, "items": rows})
        return
    title = "到期 due" if within_days is not None else "超期 overdue"
    window = f", {within_days} 天内 days" if within_days is not None else ""
    console.print(f"[bold]检定/轮换{title}[/] ({today}{window}): {len(rows)} 只 meters")
    table = Table("表地址 meter", "类型 type", "单位 org", "安装 installed", "上次检定 verified", "到期 due",
                  "剩余天数 days left", "类别 kind")  # fmt: skip
    for r in rows:
        table.add_row(
            r["address"],
            r["meter_type"],
            r["org_code"],
            str(r["install_date"] or "-"),
            str(r["last_verified_on"] or "-"),
            str(r["due_on"] or "未知 unknown"),
            "-" if r["days_left"] is None else str(r["days_left"]),
            r["kind"],
        )
    console.print(table)


@app.command("due")
def due(
    org: OrgOption = None,
    within_days: Annotated[int, typer.Option("--within-days", help="due from today up to N days ahead")] = 30,
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Installed meters whose verification / inspection falls due within N days (not yet overdue)."""
    if within_days < 0:
        _fail(f"--within-days: must not be negative, got {within_days}")
    _due_list(org, within_days, as_of, as_json, data_dir, config)


@app.command("overdue")
def overdue(
    org: OrgOption = None,
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Installed meters whose verification / inspection is overdue (or has no date to count from)."""
    _due_list(org, None, as_of, as_json, data_dir, config)


@app.command("history")
def history(
    meter: MeterOption,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """The meter's asset history: transitions, replacements, multiplier changes, verifications."""
    settings = settings_from(data_dir, config)
    database = open_secured(settings)
    try:
        with database.sessions() as session:
            events = [event_json(e) for e in meter_assets.meter_history(session, cli_principal(), meter)]
    except NotFound:
        _fail(f"--meter: {meter} is not in the meter archive")
    finally:
        database.dispose()
    if as_json:
        echo_json({"meter": meter, "events": events})
        return
    table = Table(
        "生效 effective", "类别 kind", "状态 status", "人员 who", "原因 why", "记录 recorded", "详情 detail"
    )
    for e in events:
        status = f"{e['from_status']} -> {e['to_status']}" if e["to_status"] else ""
        table.add_row(
            str(e["effective_on"]),
            e["kind"],
            status,
            e["who"],
            e["why"],
            f"{e['recorded_at']:%Y-%m-%d %H:%M}",
            json.dumps(e["detail"], ensure_ascii=False)[:80],
        )
    console.print(f"[bold]{meter}[/] 资产履历 asset history: {len(events)}")
    console.print(table)
