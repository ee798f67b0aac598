"""Liveness of the worker processes: each beats, idle or busy, so that the supervisor can
tell a live stack from a dead one.

A worker process serving queue ``q`` upserts the ``heartbeats`` row ``worker:q`` every
``supervisor.liveness_interval_s`` from a thread of its own (started by the worker's
start-up signal in ``workers/signals.py``). The beat comes from the process that consumes
the queue, not from the order running in it: a worker that waits for orders is alive, a
killed one stops beating at once, whatever its pool children still do. Beats go through
SQL, so a dead broker is not taken for a dead worker.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from observatory.db.models import Heartbeat
from observatory.db.session import session_scope
from observatory.settings import Settings

log = logging.getLogger(__name__)


def liveness_name(queue: str) -> str:
    """The ``heartbeats`` row of the worker serving ``queue``, e.g. ``worker:telescope``."""
    return f"worker:{queue}"


def beat(settings: Settings, queue: str, now: dt.datetime | None = None) -> None:
    """Write one liveness beat of this process for ``queue`` (this host, pid and now)."""
    now = now or dt.datetime.now(dt.UTC)
    with session_scope(settings.sqlalchemy_url) as session:
        session.merge(
            Heartbeat(
                name=liveness_name(queue),
                host=socket.gethostname(),
                pid=os.getpid(),
                beat_at=now,
                details={"queue": queue},
            )
        )


def last_beats(settings: Settings, queues: list[str]) -> dict[str, dt.datetime | None]:
    """The last liveness beat (aware UTC, wall clock) of each queue's worker, None when it
    never beat. Raises SQLAlchemyError when the database cannot be read."""
    names = {liveness_name(queue): queue for queue in queues}
    beats: dict[str, dt.datetime | None] = dict.fromkeys(queues)
    with session_scope(settings.sqlalchemy_url) as session:
        rows = session.execute(
            select(Heartbeat.name, Heartbeat.beat_at).where(Heartbeat.name.in_(names))
        )
        for name, beat_at in rows:
            beats[names[name]] = beat_at
    return beats


def forget(settings: Settings, queue: str, pid: int) -> None:
    """Mark the beat of ``queue`` as ended by process ``pid`` (a clean stop): its age then
    counts from the epoch, so an open dome is closed at the next poll. A row already
    taken over by another process is left alone."""
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    with session_scope(settings.sqlalchemy_url) as session:
        session.execute(
            update(Heartbeat)
            .where(Heartbeat.name == liveness_name(queue), Heartbeat.pid == pid)
            .values(beat_at=epoch, details={"queue": queue, "stopped": True})
        )


class LivenessBeat:
    """Beats for ``queues`` every ``settings.supervisor.liveness_interval_s`` from a daemon
    thread between :meth:`start` and :meth:`stop`.

    A beat that cannot be written (the database away) is logged and tried again at the
    next interval; meanwhile the beat ages, and the supervisor acts on that age.
    """

    def __init__(self, settings: Settings, queues: list[str]) -> None:
        self.settings = settings
        self.queues = list(queues)
        self.interval_s = settings.supervisor.liveness_interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="liveness", daemon=True)
        self.pid = os.getpid()

    def start(self) -> None:
        self._beat_all()
        self._thread.start()
        log.info("liveness beats for %s every %g s", ", ".join(self.queues), self.interval_s)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(self.interval_s + 5.0)
        for queue in self.queues:
            try:
                forget(self.settings, queue, self.pid)
            except SQLAlchemyError:
                log.exception("the end of the %s worker's beat could not be written", queue)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._beat_all()

    def _beat_all(self) -> None:
        for queue in self.queues:
            try:
                beat(self.settings, queue)
            except SQLAlchemyError:
                log.exception("liveness beat of the %s worker not written", queue)
