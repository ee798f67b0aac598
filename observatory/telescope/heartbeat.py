"""The telescope worker's heartbeat: a ``heartbeats`` row refreshed while an order runs.

The safety supervisor reads row ``telescope-worker``; a stale beat with the dome open
means a dead worker, and the supervisor closes the dome. Beats go through SQL (not the
broker) so that a dead worker is told apart from a dead broker.

The same row tells the dome worker when an order has slaved the dome to the mount
(``dome_slaved``): a dome order that would turn the dome then is refused
(:func:`require_dome_not_slaved`) rather than fight the observation for the slit.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shlex
import socket
import threading
from types import TracebackType
from typing import Any

from observatory.db.models import Heartbeat, WorkOrder
from observatory.db.session import session_scope
from observatory.errors import ObservatoryError
from observatory.orders.stalls import stamp_progress
from observatory.settings import Settings

log = logging.getLogger(__name__)

TELESCOPE_HEARTBEAT = "telescope-worker"


class HeartbeatFailed(ObservatoryError):
    """The heartbeat could not be written; the supervisor would take the worker for dead."""


class DomeSlaved(ObservatoryError):
    """The dome follows a running telescope order; turning it now would fight that order."""


def write_heartbeat(settings: Settings, name: str, details: dict[str, Any]) -> dt.datetime:
    """Upsert the ``heartbeats`` row ``name`` with this host, pid, now and ``details``;
    in the same transaction, a beat naming a running order (``work_order_pk``) is that
    order's sign of life (:mod:`observatory.orders.stalls`)."""
    now = dt.datetime.now(dt.UTC)
    with session_scope(settings.sqlalchemy_url) as session:
        session.merge(
            Heartbeat(
                name=name, host=socket.gethostname(), pid=os.getpid(), beat_at=now, details=details
            )
        )
        if details.get("work_order_pk") is not None:
            stamp_progress(session, details["work_order_pk"], now)
    return now


class HeartbeatWriter:
    """Beats every ``settings.telescope.heartbeat_interval_s`` from a background thread
    while used as a context manager; details are ``work_order_pk``, ``phase``,
    ``dome_open`` and ``dome_slaved`` (the order keeps the slit on the mount).

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
            "dome_slaved": False,
        }
        self._lock = threading.Lock()
        self._writing = threading.Lock()
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
            self.details.update(work_order_pk=None, phase="idle", dome_slaved=False)
        self._beat()

    def update(self, **details: Any) -> None:
        """Change ``phase``, ``dome_open`` and/or ``dome_slaved`` and beat now."""
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
        # Taken and written under one lock: a background beat that took the details just
        # before an update must not write them after it (the row would say the old phase,
        # dome_open and dome_slaved until the next beat).
        with self._writing:
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


def require_dome_not_slaved(settings: Settings, now: dt.datetime | None = None) -> None:
    """Raise :class:`DomeSlaved`, naming the order by its id and user (what ``observatory
    cancel`` takes), when the telescope worker's last beat says a running order keeps the
    dome's slit on the mount and that beat is younger than
    ``supervisor.heartbeat_timeout_s`` (an older one is a dead worker's, whose dome the
    supervisor closes). Closing, opening and reading the dome are never refused."""
    now = now or dt.datetime.now(dt.UTC)
    with session_scope(settings.sqlalchemy_url) as session:
        row = session.get(Heartbeat, TELESCOPE_HEARTBEAT)
        if row is None:
            return
        details, beat_at = dict(row.details or {}), row.beat_at
        order_pk = details.get("work_order_pk")
        if order_pk is None or not details.get("dome_slaved"):
            return
        # Named in the same session: the id and user are what an operator can act on.
        holder = _describe_holder(order_pk, session.get(WorkOrder, order_pk))
    if beat_at.tzinfo is None:
        beat_at = beat_at.replace(tzinfo=dt.UTC)
    if (now - beat_at).total_seconds() > settings.supervisor.heartbeat_timeout_s:
        return
    raise DomeSlaved(f"the dome follows {holder}")


def _describe_holder(order_pk: int, order: WorkOrder | None) -> str:
    """The slaving order in words, with the command that cancels it."""
    if order is None:  # the row is gone: only its pk is known
        return (
            f"telescope work order pk {order_pk} (its slit is kept on the mount); wait until"
            " it ends before turning the dome"
        )
    command = shlex.join(["observatory", "cancel", order.order_id, "--user", order.user])
    return (
        f"telescope work order {order.order_id!r} (user {order.user!r}; its slit is kept on"
        f" the mount): cancel it ({command}) or wait until it ends before turning the dome"
    )
