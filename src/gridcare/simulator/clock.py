"""Accelerated simulated time: wall-clock seconds -> simulated Beijing time.

``SimClock(start, speed)`` reads ``start`` when it is created and runs ``speed`` simulated seconds per wall
second from then on, so ``SimClock.day_every(10, start)`` runs a month of days in five minutes. Every
simulator component takes "now" from one clock; the wall source is injectable for tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from gridcare.timeutil import to_beijing

SECONDS_PER_DAY = 86400.0


class SimClock:
    """Simulated Beijing time = ``start`` + (wall now - wall at creation) x ``speed``."""

    def __init__(
        self,
        start: datetime,
        speed: float = 1.0,
        *,
        wall: Callable[[], float] = time.monotonic,
        wall_start: float | None = None,
    ) -> None:
        if not speed > 0:
            raise ValueError(f"speed: {speed} must be positive")
        self.start = to_beijing(start)
        self.speed = float(speed)
        self._wall = wall
        self.wall_start = wall() if wall_start is None else float(wall_start)

    @classmethod
    def day_every(
        cls, wall_seconds: float, start: datetime, *, wall: Callable[[], float] = time.monotonic
    ) -> SimClock:
        """A clock that runs one simulated day per ``wall_seconds`` wall seconds."""
        if not wall_seconds > 0:
            raise ValueError(f"wall_seconds: {wall_seconds} must be positive")
        return cls(start, SECONDS_PER_DAY / wall_seconds, wall=wall)

    def now(self) -> datetime:
        """The simulated time now (aware, Beijing)."""
        return self.at_wall(self._wall())

    def at_wall(self, wall_s: float) -> datetime:
        """The simulated time when the wall source reads ``wall_s``."""
        return self.start + timedelta(seconds=(wall_s - self.wall_start) * self.speed)

    def wall_at(self, t: datetime) -> float:
        """The wall-source reading at which simulated time reaches ``t``."""
        return self.wall_start + (to_beijing(t) - self.start).total_seconds() / self.speed

    def wall_seconds(self, sim_seconds: float) -> float:
        """Wall seconds that ``sim_seconds`` of simulated time take."""
        return sim_seconds / self.speed

    def sim_seconds(self, wall_seconds: float) -> float:
        """Simulated seconds that pass in ``wall_seconds`` wall seconds."""
        return wall_seconds * self.speed

    def sleep_until_s(self, t: datetime) -> float:
        """Wall seconds from now until simulated time reaches ``t`` (0 if already past)."""
        return max(0.0, self.wall_at(t) - self._wall())
