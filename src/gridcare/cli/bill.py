"""`gridcare bill`: compute a bill, a power-factor adjustment or a late-payment penalty.

Nothing is stored. Output is JSON with exact decimal digits. Bad input prints
``错误 error: <field>: <reason>`` on stderr and exits with code 2.
"""

from __future__ import annotations

import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from gridcare.billing import (
    BillingInputError,
    PenaltyRequest,
    QuoteRequest,
    dumps,
    parse_model,
    penalty,
    penalty_json,
    pf_adjustment_pct,
    power_factor,
    quote,
)
from gridcare.billing.pf import PF_STANDARDS, round_pf

app = typer.Typer(
    help="电费核算 billing: quote a bill, power-factor adjustment (力调), late-payment penalty (违约金). "
    "Computes only; nothing is stored.",
    no_args_is_help=True,
)

JsonOption = Annotated[str, typer.Option("--json", help="Request JSON file, or - for standard input.")]


def _fail(lines: list[str]) -> NoReturn:
    for line in lines:
        typer.echo(f"错误 error: {line}", err=True)
    raise typer.Exit(2)


def _fail_input(exc: BillingInputError) -> NoReturn:
    _fail([str(e) for e in exc.errors])


def _read(source: str) -> bytes:
    if source == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        _fail([f"--json: cannot read {source!r}: {exc.strerror or exc}"])


@app.command("quote")
def quote_command(json_file: JsonOption) -> None:
    """Compute a bill from a quote request (same body as POST /api/v1/bills/quote)."""
    try:
        response = quote(parse_model(QuoteRequest, _read(json_file)))
    except BillingInputError as exc:
        _fail_input(exc)
    typer.echo(dumps(response, indent=2))


def _number(option: str, text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        _fail([f"{option}: {text!r} is not a number"])
    if not value.is_finite():
        _fail([f"{option}: {text!r} is not a finite number"])
    return value


@app.command("pf-adjust")
def pf_adjust_command(
    standard: Annotated[str, typer.Option("--standard", help="PF standard: 0.90, 0.85 or 0.80.")],
    pf: Annotated[
        list[str] | None,
        typer.Option("--pf", help="Monthly power factor (repeatable); rounded half-up to 0.01."),
    ] = None,
    active_kwh: Annotated[str | None, typer.Option("--active-kwh", help="Active energy P, kWh.")] = None,
    reactive_kvarh: Annotated[
        str | None, typer.Option("--reactive-kvarh", help="Reactive energy Q, kvarh.")
    ] = None,
) -> None:
    """Adjustment percentage (positive = surcharge, negative = reduction), one JSON object per line."""
    std = _number("--standard", standard)
    if std not in PF_STANDARDS:
        _fail([f"--standard: {standard} must be 0.90, 0.85 or 0.80"])
    energies = active_kwh is not None or reactive_kvarh is not None
    if pf and energies:
        _fail(["--pf: give either --pf or --active-kwh with --reactive-kvarh, not both"])
    factors: list[Decimal] = []
    if energies:
        if active_kwh is None or reactive_kvarh is None:
            missing = "--active-kwh" if active_kwh is None else "--reactive-kvarh"
            _fail([f"{missing}: required together with the other energy option"])
        p, q = _number("--active-kwh", active_kwh), _number("--reactive-kvarh", reactive_kvarh)
        for option, value in (("--active-kwh", p), ("--reactive-kvarh", q)):
            if value < 0:
                _fail([f"{option}: must be >= 0"])
        computed = power_factor(p, q)
        if computed is None:
            _fail(["--active-kwh: active and reactive energy are both 0; there is no power factor"])
        factors.append(computed)
    elif pf:
        for text in pf:
            value = _number("--pf", text)
            if value < 0 or value > 1:
                _fail([f"--pf: {text} must be between 0 and 1"])
            factors.append(round_pf(value))
    else:
        _fail(["--pf: give --pf (repeatable) or --active-kwh with --reactive-kvarh"])
    standard_2dp = std.quantize(Decimal("0.01"))
    for factor in factors:
        typer.echo(dumps({"power_factor": factor, "adjustment_pct": pf_adjustment_pct(standard_2dp, factor)}))


@app.command("penalty")
def penalty_command(json_file: JsonOption) -> None:
    """Late-payment penalties (违约金) for arrears paid on a given day."""
    try:
        response = penalty(parse_model(PenaltyRequest, _read(json_file)))
    except BillingInputError as exc:
        _fail_input(exc)
    typer.echo(dumps(penalty_json(response), indent=2))
