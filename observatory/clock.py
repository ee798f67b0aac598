"""The observatory's civil time (the system clock, or a simulated night's clock), and
which night an instant belongs to.

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


def night_of(moment: dt.datetime, longitude_deg: float) -> dt.date:
    """The night an aware ``moment`` belongs to, named by the date of its evening at the
    site (in local mean solar time at ``longitude_deg``, east positive): a night runs from
    local mean solar noon to the next, so one night's work (afternoon calibrations, the
    dark hours, morning flats) keeps one date at any longitude. Raises ValueError for a
    naive ``moment``."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: give a UTC time")
    local = moment.astimezone(dt.UTC) + dt.timedelta(hours=longitude_deg / 15.0)
    return (local - dt.timedelta(hours=12)).date()


def night_window(night: dt.date, longitude_deg: float) -> tuple[dt.datetime, dt.datetime]:
    """The start (inclusive) and end (exclusive) of ``night`` (see :func:`night_of`) as
    aware UTC datetimes: local mean solar noon of the evening's date to the next."""
    noon = dt.datetime.combine(night, dt.time(12, 0), tzinfo=dt.UTC)
    start = noon - dt.timedelta(hours=longitude_deg / 15.0)
    return start, start + dt.timedelta(days=1)
