"""Metering-asset rules (计量资产), pure: the meter lifecycle, verification due dates, multiplier history.

- Lifecycle (:data:`TRANSITIONS`): stock (库存) -> installed (运行) -> removed (拆回) -> scrapped (报废); a
  removed meter that passes verification may go back to stock, and a stock meter that fails its acceptance
  test may be scrapped directly. Scrapped is final. :func:`check_transition` names the meter and the
  illegal step.
- Verification / inspection (检定 / 轮换 / 现场检验) due dates by meter type (:class:`VerificationPolicy`):
  due = (last verification, else the install date) + the type's interval in calendar months.
- Multiplier history: energy of a business day uses the multiplier in force at 00:00 that day
  (:func:`multipliers_by_day`, :func:`apply_multiplier_history`).

Statuses and meter types are the text values of :class:`gridcare.archives.models.MeterStatus` /
:class:`~gridcare.archives.models.MeterType`; this module does not import the archive models.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Final

import numpy as np
import pyarrow as pa

from gridcare.mdm.registers import DailyEnergy
from gridcare.mdm.schema import MdmInputError, day_number, floats, require_columns, to_day_numbers

STOCK, INSTALLED, REMOVED, SCRAPPED = "stock", "installed", "removed", "scrapped"
STATUSES: Final = (STOCK, INSTALLED, REMOVED, SCRAPPED)
STATUS_ZH: Final = {STOCK: "库存", INSTALLED: "运行", REMOVED: "拆回", SCRAPPED: "报废"}

TRANSITIONS: Final[dict[str, tuple[str, ...]]] = {
    STOCK: (INSTALLED, SCRAPPED),
    INSTALLED: (REMOVED,),
    REMOVED: (STOCK, SCRAPPED),
    SCRAPPED: (),
}
"""Allowed next statuses. removed -> stock: repaired and re-verified (返库); stock -> scrapped: failed the
acceptance test (到货验收不合格)."""


class IllegalTransition(MdmInputError):
    """A lifecycle step the rules do not allow; the message names the meter and the step."""


def check_transition(meter: str, current: str, target: str) -> None:
    """Raise :class:`IllegalTransition` unless ``current -> target`` is allowed for ``meter``."""
    if target not in STATUSES:
        raise MdmInputError(
            f"to_status: {target!r} is not a meter status; expected one of {', '.join(STATUSES)}"
        )
    if current not in STATUSES:
        raise MdmInputError(f"status: meter {meter} has an unknown status {current!r}")
    allowed = TRANSITIONS[current]
    if target not in allowed:
        options = ", ".join(allowed) if allowed else "none, scrapped is final"
        raise IllegalTransition(
            f"to_status: meter {meter} cannot go from {current} ({STATUS_ZH[current]}) to {target} "
            f"({STATUS_ZH[target]}); allowed from {current}: {options}"
        )


# --- verification ---------------------------------------------------------------------------------
DEFAULT_VERIFICATION_MONTHS: Final = {
    "single_phase": 96,
    "three_phase_direct": 72,
    "three_phase_ct": 12,
}
"""Months between verifications by meter type. Assumptions, to be set per province in the settings
(``meter_verification_months``): single-phase smart meters are rotated (轮换) 8 years after verification or
installation and direct-connected three-phase meters 6 years, as State Grid provinces commonly apply the
rotation rules of DL/T 448-2016 (电能计量装置技术管理规程) to smart meters; CT-connected meters (经互感器接入,
low-voltage or high-voltage metering installations of class I-III) get an on-site inspection (现场检验)
every year, the DL/T 448 interval of a class II installation (class I: 6 months, class III: 2 years)."""

KIND_ROTATION, KIND_INSPECTION = "rotation", "inspection"


def add_months(day: date, months: int) -> date:
    """``day`` plus calendar months; the 31st becomes the last day of a shorter month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


@dataclass(frozen=True)
class VerificationPolicy:
    """Months between verifications per meter type (``meter_type`` text -> months >= 1)."""

    months: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_VERIFICATION_MONTHS))

    def __post_init__(self) -> None:
        for kind in DEFAULT_VERIFICATION_MONTHS:
            if kind not in self.months:
                raise MdmInputError(f"meter_verification_months.{kind}: missing")
        for kind, months in self.months.items():
            if kind not in DEFAULT_VERIFICATION_MONTHS:
                raise MdmInputError(
                    f"meter_verification_months.{kind}: not a meter type; expected "
                    f"{', '.join(DEFAULT_VERIFICATION_MONTHS)}"
                )
            if not isinstance(months, int) or isinstance(months, bool) or months < 1:
                raise MdmInputError(
                    f"meter_verification_months.{kind}: must be a whole number >= 1, got {months!r}"
                )

    @classmethod
    def from_settings(cls, months: Mapping[str, int]) -> VerificationPolicy:
        """The defaults overridden by the configured months (``meter_verification_months``)."""
        return cls({**DEFAULT_VERIFICATION_MONTHS, **months})

    def interval_months(self, meter_type: str) -> int:
        if meter_type not in self.months:
            raise MdmInputError(f"meter_type: {meter_type!r} has no verification interval")
        return int(self.months[meter_type])

    @staticmethod
    def kind(meter_type: str) -> str:
        """``inspection`` (现场检验) for CT-connected meters, else ``rotation`` (轮换)."""
        return KIND_INSPECTION if meter_type == "three_phase_ct" else KIND_ROTATION


