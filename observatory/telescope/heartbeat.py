"""The telescope worker's heartbeat: a ``heartbeats`` row refreshed while an order runs.

The safety supervisor reads row ``telescope-worker``; a stale beat with the dome open
means a dead worker, and the supervisor closes the dome. Beats go through SQL (not the
broker) so that a dead worker is told apart from a dead broker.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
from types import TracebackType
from typing import Any

from observatory.db.models import Heartbeat
from observatory.db.session import session_scope
from observatory.errors import ObservatoryError
from observatory.settings import Settings

log = logging.getLogger(__name__)

TELESCOPE_HEARTBEAT = "telescope-worker"


class HeartbeatFailed(ObservatoryError):
    """The heartbeat could not be written; the supervisor would take the worker for dead."""


def write_heartbeat(settings: Settings, name: str, details: dict[str, Any]) -> dt.datetime:
    """Upsert the ``heartbeats`` row ``name`` with this host, pid, now and ``details``."""
    now = dt.datetime.now(dt.UTC)
    with session_scope(settings.sqlalchemy_url) as session:
        session.merge(
            Heartbeat(
                name=name, host=socket.gethostname(), pid=os.getpid(), beat_at=now, details=details
            )
        )
    return now


class HeartbeatWriter:
    """Beats every ``settings.telescope.heartbeat_interval_s`` from a background thread
    while used as a context manager; details are ``work_order_pk``, ``phase`` and
    ``dome_open``.

    :meth:`update` changes the details (written at once) and raises
    :class:`HeartbeatFailed` if the background thread could not write its last beat, so
    the order stops rather than run unseen. Leaving the context writes a last beat with
    phase ``idle`` and ``work_order_pk`` None.
    """

    def __init__(self, settings: Settings, work_order_pk: int, name: str = TELESCOPE_HEARTBEAT):
        self.settings = settings
        self.name = name
        self.interval_s = settings.telescope.heartbeat_interval_s
        self.details: dict[str, Any] = {
            "work_order_pk": work_order_pk,
            "phase": "starting",
            "dome_open": None,
        }
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{name}", daemon=True)

    def __enter__(self) -> HeartbeatWriter:
        self._beat()
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        with self._lock:
            self.details.update(work_order_pk=None, phase="idle")
        self._beat()

    def update(self, **details: Any) -> None:
        """Change ``phase`` and/or ``dome_open`` and beat now."""
        self.check()
        with self._lock:
            self.details.update(details)
        self._beat()

    def check(self) -> None:
        """Raise :class:`HeartbeatFailed` (chained) if the background beat failed."""
        if self._error is not None:
            raise HeartbeatFailed(f"heartbeat {self.name} not written: {self._error}") from (
                self._error
            )

    def _beat(self) -> None:
        with self._lock:
            details = dict(self.details)
        write_heartbeat(self.settings, self.name, details)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self._beat()
            except Exception as error:  # handed to the order's thread through check()
                log.exception("heartbeat %s not written", self.name)
                self._error = error
                return
