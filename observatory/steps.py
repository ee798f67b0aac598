"""Step recording: the one mechanism every task uses to put its work on record.

A step is one named unit of a work order (``open_shutter``, ``stack_darks``...). Each
attempt is a ``step_runs`` row: it is written as *running* before the work starts and ends
as *succeeded* (with its outputs) or *failed* (with the error and traceback). On failure
the admins are emailed and Sentry is told, then the exception propagates, so the Celery
task fails and Flower shows it. Nothing is swallowed: if the email itself cannot be sent,
that is logged and written onto the same row.
"""

from __future__ import annotations

import datetime as dt
import logging
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from observatory.db.models import StepRun, StepState, WorkOrder
from observatory.db.session import connection_scope, session_scope
from observatory.notify import NotificationFailed, email_admins, report_to_sentry
from observatory.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class StepRecord:
    """What the body of a step sees: its row, attempt number and the outputs to record."""

    run_pk: int
    attempt: int
    work_order_pk: int
    step: str
    outputs: dict[str, Any] = field(default_factory=dict)


_runs = cast(Table, StepRun.__table__)
_orders = cast(Table, WorkOrder.__table__)

# Every work order runs these: built once (see observatory.orders.lifecycle).
_NEXT_ATTEMPT = select(func.coalesce(func.max(_runs.c.attempt), 0) + 1).where(
    _runs.c.work_order_pk == bindparam("order_pk"), _runs.c.step == bindparam("step_name")
)
_INSERT_RUN = insert(_runs).returning(_runs.c.pk)
_END_RUN = update(_runs).where(_runs.c.pk == bindparam("run_pk"))
_ORDER_LABEL = select(_orders.c.order_id, _orders.c.request, _orders.c.user).where(
    _orders.c.pk == bindparam("order_pk")
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _next_attempt(session: Session, work_order_pk: int, step: str) -> int:
    previous = session.scalar(
        select(func.max(StepRun.attempt)).where(
            StepRun.work_order_pk == work_order_pk, StepRun.step == step
        )
    )
    return (previous or 0) + 1


@contextmanager
def record_step(
    settings: Settings,
    work_order_pk: int,
    step: str,
    *,
    task_id: str | None = None,
    worker: str | None = None,
) -> Iterator[StepRecord]:
    """Record one attempt of ``step`` for a work order around the ``with`` body.

    The body fills ``record.outputs`` (JSON-serialisable). Any exception raised by the
    body is recorded, reported to the admins and re-raised unchanged. Two transactions:
    the start, and the end.
    """
    url = settings.sqlalchemy_url
    with connection_scope(url) as connection:
        record = start_step(connection, work_order_pk, step, task_id=task_id, worker=worker)
    try:
        yield record
    except Exception as error:
        with connection_scope(url) as connection:
            label = fail_step(connection, record, error)
        report_failure(settings, record, label, error)
        raise
    with connection_scope(url) as connection:
        succeed_step(connection, record)


def start_step(
    connection: Connection,
    work_order_pk: int,
    step: str,
    *,
    task_id: str | None = None,
    worker: str | None = None,
) -> StepRecord:
    """Write the step's *running* row in the caller's transaction; returns its record."""
    attempt = connection.execute(
        _NEXT_ATTEMPT, {"order_pk": work_order_pk, "step_name": step}
    ).scalar_one()
    run_pk = connection.execute(
        _INSERT_RUN,
        {
            "work_order_pk": work_order_pk,
            "step": step,
            "attempt": attempt,
            "state": StepState.RUNNING,
            "task_id": task_id,
            "worker": worker,
            "started_at": _now(),
        },
    ).scalar_one()
    log.info("step %s of work order %d: attempt %d started", step, work_order_pk, attempt)
    return StepRecord(run_pk=run_pk, attempt=attempt, work_order_pk=work_order_pk, step=step)


def succeed_step(connection: Connection, record: StepRecord) -> None:
    """End the step run *succeeded* with ``record.outputs``, in the caller's transaction."""
    connection.execute(
        _END_RUN,
        {
            "run_pk": record.run_pk,
            "state": StepState.SUCCEEDED,
            "ended_at": _now(),
            "outputs": record.outputs,
        },
    )
    log.info("step %s of work order %d: succeeded", record.step, record.work_order_pk)


def fail_step(connection: Connection, record: StepRecord, error: BaseException) -> str:
    """End the step run *failed* with the error and its traceback, in the caller's
    transaction; returns how the admins are to be told which order it was. The caller
    then commits and calls :func:`report_failure`."""
    connection.execute(
        _END_RUN,
        {
            "run_pk": record.run_pk,
            "state": StepState.FAILED,
            "ended_at": _now(),
            "error": _error_text(error),
            "traceback": _traceback_text(error),
            "outputs": record.outputs or None,
        },
    )
    order = connection.execute(_ORDER_LABEL, {"order_pk": record.work_order_pk}).one()
    return f"work order {order.order_id!r} ({order.request}, user {order.user!r})"


def record_skipped_step(
    settings: Settings, work_order_pk: int, step: str, reason: str, *, task_id: str | None = None
) -> None:
    """Put on record that a step was skipped by policy (not an error)."""
    with session_scope(settings.sqlalchemy_url) as session:
        now = _now()
        session.add(
            StepRun(
                work_order_pk=work_order_pk,
                step=step,
                attempt=_next_attempt(session, work_order_pk, step),
                state=StepState.SKIPPED,
                task_id=task_id,
                started_at=now,
                ended_at=now,
                error=reason,
            )
        )


def _error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _traceback_text(error: BaseException) -> str:
    """The error's traceback, then what it carries beside its message (a failed step's
    unit tracebacks, :class:`~observatory.errors.StepFailed`)."""
    trace = "".join(traceback.format_exception(error))
    details = getattr(error, "details", "")
    return f"{trace}\n{details}" if details else trace


def report_failure(
    settings: Settings, record: StepRecord, label: str, error: BaseException
) -> None:
    """Tell the log, Sentry and the admins that a step failed (after :func:`fail_step`
    was committed). If the email cannot be sent, that is logged and written onto the row."""
    text = _error_text(error)
    trace = _traceback_text(error)
    log.error("step %s of %s failed: %s", record.step, label, text)
    report_to_sentry(error)
    body = (
        f"Step {record.step!r} (attempt {record.attempt}) of {label} failed.\n\n{text}\n\n{trace}"
    )
    try:
        email_admins(settings, f"step {record.step} failed: {text[:120]}", body)
    except NotificationFailed as mail_error:
        log.exception("the admins were not told of the failure of step %s", record.step)
        with session_scope(settings.sqlalchemy_url) as session:
            run = session.get_one(StepRun, record.run_pk)
            run.error = f"{text}\n(admin email failed: {mail_error})"
