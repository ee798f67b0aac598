"""Motion at a constant rate, evaluated lazily from simulated time.

A :class:`Travel` knows where it started, where it goes, how fast and when it set off; the
position at any instant is computed on demand, so no thread has to tick the mechanisms.
"""

from __future__ import annotations

from dataclasses import dataclass


def wrap_deg(angle_deg: float) -> float:
    """``angle_deg`` folded into [0, 360)."""
    wrapped = angle_deg % 360.0
    return 0.0 if wrapped >= 360.0 else wrapped


def shortest_delta_deg(from_deg: float, to_deg: float) -> float:
    """Signed smallest rotation (-180, 180] that takes ``from_deg`` to ``to_deg``."""
    delta = (to_deg - from_deg) % 360.0
    return delta - 360.0 if delta > 180.0 else delta


@dataclass(frozen=True)
class Travel:
    """A move from ``start`` towards ``target`` at ``rate_per_s``, begun at ``start_s``.

    With ``circular`` the values are angles in degrees and the move takes the short way
    round. ``stop_at`` (optional) is a value on the way where the mechanism jams: the
    travel never gets past it and never arrives.
    """

    start: float
    target: float
    rate_per_s: float
    start_s: float
    circular: bool = False
    stop_at: float | None = None

    @classmethod
    def at_rest(cls, value: float, now_s: float, circular: bool = False) -> Travel:
        return cls(value, value, 1.0, now_s, circular)

    def _delta(self, end: float) -> float:
        return shortest_delta_deg(self.start, end) if self.circular else end - self.start

    def _end(self) -> float:
        return self.stop_at if self.stop_at is not None else self.target

    def duration_s(self) -> float:
        """Simulated seconds from start to the end of the travel (to the jam, if jammed)."""
        return abs(self._delta(self._end())) / self.rate_per_s

    def position(self, now_s: float) -> float:
        delta = self._delta(self._end())
        elapsed_s = max(0.0, now_s - self.start_s)
        step = min(abs(delta), elapsed_s * self.rate_per_s)
        value = self.start + (step if delta >= 0 else -step)
        return wrap_deg(value) if self.circular else value

    def moving(self, now_s: float) -> bool:
        """True until the travel arrives; a jammed travel is moving for ever."""
        if self.stop_at is not None:
            return True
        return now_s - self.start_s < self.duration_s()

    def arrived(self, now_s: float) -> bool:
        return not self.moving(now_s)

    def halted(self, now_s: float) -> Travel:
        """The mechanism stopped where it is at ``now_s``."""
        return Travel.at_rest(self.position(now_s), now_s, self.circular)
