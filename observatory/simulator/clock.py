"""Simulated time: seconds that run ``time_scale`` times faster than wall time.

Every mechanism reads time from a :class:`Clock` and never from ``time`` directly, so the
same state machine runs at real speed (``time_scale`` 1) or fast in tests: with
``time_scale`` 60 a 60 s exposure or a 20 s shutter motion completes in 1 s or 1/3 s of wall
time. :class:`ManualClock` only moves when told to, for unit tests without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class Clock:
    """Simulated time derived from a monotonic wall clock.

    ``now_s()`` is simulated seconds since the clock started; ``utc_now()`` is the
    simulated civil time, starting at ``start_utc`` (default: the wall time at start).
    ``epoch_unix_s`` (seconds since 1970) puts the start at that past wall instant rather
    than now, so that another process given the same start and epoch (the observatory's
    :mod:`observatory.clock`) reads the same civil time.
    """

    def __init__(
        self,
        time_scale: float = 1.0,
        start_utc: datetime | None = None,
        wall_s: Callable[[], float] = time.monotonic,
        epoch_unix_s: float | None = None,
    ) -> None:
        if not time_scale > 0:
            raise ValueError(f"time_scale must be > 0, got {time_scale}")
        self.time_scale = float(time_scale)
        self._wall_s = wall_s
        self._wall_start_s = wall_s()
        if epoch_unix_s is not None:
            self._wall_start_s -= time.time() - epoch_unix_s
        start = start_utc if start_utc is not None else datetime.now(UTC)
        if start.tzinfo is None:
            raise ValueError("start_utc must be timezone-aware")
        self._start_utc = start.astimezone(UTC)

    def now_s(self) -> float:
        """Simulated seconds elapsed since the clock started."""
        return (self._wall_s() - self._wall_start_s) * self.time_scale

    def utc_now(self) -> datetime:
        """The simulated UTC date and time (timezone-aware)."""
        return self._start_utc + timedelta(seconds=self.now_s())

    def wall_duration_s(self, simulated_s: float) -> float:
        """Wall seconds that ``simulated_s`` simulated seconds take."""
        return simulated_s / self.time_scale


class ManualClock(Clock):
    """A clock that stands still until :meth:`advance` is called (unit tests)."""

    def __init__(self, time_scale: float = 1.0, start_utc: datetime | None = None) -> None:
        self._manual_wall_s = 0.0
        super().__init__(time_scale, start_utc, wall_s=lambda: self._manual_wall_s)

    def advance(self, simulated_s: float) -> None:
        """Move simulated time forward by ``simulated_s`` seconds (must be >= 0)."""
        if simulated_s < 0:
            raise ValueError("a clock never runs backwards")
        self._manual_wall_s += simulated_s / self.time_scale
