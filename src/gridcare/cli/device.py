"""`gridcare device`: device jobs from the server's shell — on-demand reads (召测), clock read/sync,
remote trip / allow close (费控) with maker-checker, and job status.

Jobs are queued in the database; the running front-end (`gridcare run` or `gridcare serve frontend`) sends
them. ``--wait`` polls until the job ends.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer

from gridcare.acquisition import service
from gridcare.acquisition.models import DeviceJob, JobKind, JobState
from gridcare.archives.queries import NotFound
from gridcare.cli.admin import cli_principal
from gridcare.cli.common import ConfigOption, DataDirOption, console, database_from, fail, settings_from
from gridcare.security.approvals import ApprovalError
from gridcare.security.authz import PermissionDenied
from gridcare.security.principal import Principal
from gridcare.storage.database import Database

app = typer.Typer(help="设备操作 Device jobs: on-demand read, clock, remote control.", no_args_is_help=True)

MeterOption = Annotated[str | None, typer.Option("--meter", help="12-digit meter address")]
TerminalOption = Annotated[str | None, typer.Option("--terminal", help="terminal address AAAA-NNNNN")]
WaitOption = Annotated[float, typer.Option("--wait", help="seconds to wait for the outcome (0: don't)")]
FINAL = {JobState.CONFIRMED, JobState.FAILED, JobState.TIMED_OUT}


def _job_json(job: DeviceJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind.value,
        "state": job.state.value,
        "meter_address": job.meter_address,
        "requested_by": job.requested_by,
        "result": job.result,
        "error": job.error,
    }


def _queue(
    db: Database,
    principal: Principal,
    kind: JobKind,
    meter: str | None,
    terminal: str | None,
    params: dict[str, Any],
    wait: float,
) -> None:
    with db.sessions() as session:
        try:
            job = service.request_job(session, principal, kind, meter, terminal, params)
        except service.JobRequestError as exc:
            fail(str(exc))
        except NotFound as exc:
            fail(f"not found: {exc}")
        job_id = job.id
    _show(db, principal, job_id, wait)


def _show(db: Database, principal: Principal, job_id: int, wait: float) -> None:
    deadline = time.monotonic() + wait
    while True:
        with db.sessions() as session:
            job = service.get_job(session, principal, job_id)
            out = _job_json(job)
            done = job.state in FINAL
        if done or time.monotonic() >= deadline:
            typer.echo(json.dumps(out, ensure_ascii=False, default=str))
            if done and job.state != JobState.CONFIRMED:
                raise typer.Exit(1)
            return
        time.sleep(0.5)


@app.command()
def read(
    meter: Annotated[str, typer.Option("--meter", help="12-digit meter address")],
    di: Annotated[str, typer.Option(help="DL/T 645 data identifier")] = "0001FF00",
    wait: WaitOption = 30,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """On-demand read (召测) of a meter through its terminal."""
    db = database_from(settings_from(data_dir, config))
    _queue(db, cli_principal(), JobKind.ON_DEMAND_READ, meter, None, {"di": di}, wait)


@app.command()
def clock(
    meter: MeterOption = None,
    terminal: TerminalOption = None,
    sync: Annotated[
        bool, typer.Option("--sync", help="set the clock when it is off (terminal > 5 s, meter > 10 s)")
    ] = False,
    wait: WaitOption = 30,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Read a terminal's (or a meter's) clock; with --sync, correct it."""
    db = database_from(settings_from(data_dir, config))
    kind = JobKind.CLOCK_SYNC if sync else JobKind.CLOCK_READ
    _queue(db, cli_principal(), kind, meter, terminal, {}, wait)


@app.command()
def control(
    meter: Annotated[str, typer.Option("--meter", help="12-digit meter address")],
    command: Annotated[str, typer.Option(help="trip (跳闸) or allow_close (允许合闸)")],
    reason: Annotated[str, typer.Option(help="why (recorded in the audit trail)")],
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Request a remote trip / allow close. A second person approves it (`device approve` or the console)."""
    db = database_from(settings_from(data_dir, config))
    with db.sessions() as session:
        try:
            req = service.request_remote_control(session, cli_principal(), meter, command, reason)
        except service.JobRequestError as exc:
            fail(str(exc))
        except NotFound as exc:
            fail(f"not found: {exc}")
        console.print(
            f"已提交审批 approval request {req.id} filed by {req.requested_by}; a second person approves it"
        )


@app.command()
def approve(
    approval_id: Annotated[int, typer.Argument(help="approval request id")],
    operator: Annotated[str, typer.Option(help="the approving person's account name (not the requester)")],
    wait: WaitOption = 0,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Approve a remote-control request as OPERATOR; the command is then queued."""
    db = database_from(settings_from(data_dir, config))
    base = cli_principal()
    checker = Principal(
        username=f"{base.username}/{operator}"[:64], org_paths=base.org_paths, permissions=base.permissions
    )
    with db.sessions() as session:
        try:
            job = service.approve_remote_control(session, checker, approval_id)
        except (ApprovalError, PermissionDenied) as exc:
            fail(str(exc))
        except NotFound as exc:
            fail(f"not found: {exc}")
        job_id = job.id
    _show(db, checker, job_id, wait)


@app.command()
def job(
    job_id: Annotated[int, typer.Argument(help="job id")],
    wait: WaitOption = 0,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Show a device job (and wait for its outcome with --wait)."""
    db = database_from(settings_from(data_dir, config))
    try:
        _show(db, cli_principal(), job_id, wait)
    except NotFound as exc:
        fail(f"not found: {exc}")
