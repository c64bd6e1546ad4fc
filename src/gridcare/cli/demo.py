"""`gridcare demo`: build a realistic demo supply company in the database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gridcare.archives import demo_catalog as cat
from gridcare.archives.demo import (
    ArchivesExistError,
    ArchivesInUseError,
    DemoSummary,
    archive_counts,
    generate_demo,
    outside_references,
)
from gridcare.archives.models import CustomerClass
from gridcare.billing.demo_tariffs import load_demo_tariffs
from gridcare.cli.common import ConfigOption, DataDirOption, console, database_from, fail, settings_from
from gridcare.security.crypto import bind_keyring

app = typer.Typer(
    help="示例数据 Demo data: a realistic supply company (organisations, 台区, customers, meters...).",
    no_args_is_help=True,
)

CustomersOption = Annotated[
    int | None,
    typer.Option(
        "--customers",
        "-n",
        help=f"客户数 Number of customers ({cat.MIN_CUSTOMERS}..{cat.MAX_CUSTOMERS:,}) "
        "(default: setting demo_customers).",
        show_default=False,
    ),
]
SeedOption = Annotated[
    int | None,
    typer.Option(
        "--seed", help="随机种子 Seed: the same seed gives the same archive (default: setting demo_seed)."
    ),
]
ResetOption = Annotated[
    bool,
    typer.Option(
        "--reset",
        help="先删除现有档案 Delete the existing archives (every archive table, children first) in the same "
        "transaction before generating.",
    ),
]


def _summary_tables(summary: DemoSummary) -> tuple[Table, Table]:
    counts = summary.counts
    rows = [
        ("组织 organisations", counts["organisations"], "公司/县公司/供电所 company/county/station"),
        ("变电站 substations", counts["substations"], "110/35 kV"),
        ("线路 feeders", counts["feeders"], "10 kV"),
        (
            "台区 transformer areas",
            counts["transformer_areas"],
            f"公变 public {summary.public_areas}, 专变 dedicated {summary.dedicated_areas}",
        ),
        ("表箱 meter boxes", counts["meter_boxes"], ""),
        ("客户 customers", counts["customers"], ""),
        (
            "电能表 meters",
            counts["meters"],
            f"含台区总表 incl. {summary.public_areas} supply meters, "
            f"线路关口表 {counts.get('feeder_meters', 0)} feeder head meters",
        ),
        (
            "终端 terminals",
            counts["terminals"],
            f"集中器 concentrators {summary.concentrators}, "
            f"专变终端 large-customer {summary.large_customer_terminals}",
        ),
        ("计量点 metering points", counts["metering_points"], ""),
    ]
    archive = Table(title=f"示例供电公司 demo utility: {summary.company}", title_justify="left")
    archive.add_column("档案 archive")
    archive.add_column("数量 count", justify="right")
    archive.add_column("说明 detail")
    for label, count, detail in rows:
        archive.add_row(label, f"{count:,}", detail)
    mix = Table(title="用电类别 customer classes", title_justify="left")
    mix.add_column("类别 class")
    mix.add_column("户数 customers", justify="right")
    mix.add_column("占比 share", justify="right")
    mix.add_column("电价 tariff")
    total = max(1, summary.customers)
    for cls in cat.CLASS_ORDER:
        n = summary.classes.get(cls.value, 0)
        mix.add_row(
            cat.CLASS_LABELS[CustomerClass(cls)], f"{n:,}", f"{100 * n / total:.1f}%", cat.TARIFFS[cls]
        )
    return archive, mix


@app.callback()
def demo() -> None:
    """示例数据 Demo data: a realistic supply company for trying gridcare."""


_COLUMNS = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())


def _refuse_existing(data_dir: Path, exc: ArchivesExistError) -> NoReturn:
    held = ", ".join(f"{name} {n:,}" for name, n in exc.counts.items() if n)
    fail(
        f"数据目录 {data_dir} 已有档案，未做任何更改 (the data directory already holds archives: {held}; "
        "nothing was changed). 使用 --reset 删除现有档案后重建 (use --reset to delete them and generate the "
        "demo anew)."
    )


def _refuse_in_use(data_dir: Path, exc: ArchivesInUseError) -> NoReturn:
    fail(
        f"--reset: 数据目录 {data_dir} 中的其他数据引用了档案，未做任何更改 ({exc}; nothing was changed). "
        "Remove those rows first or use a new data directory."
    )


@app.command()
def init(
    customers: CustomersOption = None,
    seed: SeedOption = None,
    reset: ResetOption = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """生成示例供电公司 Generate the demo utility into an empty archive (or, with --reset, replace it)."""
    settings = settings_from(data_dir, config)
    count = settings.demo_customers if customers is None else customers
    seed_value = settings.demo_seed if seed is None else seed
    if not cat.MIN_CUSTOMERS <= count <= cat.MAX_CUSTOMERS:
        fail(f"--customers: must be between {cat.MIN_CUSTOMERS} and {cat.MAX_CUSTOMERS:,}, got {count}")
    database = database_from(settings)
    bind_keyring(database.engine, settings.keyring_path)
    try:
        with database.sessions() as session:
            existing = archive_counts(session)
            references = outside_references(session) if reset else {}
        if any(existing.values()) and not reset:
            _refuse_existing(settings.data_dir, ArchivesExistError(existing))
        if references:
            _refuse_in_use(settings.data_dir, ArchivesInUseError(references))
        with Progress(*_COLUMNS, console=console) as bar:
            build = bar.add_task("生成 build", total=None)
            write = bar.add_task("写入 insert", total=None)

            def progress(step: str, done: int, total: int) -> None:
                if step == "build":
                    bar.update(build, completed=done, total=total)
                else:
                    bar.update(write, completed=done, total=total, description=f"写入 insert {step}")

            summary = generate_demo(database.sessions, count, seed_value, progress=progress, reset=reset)
        with database.sessions() as session:
            tariffs = load_demo_tariffs(session)
            session.commit()
    except ArchivesExistError as exc:  # another process filled the archive meanwhile
        _refuse_existing(settings.data_dir, exc)
    except ArchivesInUseError as exc:
        _refuse_in_use(settings.data_dir, exc)
    except ValueError as exc:
        fail(str(exc))
    finally:
        database.dispose()
    if summary.deleted and any(summary.deleted.values()):
        console.print(f"已删除原有档案 deleted the previous archives: {sum(summary.deleted.values()):,} rows")
    archive, mix = _summary_tables(summary)
    console.print(archive)
    console.print(mix)
    if tariffs:
        codes = ", ".join(sorted({t.code for t in tariffs}))
        console.print(f"电价 tariffs filed and approved (maker-checker, demo identities): {codes}")
    console.print(
        f"种子 seed {summary.seed}，用时 {summary.seconds:.1f} s "
        f"(生成 build {summary.build_seconds:.1f} s, 写入 insert {summary.insert_seconds:.1f} s)，"
        f"数据目录 data directory {settings.data_dir}",
        highlight=False,
    )
