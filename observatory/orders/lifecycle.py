"""Claiming and finishing a work order from the worker that runs it.

A message may arrive twice (a republished order, a redelivery after a worker died).
:func:`claim` decides, from the database, whether this delivery runs the order:
``queued -> running`` is taken by exactly one delivery (a conditional UPDATE, safe on
SQLite and PostgreSQL); a *redelivered* message of a ``running`` order resumes it as a new
attempt, because the broker only redelivers when the worker that held it is gone. Any
other delivery is a duplicate and does nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from observatory.db.models import StepRun, StepState, WorkOrder, WorkOrderState
from observatory.db.session import session_scope
from observatory.errors import WorkOrderNotFound
from observatory.orders.states import can_transition, transition
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
    """Take the order for this delivery, or return None when another delivery has it."""
    now = dt.datetime.now(dt.UTC)
    with session_scope(settings.sqlalchemy_url) as session:
        result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
            update(WorkOrder)
            .where(WorkOrder.pk == pk, WorkOrder.state == WorkOrderState.QUEUED)
            .values(
                state=WorkOrderState.RUNNING,
                state_reason=None,
                started_at=now,
                updated_at=now,
                attempts=WorkOrder.attempts + 1,
            )
        )
        taken = result.rowcount
        order = session.get(WorkOrder, pk)
        if order is None:
            raise WorkOrderNotFound(f"no work order with pk {pk}")
        session.refresh(order)
        if not taken:
            if not (redelivered and order.state == WorkOrderState.RUNNING):
                log.info("work order %d is %s; this delivery does nothing", pk, order.state)
                return None
            order.attempts += 1
            order.updated_at = now
            _close_abandoned_steps(session, pk, now)
            log.warning(
                "work order %d resumed after a lost worker (attempt %d)", pk, order.attempts
            )
        return Claim(
            order.pk, order.order_id, order.user, order.request, dict(order.payload), order.attempts
        )


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
