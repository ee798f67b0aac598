"""One look by the safety supervisor (``observatory supervise --once``), on a stack that
may already run one.

A look reads the devices and SQL and decides as the supervisor would, from a fresh
memory. What it does then depends on whether a supervisor loop is publishing the permit
(:func:`~observatory.supervisor.permit.live_supervisor`, judged after the readings):

- a live loop holds the permit: the look publishes nothing and records none of its
  decision's events (its fresh memory would restart the hold-off and refuse opening until
  the loop's next poll). Safety first, it still closes the dome and parks the mount when
  its own reading says the dome must close and the shutter is not known closed (a close
  is never wrong), and records those acts, marked ``by: supervise --once``;
- no loop runs (cron, a stack without a supervisor): the look is one poll of the
  supervisor, publishing and recording as one, marked so too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from observatory.devices.dome import ShutterState
from observatory.settings import Settings
from observatory.supervisor import permit
from observatory.supervisor.decision import Decision
from observatory.supervisor.loop import Supervisor

log = logging.getLogger("observatory.supervisor")

BY = "supervise --once"


@dataclass(frozen=True)
class Look:
    """A look's own decision and the live loop it found (None: it acted as the
    supervisor and published)."""

    decision: Decision
    live: permit.LiveSupervisor | None

    def verdict(self) -> dict[str, Any]:
        """The look as JSON-safe values: its own verdict (``opening_allowed``, ``reason``,
        ``close_reasons``, ``safe``), whether it ``published`` the permit, and the live
        supervisor holding the permit instead (``live_supervisor``: its verdict, host, pid
        and the permit's age in seconds; None when none runs)."""
        decision = self.decision
        live = None
        if self.live is not None:
            live = {
                "opening_allowed": self.live.permit.allowed,
                "reason": self.live.permit.reason,
                "host": self.live.host,
                "pid": self.live.pid,
                "age_s": round(self.live.age_s, 3),
            }
        return {
            "opening_allowed": decision.opening_allowed,
            "reason": decision.opening_reason,
            "close_reasons": list(decision.close_reasons),
            "safe": decision.safe,
            "published": self.live is None,
            "live_supervisor": live,
        }


def look_once(settings: Settings) -> Look:
    """Read, decide, and act as the module docstring says. Device and SQL errors count as
    unknown readings, as in a poll. When the database cannot say whether a loop is live,
    the look acts as one poll: its publishing and recording then fail and are logged, as a
    poll's would, and its close goes ahead."""
    supervisor = Supervisor(settings, by=BY)
    readings = supervisor.read()
    now = supervisor.clock()
    decision = supervisor.decide(readings, now)
    try:
        live = permit.live_supervisor(settings)
    except SQLAlchemyError as error:
        log.error("cannot tell whether a supervisor runs, acting as one poll: %s", error)
        live = None
    if live is None:
        supervisor.apply(decision, readings, now)
    elif decision.close and readings.shutter is not ShutterState.CLOSED:
        supervisor.secure(decision, readings.shutter)
    return Look(decision, live)
