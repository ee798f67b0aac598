"""The observatory's civil time: the system clock, or a simulated night's clock.

Everything that asks "what time is it at the telescope?" (the Sun's altitude, whether a
target is up, an order's window) calls :func:`utc_now` rather than the system clock, so
that a simulated night (``observatory run``) can take place at dusk whatever the hour,
with the simulator's devices on the very same clock. In production ``settings.clock`` is
unset and :func:`utc_now` is the system's UTC time.
"""

from __future__ import annotations

import datetime as dt
import time

from observatory.settings import ClockSettings, Settings


def utc_now(settings: Settings) -> dt.datetime:
    """The current civil time (aware UTC) in the observatory's clock."""
    return clock_time(settings.clock, time.time())


def clock_time(clock: ClockSettings, unix_s: float) -> dt.datetime:
    """The civil time of the wall instant ``unix_s`` (seconds since 1970) in ``clock``."""
    if clock.start_utc is None:
        return dt.datetime.fromtimestamp(unix_s, dt.UTC)
    if clock.start_utc.tzinfo is None:
        raise ValueError("clock.start_utc needs a time zone (e.g. ...Z)")
    epoch_s = clock.epoch_unix_s if clock.epoch_unix_s is not None else unix_s
    elapsed_s = (unix_s - epoch_s) * clock.time_scale
    return clock.start_utc.astimezone(dt.UTC) + dt.timedelta(seconds=elapsed_s)


def simulated_clock(start_utc: dt.datetime, time_scale: float) -> ClockSettings:
    """A clock that reads ``start_utc`` now and runs ``time_scale`` times faster."""
    return ClockSettings(start_utc=start_utc, epoch_unix_s=time.time(), time_scale=time_scale)
