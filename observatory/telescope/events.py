"""Device events: a timeline of what the telescope's devices did for a work order."""

from __future__ import annotations

import logging
from typing import Any

from observatory.db.models import DeviceEvent
from observatory.db.session import session_scope
from observatory.settings import Settings

log = logging.getLogger(__name__)

DEVICES = frozenset(
    {
        "dome",
        "mount",
        "camera",
        "filterwheel",
        "focuser",
        "covercalibrator",
        "safetymonitor",
        "supervisor",
    }
)


def record_device_event(
    settings: Settings, device: str, event: str, work_order_pk: int | None, **details: Any
) -> None:
    """Add a ``device_events`` row (``device`` one of :data:`DEVICES`, ``event`` a short
    snake_case verb such as ``shutter_opened``; ``details`` JSON-serialisable)."""
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}; one of {sorted(DEVICES)}")
    log.info("%s %s %s", device, event, details)
    with session_scope(settings.sqlalchemy_url) as session:
        session.add(
            DeviceEvent(device=device, event=event, details=details, work_order_pk=work_order_pk)
        )
