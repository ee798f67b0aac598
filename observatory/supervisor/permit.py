"""The open permit: the supervisor's verdict, published in SQL for whoever opens the dome.

The supervisor upserts the ``heartbeats`` row named ``supervisor`` on every poll; its
``details`` carry the verdict (``opening_allowed``, ``reason``, ``allowed_from``,
``hold_off_until``, ``close_reasons``). :func:`read_permit` reads it. A missing row, or one
older than the permit's lifetime, refuses: a dead or stuck supervisor keeps the dome shut.

A refusal by the hold-off alone (conditions safe, but not yet for ``hold_off_s``) says so
in ``retry_after_s``, so that an opener may wait for the permit instead of failing; every
other refusal (unsafe, dawn, a silent supervisor) leaves it None.

``details["publisher"]`` says who wrote the row: a running supervisor loop (whose next
poll follows), a single poll (``observatory supervise --once`` with no loop running), or a
loop at its stop. :func:`live_supervisor` tells a running loop's fresh permit, which a
single look must leave alone, from the others.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
from dataclasses import dataclass
from typing import Any

from observatory.clock import clock_time
from observatory.db.models import Heartbeat
from observatory.db.session import read_scope, session_scope
from observatory.db.types import utcnow
from observatory.errors import UnsafeConditions
from observatory.settings import Settings

log = logging.getLogger(__name__)

PERMIT_ROW = "supervisor"

# The values of the permit's ``details["publisher"]``.
PUBLISHER_LOOP = "loop"
PUBLISHER_SINGLE_POLL = "single poll"
PUBLISHER_STOPPED = "stopped"


@dataclass(frozen=True)
class Permit:
    """The supervisor's verdict as read by an opener. ``retry_after_s`` is set only when
    the hold-off alone refuses: the wall-clock seconds until it ends (0 once it has; the
    permit then follows at the supervisor's next poll)."""

    allowed: bool
    reason: str
    retry_after_s: float | None = None


@dataclass(frozen=True)
class LiveSupervisor:
    """A supervisor loop that is publishing: where it runs, how old its permit is
    (wall-clock seconds) and that permit as an opener reads it."""

    host: str
    pid: int
    age_s: float
    permit: Permit


class OpeningRefused(UnsafeConditions):
    """The supervisor refuses to open the dome; ``retry_after_s`` as in :class:`Permit`."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


def permit_lifetime_s(settings: Settings) -> float:
    """How long a published verdict counts: a safety reading's own lifetime, and at
    least three polls (so that one slow poll does not flap the permit)."""
    config = settings.supervisor
    return max(config.stale_after_s, 3 * config.poll_interval_s)


def publish(settings: Settings, details: dict[str, Any], now: dt.datetime | None = None) -> None:
    """Upsert the supervisor's row with ``details`` (JSON-safe) and the wall-clock time
    ``now`` (default: now). Liveness is wall-clock time even in a simulated night, whose
    civil clock runs faster (:mod:`observatory.clock`)."""
    beat_at = now if now is not None else utcnow()
    with session_scope(settings.sqlalchemy_url) as session:
        row = session.get(Heartbeat, PERMIT_ROW)
        if row is None:
            row = Heartbeat(name=PERMIT_ROW, host="", pid=0, beat_at=beat_at)
            session.add(row)
        row.host = socket.gethostname()
        row.pid = os.getpid()
        row.beat_at = beat_at
        row.details = details


def read_permit(settings: Settings, now: dt.datetime | None = None) -> Permit:
    """Whether the dome may be opened now (``now``: wall clock), and why (not).

    Call it right before opening the shutter. Refused when the supervisor refuses (unsafe
    or unknown conditions, hold-off, dawn), has published nothing, or has been silent
    longer than :func:`permit_lifetime_s`. When ``settings.supervisor.enabled`` is false
    no supervisor runs: the safety monitor is then asked directly (no hold-off, no dawn
    rule), still refusing when it says unsafe or cannot be read. Reads SQL.
    """
    if not settings.supervisor.enabled:
        return Permit(*_ask_monitor(settings))
    now = now if now is not None else utcnow()
    row = _permit_row(settings)
    if row is None:
        return Permit(False, "no safety supervisor has published a verdict (is it running?)")
    return _judge(settings, (now - row.beat_at).total_seconds(), row.details, now)


def live_supervisor(settings: Settings, now: dt.datetime | None = None) -> LiveSupervisor | None:
    """The supervisor loop publishing the permit now (``now``: wall clock), or None when
    none is: no row, a row older than :func:`permit_lifetime_s`, or one written by a
    single poll or by a loop at its stop. Reads SQL (raises SQLAlchemyError)."""
    now = now if now is not None else utcnow()
    row = _permit_row(settings)
    if row is None:
        return None
    age_s = (now - row.beat_at).total_seconds()
    if row.details.get("publisher") != PUBLISHER_LOOP or age_s > permit_lifetime_s(settings):
        return None
    return LiveSupervisor(row.host, row.pid, age_s, _judge(settings, age_s, row.details, now))


@dataclass(frozen=True)
class _PermitRow:
    host: str
    pid: int
    beat_at: dt.datetime
    details: dict[str, Any]


def _permit_row(settings: Settings) -> _PermitRow | None:
    """The supervisor's row as published, read without the write lock; None when none is."""
    with read_scope(settings.sqlalchemy_url) as session:
        row = session.get(Heartbeat, PERMIT_ROW)
        if row is None:
            return None
        return _PermitRow(row.host, row.pid, row.beat_at, dict(row.details))


def _judge(settings: Settings, age_s: float, details: dict[str, Any], now: dt.datetime) -> Permit:
    """The permit a row ``age_s`` wall-clock seconds old with ``details`` gives."""
    lifetime_s = permit_lifetime_s(settings)
    if age_s > lifetime_s:
        return Permit(False, f"safety supervisor silent for {age_s:.0f} s (limit {lifetime_s:g} s)")
    reason = str(details.get("reason", "no reason published"))
    if details.get("opening_allowed") is True:
        return Permit(True, reason)
    return Permit(False, reason, _hold_off_left_s(settings, details.get("hold_off_until"), now))


def opening_allowed(settings: Settings, now: dt.datetime | None = None) -> tuple[bool, str]:
    """:func:`read_permit` as ``(allowed, reason)``."""
    permit = read_permit(settings, now)
    return permit.allowed, permit.reason


def require_opening_allowed(settings: Settings) -> None:
    """Return when the dome may be opened; raise :class:`OpeningRefused` naming the
    reason (and, for the hold-off, ``retry_after_s``) otherwise (see :func:`read_permit`)."""
    permit = read_permit(settings)
    if not permit.allowed:
        raise OpeningRefused(
            f"opening refused by the safety supervisor: {permit.reason}", permit.retry_after_s
        )


def _hold_off_left_s(settings: Settings, until: Any, now: dt.datetime) -> float | None:
    """Wall-clock seconds until the published ``hold_off_until`` (civil ISO time), or None
    when the refusal is not the hold-off's. A simulated night's civil clock runs
    ``time_scale`` times faster than the wall clock the opener waits in."""
    if not isinstance(until, str):
        return None
    clock = settings.clock
    civil_left_s = dt.datetime.fromisoformat(until) - clock_time(clock, now.timestamp())
    scale = clock.time_scale if clock.start_utc is not None else 1.0
    return max(0.0, civil_left_s.total_seconds() / scale)


def _ask_monitor(settings: Settings) -> tuple[bool, str]:
    from observatory.devices.safety import SafetyMonitorAdapter

    try:
        SafetyMonitorAdapter(settings.devices).require_safe()
    except UnsafeConditions as error:
        return False, f"supervisor disabled; {error}"
    log.warning("safety supervisor disabled: opening checked against the monitor only")
    return True, "supervisor disabled; the safety monitor reports safe"
