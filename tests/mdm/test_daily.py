"""Daily MDM processing of a running platform: VEE + line loss once a freeze is collected, again after
re-reads, never while the collected count is still moving, never twice for the same count."""

from __future__ import annotations

from datetime import datetime

import pyarrow.compute as pc
from sqlalchemy import select

from gridcare.acquisition.models import PointCollection, PointStatus
from gridcare.archives.models import MeteringPoint
from gridcare.config import Settings
from gridcare.mdm.daily import DailyProcessing
from gridcare.mdm.store import KIND_LINELOSS, KIND_VEE, MdmLake
from gridcare.storage.database import Database
from gridcare.storage.db import transaction
from gridcare.timeutil import BEIJING
from tests.mdm.test_tasks_world import actual_rows, build_world, day, write_actuals

NOW = datetime(2024, 6, 11, 2, 0, tzinfo=BEIJING)  # freeze day 10 (2024-06-11) is being collected


def _collected(database: Database, point_ids: list[int]) -> None:
    with transaction(database.sessions) as session:
        for point_id in point_ids:
            session.add(
                PointCollection(
                    metering_point_id=point_id,
                    business_date=day(10),
                    status=PointStatus.OK,
                    updated_at=NOW,
                )
            )


def _runs(settings: Settings, kind: str) -> list[str]:
    runs = MdmLake(settings.lake_dir).runs.raw(day(0), day(10))
    runs = runs.filter(pc.equal(runs["kind"], kind))
    return sorted(d.isoformat() for d in runs["day"].to_pylist())


def test_a_collected_freeze_is_processed_once_stable_and_again_after_re_reads(
    settings: Settings, database: Database
) -> None:
    build_world(database)
    write_actuals(settings, actual_rows(range(11)), flush=True)
    with database.sessions() as session:
        points = session.scalars(select(MeteringPoint.id).order_by(MeteringPoint.id)).all()
    daily = DailyProcessing(settings, database, lookback_days=3)
    assert daily.run_once(NOW) == []  # nothing collected yet
    _collected(database, list(points[:4]))
    assert daily.run_once(NOW) == []  # the count just moved: the readings may not be in Parquet yet
    assert daily.run_once(NOW) == [day(10)]
    assert _runs(settings, KIND_VEE) == ["2024-06-11"]
    assert _runs(settings, KIND_LINELOSS) == ["2024-06-10"]  # the business day the freeze closes
    assert daily.run_once(NOW) == []  # same count: not again
    _collected(database, list(points[4:]))  # 补抄 brought the rest
    assert daily.run_once(NOW) == []
    assert daily.run_once(NOW) == [day(10)]
    assert _runs(settings, KIND_LINELOSS) == ["2024-06-10", "2024-06-10"]
