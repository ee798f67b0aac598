"""Waiting for the safety supervisor's open permit while only its hold-off refuses.

After a restart the supervisor allows opening only once conditions have been safe for
``supervisor.hold_off_s`` (:mod:`observatory.supervisor.decision`). A telescope order
that wants the dome open in that time waits for the permit rather than fail: it reads the
permit again every ``supervisor.poll_interval_s`` (at most :data:`PERMIT_POLL_MAX_S`),
shows the wait in its heartbeat's phase and honours a cancel request. Nothing is sent to
the dome meanwhile.

It gives up with the supervisor's refusal when the permit has not come within the
hold-off's remaining time plus the permit's lifetime (a few of the supervisor's polls),
when the order's time limit or window (``not_after``) would pass, and at once when the
refusal turns into another reason (unsafe, dawn, a silent supervisor).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING

from observatory.clock import utc_now
from observatory.supervisor.permit import (
    OpeningRefused,
    permit_lifetime_s,
    require_opening_allowed,
)

if TYPE_CHECKING:
    from observatory.telescope.run import OrderRun

# The longest pause between two readings of the permit (and of a cancel request).
PERMIT_POLL_MAX_S = 2.0


def await_open_permit(run: OrderRun) -> None:
    """Return once the supervisor permits opening; raise :class:`OpeningRefused` when it
    refuses for another reason than the hold-off, or the wait must end (see the module
    docstring), and :class:`~observatory.errors.OrderCancelled` on a cancel request. A
    wait is recorded as the dome event ``open_permit_waited`` and a note of the run."""
    try:
        require_opening_allowed(run.settings)
        return
    except OpeningRefused as refusal:
        if refusal.retry_after_s is None:
            raise
        first = refusal
    settings = run.settings
    started_s = time.monotonic()
    give_up_s = min(
        started_s + (first.retry_after_s or 0.0) + permit_lifetime_s(settings),
        run.started_s + settings.time_limits.telescope_s,
    )
    not_after = _not_after(run.claim.payload.get("not_after"))
    poll_s = min(settings.supervisor.poll_interval_s, PERMIT_POLL_MAX_S)
    refused = first
    while True:
        left_s = refused.retry_after_s or 0.0
        run.phase(f"waiting for the open permit: hold-off, {left_s:.0f} s left")
        waited_s = time.monotonic() - started_s
        if time.monotonic() >= give_up_s:
            raise OpeningRefused(f"{refused} (waited {waited_s:.0f} s for the permit)")
        if not_after is not None and utc_now(settings) >= not_after:
            raise OpeningRefused(
                f"{refused} (waited {waited_s:.0f} s; the order's window ended at"
                f" not_after {not_after.isoformat()})"
            )
        time.sleep(min(poll_s, max(0.0, give_up_s - time.monotonic())))
        try:
            require_opening_allowed(settings)
            break
        except OpeningRefused as again:
            if again.retry_after_s is None:
                raise
            refused = again
    waited_s = round(time.monotonic() - started_s, 1)
    note = f"waited {waited_s:.0f} s for the open permit (hold-off)"
    run.notes.append(note)
    run.event("dome", "open_permit_waited", waited_s=waited_s, reason="hold-off", note=note)


def _not_after(value: object) -> dt.datetime | None:
    # The stored payload's window end (civil time); one without an offset is UTC.
    if not isinstance(value, str):
        return None
    moment = dt.datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
