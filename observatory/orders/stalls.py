"""Orders whose messages the broker lost: found from SQL and sent again.

Redis syncs its append-only file once a second (and holds a write back for up to two on
a slow disk), so a Redis that dies may come back without its last writes: the message of
an order just published, or, after a processor order's first task, the messages of its
units and the count of the chord that gathers them. Either order would wait for ever:
``queued`` with its ``published_at`` stamped, or ``running`` with no task left to run it.

SQL keeps each running order's last sign of life, ``progressed_at``: its claim or resume,
the start of each of its processor units (written at most every :func:`mark_interval_s`
by each worker process), and each beat of the telescope worker's heartbeat. The
reconciler (:func:`recover`) acts once an order is silent for :func:`silence_limit_s`:
the broker's visibility timeout (which exceeds every task's time limit) and its restore
sweep, after which the broker would have delivered a dead worker's message again, plus a
margin for that delivery's claim. Then

- a ``running`` order is resumed, as the broker would have done with a message it kept:
  a message carrying the silent attempt's number, which
  :func:`observatory.orders.lifecycle.claim_in` takes only while the order is still at
  that attempt. A processor chain goes on from the first step its earlier attempts did
  not finish (:mod:`observatory.processor.chain`); a telescope order, whose heartbeat is
  its sign of life, continues its batch as after a redelivery;
- a ``queued`` order published that long ago is published again; a copy of a message that
  did survive finds the order taken and does nothing.

Messages wait in a busy queue without a sign of life, so only the orders of a quiet queue
(no running order of it has shown one within the limit) are looked at, and never those
of a held queue (its release publishes them).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import Protocol, cast

from sqlalchemy import Connection, Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from observatory.db.models import QueueHold, WorkOrder, WorkOrderState
from observatory.db.session import connection_scope
from observatory.errors import PublishFailed
from observatory.intake import Publisher, publish_order
from observatory.orders.routes import QUEUES
from observatory.settings import Settings

log = logging.getLogger(__name__)

_orders = cast(Table, WorkOrder.__table__)
_holds = cast(Table, QueueHold.__table__)

# Seconds allowed beyond the broker's redelivery for a redelivered message to be claimed.
CLAIM_MARGIN_S = 10.0
# Each worker process writes an order's sign of life at most this often (seconds).
MAX_MARK_INTERVAL_S = 60.0
# Orders marked by this process: (database url, pk) -> monotonic time of the mark.
_marked: dict[tuple[str, int], float] = {}

_MARK = (
    update(_orders)
    .where(_orders.c.pk == bindparam("order_pk"), _orders.c.state == WorkOrderState.RUNNING)
    .values(progressed_at=bindparam("at"))
)
_last_sign = func.coalesce(_orders.c.progressed_at, _orders.c.started_at)


class Resumer(Protocol):
    """Sends the message that resumes attempt ``attempt`` of a stored order; returns the
    task id. Raises PublishFailed when the broker cannot take it."""

    def __call__(
        self, *, work_order_pk: int, task_name: str, queue: str, priority: float, attempt: int
    ) -> str: ...


@dataclass(frozen=True)
class Silent:
    """A running order without a sign of life since ``last``."""

    pk: int
    order_id: str
    queue: str
    task_name: str
    priority: float
    attempt: int
    last: dt.datetime


@dataclass(frozen=True)
class Recovered:
    """What one pass of :func:`recover` sent: pks resumed and pks published again."""

    resumed: list[int]
    republished: list[int]


def silence_limit_s(settings: Settings) -> float:
    """Seconds without a sign of life after which an order's messages count as lost."""
    return (
        settings.effective_visibility_timeout_s
        + settings.unacked_restore_interval_s
        + CLAIM_MARGIN_S
    )


def mark_interval_s(settings: Settings) -> float:
    """How often a worker process writes an order's sign of life: often enough that a
    live chain is never taken for a silent one."""
    return min(MAX_MARK_INTERVAL_S, settings.effective_visibility_timeout_s / 8)


def mark_progress(settings: Settings, pk: int) -> None:
    """Stamp order ``pk``'s sign of life, unless this process did within
    :func:`mark_interval_s`."""
    key, now = (settings.sqlalchemy_url, pk), time.monotonic()
    if now - _marked.get(key, -float("inf")) < mark_interval_s(settings):
        return
    with connection_scope(settings.sqlalchemy_url) as connection:
        stamp_progress(connection, pk, dt.datetime.now(dt.UTC))
    if len(_marked) > 1000:
        _marked.clear()
    _marked[key] = now


