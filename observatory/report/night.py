"""The default night of the report: the night (see :func:`observatory.clock.night_of`) of
the newest work order. A night runs from local mean solar noon at the site to the next,
named by its evening's date at the site, the date in file-batch names (``20261123-...``)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from observatory.clock import night_of
from observatory.db.models import WorkOrder


def latest_night(session: Session, longitude_deg: float) -> dt.date | None:
    """The night of the most recently received work order at a site at ``longitude_deg``
    (east positive), or None when there is none."""
    latest = session.scalar(
        select(WorkOrder.received_at).order_by(WorkOrder.received_at.desc()).limit(1)
    )
    return None if latest is None else night_of(latest, longitude_deg)
