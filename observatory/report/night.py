"""What "a night" is: the 24 hours from noon UTC of the evening's date to noon UTC of the
next day, named by that evening's UTC date (the date in file-batch names, ``20261123-...``).

Noon UTC falls in daylight for any site within about 90 degrees of Greenwich, so one
night's work (afternoon calibrations, the dark hours, morning flats) stays in one window
there; a site far to the east or west would split its night at noon UTC.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from observatory.db.models import WorkOrder

NIGHT_START_UTC = dt.time(12, 0, tzinfo=dt.UTC)


def night_window(night: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The night's start (inclusive) and end (exclusive) as aware UTC datetimes."""
    start = dt.datetime.combine(night, NIGHT_START_UTC)
    return start, start + dt.timedelta(days=1)


def night_of(instant: dt.datetime) -> dt.date:
    """The night an aware ``instant`` belongs to; raises ValueError for a naive one."""
    if instant.tzinfo is None:
        raise ValueError(f"naive datetime {instant.isoformat()}: give a UTC time")
    return (instant.astimezone(dt.UTC) - dt.timedelta(hours=12)).date()


def latest_night(session: Session) -> dt.date | None:
    """The night of the most recently received work order, or None when there is none."""
    latest = session.scalar(
        select(WorkOrder.received_at).order_by(WorkOrder.received_at.desc()).limit(1)
    )
    return None if latest is None else night_of(latest)
