"""`gridcare frame`: decode and encode protocol frames from the command line (one JSON object a line).

The contract, relied on to check the codecs from outside:

* ``gridcare frame decode HEX...`` / ``gridcare frame decode --stdin`` (one frame a line, spaces inside
  the hex allowed, blank lines skipped) print one JSON object per frame, one a line: the frame's contract
  object (Q/GDW 1376.1 or DL/T 645, told apart by :mod:`gridcare.protocols.detect`), or
  ``{"error": {"code": "...", "message": "..."}}`` for a frame that cannot be decoded. Exit code 2 if
  any frame failed, else 0.
* ``gridcare frame encode --json`` reads one contract object (or a list of them, or one a line) on stdin
  and prints each frame as hex (upper case, no spaces), or the error object naming the bad field; exit
  code 2 if any object failed, else 0.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any, NoReturn

import typer

from gridcare.protocols.detect import decode_any, encode_any
from gridcare.protocols.errors import FrameError

app = typer.Typer(help="报文 Decode / encode Q/GDW 1376.1 and DL/T 645 frames.", no_args_is_help=True)

HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


class BadHex(FrameError):
    """The command-line text is not hexadecimal (``position`` counts characters of the line)."""

    code = "bad_hex"


def parse_hex(text: str) -> bytes:
    """Hex text (whitespace anywhere allowed) -> bytes; BadHex names the first bad character."""
    digits = 0
    for i, ch in enumerate(text):
        if ch.isspace():
            continue
        if ch not in HEX_DIGITS:
            raise BadHex(f"not hexadecimal: character {ch!r} at text position {i}")
        digits += 1
    if digits == 0:
        raise BadHex("no hex digits")
    if digits % 2:
        raise BadHex(f"odd number of hex digits ({digits})")
    return bytes.fromhex("".join(text.split()))


def error_object(exc: Exception) -> dict[str, Any]:
    """The contract error object; an exception that is no FrameError is a defect, reported as internal."""
    if isinstance(exc, FrameError):
        return {"error": {"code": exc.code, "message": str(exc)}}
    return {"error": {"code": "internal_error", "message": f"{type(exc).__name__}: {exc}"}}


def decode_line(text: str) -> tuple[dict[str, Any], bool]:
    """One line of hex -> (contract object or error object, ok)."""
    try:
        return decode_any(parse_hex(text)), True
    except Exception as exc:  # every failure becomes this line's error object
        return error_object(exc), False


def _emit(obj: dict[str, Any]) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False))


def _usage_error(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


@app.command()
def decode(
    hex_frames: Annotated[
        list[str] | None, typer.Argument(metavar="HEX...", help="frames as hex, one per argument")
    ] = None,
    stdin: Annotated[bool, typer.Option("--stdin", help="read one frame per line (spaces allowed)")] = False,
) -> None:
    """Decode frames to JSON, one object per line. Exit code 2 if any frame failed, else 0."""
    if stdin and hex_frames:
        _usage_error("give HEX arguments or --stdin, not both")
    lines = [line for line in sys.stdin.read().splitlines() if line.strip()] if stdin else hex_frames or []
    if not lines:
        _usage_error("give frames as HEX arguments or one per line with --stdin")
    ok_all = True
    for line in lines:
        obj, ok = decode_line(line)
        ok_all = ok_all and ok
        _emit(obj)
    if not ok_all:
        raise typer.Exit(2)


def _json_documents(text: str) -> list[tuple[Any, str | None]]:
    """(object, None) per JSON object in ``text``, or (None, error message) for a line that is no JSON.

    The text is one JSON document (an object or a list of objects) or one JSON object a line.
    """
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        pass
    else:
        return [(d, None) for d in doc] if isinstance(doc, list) else [(doc, None)]
    out: list[tuple[Any, str | None]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append((json.loads(line), None))
        except json.JSONDecodeError as exc:
            out.append((None, f"line {number}: not JSON: {exc.msg} at column {exc.colno}"))
    return out


@app.command()
def encode(
    json_input: Annotated[
        bool,
        typer.Option("--json", help="read contract JSON objects from stdin (one, a list, or one a line)"),
    ] = False,
) -> None:
    """Encode frame objects (JSON on stdin) and print each frame as hex. Exit code 2 if any failed."""
    if not json_input:
        _usage_error("give --json and the frame objects on stdin")
    docs = _json_documents(sys.stdin.read())
    if not docs:
        _usage_error("no JSON object on stdin")
    failed = False
    for obj, problem in docs:
        if problem is not None:
            failed = True
            _emit({"error": {"code": "bad_json", "message": problem}})
            continue
        try:
            typer.echo(encode_any(obj).hex().upper())
        except Exception as exc:  # every failure becomes this object's error line
            failed = True
            _emit(error_object(exc))
    if failed:
        raise typer.Exit(2)
