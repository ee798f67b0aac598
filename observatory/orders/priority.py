"""Priority on receipt: a float from 0 (least urgent) to 10 (most urgent), with its reasons.

::

    priority = clamp(base + submitter + observability, 0, 10)

- ``base``: the priority the submitter gave, else the request's default below (commands
  that protect the equipment first, then direct dome commands, then observations,
  calibration frames and batch processing);
- ``submitter``: ``settings.scheduling.user_boosts[user]`` (0 for users not listed);
- ``observability``: for an observation given by RA/Dec, ``-unobservable_penalty`` when
  its target is not observable (below ``telescope.altitude_limit_deg``, or the Sun above
  ``telescope.sun_altitude_limit_deg``) at the moment it could start (now, or its
  ``not_before``), else 0.

Priorities only compete within one queue: a dome command never waits for an observation.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from observatory.orders.models import ObservationOrder, WorkOrderBase
from observatory.orders.observability import visibility
from observatory.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_PRIORITY: dict[str, float] = {
    "dome_close": 10.0,
    "dome_park": 9.5,
    "dome_status": 8.0,
    "dome_open": 7.0,
    "dome_set_azimuth": 7.0,
    "dome_goto": 7.0,
    "autofocus": 6.0,  # before the observations it focuses
    "observation": 5.0,
    "calibration_frames": 4.0,
    "calibrate_file_batch": 3.0,
    "resume_file_batch": 3.0,
    "restart_file_batch": 3.0,
}

MIN_PRIORITY, MAX_PRIORITY = 0.0, 10.0


@dataclass(frozen=True)
class Component:
    """One term of the priority: its name, its value and why."""

    name: str
    value: float
    why: str


@dataclass(frozen=True)
class Priority:
    """The assigned priority and the terms it was made of."""

    value: float
    components: tuple[Component, ...]
    evaluated_at: dt.datetime

    def reasons(self) -> dict[str, Any]:
        """The JSON stored with the order (``work_orders.priority_reasons``)."""
        return {
            "priority": self.value,
            "evaluated_at": self.evaluated_at.isoformat(),
            "components": [
                {"name": c.name, "value": c.value, "why": c.why} for c in self.components
            ],
        }

    def summary(self) -> str:
        terms = ", ".join(f"{c.name} {c.value:+g} ({c.why})" for c in self.components)
        return f"priority {self.value:g} = {terms}"


def assign_priority(order: WorkOrderBase, settings: Settings, now: dt.datetime) -> Priority:
    """The priority this order runs with (0-10, 10 most urgent), with its components.

    ``now`` is an aware UTC datetime. Raises KeyError for a request with no default
    priority (every request the intake accepts has one).
    """
    components = [_base(order), _submitter(order, settings)]
    if isinstance(order, ObservationOrder) and order.ra is not None and order.dec is not None:
        components.append(_observability(order, order.ra, order.dec, settings, now))
    total = sum(c.value for c in components)
    value = min(MAX_PRIORITY, max(MIN_PRIORITY, total))
    if value != total:
        components.append(Component("clamp", value - total, f"kept within 0-10 (sum {total:g})"))
    priority = Priority(value, tuple(components), now)
    log.info("work order %r of %r: %s", order.id, order.user, priority.summary())
    return priority


def _base(order: WorkOrderBase) -> Component:
    if order.priority is not None:
        return Component("base", order.priority, "given by the submitter")
    return Component("base", DEFAULT_PRIORITY[order.request], f"default for {order.request}")


def _submitter(order: WorkOrderBase, settings: Settings) -> Component:
    boost = settings.scheduling.user_boosts.get(order.user, 0.0)
    why = f"boost of user {order.user!r}" if boost else f"user {order.user!r} has no boost"
    return Component("submitter", boost, why)


def _observability(
    order: ObservationOrder, ra_deg: float, dec_deg: float, settings: Settings, now: dt.datetime
) -> Component:
    start = max(now, order.not_before) if order.not_before else now
    seen = visibility(settings, ra_deg, dec_deg, start)
    if seen.observable:
        return Component("observability", 0.0, f"observable: {seen.describe()}")
    penalty = -settings.scheduling.unobservable_penalty
    return Component("observability", penalty, f"not observable: {seen.describe()}")
