"""The open permit: the supervisor's verdict, published in SQL for whoever opens the dome.

The supervisor upserts the ``heartbeats`` row named ``supervisor`` on every poll; its
``details`` carry the verdict (``opening_allowed``, ``reason``, ``allowed_from``,
``close_reasons``). :func:`opening_allowed` reads it. A missing row, or one older than
the permit's lifetime, refuses: a dead or stuck supervisor keeps the dome shut.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
from typing import Any

from observatory.db.models import Heartbeat
from observatory.db.session import session_scope
from observatory.db.types import utcnow
from observatory.errors import UnsafeConditions
from observatory.settings import Settings

log = logging.getLogger(__name__)

PERMIT_ROW = "supervisor"


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


def opening_allowed(settings: Settings, now: dt.datetime | None = None) -> tuple[bool, str]:
    """Whether the dome may be opened now, and why (not).

    Call it right before opening the shutter. ``(False, reason)`` when the supervisor
    refuses (unsafe or unknown conditions, hold-off, dawn), has published nothing, or has
    been silent longer than :func:`permit_lifetime_s`. When ``settings.supervisor.enabled``
    is false no supervisor runs: the safety monitor is then asked directly (no hold-off,
    no dawn rule), still refusing when it says unsafe or cannot be read. Reads SQL.
    """
    if not settings.supervisor.enabled:
        return _ask_monitor(settings)
    now = now if now is not None else utcnow()
    with session_scope(settings.sqlalchemy_url) as session:
        row = session.get(Heartbeat, PERMIT_ROW)
        if row is None:
            return False, "no safety supervisor has published a verdict (is it running?)"
        beat_at, details = row.beat_at, dict(row.details)
    age_s = (now - beat_at).total_seconds()
    lifetime_s = permit_lifetime_s(settings)
    if age_s > lifetime_s:
        return False, f"safety supervisor silent for {age_s:.0f} s (limit {lifetime_s:g} s)"
    allowed = details.get("opening_allowed") is True
    return allowed, str(details.get("reason", "no reason published"))


def require_opening_allowed(settings: Settings) -> None:
    """Return when the dome may be opened; raise :class:`UnsafeConditions` naming the
    reason otherwise (see :func:`opening_allowed`)."""
    allowed, reason = opening_allowed(settings)
    if not allowed:
        raise UnsafeConditions(f"opening refused by the safety supervisor: {reason}")


def _ask_monitor(settings: Settings) -> tuple[bool, str]:
    from observatory.devices.safety import SafetyMonitorAdapter

    try:
        SafetyMonitorAdapter(settings.devices).require_safe()
    except UnsafeConditions as error:
        return False, f"supervisor disabled; {error}"
    log.warning("safety supervisor disabled: opening checked against the monitor only")
    return True, "supervisor disabled; the safety monitor reports safe"
