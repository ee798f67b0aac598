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

from observatory.db.models import WorkOrder, WorkOrderState
from observatory.errors import InvalidTransition

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
        raise InvalidTransition(
            f"work order {order.order_id!r} of {order.user!r}: "
            f"{current.value} -> {new.value} is not allowed"
        )
    now = now or dt.datetime.now(dt.UTC)
    order.state = new
    order.state_reason = reason
    order.updated_at = now
    if new is S.RUNNING:
        order.started_at = now
    elif new in FINAL_STATES:
        order.finished_at = now