def due_date(
    meter_type: str, install_date: date | None, last_verified_on: date | None, policy: VerificationPolicy
) -> date | None:
    """When the next verification is due: the last verification (else the install date) plus the type's
    interval; None when neither date is known."""
    base = last_verified_on or install_date
    if base is None:
        return None
    return add_months(base, policy.interval_months(meter_type))


# --- multiplier history ---------------------------------------------------------------------------
def multipliers_by_day(energy: DailyEnergy, history: pa.Table) -> np.ndarray:
    """Multiplier in force on each business day of ``energy`` per meter ``[meters x days]``.

    ``history``: meter, effective_from (date), old_multiplier, new_multiplier. A day before a meter's first
    change uses that change's old multiplier, a day on or after a change its new one; days of meters
    without changes use the archive multiplier (the fleet's). Meters not in the fleet are ignored.
    """
    fleet = energy.fleet
    mult = np.repeat(fleet.multiplier[:, None].astype(np.float64), energy.n_days, axis=1)
    if history.num_rows == 0:
        return mult
    require_columns(history, ["meter", "effective_from", "old_multiplier", "new_multiplier"], "history")
    pos = fleet.lookup(history.column("meter"))
    eff = to_day_numbers(history.column("effective_from"), "history.effective_from") - energy.first_day
    old = floats(history.column("old_multiplier"), "history.old_multiplier")
    new = floats(history.column("new_multiplier"), "history.new_multiplier")
    if np.any((old <= 0) | (new <= 0) | np.isnan(old) | np.isnan(new)):
        raise MdmInputError("history.old_multiplier: multipliers must be positive")
    # per meter, latest change first: each sets the days before it to its old multiplier; the latest
    # change sets its own day onwards to its new multiplier
    order = np.lexsort((-eff, pos))
    latest_seen: set[int] = set()
    for i in order.tolist():
        m = int(pos[i])
        if m < 0:
            continue
        j = int(np.clip(eff[i], 0, energy.n_days))
        if m not in latest_seen:
            mult[m, j:] = new[i]
            latest_seen.add(m)
        mult[m, :j] = old[i]
    return mult


def apply_multiplier_history(energy: DailyEnergy, history: pa.Table) -> DailyEnergy:
    """Energies recomputed with the multiplier in force on each day (see :func:`multipliers_by_day`).

    ``energy`` was computed with the fleet's (current) multipliers: each cell's register advance is
    recovered (energy / multiplier, to the 0.01 register resolution) and multiplied by the day's
    multiplier. A cell whose interval spans a multiplier change (a gap across the effective date) cannot be
    split and becomes unknown (NaN).
    """
    if history.num_rows == 0:
        return energy
    fleet = energy.fleet
    mult = multipliers_by_day(energy, history)
    advance = np.round(energy.energy_kwh / fleet.multiplier[:, None], 2)
    e = np.round(advance * mult, 2)
    # a multi-day interval must see one multiplier over all of its days
    span = energy.span_days
    n_days = energy.n_days
    for d in range(n_days):
        long = span[:, d] > 1
        if not np.any(long):
            continue
        rows = np.flatnonzero(long)
        first = np.maximum(d - span[rows, d] + 1, 0)
        for r, f in zip(rows.tolist(), first.tolist(), strict=True):
            if np.any(mult[r, f : d + 1] != mult[r, d]):
                e[r, d] = np.nan
    return DailyEnergy(fleet=fleet, first_day=energy.first_day, energy_kwh=e, span_days=span.copy())


def mask_out_of_service(energy: DailyEnergy, valid_from: np.ndarray, valid_to: np.ndarray) -> DailyEnergy:
    """Zero energy (a one-day interval) on the days a meter was not in service at its point.

    ``valid_from`` / ``valid_to`` are day numbers per fleet position (``valid_to`` exclusive; use a large
    number for an open range). A meter installed or removed inside the period then covers the period exactly:
    nothing before it was installed, nothing after it was removed. The day of a replacement is filled in
    afterwards from the replacement readings (:func:`gridcare.mdm.meter_change.apply_meter_changes`).
    """
    days = energy.first_day + np.arange(energy.n_days)
    out = (days[None, :] < valid_from[:, None]) | (days[None, :] >= valid_to[:, None])
    if not np.any(out):
        return energy
    e = np.where(out, 0.0, energy.energy_kwh)
    s = np.where(out, 1, energy.span_days).astype(energy.span_days.dtype)
    return DailyEnergy(fleet=energy.fleet, first_day=energy.first_day, energy_kwh=e, span_days=s)


def day_numbers(values: list[date | None], default: int) -> np.ndarray:
    """Day numbers of dates, ``default`` for None."""
    return np.asarray([default if v is None else day_number(v) for v in values], dtype=np.int64)
