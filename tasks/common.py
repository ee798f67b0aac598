"""What every work-order task does around its action: claim, record, finish.

Tasks are thin: they take a work-order pk (or, from a foreign publisher, the order
itself), load it, act through ``observatory``, and record the outcome. A failure is
recorded on the step, the order ends ``failed``, the admins are told, and the exception
propagates so that the task fails in Flower.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from functools import partial
from itertools import count
from typing import Any

from celery import Task
from sqlalchemy import Connection, select

from observatory.db.models import StepRun, StepState, WorkOrder, WorkOrderState
from observatory.db.retry import retry_unavailable
from observatory.db.session import connection_scope
from observatory.errors import ObservatoryError
from observatory.intake import adopt
from observatory.logs import work_order_context
from observatory.orders.cancel import CANCELLED_OUTPUT
from observatory.orders.lifecycle import Claim, claim_in, claimed_at, finish_in
from observatory.settings import Settings, get_settings
from observatory.steps import StepRecord, fail_step, report_failure, start_step, succeed_step

log = logging.getLogger(__name__)

Action = Callable[[Claim], dict[str, Any] | None]


def claim_delivery(
    task: Task,
    settings: Settings,
    work_order_pk: int | None,
    order: dict[str, Any] | None,
    resume_attempt: int | None = None,
) -> tuple[int, Claim | None]:
    """The work order this delivery carries (storing it first when a foreign publisher sent
    the order itself), and its claim: None when this delivery must do nothing (a duplicate,
    or an order that may not start now). ``resume_attempt``: sent by the reconciler to
    resume a silent attempt (see :func:`observatory.orders.lifecycle.claim_in`)."""
    if (work_order_pk is None) == (order is None):
        raise ObservatoryError("give exactly one of work_order_pk and order")
    if work_order_pk is None:
        work_order_pk = adopt(settings, order, task.name)
    redelivered = bool((task.request.delivery_info or {}).get("redelivered"))
    pk, at, tries = work_order_pk, dt.datetime.now(dt.UTC), count()

    def take() -> Claim | None:
        with connection_scope(settings.sqlalchemy_url) as connection:
            # On a second try the first one's commit may have gone through, its answer lost.
            own = claimed_at(connection, pk, at) if next(tries) > 0 else None
            return own or claim_in(
                connection, settings, pk, redelivered=redelivered,
                resume_attempt=resume_attempt, at=at,
            )  # fmt: skip

    return pk, retry_unavailable(f"claiming work order {pk}", take)


def run_work_order(
    task: Task,
    step: str,
    action: Action,
    work_order_pk: int | None = None,
    order: dict[str, Any] | None = None,
    end_state: Callable[[Exception], WorkOrderState] = lambda _: WorkOrderState.FAILED,
    *,
    resume_attempt: int | None = None,
) -> dict[str, Any]:
    """Run ``action`` as the single recorded step ``step`` of a work order.

    Returns the step's outputs (also stored on the step run), or a note when this delivery
    is a duplicate of one that already ran or runs the order. When the action raises, the
    order ends in ``end_state(error)`` (default ``failed``), the admins are told, and the
    error propagates. When its outputs carry ``cancelled`` (it stopped on a cancel
    request), it ends ``cancelled``. ``resume_attempt``: sent by the reconciler to resume
    an attempt whose message the broker lost (:mod:`observatory.orders.stalls`).

    Two transactions: the claim with the step's start, and the step's end with the
    order's (plus the intake's own, before the message was sent).
    """
    settings = get_settings()
    if (work_order_pk is None) == (order is None):
        raise ObservatoryError("give exactly one of work_order_pk and order")
    if work_order_pk is None:
        work_order_pk = adopt(settings, order, task.name)
    redelivered = bool((task.request.delivery_info or {}).get("redelivered"))
    where = {"task_id": task.request.id, "worker": task.request.hostname}
    pk = work_order_pk
    # The order's start: when this task took it up, before waiting for the write lock.
    at = dt.datetime.now(dt.UTC)
    tries = 0

    # Each transaction is tried again through a database outage (observatory.db.retry):
    # an order claimed but never ended would stay running for ever.
    def begin() -> tuple[Claim, StepRecord] | None:
        nonlocal tries
        tries += 1
        with connection_scope(settings.sqlalchemy_url) as connection:
            if tries > 1 and task.request.id is not None:
                # The first try's commit may have gone through, its answer lost.
                own = _own_claim(connection, pk, step, task.request.id)
                if own is not None:
                    return own
            claimed = claim_in(
                connection, settings, pk, redelivered=redelivered,
                resume_attempt=resume_attempt, at=at,
            )  # fmt: skip
            if claimed is None:
                return None
            return claimed, start_step(connection, pk, step, **where)

    begun = retry_unavailable(f"claiming work order {pk}", begin)
    if begun is None:
        return {"duplicate": True, "work_order_pk": pk}
    claimed, record = begun
    with work_order_context(f"{claimed.order_id}@{claimed.user}"):
        try:
            record.outputs = action(claimed) or {}
        except Exception as error:
            label = retry_unavailable(
                f"recording the failure of work order {pk}",
                partial(_end_failed, settings, record, error, end_state(error), count()),
            )
            report_failure(settings, record, label, error)
            raise
        retry_unavailable(
            f"ending work order {pk}", partial(_end_succeeded, settings, record, count())
        )
        return record.outputs


def _own_claim(
    connection: Connection, pk: int, step: str, task_id: str
) -> tuple[Claim, StepRecord] | None:
    """The claim and step run that this very delivery (``task_id``) committed, when the
    order still runs that step for it; None otherwise."""
    row = connection.execute(
        select(StepRun.pk, StepRun.attempt, WorkOrder.order_id, WorkOrder.user,
               WorkOrder.request, WorkOrder.payload, WorkOrder.attempts)
        .join(WorkOrder, WorkOrder.pk == StepRun.work_order_pk)
        .where(StepRun.work_order_pk == pk, StepRun.step == step, StepRun.task_id == task_id,
               StepRun.state == StepState.RUNNING, WorkOrder.state == WorkOrderState.RUNNING)
    ).one_or_none()  # fmt: skip
    if row is None:
        return None
    log.warning("work order %d: the claim of this delivery was committed; going on", pk)
    claimed = Claim(pk, row.order_id, row.user, row.request, dict(row.payload), row.attempts)
    return claimed, StepRecord(run_pk=row.pk, attempt=row.attempt, work_order_pk=pk, step=step)


def _already_ended(connection: Connection, record: StepRecord, tries: Iterator[int]) -> bool:
    # On a second try only: the first one's commit may have gone through, its answer lost.
    if next(tries) == 0:
        return False
    state = connection.execute(select(StepRun.state).where(StepRun.pk == record.run_pk))
    if state.scalar_one() == StepState.RUNNING:
        return False
    log.warning("work order %d: its end was committed; going on", record.work_order_pk)
    return True


def _end_failed(
    settings: Settings,
    record: StepRecord,
    error: Exception,
    state: WorkOrderState,
    tries: Iterator[int],
) -> str:
    with connection_scope(settings.sqlalchemy_url) as connection:
        if _already_ended(connection, record, tries):
            order = connection.execute(
                select(WorkOrder.order_id, WorkOrder.request, WorkOrder.user)
                .where(WorkOrder.pk == record.work_order_pk)
            ).one()  # fmt: skip
            return f"work order {order.order_id!r} ({order.request}, user {order.user!r})"
        label = fail_step(connection, record, error)
        finish_in(connection, record.work_order_pk, state, f"{record.step}: {error}")
    return label


def _end_succeeded(settings: Settings, record: StepRecord, tries: Iterator[int]) -> None:
    cancelled = record.outputs.get(CANCELLED_OUTPUT)
    with connection_scope(settings.sqlalchemy_url) as connection:
        if _already_ended(connection, record, tries):
            return
        succeed_step(connection, record)
        if cancelled is not None:
            # The action stopped on the order's cancel request, keeping what it had done.
            reason = f"{record.step}: {cancelled}"
            finish_in(connection, record.work_order_pk, WorkOrderState.CANCELLED, reason)
        else:
            finish_in(connection, record.work_order_pk, WorkOrderState.SUCCEEDED)
