"""The work-order state machine: a literal transition table and one function that applies it.

::

    received ──> queued ──> running ──> succeeded | failed | partial | cancelled
       │           │
       │           └──> cancelled          (withdrawn, or its window passed)
       └──> rejected | cancelled

``running -> running`` is not a transition: a message redelivered after a worker died
resumes the order as a new attempt without changing its state. The five end states are
final; to try again, submit a ``resume_file_batch``/``restart_file_batch`` or a new order.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import cast

from sqlalchemy import (
    BindParameter,
    Connection,
    Table,
    Update,
    bindparam,
    false,
    or_,
    select,
    update,
)

from observatory.db.models import WorkOrder, WorkOrderState
from observatory.errors import InvalidTransition, WorkOrderNotFound

S = WorkOrderState

TRANSITIONS: dict[WorkOrderState, frozenset[WorkOrderState]] = {
    S.RECEIVED: frozenset({S.QUEUED, S.REJECTED, S.CANCELLED}),
    S.QUEUED: frozenset({S.RUNNING, S.CANCELLED}),
    S.RUNNING: frozenset({S.SUCCEEDED, S.FAILED, S.PARTIAL, S.CANCELLED}),
    S.SUCCEEDED: frozenset(),
    S.FAILED: frozenset(),
    S.PARTIAL: frozenset(),
    S.CANCELLED: frozenset(),
    S.REJECTED: frozenset(),
}

FINAL_STATES = frozenset(state for state, nexts in TRANSITIONS.items() if not nexts)


def can_transition(current: WorkOrderState, new: WorkOrderState) -> bool:
    return new in TRANSITIONS[current]


def _refusal(order_id: str, user: str, current: WorkOrderState, new: WorkOrderState) -> str:
    return f"work order {order_id!r} of {user!r}: {current.value} -> {new.value} is not allowed"


def transition(
    order: WorkOrder,
    new: WorkOrderState,
    reason: str | None = None,
    *,
    now: dt.datetime | None = None,
) -> None:
    """Move ``order`` to state ``new`` (in its session; the caller commits).

    Raises InvalidTransition, naming both states, when the table does not allow it.
    Stamps the timestamps that belong to the new state (``published_at`` is the
    publisher's to set: an order is ``queued`` before its message is sent).
    """
    current = WorkOrderState(order.state)
    if not can_transition(current, new):
        raise InvalidTransition(_refusal(order.order_id, order.user, current, new))
    now = now or dt.datetime.now(dt.UTC)
    order.state = new
    order.state_reason = reason
    order.updated_at = now
    if new is S.RUNNING:
        order.started_at = now
    elif new in FINAL_STATES:
        order.finished_at = now


def transition_in(
    connection: Connection,
    pk: int,
    new: WorkOrderState,
    reason: str | None = None,
    *,
    now: dt.datetime | None = None,
) -> None:
    """:func:`transition` of the row ``pk`` as one conditional UPDATE in the caller's
    transaction (no read first: the table's allowed sources are in its WHERE).

    Raises WorkOrderNotFound for an unknown pk, InvalidTransition (naming both states)
    when the table does not allow the change from the row's current state.
    """
    values = {"order_pk": pk, "reason": reason, "at": now or dt.datetime.now(dt.UTC)}
    if connection.execute(_transition_statement(new), values).first() is not None:
        return
    orders = cast(Table, WorkOrder.__table__)
    row = connection.execute(
        select(orders.c.order_id, orders.c.user, orders.c.state).where(orders.c.pk == pk)
    ).first()
    if row is None:
        raise WorkOrderNotFound(f"no work order with pk {pk}")
    raise InvalidTransition(_refusal(row.order_id, row.user, WorkOrderState(row.state), new))


@cache
def _transition_statement(new: WorkOrderState) -> Update:
    # One statement per target state, built once (see observatory.orders.lifecycle).
    orders = cast(Table, WorkOrder.__table__)
    sources = [state for state, nexts in TRANSITIONS.items() if new in nexts]
    stamps: dict[str, BindParameter[dt.datetime]] = {}
    if new is S.RUNNING:
        stamps["started_at"] = bindparam("at")
    elif new in FINAL_STATES:
        stamps["finished_at"] = bindparam("at")
    return (
        update(orders)
        # Equalities, not IN: an IN list is expanded again at every execution.
        .where(
            orders.c.pk == bindparam("order_pk"),
            or_(false(), *(orders.c.state == s for s in sources)),
        )
        .values(state=new, state_reason=bindparam("reason"), updated_at=bindparam("at"), **stamps)
        .returning(orders.c.pk)
    )
