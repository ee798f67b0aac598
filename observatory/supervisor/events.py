"""Recording the supervisor's decisions: a log line and a ``device_events`` row each."""

from __future__ import annotations

import logging
from typing import Any

from observatory.db.models import DeviceEvent
from observatory.db.session import session_scope
from observatory.settings import Settings

log = logging.getLogger("observatory.supervisor")

DEVICE = "supervisor"
# The dome may be left in danger: errors. A reason to close: warnings. The rest: info.
_ERRORS = frozenset({"close_failed", "park_failed", "email_failed", "poll_failed"})
_WARNINGS = frozenset({"unsafe", "heartbeat_lost", "dawn"})


def record(settings: Settings, event: str, details: dict[str, Any] | None = None) -> None:
    """Log ``event`` and store it as a ``device_events`` row of device ``supervisor``.

    ``details`` must be JSON-safe. Raises the database's error when SQL cannot be
    written (the caller decides whether to carry on: the dome comes first).
    """
    details = details or {}
    level = logging.INFO
    if event in _ERRORS:
        level = logging.ERROR
    elif event in _WARNINGS:
        level = logging.WARNING
    log.log(level, "supervisor %s %s", event, details)
    with session_scope(settings.sqlalchemy_url) as session:
        session.add(DeviceEvent(device=DEVICE, event=event, details=details))
