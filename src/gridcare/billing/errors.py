"""Input errors that name the field and the reason.

Model validators raise :class:`FieldProblem` (a ``ValueError``) for cross-field rules so that the
reported location is the offending field, not the enclosing object. The engine raises
:class:`BillingInputError` directly. :func:`from_validation_error` turns a pydantic
``ValidationError`` into the same form, so the CLI and the API report both kinds identically.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydantic import ValidationError

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class FieldError:
    """One problem: ``loc`` is the path of the field in the request, ``reason`` says what is wrong."""

    loc: Loc
    reason: str

    @property
    def field(self) -> str:
        """The dotted path, list positions in brackets: ``usage.meters[0].registers.total.end``."""
        return field_path(self.loc)

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


class FieldProblem(ValueError):
    """Raised inside a model validator: ``field`` is relative to the model being validated."""

    def __init__(self, field: str | Loc, reason: str) -> None:
        super().__init__(reason)
        self.loc: Loc = tuple(field.split(".")) if isinstance(field, str) else field
        self.reason = reason


class BillingInputError(ValueError):
    """Bad input to a billing calculation; nothing was computed."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        if not errors:
            raise ValueError("BillingInputError needs at least one FieldError")
        self.errors: tuple[FieldError, ...] = tuple(errors)
        super().__init__("; ".join(str(e) for e in self.errors))

    @classmethod
    def at(cls, loc: str | Loc, reason: str) -> BillingInputError:
        """One error at ``loc`` (a dotted path or a tuple)."""
        return cls([FieldError(_as_loc(loc), reason)])


def field_path(loc: Iterable[str | int]) -> str:
    """``("usage", "meters", 0, "multiplier")`` -> ``usage.meters[0].multiplier``; ``()`` -> ``(body)``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(body)"


def _as_loc(loc: str | Loc) -> Loc:
    if isinstance(loc, tuple):
        return loc
    return tuple(loc.split(".")) if loc else ()


_REASONS = {
    "missing": "required field is missing",
    "extra_forbidden": "unknown field (not part of the schema)",
}


def from_validation_error(exc: ValidationError, prefix: Loc = ()) -> BillingInputError:
    """The errors of a pydantic ``ValidationError`` as field errors (``prefix`` is prepended)."""
    found: list[FieldError] = []
    for err in exc.errors():
        loc: Loc = prefix + tuple(_loc_part(p) for p in err["loc"])
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, FieldProblem):
            found.append(FieldError(loc + cause.loc, cause.reason))
            continue
        reason = _REASONS.get(err["type"]) or err["msg"].removeprefix("Value error, ")
        if loc and loc[-1] == "[key]":  # a bad mapping key: pydantic appends a "[key]" step
            loc, reason = loc[:-1], f"not an allowed key: {reason}"
        found.append(FieldError(loc, reason))
    return BillingInputError(found)


def _loc_part(part: object) -> str | int:
    return part if isinstance(part, int) else str(part)