def stamp_progress(connection: Connection | Session, pk: int, at: dt.datetime) -> None:
    """Stamp running order ``pk``'s sign of life ``at``, in the caller's transaction."""
    connection.execute(_MARK, {"order_pk": pk, "at": at})


def quiet_queues(connection: Connection, cutoff: dt.datetime) -> list[str]:
    """The queues, not held, none of whose running orders showed life after ``cutoff``."""
    busy = select(_orders.c.queue).where(
        _orders.c.state == WorkOrderState.RUNNING, _last_sign > cutoff
    )
    busy_or_held = set(connection.scalars(busy.union(select(_holds.c.queue))))
    return [queue for queue in QUEUES if queue not in busy_or_held]


def silent_orders(settings: Settings, now: dt.datetime | None = None) -> list[Silent]:
    """The running orders silent beyond :func:`silence_limit_s` in a quiet queue (see the
    module docstring)."""
    now = now or dt.datetime.now(dt.UTC)
    cutoff = now - dt.timedelta(seconds=silence_limit_s(settings))
    with connection_scope(settings.sqlalchemy_url) as connection:
        quiet = quiet_queues(connection, cutoff)
        rows = connection.execute(
            select(_orders.c.pk, _orders.c.order_id, _orders.c.queue, _orders.c.task_name,
                   _orders.c.priority, _orders.c.attempts, _last_sign.label("last"))
            .where(_orders.c.state == WorkOrderState.RUNNING, _orders.c.queue.in_(quiet))
            .order_by(_orders.c.priority.desc(), _orders.c.pk)
        ).all()  # fmt: skip
    return [
        Silent(row.pk, row.order_id, row.queue, row.task_name, row.priority or 0.0,
               row.attempts, row.last)
        for row in rows
    ]  # fmt: skip


def unanswered_orders(settings: Settings, now: dt.datetime | None = None) -> list[int]:
    """Queued orders published more than :func:`silence_limit_s` ago to a quiet queue:
    their message is lost. Most urgent first."""
    now = now or dt.datetime.now(dt.UTC)
    cutoff = now - dt.timedelta(seconds=silence_limit_s(settings))
    with connection_scope(settings.sqlalchemy_url) as connection:
        quiet = quiet_queues(connection, cutoff)
        return list(
            connection.scalars(
                select(_orders.c.pk)
                .where(
                    _orders.c.state == WorkOrderState.QUEUED,
                    _orders.c.published_at <= cutoff,
                    _orders.c.queue.in_(quiet),
                )
                .order_by(_orders.c.priority.desc(), _orders.c.pk)
            )
        )


def recover(settings: Settings, publish: Publisher, resume: Resumer) -> Recovered:
    """One pass: resume the silent running orders and publish again the unanswered
    queued ones (see the module docstring)."""
    resumed = resume_silent(settings, resume)
    republished = []
    for pk in unanswered_orders(settings):
        receipt = publish_order(settings, pk, publish)
        if receipt.published:
            log.warning("work order %r (pk %d) was still queued %.0f s after it was published: "
                        "its message was lost; published again", receipt.order_id, pk,
                        silence_limit_s(settings))  # fmt: skip
            republished.append(pk)
    return Recovered(resumed, republished)


def resume_silent(settings: Settings, resume: Resumer) -> list[int]:
    """Send a resume for each silent running order (:func:`silent_orders`) and stamp
    its sign of life, so that it is sent once a silence; returns the pks resumed."""
    now = dt.datetime.now(dt.UTC)
    resumed = []
    for order in silent_orders(settings, now):
        silent_s = (now - order.last).total_seconds()
        try:
            resume(work_order_pk=order.pk, task_name=order.task_name, queue=order.queue,
                   priority=order.priority, attempt=order.attempt)  # fmt: skip
        except PublishFailed as error:
            log.warning("work order %r (pk %d) silent for %.0f s, not resumed yet: %s",
                        order.order_id, order.pk, silent_s, error)  # fmt: skip
            continue
        reason = f"resumed: attempt {order.attempt} showed no sign of life for {silent_s:.0f} s"
        with connection_scope(settings.sqlalchemy_url) as connection:
            connection.execute(
                update(_orders)
                .where(_orders.c.pk == order.pk, _orders.c.attempts == order.attempt)
                .values(progressed_at=now, state_reason=reason)
            )
        log.warning("work order %r (pk %d) %s", order.order_id, order.pk, reason)
        resumed.append(order.pk)
    return resumed
