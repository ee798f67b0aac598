"""The supervisor loop: read the devices and SQL, decide, publish the permit, act.

It talks to the safety monitor, the dome and the mount over Alpaca and to SQL directly,
never through Celery or Redis, so it keeps the dome safe when the broker is down, the dome
queue is busy or every worker is dead. One poll every ``supervisor.poll_interval_s``:

1. read the safety monitor (one retry only: a silent monitor must not hold the loop),
   the dome's shutter, the live workers' beats (:mod:`~observatory.supervisor.liveness`),
   when a dome or telescope order last used the dome, and the Sun's altitude;
2. :func:`~observatory.supervisor.decision.decide`;
3. publish the verdict as the open permit (marked published by a running loop only inside
   :meth:`Supervisor.run`, see :mod:`~observatory.supervisor.permit`), record the
   decision's events;
4. when the dome must close and is not closed: close it, confirm it reports Closed,
   retry up to ``close_attempts`` times, and email the admins when it will not close;
   then park the mount once per episode.

A poll that fails with an unexpected exception (a bug, never a device or SQL error, which
each reading handles as unknown) ends :meth:`Supervisor.run` the safe way: the traceback
is logged and recorded, the dome is closed, the admins are emailed, and the exception is
raised again so that the process exits and the stack restarts it. It is never swallowed.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from observatory import clock as observatory_clock
from observatory import ephemeris
from observatory.db.models import WorkOrder, WorkOrderState
from observatory.db.session import session_scope
from observatory.db.types import utcnow
from observatory.devices.dome import DomeAdapter, ShutterState
from observatory.devices.mount import MountAdapter
from observatory.devices.safety import SafetyMonitorAdapter
from observatory.errors import DeviceError
from observatory.notify import NotificationFailed, email_admins
from observatory.settings import Settings
from observatory.supervisor import events, liveness, permit
from observatory.supervisor.decision import Decision, Memory, Readings, SafetyReading, decide

log = logging.getLogger("observatory.supervisor")

# While a dome will not close (or a mount will not park) and that is already recorded and
# mailed, each poll still tries again, but its attempts are not recorded one by one: one
# ``close_failed`` (``park_failed``) at most this often says how many polls failed since
# the last (a dome controller dead for a week wrote 16,000 rows a day).
REPEAT_EVERY_S = 600.0


class Repeats:
    """When a failure that every poll repeats is recorded again: its first time, then at
    most every :data:`REPEAT_EVERY_S`, counting the polls in between; until it ends."""

    def __init__(self) -> None:
        self._last_s: float | None = None
        self._polls = 0

    @property
    def ongoing(self) -> bool:
        return self._last_s is not None

    def due(self) -> int | None:
        """Count this poll's failure; the polls to record (this one and those not
        recorded since the last), or None when it is not recorded now."""
        self._polls += 1
        now_s = time.monotonic()
        if self._last_s is not None and now_s - self._last_s < REPEAT_EVERY_S:
            return None
        polls, self._polls, self._last_s = self._polls, 0, now_s
        return polls

    def end(self) -> None:
        self._last_s, self._polls = None, 0


class Supervisor:
    """Keeps the dome closed unless it is known to be safe. ``clock`` returns aware UTC;
    by default the observatory's civil clock (:func:`observatory.clock.utc_now`, which a
    simulated night shifts to dusk). Not thread-safe: run :meth:`poll_once` from one
    thread."""

    def __init__(
        self,
        settings: Settings,
        clock: Callable[[], dt.datetime] | None = None,
        by: str | None = None,
    ) -> None:
        self.settings = settings
        # Who records: None for the supervisor itself; otherwise added to every event's
        # details as "by" (``supervise --once`` records its own acts so).
        self.by = by
        # Published with the permit: a running loop's permit is followed by the next poll.
        self.publisher = permit.PUBLISHER_SINGLE_POLL
        self.clock = clock or (lambda: observatory_clock.utc_now(settings))
        # A monitor that stops answering costs at most two HTTP timeouts per poll.
        monitor_devices = settings.devices.model_copy(
            update={"retries": min(settings.devices.retries, 1)}
        )
        self.monitor = SafetyMonitorAdapter(monitor_devices)
        self.dome = DomeAdapter(settings.devices)
        self.mount = MountAdapter(settings.devices, settings.telescope)
        self.memory = Memory()
        # The last answer of the safety monitor and when it came (time.monotonic()).
        self._last_safe: tuple[bool, float] | None = None
        self._mount_parked = False
        self._close_failures = Repeats()
        self._park_failures = Repeats()

    def poll_once(self) -> Decision:
        """One poll: read, decide, publish, record, act. Returns the decision."""
        readings = self.read()
        now = self.clock()
        decision = self.decide(readings, now)
        self.apply(decision, readings, now)
        return decision

    def decide(self, readings: Readings, now: dt.datetime) -> Decision:
        """The verdict on ``readings`` from this supervisor's memory (left unchanged)."""
        return decide(self.memory, readings, now, self.settings.supervisor)

    def apply(self, decision: Decision, readings: Readings, now: dt.datetime) -> None:
        """Act on ``decision`` as the supervisor: keep its memory, publish the permit,
        record its events, and close the dome and park the mount when it says so."""
        self.memory = decision.memory
        self._publish(decision, readings, now)
        for event in decision.events:
            self._record(event.event, event.details)
        if decision.close:
            self.secure(decision, readings.shutter)
        else:
            self._mount_parked = False
            self._close_failures.end()
            self._park_failures.end()

    def read(self) -> Readings:
        """This poll's readings; a device or SQL that cannot be read gives None (unknown)."""
        safety_error = None
        try:
            self._last_safe = (self.monitor.is_safe(), time.monotonic())
        except DeviceError as error:
            safety_error = str(error)
        site = self.settings.site
        last_used_at, busy = self._read_use()
        shutter = self._read_shutter()
        heartbeats = self._read_heartbeats()
        return Readings(
            safety=self._safety_reading(),
            safety_error=safety_error,
            shutter=shutter,
            heartbeats=heartbeats,
            sun_altitude_deg=ephemeris.sun_altitude_deg(
                self.clock(), site.latitude_deg, site.longitude_deg
            ),
            last_used_at=last_used_at,
            busy=busy,
        )

    def _safety_reading(self) -> SafetyReading | None:
        # How old the monitor's last answer is, like a worker's beat, is liveness (not
        # astronomy): its age is wall-clock time, placed in the civil clock now. A poll
        # slowed by a sluggish dome must not age a fresh answer by the simulated clock's
        # time scale (0.2 s of dome replies at x200 would be 40 s, past stale_after_s).
        if self._last_safe is None:
            return None
        safe, read_s = self._last_safe
        age = dt.timedelta(seconds=time.monotonic() - read_s)
        return SafetyReading(safe, self.clock() - age)

    def secure(self, decision: Decision, shutter: ShutterState | None) -> None:
        """Close the shutter unless it reads closed, then park the mount (once until the
        danger is over). Device errors are recorded and retried on the next poll."""
        if shutter is not ShutterState.CLOSED:
            self.close_dome(decision.close_reasons)
        if not self._mount_parked:
            self._mount_parked = self.park_mount(decision.close_reasons)

    def close_dome(self, reasons: tuple[str, ...]) -> bool:
        """Close the shutter and confirm it reads Closed, ``close_attempts`` times at most.
        Records each attempt; on failure records ``close_failed`` and emails the admins
        (once until the dome is confirmed closed). Returns whether it closed."""
        attempts = self.settings.supervisor.close_attempts
        problem = "no attempt made"
        # Once a failure is recorded, the attempts of later polls are not recorded singly.
        singly = not self._close_failures.ongoing
        for attempt in range(1, attempts + 1):
            if singly:
                self._record("close_requested", {"attempt": attempt, "reasons": list(reasons)})
            started_s = time.monotonic()
            try:
                shutter = self.dome.close_shutter()
            except DeviceError as error:
                problem = f"{type(error).__name__}: {error}"
                log.log(
                    logging.WARNING if singly else logging.DEBUG,
                    "close attempt %d of %d failed: %s", attempt, attempts, problem,
                )  # fmt: skip
                continue
            if shutter is ShutterState.CLOSED:
                elapsed_s = round(time.monotonic() - started_s, 3)
                self._record("closed_confirmed", {"attempt": attempt, "elapsed_s": elapsed_s})
                self._close_failures.end()
                return True
            problem = f"the shutter reads {shutter.name.lower()} after closing"
        self._close_failed(reasons, attempts, problem)
        return False

    def park_mount(self, reasons: tuple[str, ...]) -> bool:
        """Park the mount, or stop its tracking when it has no park position (CanPark
        false: tracking on would drive it into the pier in the end); records
        ``mount_parked``, ``mount_tracking_stopped`` or ``park_failed``. Returns success."""
        try:
            if not self.mount.can_park():
                self.mount.set_tracking(False)
                self._park_failures.end()
                why = "the mount cannot park (CanPark false)"
                self._record("mount_tracking_stopped", {"reasons": list(reasons), "why": why})
                return True
            self.mount.park()
        except DeviceError as error:
            polls = self._park_failures.due()
            if polls is not None:
                details = {"error": f"{type(error).__name__}: {error}", "failed_polls": polls}
                self._record("park_failed", details)
            return False
        self._park_failures.end()
        self._record("mount_parked", {"reasons": list(reasons)})
        return True

    def run(self, stop: threading.Event) -> None:
        """Poll until ``stop`` is set; then publish a refusal (no supervisor, no permit)."""
        interval_s = self.settings.supervisor.poll_interval_s
        log.info("safety supervisor running, polling every %g s", interval_s)
        self.publisher = permit.PUBLISHER_LOOP
        try:
            while not stop.is_set():
                started_s = time.monotonic()
                try:
                    self.poll_once()
                except Exception as error:
                    self._poll_failed(error)
                    raise
                stop.wait(max(0.0, interval_s - (time.monotonic() - started_s)))
        finally:
            try:
                permit.publish(
                    self.settings,
                    {
                        "opening_allowed": False,
                        "reason": "the safety supervisor stopped",
                        "publisher": permit.PUBLISHER_STOPPED,
                    },
                )
            except SQLAlchemyError:
                log.exception("cannot publish the refusal at stop (the permit will age out)")
            self._record("stopped", {})

    def _poll_failed(self, error: Exception) -> None:
        """Before an unexpected exception ends the loop: log and record it, close the dome,
        and tell the admins. The caller re-raises ``error``."""
        problem = f"{type(error).__name__}: {error}"
        trace = "".join(traceback.format_exception(error))
        log.exception("a supervisor poll failed unexpectedly; closing the dome, then stopping")
        self._record("poll_failed", {"error": problem, "traceback": trace})
        try:
            closed = self.close_dome((f"the safety supervisor failed: {problem}",))
        except Exception:
            # The poll's exception is the one raised; this one is kept in the log.
            log.exception("closing the dome after the failed poll failed as well")
            closed = False
        body = (
            f"The safety supervisor stopped on an unexpected error: {problem}\n"
            f"The dome {'was closed' if closed else 'could NOT be confirmed closed'}. The stack"
            " restarts the supervisor; until then nothing watches the dome.\n\n"
            f"{trace}"
        )
        try:
            email_admins(self.settings, "SAFETY SUPERVISOR STOPPED", body)
        except NotificationFailed as notify_error:
            log.error("could not email the admins about the failed supervisor: %s", notify_error)
            self._record("email_failed", {"error": str(notify_error)})

    def _close_failed(self, reasons: tuple[str, ...], attempts: int, problem: str) -> None:
        """Record ``close_failed`` (see :class:`Repeats`) and email the admins once a
        failure."""
        first = not self._close_failures.ongoing
        polls = self._close_failures.due()
        if polls is None:
            return
        details = {
            "attempts": attempts,
            "error": problem,
            "reasons": list(reasons),
            "failed_polls": polls,
        }
        self._record("close_failed", details)
        if not first:
            return
        body = (
            f"The safety supervisor could not close the dome after {attempts} attempts.\n"
            f"Why it must close: {'; '.join(reasons)}\nLast problem: {problem}\n"
            "It keeps trying on every poll. Check the dome now."
        )
        try:
            email_admins(self.settings, "DOME WILL NOT CLOSE", body)
        except NotificationFailed as error:
            log.error("could not email the admins about the open dome: %s", error)
            self._record("email_failed", {"error": str(error)})

    def _read_shutter(self) -> ShutterState | None:
        try:
            return self.dome.shutter()
        except DeviceError as error:
            log.warning("shutter unreadable, taken as open: %s", error)
            return None

    def _read_heartbeats(self) -> dict[str, dt.datetime | None]:
        # Beats are written in wall-clock time (liveness, not astronomy); the decision
        # works in the civil clock, so each beat is placed there by its wall-clock age.
        queues = self.settings.supervisor.live_workers
        try:
            beats = liveness.last_beats(self.settings, queues)
        except SQLAlchemyError as error:
            log.error("cannot read the workers' liveness, taken as lost: %s", error)
            return dict.fromkeys(queues)
        return {queue: self._civil(at) for queue, at in beats.items()}

    def _read_use(self) -> tuple[dt.datetime | None, bool]:
        """When a dome or telescope order last started or ended (civil clock), and whether
        one runs now. Unreadable SQL counts as unused for long: the dome is closed."""
        if self.settings.supervisor.idle_close_after_s is None:
            return None, False
        orders = WorkOrder.queue.in_(("dome", "telescope"))
        try:
            with session_scope(self.settings.sqlalchemy_url) as session:
                running = session.scalar(
                    select(func.count()).where(orders, WorkOrder.state == WorkOrderState.RUNNING)
                )
                last = session.scalar(
                    select(
                        func.max(func.coalesce(WorkOrder.finished_at, WorkOrder.started_at))
                    ).where(orders)
                )
        except SQLAlchemyError as error:
            log.error("cannot read the dome's use, taken as unused: %s", error)
            return self.clock() - dt.timedelta(days=365), False
        return self._civil(last), bool(running)

    def _civil(self, wall: dt.datetime | None) -> dt.datetime | None:
        return None if wall is None else self.clock() - (utcnow() - wall)

    def _publish(self, decision: Decision, readings: Readings, now: dt.datetime) -> None:
        details: dict[str, Any] = {
            "opening_allowed": decision.opening_allowed,
            "reason": decision.opening_reason,
            "allowed_from": decision.allowed_from.isoformat() if decision.allowed_from else None,
            "hold_off_until": (
                decision.hold_off_until.isoformat() if decision.hold_off_until else None
            ),
            "safe": decision.safe,
            "close_reasons": list(decision.close_reasons),
            "shutter": None if readings.shutter is None else readings.shutter.name.lower(),
            "sun_altitude_deg": round(readings.sun_altitude_deg, 3),
            "publisher": self.publisher,
        }
        try:
            # Stamped in wall-clock time, as readers judge its age (see permit.py).
            permit.publish(self.settings, details)
        except SQLAlchemyError:
            # Readers then see the permit age and refuse: failing to publish fails closed.
            log.exception("cannot publish the open permit")

    def _record(self, event: str, details: dict[str, Any]) -> None:
        if self.by is not None:
            details = {**details, "by": self.by}
        try:
            events.record(self.settings, event, details)
        except SQLAlchemyError:
            # The dome comes first: a database outage must not stop the closing.
            log.exception("cannot record supervisor event %s %s", event, details)
