"""Accelerated simulated time."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from gridcare.simulator.clock import SimClock
from gridcare.timeutil import BEIJING

START = datetime(2026, 3, 1, tzinfo=BEIJING)


class FakeWall:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_one_day_per_ten_wall_seconds() -> None:
    wall = FakeWall()
    clock = SimClock.day_every(10, START, wall=wall)
    assert clock.speed == 8640
    assert clock.now() == START
    wall.now += 5
    assert clock.now() == START + timedelta(hours=12)
    wall.now += 300  # five minutes of wall time: a month of days
    assert clock.now() == START + timedelta(days=30, hours=12)


def test_wall_and_sim_conversions_are_inverse() -> None:
    wall = FakeWall(50.0)
    clock = SimClock(START, speed=600, wall=wall)
    t = START + timedelta(hours=3)
    assert clock.wall_at(t) == pytest.approx(50.0 + 18.0)
    assert clock.at_wall(clock.wall_at(t)) == t
    assert clock.wall_seconds(900) == pytest.approx(1.5)  # a quarter hour in 1.5 s
    assert clock.sim_seconds(2.0) == pytest.approx(1200)
    assert clock.sleep_until_s(t) == pytest.approx(18.0)
    wall.now = 100.0
    assert clock.sleep_until_s(t) == 0.0


def test_naive_start_is_beijing_and_speed_must_be_positive() -> None:
    clock = SimClock(datetime(2026, 3, 1, 8, 0), wall=FakeWall())
    assert clock.now() == datetime(2026, 3, 1, 8, 0, tzinfo=BEIJING)
    assert clock.now().utcoffset() == timedelta(hours=8)
    with pytest.raises(ValueError, match="speed"):
        SimClock(START, speed=0)
    with pytest.raises(ValueError, match="wall_seconds"):
        SimClock.day_every(0, START)


def test_real_wall_clock_moves_forward() -> None:
    clock = SimClock(START, speed=86400)
    first = clock.now()
    second = clock.now()
    assert START <= first <= second
