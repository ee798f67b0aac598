"""Claiming and finishing a work order from the worker that runs it.

A message may arrive twice (a republished order, a redelivery after a worker died).
:func:`claim` decides, from the database, whether this delivery runs the order:
``queued -> running`` is taken by exactly one delivery (a conditional UPDATE, safe on
SQLite and PostgreSQL); a *redelivered* message of a ``running`` order resumes it as a new
attempt, because the broker only redelivers when the worker that held it is gone, and so
does a message sent by the reconciler to resume attempt *n* of an order that fell silent
(its messages lost with the broker: :mod:`observatory.orders.stalls`), while the order is
still at attempt *n*. Any
other delivery is a duplicate and does nothing. A claim and a resume stamp
``progressed_at``, the order's last sign of life.

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
from typing import Any, cast

from sqlalchemy import Connection, Row, Table, bindparam, select, update

from observatory.clock import utc_now
from observatory.db.models import QueueHold, StepRun, StepState, WorkOrder, WorkOrderState
from observatory.db.session import connection_scope, session_scope
from observatory.errors import WorkOrderNotFound
from observatory.orders.hold import Hold
from observatory.orders.states import can_transition, transition, transition_in
from observatory.orders.window import Verdict, start_decision
from observatory.settings import Settings

log = logging.getLogger(__name__)

_orders = cast(Table, WorkOrder.__table__)
_holds = cast(Table, QueueHold.__table__)
_steps = cast(Table, StepRun.__table__)

# The error of a step run left running by a worker that died.
LOST_WORKER = "worker lost: the message was redelivered to another worker"

# Every delivery runs these: built once, so that each execution skips building the
# statement and its cache key (Core on the tables, not the ORM's unit of work).
_READ_ORDER = (
    select(
        _orders.c.state,
        _orders.c.order_id,
        _orders.c.user,
        _orders.c.request,
        _orders.c.payload,
        _orders.c.queue,
        _holds.c.held_at,
        _holds.c.held_by,
        _holds.c.reason,
    )
    .select_from(_orders.outerjoin(_holds, _holds.c.queue == _orders.c.queue))
    .where(_orders.c.pk == bindparam("order_pk"))
)
_QUEUED = (_orders.c.pk == bindparam("order_pk")) & (_orders.c.state == WorkOrderState.QUEUED)
# Conditional, so that exactly one delivery takes it; the new attempt count comes back.
_TAKE = (
    update(_orders)
    .where(_QUEUED)
    .values(
        state=WorkOrderState.RUNNING,
        state_reason=None,
        started_at=bindparam("at"),
        updated_at=bindparam("at"),
        progressed_at=bindparam("at"),
        attempts=_orders.c.attempts + 1,
    )
    .returning(_orders.c.attempts)
)
_READ_STATE = select(_orders.c.state).where(_orders.c.pk == bindparam("order_pk"))


@dataclass(frozen=True)
class Claim:
    """A work order this delivery is to run."""

    pk: int
    order_id: str
    user: str
    request: str
    payload: dict[str, Any]
    attempt: int


def claim(
    settings: Settings, pk: int, *, redelivered: bool = False, resume_attempt: int | None = None
) -> Claim | None:
    """Take the order for this delivery, or return None when another delivery has it or
    the order may not start now (cancelled or deferred, see the module docstring).
    One transaction (see :func:`claim_in`)."""
    with connection_scope(settings.sqlalchemy_url) as connection:
        return claim_in(
            connection, settings, pk, redelivered=redelivered, resume_attempt=resume_attempt
        )


def claim_in(
    connection: Connection,
    settings: Settings,
    pk: int,
    *,
    redelivered: bool = False,
    resume_attempt: int | None = None,
    at: dt.datetime | None = None,
) -> Claim | None:
    """:func:`claim` in the caller's transaction, so that the caller may write the first
    step run in the same commit. ``at`` (default now) is stamped as the order's
    ``started_at`` and ``updated_at`` by a claim (see :func:`claimed_at`).
    ``resume_attempt``: the attempt a resume message was sent to replace (see the module
    docstring). Raises WorkOrderNotFound for an unknown pk."""
    now = at or dt.datetime.now(dt.UTC)
    order = connection.execute(_READ_ORDER, {"order_pk": pk}).one_or_none()
    if order is None:
        raise WorkOrderNotFound(f"no work order with pk {pk}")
    state = order.state
    if state == WorkOrderState.QUEUED:
        # Only a queued order is checked: a running one resumes whatever its window says.
        if not _may_start(connection, settings, pk, order, now):
            return None
        taken = connection.execute(_TAKE, {"order_pk": pk, "at": now}).scalar_one_or_none()
        if taken is not None:
            return _claim_of(pk, order, taken)
        # Another delivery took it between the read and the update (PostgreSQL).
        state = connection.execute(_READ_STATE, {"order_pk": pk}).scalar_one()
    if state != WorkOrderState.RUNNING or not (redelivered or resume_attempt is not None):
        log.info("work order %d is %s; this delivery does nothing", pk, state)
        return None
    resumed = update(_orders).where(_orders.c.pk == pk, _orders.c.state == state)
    if resume_attempt is not None and not redelivered:
        # Only the attempt that fell silent is replaced, and only once.
        resumed = resumed.where(_orders.c.attempts == resume_attempt)
    attempt = connection.execute(
        resumed.values(
            attempts=_orders.c.attempts + 1, updated_at=now, progressed_at=now
        ).returning(_orders.c.attempts)
    ).scalar_one_or_none()
    if attempt is None:
        log.info("work order %d: attempt %s was already resumed; this delivery does nothing",
                 pk, resume_attempt)  # fmt: skip
        return None
    if redelivered:
        why, abandoned = "a lost worker", LOST_WORKER
    else:
        why = f"attempt {resume_attempt} fell silent"
        abandoned = f"{why}: its messages were lost; the reconciler resumed the order"
    _close_abandoned_steps(connection, pk, now, abandoned)
    log.warning("work order %d resumed after %s (attempt %d)", pk, why, attempt)
    return _claim_of(pk, order, attempt)


def claimed_at(connection: Connection, pk: int, at: dt.datetime) -> Claim | None:
    """The claim of order ``pk`` made at ``at`` (:func:`claim_in`), when the order still
    runs with it: how a delivery whose claim was committed but whose answer a database
    outage lost finds its own claim again. None otherwise."""
    order = connection.execute(
        select(_orders.c.order_id, _orders.c.user, _orders.c.request, _orders.c.payload,
               _orders.c.attempts)
        .where(_orders.c.pk == pk, _orders.c.state == WorkOrderState.RUNNING,
               _orders.c.updated_at == at)
    ).one_or_none()  # fmt: skip
    if order is None:
        return None
    log.warning("work order %d: the claim of this delivery was committed; going on", pk)
    return _claim_of(pk, order, order.attempts)


def _claim_of(pk: int, order: Row[*tuple[Any, ...]], attempt: int) -> Claim:
    return Claim(pk, order.order_id, order.user, order.request, dict(order.payload), attempt)


def _may_start(
    connection: Connection,
    settings: Settings,
    pk: int,
    order: Row[*tuple[Any, ...]],
    now: dt.datetime,
) -> bool:
    if order.held_at is not None:
        held = Hold(order.queue, order.held_at, order.held_by, order.reason)
        # Published before the hold: back to unpublished, to be published on release.
        connection.execute(
            update(_orders)
            .where(_orders.c.pk == pk, _orders.c.state == WorkOrderState.QUEUED)
            .values(published_at=None, state_reason=f"waiting: {held.describe()}")
        )
        log.info("work order %d not started: %s", pk, held.describe())
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
    connection.execute(
        update(_orders)
        .where(_orders.c.pk == pk, _orders.c.state == WorkOrderState.QUEUED)
        .values(**values)
    )
    log.info("work order %d not started (%s): %s", pk, decision.verdict, decision.reason)
    return False


def _close_abandoned_steps(connection: Connection, pk: int, now: dt.datetime, error: str) -> None:
    # Step runs left "running" by the lost attempt end as failed, so the record shows the
    # attempt that died as well as the one that resumes.
    connection.execute(
        update(_steps)
        .where(_steps.c.work_order_pk == pk, _steps.c.state == StepState.RUNNING)
        .values(
            state=StepState.FAILED,
            ended_at=now,
            error=error,
        )
    )


def finish(settings: Settings, pk: int, state: WorkOrderState, reason: str | None = None) -> None:
    """Move a running order to its end state (see the transition table)."""
    with connection_scope(settings.sqlalchemy_url) as connection:
        finish_in(connection, pk, state, reason)


def finish_in(
    connection: Connection, pk: int, state: WorkOrderState, reason: str | None = None
) -> None:
    """:func:`finish` in the caller's transaction (with the last step run's end, say).
    Raises WorkOrderNotFound, or InvalidTransition when the order may not end so."""
    transition_in(connection, pk, state, reason)


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
