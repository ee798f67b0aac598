"""Tasks of the ``telescope`` queue: observations and calibration-frame sequences.

Each takes the pk of a stored work order (or, from a foreign publisher, ``order=`` the
work order itself) and runs the sequence as one recorded step. An interrupted sequence
ends the order ``partial`` when frames were written, else ``failed``; an order whose
window is not now ends ``cancelled``. The exception always propagates, so the task fails.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from celery import Task, shared_task

from observatory.db.models import WorkOrderState
from observatory.errors import ObservatoryError
from observatory.intake import Publisher, adopt
from observatory.logs import work_order_context
from observatory.orders.lifecycle import Claim, claim, finish
from observatory.settings import Settings, get_settings
from observatory.steps import record_step
from observatory.telescope.calibration import take_calibration_frames
from observatory.telescope.observation import observe as observe_sequence
from observatory.telescope.rig import TelescopeRig
from observatory.telescope.run import SequenceInterrupted
from observatory.telescope.targets import TargetNotObservable

Sequence = Callable[[Settings, Claim, TelescopeRig, Publisher], dict[str, Any]]


@cache
def _rig() -> TelescopeRig:
    # One set of adapters (connections) per worker process, made on first use.
    return TelescopeRig.from_settings(get_settings())


def _end_state(error: Exception) -> WorkOrderState:
    if isinstance(error, SequenceInterrupted) and error.frames_written:
        return WorkOrderState.PARTIAL
    if isinstance(error, TargetNotObservable):
        return WorkOrderState.CANCELLED
    return WorkOrderState.FAILED


def _run(
    task: Task,
    step: str,
    sequence: Sequence,
    work_order_pk: int | None,
    order: dict[str, Any] | None,
) -> dict[str, Any]:
    settings: Settings = get_settings()
    if (work_order_pk is None) == (order is None):
        raise ObservatoryError("give exactly one of work_order_pk and order")
    if work_order_pk is None:
        work_order_pk = adopt(settings, order, task.name)
    redelivered = bool((task.request.delivery_info or {}).get("redelivered"))
    claimed: Claim | None = claim(settings, work_order_pk, redelivered=redelivered)
    if claimed is None:
        return {"duplicate": True, "work_order_pk": work_order_pk}
    # The Celery publisher lives with the app; imported here, when a worker runs the task.
    from workers.publish import publish

    publisher: Publisher = publish
    with work_order_context(f"{claimed.order_id}@{claimed.user}"):
        try:
            with record_step(
                settings, work_order_pk, step, task_id=task.request.id, worker=task.request.hostname
            ) as record:
                record.outputs = sequence(settings, claimed, _rig(), publisher)
        except Exception as error:
            finish(settings, work_order_pk, _end_state(error), f"{step}: {error}")
            raise
        finish(settings, work_order_pk, WorkOrderState.SUCCEEDED)
        return record.outputs


@shared_task(bind=True, name="observatory.telescope.observe")
def observe(
    self: Task, work_order_pk: int | None = None, order: dict[str, Any] | None = None
) -> dict[str, Any]:
    return _run(self, "observe", observe_sequence, work_order_pk, order)


@shared_task(bind=True, name="observatory.telescope.calibration_frames")
def calibration_frames(
    self: Task, work_order_pk: int | None = None, order: dict[str, Any] | None = None
) -> dict[str, Any]:
    return _run(self, "calibration_frames", take_calibration_frames, work_order_pk, order)
