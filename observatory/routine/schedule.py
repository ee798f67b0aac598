"""When a routine entry runs: cron expressions (UTC) and Sun-relative times at the site.

Both functions take and return aware UTC datetimes. Sun-relative entries return None
when the Sun makes no such crossing within two days (polar day or night).
"""

from __future__ import annotations

import datetime as dt

from croniter import croniter

from observatory.routine.plan import RoutineEntry, SunTime
from observatory.routine.sun import crossings, sun_event
from observatory.settings import Settings

# How far to look for a Sun event: every event happens once a day away from the poles.
SEARCH = dt.timedelta(days=2)
SECOND = dt.timedelta(seconds=1)


def next_run(entry: RoutineEntry, settings: Settings, after: dt.datetime) -> dt.datetime | None:
    """The first run of ``entry`` strictly after ``after``."""
    if entry.cron is not None:
        return croniter(entry.cron, after.astimezone(dt.UTC)).get_next(dt.datetime)
    at = _sun_time(entry)
    offset = dt.timedelta(seconds=at.offset_s)
    start = after - offset
    for event_at in _events(at, settings, start, start + SEARCH):
        if event_at + offset > after:
            return event_at + offset
    return None


def latest_run(entry: RoutineEntry, settings: Settings, at: dt.datetime) -> dt.datetime | None:
    """The last run of ``entry`` at or before ``at``."""
    at = at.astimezone(dt.UTC)
    if entry.cron is not None:
        # croniter looks strictly before its base: start a whole second past ``at``.
        base = at.replace(microsecond=0) + SECOND
        return croniter(entry.cron, base).get_prev(dt.datetime)
    sun_time = _sun_time(entry)
    offset = dt.timedelta(seconds=sun_time.offset_s)
    end = at - offset
    runs = [e + offset for e in _events(sun_time, settings, end - SEARCH, end) if e + offset <= at]
    return runs[-1] if runs else None


def _sun_time(entry: RoutineEntry) -> SunTime:
    if entry.at is None:
        raise ValueError(f"entry {entry.name!r} has neither cron nor at")
    return entry.at


def _events(
    at: SunTime, settings: Settings, start: dt.datetime, end: dt.datetime
) -> list[dt.datetime]:
    event = sun_event(at.event, settings.telescope.sun_altitude_limit_deg)
    site = settings.site
    return list(crossings(event, start, end, site.latitude_deg, site.longitude_deg))
