"""Held queues: while a queue is held, nothing of it starts.

A hold is a ``queue_holds`` row. While it exists, :func:`observatory.intake.publish_order`
leaves the queue's orders ``queued`` and unpublished, and a message already in the broker
(published before the hold) is handed back by the claim: the order returns to unpublished
and the delivery does nothing. :func:`release` deletes the row and publishes the queue's
waiting orders; the reconciler publishes any it missed. No order is lost either way: the
database keeps every one ``queued``.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from observatory.db.models import QueueHold, WorkOrder, WorkOrderState
from observatory.db.session import session_scope
from observatory.errors import ObservatoryError
from observatory.orders.routes import QUEUES
from observatory.settings import Settings

log = logging.getLogger(__name__)


class UnknownQueue(ObservatoryError):
    """A queue name that no request routes to."""


@dataclass(frozen=True)
class Hold:
    """A held queue: who held it, when (aware UTC) and why (may be None)."""

    queue: str
    held_at: dt.datetime
    held_by: str
    reason: str | None

    def describe(self) -> str:
        why = f": {self.reason}" if self.reason else ""
        return f"queue {self.queue} held by {self.held_by} since {self.held_at:%H:%M:%S} UTC{why}"


def check_queue(queue: str) -> str:
    """``queue`` itself; raises :class:`UnknownQueue` naming the known ones."""
    if queue not in QUEUES:
        raise UnknownQueue(f"no queue {queue!r}; the queues are {', '.join(QUEUES)}")
    return queue


def hold(settings: Settings, queue: str, *, by: str, reason: str | None = None) -> Hold:
    """Hold ``queue`` (holding a held queue keeps the first hold); returns the hold."""
    check_queue(queue)
    with session_scope(settings.sqlalchemy_url) as session:
        row = session.get(QueueHold, queue)
        if row is None:
            row = QueueHold(queue=queue, held_at=dt.datetime.now(dt.UTC), held_by=by, reason=reason)
            session.add(row)
            log.warning("queue %s held by %s%s", queue, by, f" ({reason})" if reason else "")
        return _hold_of(row)


def release(settings: Settings, queue: str) -> list[int]:
    """Release ``queue`` (harmless when it is not held); returns the pks of its orders that
    wait to be published, most urgent first. The caller publishes them
    (:func:`observatory.intake.publish_order`); the reconciler would otherwise."""
    check_queue(queue)
    with session_scope(settings.sqlalchemy_url) as session:
        row = session.get(QueueHold, queue)
        if row is not None:
            session.delete(row)
            log.warning("queue %s released", queue)
        return list(
            session.scalars(
                select(WorkOrder.pk)
                .where(
                    WorkOrder.queue == queue,
                    WorkOrder.state == WorkOrderState.QUEUED,
                    WorkOrder.published_at.is_(None),
                )
                .order_by(WorkOrder.priority.desc(), WorkOrder.pk)
            )
        )


def hold_on(session: Session, queue: str | None) -> Hold | None:
    """The hold on ``queue`` in this session, or None (also for a None queue)."""
    if queue is None:
        return None
    row = session.get(QueueHold, queue)
    return None if row is None else _hold_of(row)


_HOLD_ROW = select(QueueHold.__table__).where(QueueHold.__table__.c.queue == bindparam("held"))


def hold_in(connection: Connection, queue: str) -> Hold | None:
    """The hold on ``queue`` in the caller's Core transaction, or None (one prebuilt
    SELECT: the intake asks on every order)."""
    row = connection.execute(_HOLD_ROW, {"held": queue}).first()
    return None if row is None else Hold(row.queue, row.held_at, row.held_by, row.reason)


def holds(settings: Settings) -> list[Hold]:
    """Every held queue, in queue order."""
    with session_scope(settings.sqlalchemy_url) as session:
        rows = session.scalars(select(QueueHold).order_by(QueueHold.queue))
        return [_hold_of(row) for row in rows]


def _hold_of(row: QueueHold) -> Hold:
    return Hold(row.queue, row.held_at, row.held_by, row.reason)
