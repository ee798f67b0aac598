"""One run of a routine entry: its work order submitted through the intake, or skipped
when it is found too late (after downtime, runs are not caught up)."""

from __future__ import annotations

import datetime as dt
import logging

from observatory.intake import Publisher, Receipt, submit
from observatory.routine.plan import RoutineEntry, RoutinePlan, order_for_run
from observatory.settings import Settings

log = logging.getLogger(__name__)


def submit_run(
    settings: Settings,
    plan: RoutinePlan,
    entry: RoutineEntry,
    run_at: dt.datetime,
    now: dt.datetime,
    publish: Publisher,
) -> Receipt | None:
    """Store and publish the order of ``entry``'s run at ``run_at``; None when skipped.

    A run more than ``plan.grace_s`` before ``now`` is skipped and logged. Submitting one
    run again (a repeated beat tick, a second beat) returns the stored order without
    storing it twice (``Receipt.created`` False). Raises WorkOrderInvalid only if the
    template no longer validates (the plan is checked when loaded).
    """
    late_s = (now - run_at).total_seconds()
    if late_s > plan.grace_s:
        log.warning(
            "routine %s: run of %s skipped: found %.0f s late (grace %.0f s)",
            entry.name,
            run_at.isoformat(),
            late_s,
            plan.grace_s,
        )
        return None
    receipt = submit(settings, order_for_run(plan, entry, run_at), publish)
    log.info(
        "routine %s: run of %s -> work order %s (%s)",
        entry.name,
        run_at.isoformat(),
        receipt.order_id,
        "stored" if receipt.created else "already stored",
    )
    return receipt
