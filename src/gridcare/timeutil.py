"""Beijing time: the business time of gridcare (Asia/Shanghai, UTC+8, no DST)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")


def now_beijing() -> datetime:
    """The current time, timezone-aware, in Beijing time."""
    return datetime.now(UTC).astimezone(BEIJING)


def today_beijing() -> date:
    """Today's business date."""
    return now_beijing().date()


def to_beijing(value: datetime) -> datetime:
    """Convert an aware datetime to Beijing time; a naive one is taken as already Beijing local time."""
    if value.tzinfo is None:
        return value.replace(tzinfo=BEIJING)
    return value.astimezone(BEIJING)


def day_start(day: date) -> datetime:
    """00:00 Beijing time on ``day`` (the daily freeze instant)."""
    return datetime(day.year, day.month, day.day, tzinfo=BEIJING)


def days(start: date, end: date) -> list[date]:
    """Every date from ``start`` to ``end`` inclusive."""
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]
