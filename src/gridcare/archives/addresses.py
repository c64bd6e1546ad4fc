"""Identifier rules for archives: meter addresses, terminal addresses, CT/PT ratios."""

from __future__ import annotations

import re

METER_ADDRESS = re.compile(r"^\d{12}$")
AREA_CODE = re.compile(r"^\d{4}$")
RATIO = re.compile(r"^(\d+)/(\d+)$")


def check_meter_address(value: str) -> str:
    """Return ``value`` if it is 12 decimal digits (BCD), else raise ValueError with the reason."""
    if not METER_ADDRESS.match(value):
        raise ValueError(f"meter address must be exactly 12 decimal digits (BCD), got {value!r}")
    if value in {"999999999999", "000000000000"}:
        raise ValueError(f"meter address {value} is reserved (broadcast / unset)")
    return value


def check_area_code(value: str) -> str:
    """Terminal area code (行政区划码): 4 decimal digits."""
    if not AREA_CODE.match(value):
        raise ValueError(f"area code must be exactly 4 decimal digits, got {value!r}")
    return value


def ratio_value(value: str) -> int:
    """CT/PT ratio "200/5" -> 40. The primary must be a whole multiple of the secondary."""
    match = RATIO.match(value)
    if not match:
        raise ValueError(f"ratio must look like 200/5, got {value!r}")
    primary, secondary = int(match.group(1)), int(match.group(2))
    if secondary == 0 or primary == 0 or primary % secondary:
        raise ValueError(f"ratio {value} must be a positive whole multiple (primary/secondary)")
    return primary // secondary


def multiplier_of(ct_ratio: str, pt_ratio: str) -> int:
    """Meter multiplier (倍率) = CT ratio x PT ratio."""
    return ratio_value(ct_ratio) * ratio_value(pt_ratio)
