"""Cancelling a work order: the Python entry point, and the recorded request workers read.

:func:`cancel_order` ends a ``received`` or ``queued`` order ``cancelled`` at once (it never
starts: the claim takes only ``queued`` orders). A ``running`` order cannot be stopped from
here: the request is recorded on the row (``cancel_requested_at``, ``cancelled_by``,
``cancel_reason``) and the worker that runs it stops when it sees it
(:func:`cancel_request`): the telescope aborts its exposure, the processor stops after the
units already running. Both changes are conditional UPDATEs on the state, so a cancel that
races a claim either wins before the start or becomes a request to the running worker.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import CursorResult, update
from sqlalchemy.orm import Session

from observatory.db.models import WorkOrder, WorkOrderState
from observatory.db.session import read_scope, session_scope
from observatory.errors import OrderEnded, WorkOrderNotFound
from observatory.orders.listing import one_order_with_id
from observatory.settings import Settings

log = logging.getLogger(__name__)

S = WorkOrderState
# The key a sequence's outputs carry when it stopped on a cancel request.
CANCELLED_OUTPUT = "cancelled"


class CancelOutcome(enum.StrEnum):
    CANCELLED = "cancelled"  # it had not started, and never will
    REQUESTED = "requested"  # it runs: its worker stops it


@dataclass(frozen=True)
class CancelRequest:
    """Who asked for a cancel, why (may be None), and when (aware UTC)."""

    requested_at: dt.datetime
    by: str
    reason: str | None

    def describe(self) -> str:
        why = f": {self.reason}" if self.reason else ""
        return f"cancelled by {self.by}{why}"


@dataclass(frozen=True)
class CancelResult:
    pk: int
    order_id: str
    user: str
    outcome: CancelOutcome
    request: CancelRequest


def find_order_pk(
    session: Session,
    order_id: str,
    user: str | None,
    queue: str | None = None,
    *,
    how: str = "--user and --queue",
) -> int:
    """The pk of order ``order_id`` (of ``user``, for ``queue``, when given).

    Raises :class:`WorkOrderNotFound`, or :class:`OrderAmbiguous` listing the candidates
    when the id names several orders (users, or one user's queues) and ``how`` to name one.
    """
    return one_order_with_id(session, order_id, user, queue, how=how).pk


def cancel_order(
    settings: Settings,
    order_id: str,
    user: str | None = None,
    *,
    by: str,
    reason: str | None = None,
    queue: str | None = None,
    how: str = "--user and --queue",
) -> CancelResult:
    """Cancel order ``order_id`` (of ``user``, for ``queue``) on behalf of ``by``, for
    ``reason``; ``how`` says how to name one order when the id names several.

    Returns whether it was cancelled at once or the request was handed to its worker (see
    the module docstring). Raises :class:`WorkOrderNotFound`, :class:`OrderAmbiguous`, or
    :class:`OrderEnded` (naming the end state) when it has already ended.
    """
    with session_scope(settings.sqlalchemy_url) as session:
        pk = find_order_pk(session, order_id, user, queue, how=how)
    return cancel_pk(settings, pk, by=by, reason=reason)


def cancel_pk(settings: Settings, pk: int, *, by: str, reason: str | None = None) -> CancelResult:
    """:func:`cancel_order` for the order with primary key ``pk``."""
    now = dt.datetime.now(dt.UTC)
    request = CancelRequest(now, by, reason)
    marks = _marks(request)
    with session_scope(settings.sqlalchemy_url) as session:
        ended = _conditional(session, pk, (S.RECEIVED, S.QUEUED), marks | _ended(request))
        # A running order keeps the first request: its worker may be acting on it already.
        requested = not ended and _conditional(
            session, pk, (S.RUNNING,), marks, WorkOrder.cancel_requested_at.is_(None)
        )
        order = session.get_one(WorkOrder, pk)
        session.refresh(order)
        if not (ended or requested or order.state == S.RUNNING):
            raise OrderEnded(
                f"work order {order.order_id!r} of {order.user!r} has already ended"
                f" {order.state}; nothing to cancel"
            )
        outcome = CancelOutcome.CANCELLED if ended else CancelOutcome.REQUESTED
        log.info("work order %d: cancel %s by %s (%s)", pk, outcome, by, reason)
        current = _request_of(order) or request
        return CancelResult(pk, order.order_id, order.user, outcome, current)


def cancel_unstarted(settings: Settings, pk: int, *, by: str, reason: str | None = None) -> bool:
    """End order ``pk`` ``cancelled`` if it has not started; returns whether it did. An
    order that started (or ended) meanwhile is left as it is, with no cancel request: for
    a caller that gives up waiting for the start, not one that wants the work stopped."""
    request = CancelRequest(dt.datetime.now(dt.UTC), by, reason)
    with session_scope(settings.sqlalchemy_url) as session:
        ended = _conditional(session, pk, (S.RECEIVED, S.QUEUED), _marks(request) | _ended(request))
    if ended:
        log.info("work order %d: cancelled unstarted by %s (%s)", pk, by, reason)
    return ended


def _marks(request: CancelRequest) -> dict[str, Any]:
    """The row's record of a cancel request."""
    return {
        "cancel_requested_at": request.requested_at,
        "cancelled_by": request.by,
        "cancel_reason": request.reason,
    }


def _ended(request: CancelRequest) -> dict[str, Any]:
    """The row's end by the cancel ``request``, for an order that never started."""
    return {
        "state": S.CANCELLED,
        "state_reason": request.describe(),
        "finished_at": request.requested_at,
        "updated_at": request.requested_at,
    }


def _conditional(
    session: Session,
    pk: int,
    states: tuple[WorkOrderState, ...],
    values: dict[str, Any],
    *extra: Any,
) -> bool:
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(WorkOrder)
        .where(WorkOrder.pk == pk, WorkOrder.state.in_(states), *extra)
        .values(**values)
    )
    return bool(result.rowcount)


def cancel_request(settings: Settings, pk: int) -> CancelRequest | None:
    """The recorded cancel request of order ``pk``, or None when none was made.

    For the worker running the order: one indexed read, cheap enough to poll every second.
    Raises :class:`WorkOrderNotFound` when there is no such order.
    """
    with read_scope(settings.sqlalchemy_url) as session:
        order = session.get(WorkOrder, pk)
        if order is None:
            raise WorkOrderNotFound(f"no work order with pk {pk}")
        return _request_of(order)


def _request_of(order: WorkOrder) -> CancelRequest | None:
    if order.cancel_requested_at is None:
        return None
    return CancelRequest(order.cancel_requested_at, order.cancelled_by or "", order.cancel_reason)
