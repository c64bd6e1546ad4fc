"""`gridcare kpi`: collection KPIs from the command line."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated

import typer
from rich.table import Table

from gridcare.acquisition import kpi
from gridcare.cli.common import ConfigOption, DataDirOption, console, database_from, fail, settings_from
from gridcare.security.principal import SYSTEM
from gridcare.timeutil import today_beijing

app = typer.Typer(help="指标 Collection KPIs.", no_args_is_help=True)


@app.command()
def collection(
    day: Annotated[
        datetime | None, typer.Option("--date", formats=["%Y-%m-%d"], help="freeze day [today]")
    ] = None,
    by: Annotated[str, typer.Option(help=f"group by: {', '.join(kpi.DIMENSIONS)}")] = "organisation",
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of tables")] = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Daily collection success rate (采集成功率) of the freeze taken at 00:00 on DATE, with failures."""
    if by not in kpi.DIMENSIONS:
        fail(f"--by: expected one of {', '.join(kpi.DIMENSIONS)}, got {by!r}")
    the_day: date = day.date() if day else today_beijing()
    db = database_from(settings_from(data_dir, config))
    with db.sessions() as session:
        report = kpi.collection_report(session, the_day, SYSTEM, by)
    db.dispose()
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))
        return
    overall, collectable, online = report["overall"], report["collectable"], report["terminal_online"]
    console.print(
        f"[bold]{the_day} 采集成功率 collection success rate: {overall['rate_pct']:.2f}%[/] "
        f"({overall['collected']}/{overall['due']});  可采成功率 of collectable: "
        f"{collectable['rate_pct']:.2f}%;  终端在线率 terminals online: "
        f"{online['rate_pct']:.2f}% ({online['collected']}/{online['due']})"
    )
    table = Table("编码 key", "名称 name", "应采 due", "成功 collected", "成功率 rate %")
    for g in report["groups"][:30]:
        table.add_row(g["key"], g["name"], str(g["due"]), str(g["collected"]), f"{g['rate_pct']:.2f}")
    console.print(table)
    if report["failure_reasons"]:
        reason_table = Table("失败原因 reason", "测量点 points")
        for reason, count in report["failure_reasons"].items():
            reason_table.add_row(reason, str(count))
        console.print(reason_table)
    if report["extra_registers"]:
        extra = Table("两部制附加数据项 extra register", "结果 outcome", "测量点 points")
        for di, outcomes in report["extra_registers"].items():
            for outcome, count in outcomes.items():
                extra.add_row(di, outcome, str(count))
        console.print(extra)
