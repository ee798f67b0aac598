"""How long the safety supervisor's ``device_events`` rows are kept.

The supervisor records each decision that changes (unsafe, hold-off, dawn ...), a handful
of rows a night; while it cannot close or reach the dome it records that failure once, then
every ten minutes (before that, every poll's attempts: some 16,000 rows a day), for as long
as nobody comes. Those rows are pruned once older than
``retention.supervisor_events_days``. They belong to no work order (their
``work_order_pk`` is NULL), and no other device's events are touched: what an order
recorded stays.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time

from sqlalchemy import delete, select

from observatory.db.models import DeviceEvent
from observatory.db.session import session_scope
from observatory.db.types import utcnow
from observatory.settings import Settings

log = logging.getLogger(__name__)

SUPERVISOR_DEVICE = "supervisor"
# Rows deleted per transaction: a short write lock on SQLite, whatever the backlog.
PRUNE_BATCH = 5000


def prune_supervisor_events(settings: Settings, now: dt.datetime | None = None) -> int:
    """Delete the supervisor's ``device_events`` rows older than the retention (wall-clock
    time, as they are stamped); returns how many. Raises the database's error."""
    cutoff = (now or utcnow()) - dt.timedelta(days=settings.retention.supervisor_events_days)
    old = (
        select(DeviceEvent.pk)
        .where(
            DeviceEvent.device == SUPERVISOR_DEVICE,
            DeviceEvent.at < cutoff,
            DeviceEvent.work_order_pk.is_(None),
        )
        .limit(PRUNE_BATCH)
    )
    deleted = 0
    while True:
        with session_scope(settings.sqlalchemy_url) as session:
            pks = list(session.scalars(old))
            if pks:
                session.execute(delete(DeviceEvent).where(DeviceEvent.pk.in_(pks)))
        deleted += len(pks)
        if len(pks) < PRUNE_BATCH:
            return deleted


class EventPruner:
    """Runs :func:`prune_supervisor_events` at most every ``every_s`` seconds."""

    def __init__(self, settings: Settings, every_s: float = 3600.0) -> None:
        self.settings = settings
        self.every_s = every_s
        self._next_s = -math.inf

    def poll(self) -> int | None:
        """Prune when ``every_s`` has passed since the last time; the rows deleted, or None
        when it was not yet time."""
        now_s = time.monotonic()
        if now_s < self._next_s:
            return None
        deleted = prune_supervisor_events(self.settings)
        # Only once done: a pass cut short by a database outage is tried again at once.
        self._next_s = now_s + self.every_s
        if deleted:
            log.info("pruned %d supervisor events older than %g days", deleted,
                     self.settings.retention.supervisor_events_days)  # fmt: skip
        return deleted
