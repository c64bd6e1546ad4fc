"""Daily MDM processing in a running platform: VEE of each freeze day and line loss of the business day it
closes, computed once the master station has collected the freeze, and again when re-reads (补抄) add to it.

A freeze day is processed when its count of collected points is non-zero, differs from the count it was
last processed at, and has not changed since the previous pass (the readings behind a confirmed collection
reach Parquet on the station's next flush, so a count that is still moving is left for the next pass).
Results are append-only versions (see :mod:`gridcare.mdm.tasks`); the latest run of a day wins.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from gridcare.acquisition.models import FeederMeterCollection, PointCollection, PointStatus
from gridcare.config import Settings
from gridcare.mdm.tasks import compute_line_loss, run_vee_task
from gridcare.storage.database import Database

log = logging.getLogger("gridcare.mdm.daily")


@dataclass
class DailyProcessing:
    """Decides which freeze days to (re)process and runs VEE + line loss for them."""

    settings: Settings
    database: Database
    lookback_days: int = 3
    """Freeze days before today that may still change through re-reads."""
    _observed: dict[date, int] = field(default_factory=dict)
    _processed: dict[date, int] = field(default_factory=dict)

    def collected(self, freeze_day: date) -> int:
        """Points and feeder head meters with a valid daily frozen reading of ``freeze_day``."""
        with self.database.sessions() as session:
            points = session.scalar(
                select(func.count())
                .select_from(PointCollection)
                .where(PointCollection.business_date == freeze_day, PointCollection.status == PointStatus.OK)
            )
            heads = session.scalar(
                select(func.count())
                .select_from(FeederMeterCollection)
                .where(
                    FeederMeterCollection.business_date == freeze_day,
                    FeederMeterCollection.status == PointStatus.OK,
                )
            )
        return (points or 0) + (heads or 0)

    def due(self, freeze_day: date, collected: int) -> bool:
        """Whether ``freeze_day`` is due now with ``collected`` points (the count is recorded)."""
        stable = self._observed.get(freeze_day) == collected
        self._observed[freeze_day] = collected
        return collected > 0 and stable and self._processed.get(freeze_day) != collected

    def run_once(self, now: datetime) -> list[date]:
        """One pass at Beijing time ``now``; returns the freeze days processed."""
        today = now.date()
        done = []
        for back in range(self.lookback_days, -1, -1):
            freeze_day = today - timedelta(days=back)
            collected = self.collected(freeze_day)
            if not self.due(freeze_day, collected):
                continue
            vee = run_vee_task(self.settings, self.database, freeze_day, now=now)
            loss = compute_line_loss(self.settings, self.database, freeze_day - timedelta(days=1), now=now)
            self._processed[freeze_day] = collected
            done.append(freeze_day)
            log.info(
                "freeze %s: VEE %d readings, line loss of %s for %d 台区 %s",
                freeze_day,
                vee.readings,
                loss.day,
                loss.tgs,
                loss.by_status,
            )
        for old in [d for d in self._observed if d < today - timedelta(days=self.lookback_days)]:
            self._observed.pop(old, None)
            self._processed.pop(old, None)
        return done
