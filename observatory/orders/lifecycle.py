"""Claiming and finishing a work order from the worker that runs it.

A message may arrive twice (a republished order, a redelivery after a worker died).
:func:`claim` decides, from the database, whether this delivery runs the order:
``queued -> running`` is taken by exactly one delivery (a conditional UPDATE, safe on
SQLite and PostgreSQL); a *redelivered* message of a ``running`` order resumes it as a new
attempt, because the broker only redelivers when the worker that held it is gone. Any
other delivery is a duplicate and does nothing.

Before a queued order starts, its window is checked (:mod:`observatory.orders.window`): an
order whose window has passed, or whose target will not be observable within it, ends
``cancelled`` with the reason; one that may not start yet goes back to unpublished with
``ready_at`` set, and the reconciler publishes it again then. An order of a held queue goes
back to unpublished too, and is published again on release. Either way this delivery
does nothing, so the worker takes the next message at once.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from observatory.clock import utc_now
from observatory.db.models import StepRun, StepState, WorkOrder, WorkOrderState
from observatory.db.session import session_scope
from observatory.errors import WorkOrderNotFound
from observatory.orders.hold import hold_on
from observatory.orders.states import can_transition, transition
from observatory.orders.window import Verdict, start_decision
from observatory.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claim:
    """A work order this delivery is to run."""

    pk: int
    order_id: str
    user: str
    request: str
    payload: dict[str, Any]
    attempt: int


def claim(settings: Settings, pk: int, *, redelivered: bool = False) -> Claim | None:
    """Take the order for this delivery, or return None when another delivery has it or
    the order may not start now (cancelled or deferred, see the module docstring).
    One transaction (see :func:`claim_in`)."""
    with session_scope(settings.sqlalchemy_url) as session:
        return claim_in(session, settings, pk, redelivered=redelivered)


def claim_in(
    session: Session, settings: Settings, pk: int, *, redelivered: bool = False
) -> Claim | None:
    """:func:`claim` in the caller's transaction, so that the caller may write the first
    step run in the same commit. Raises WorkOrderNotFound for an unknown pk."""
    now = dt.datetime.now(dt.UTC)
    order = session.get(WorkOrder, pk)
    if order is None:
        raise WorkOrderNotFound(f"no work order with pk {pk}")
    # Only a queued order is checked: a running one resumes whatever its window says.
    if order.state == WorkOrderState.QUEUED and not _may_start(session, settings, order, now):
        return None
    # The new attempt count comes back with the UPDATE (RETURNING): no second read.
    taken = session.execute(
        update(WorkOrder)
        .where(WorkOrder.pk == pk, WorkOrder.state == WorkOrderState.QUEUED)
        .values(
            state=WorkOrderState.RUNNING,
            state_reason=None,
            started_at=now,
            updated_at=now,
            attempts=WorkOrder.attempts + 1,
        )
        .returning(WorkOrder.attempts)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if taken is not None:
        payload = dict(order.payload)
        return Claim(order.pk, order.order_id, order.user, order.request, payload, taken)
    session.refresh(order)
    if not (redelivered and order.state == WorkOrderState.RUNNING):
        log.info("work order %d is %s; this delivery does nothing", pk, order.state)
        return None
    order.attempts += 1
    order.updated_at = now
    _close_abandoned_steps(session, pk, now)
    log.warning("work order %d resumed after a lost worker (attempt %d)", pk, order.attempts)
    return Claim(
        order.pk, order.order_id, order.user, order.request, dict(order.payload), order.attempts
    )


def _may_start(session: Session, settings: Settings, order: WorkOrder, now: dt.datetime) -> bool:
    held = hold_on(session, order.queue)
    if held is not None:
        # Published before the hold: back to unpublished, to be published on release.
        session.execute(
            update(WorkOrder)
            .where(WorkOrder.pk == order.pk, WorkOrder.state == WorkOrderState.QUEUED)
            .values(published_at=None, state_reason=f"waiting: {held.describe()}")
        )
        log.info("work order %d not started: %s", order.pk, held.describe())
        return False
    # Windows and visibility are judged in the observatory's civil time.
    decision = start_decision(settings, dict(order.payload), utc_now(settings))
    if decision.verdict is Verdict.START:
        return True
    values: dict[str, Any] = {"state_reason": decision.reason, "updated_at": now}
    if decision.verdict is Verdict.CANCEL:
        values |= {"state": WorkOrderState.CANCELLED, "finished_at": now}
    else:
        values |= {"published_at": None, "ready_at": decision.until}
    # Conditional, like the claim itself: a concurrent delivery may have started it.
    session.execute(
        update(WorkOrder)
        .where(WorkOrder.pk == order.pk, WorkOrder.state == WorkOrderState.QUEUED)
        .values(**values)
    )
    log.info("work order %d not started (%s): %s", order.pk, decision.verdict, decision.reason)
    return False


def _close_abandoned_steps(session: Session, pk: int, now: dt.datetime) -> None:
    # Step runs left "running" by the lost worker end as failed, so the record shows the
    # attempt that died as well as the one that resumes.
    for run in session.scalars(
        select(StepRun).where(StepRun.work_order_pk == pk, StepRun.state == StepState.RUNNING)
    ):
        run.state = StepState.FAILED
        run.ended_at = now
        run.error = "worker lost: the message was redelivered to another worker"


def finish(settings: Settings, pk: int, state: WorkOrderState, reason: str | None = None) -> None:
    """Move a running order to its end state (see the transition table)."""
    with session_scope(settings.sqlalchemy_url) as session:
        finish_in(session, pk, state, reason)


def finish_in(session: Session, pk: int, state: WorkOrderState, reason: str | None = None) -> None:
    """:func:`finish` in the caller's transaction (with the last step run's end, say).
    Raises WorkOrderNotFound, or InvalidTransition when the order may not end so."""
    order = session.get(WorkOrder, pk)
    if order is None:
        raise WorkOrderNotFound(f"no work order with pk {pk}")
    transition(order, state, reason)


def cancel(settings: Settings, pk: int, reason: str) -> bool:
    """Cancel an order that has not ended; returns False when it already had."""
    with session_scope(settings.sqlalchemy_url) as session:
        order = session.get(WorkOrder, pk)
        if order is None:
            raise WorkOrderNotFound(f"no work order with pk {pk}")
        if not can_transition(WorkOrderState(order.state), WorkOrderState.CANCELLED):
            return False
        transition(order, WorkOrderState.CANCELLED, reason)
        return True
