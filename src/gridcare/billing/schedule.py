"""Scheduled billing work of a running platform (``gridcare run``), as the principal ``system``.

* Monthly billing runs (抄表核算): from ``billing_day`` of a month (Beijing time, :data:`BILLING_HOUR`;
  the default day 5 leaves the 补抄 window of the freeze of the 1st behind it) the previous month is
  billed for every billing group - once per month and process, and again after a restart, which bills
  only customers still without a bill. A month is billed only when the lake holds freezes of its first
  day and of the first day of the next month (a platform started mid-month leaves that month to an
  operator instead of holding every bill for missing readings). With ``billing_auto_release`` the pass
  releases the drafts it leaves (bills without anomalies: 智能审核); bills in review or held for missing
  readings wait for a person (``gridcare billing review / accept / void / release``).
* Prepaid cost control (费控): once a day from ``prepaid_hour``, the day's balances, warnings and trips
  (each trip filed for approval: a person approves every remote trip) - :func:`prepaid.run_daily`; days
  a pass missed are caught up in order.

Both are idempotent in the database, so a restart that repeats a pass changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from gridcare.billing import bills, prepaid, runs
from gridcare.billing.periods import parse_period, shift_period
from gridcare.config import Settings
from gridcare.security.principal import SYSTEM
from gridcare.storage.database import Database
from gridcare.storage.lake import ReadingsLake

log = logging.getLogger("gridcare.billing.schedule")

BILLING_HOUR = 2
"""Hour of the billing day from which the run starts [Beijing time], after that night's re-reads."""


def billing_period_due(now: datetime, billing_day: int) -> str | None:
    """The month (YYYY-MM) to bill at Beijing time ``now``: the previous month, from ``billing_day``
    at :data:`BILLING_HOUR` to the end of the month; otherwise None."""
    if (now.day, now.hour) < (billing_day, BILLING_HOUR):
        return None
    return shift_period(f"{now.year:04d}-{now.month:02d}", -1)


def prepaid_days_due(now: datetime, prepaid_hour: int, last: date | None) -> list[date]:
    """The days whose prepaid pass is due at Beijing time ``now``: each day after ``last`` up to the
    latest one whose ``prepaid_hour`` has come (days a pass missed - the platform was busy, or a replayed
    clock leapt - are caught up in order); with no ``last`` only that latest day."""
    latest = now.date() if now.hour >= prepaid_hour else now.date() - timedelta(days=1)
    if last is None:
        return [latest]
    return [last + timedelta(days=k) for k in range(1, (latest - last).days + 1)]


@dataclass
class BillingSchedule:
    """Decides and runs the scheduled billing passes; call :meth:`run_once` every few minutes."""

    settings: Settings
    database: Database
    lake: ReadingsLake
    _billed: set[str] = field(default_factory=set)
    _prepaid_last: date | None = None

    def run_once(self, now: datetime) -> list[str]:
        """The passes due at Beijing time ``now``; returns what each did (also logged)."""
        done = []
        period = billing_period_due(now, self.settings.billing_day)
        if period is not None and period not in self._billed:
            start, _, following = parse_period(period)
            frozen = set(self.lake.days())
            missing = [str(day) for day in (start, following) if day not in frozen]
            if missing:
                done.append(f"billing {period}: not run, no freezes of {' and '.join(missing)} in the lake")
            else:
                done.append(self._bill(period, now))
            self._billed.add(period)
        for day in prepaid_days_due(now, self.settings.prepaid_hour, self._prepaid_last):
            done.append(self._prepaid(day, now))
            self._prepaid_last = day
        for line in done:
            log.info("%s", line)
        return done

    def _bill(self, period: str, now: datetime) -> str:
        with self.database.sessions() as session:
            report = runs.run_groups(session, SYSTEM, self.lake, period, None, now=now)
            session.commit()
            released = 0
            if self.settings.billing_auto_release:
                for run_id in report.run_ids:
                    released += bills.release(session, SYSTEM, run_id=run_id, now=now).released
                session.commit()
        return (
            f"billing {period}: {report.created} bills created ({report.review} in review, "
            f"{report.held} held), {released} released, {report.already_billed} already billed"
        )

    def _prepaid(self, day: date, now: datetime) -> str:
        with self.database.sessions() as session:
            report = prepaid.run_daily(session, SYSTEM, self.lake, day, now=now)
            session.commit()
        return (
            f"prepaid {report.day}: {report.accounts} accounts ({report.already_done} done before), "
            f"{len(report.warnings)} warnings, {len(report.trips_requested)} trips filed for approval, "
            f"{len(report.reconnects)} reconnects"
        )
