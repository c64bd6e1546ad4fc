"""Power-factor adjustment (力调电费) per 《功率因数调整电费办法》 ((83)水电财字第215号).

The monthly power factor is ``P / sqrt(P^2 + Q^2)`` from the month's active energy ``P`` [kWh] and
reactive energy ``Q`` [kvarh], rounded half-up to two decimals. The adjustment percentage comes from
the table of the customer's standard (0.90, 0.85 or 0.80) and applies to the month's basic plus
energy charges. Positive = surcharge (增收), negative = reduction (减收).

The three official tables, as implemented (percentages of the month's charges):

* Standard 0.90 - reductions: 0.91 -0.15, 0.92 -0.30, 0.93 -0.45, 0.94 -0.60, 0.95-1.00 -0.75.
  Surcharges: 0.89 +0.5 and +0.5 for each further 0.01 down to 0.70 (+10.0); 0.69 +11.0 and +1.0
  for each 0.01 down to 0.65 (+15.0); from 0.64 down, +2.0 for each 0.01 (0.64 +17.0).
* Standard 0.85 - reductions: 0.86 -0.1, 0.87 -0.2, 0.88 -0.3, 0.89 -0.4, 0.90 -0.5, 0.91 -0.65,
  0.92 -0.80, 0.93 -0.95, 0.94-1.00 -1.10. Surcharges: 0.84 +0.5 ... 0.65 +10.0; 0.64 +11.0 ...
  0.60 +15.0; from 0.59 down +2.0 per 0.01.
* Standard 0.80 - reductions: 0.81 -0.1 ... 0.90 -1.0 (-0.1 per 0.01), 0.91 -1.15, 0.92-1.00 -1.30.
  Surcharges: 0.79 +0.5 ... 0.60 +10.0; 0.59 +11.0 ... 0.55 +15.0; from 0.54 down +2.0 per 0.01.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from gridcare.billing.numbers import plain

PF_STANDARDS = (Decimal("0.90"), Decimal("0.85"), Decimal("0.80"))
HUNDREDTH = Decimal("0.01")

# Reductions (as positive numbers) by power factor in hundredths, from the standard upwards; at and
# above the last key the reduction stays at its value.
_REDUCTIONS: dict[int, dict[int, str]] = {
    90: {90: "0", 91: "0.15", 92: "0.30", 93: "0.45", 94: "0.60", 95: "0.75"},
    85: {
        85: "0",
        86: "0.1",
        87: "0.2",
        88: "0.3",
        89: "0.4",
        90: "0.5",
        91: "0.65",
        92: "0.80",
        93: "0.95",
        94: "1.10",
    },
    80: {
        80: "0",
        81: "0.1",
        82: "0.2",
        83: "0.3",
        84: "0.4",
        85: "0.5",
        86: "0.6",
        87: "0.7",
        88: "0.8",
        89: "0.9",
        90: "1.0",
        91: "1.15",
        92: "1.30",
    },
}


def power_factor(active_kwh: Decimal, reactive_kvarh: Decimal) -> Decimal | None:
    """Monthly power factor ``P / sqrt(P^2 + Q^2)`` rounded half-up to 0.01, computed exactly.

    ``None`` when both energies are zero (no power factor can be formed).
    """
    if active_kwh < 0 or reactive_kvarh < 0:
        raise ValueError("active and reactive energy must be >= 0")
    p2 = Fraction(active_kwh) ** 2
    s2 = p2 + Fraction(reactive_kvarh) ** 2
    if s2 == 0:
        return None
    # Half-up to hundredths: the largest k with PF >= (k - 1/2)/100, i.e. 40000 P^2 >= (2k - 1)^2 S^2.
    k = 100
    while k > 0 and 40000 * p2 < (2 * k - 1) ** 2 * s2:
        k -= 1
    return (Decimal(k) / 100).quantize(HUNDREDTH)


def round_pf(pf: Decimal) -> Decimal:
    """``pf`` rounded half-up to two decimals, checked to lie in [0, 1]."""
    if not pf.is_finite() or pf < 0 or pf > 1:
        raise ValueError("power factor must be between 0 and 1")
    return pf.quantize(HUNDREDTH, rounding=ROUND_HALF_UP)


def pf_adjustment_pct(standard: Decimal, pf: Decimal) -> Decimal:
    """Adjustment [% of basic + energy charges] for power factor ``pf`` under ``standard``.

    ``pf`` is rounded half-up to two decimals first. Positive = surcharge, negative = reduction.
    """
    if standard not in PF_STANDARDS:
        raise ValueError("standard must be 0.90, 0.85 or 0.80")
    s = int(standard * 100)
    x = int(round_pf(pf) * 100)
    if x >= s:
        table = _REDUCTIONS[s]
        return plain(-Decimal(table[min(x, max(table))]))
    steps = s - x
    if steps <= 20:
        pct = Decimal("0.5") * steps
    elif steps <= 25:
        pct = Decimal(10) + (steps - 20)
    else:
        pct = Decimal(15) + 2 * (steps - 25)
    return plain(pct)
