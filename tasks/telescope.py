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
from observatory.errors import AutofocusFailed
from observatory.intake import Publisher
from observatory.orders.lifecycle import Claim
from observatory.settings import Settings, get_settings
from observatory.telescope.autofocus import autofocus as autofocus_sequence
from observatory.telescope.calibration import take_calibration_frames
from observatory.telescope.observation import observe as observe_sequence
from observatory.telescope.rig import TelescopeRig
from observatory.telescope.run import SequenceInterrupted
from observatory.telescope.targets import TargetNotObservable
from tasks.common import run_work_order

Sequence = Callable[[Settings, Claim, TelescopeRig, Publisher], dict[str, Any]]


@cache
def _rig() -> TelescopeRig:
    # One set of adapters (connections) per worker process, made on first use.
    return TelescopeRig.from_settings(get_settings())


def _end_state(error: Exception) -> WorkOrderState:
    if isinstance(error.__cause__, AutofocusFailed):
        return WorkOrderState.FAILED  # its frames are not a partial result
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
    resume_attempt: int | None,
) -> dict[str, Any]:
    # The Celery publisher lives with the app; imported here, when a worker runs the task.
    from workers.publish import publish

    def action(claimed: Claim) -> dict[str, Any]:
        return sequence(get_settings(), claimed, _rig(), publish)

    return run_work_order(
        task, step, action, work_order_pk, order, _end_state, resume_attempt=resume_attempt
    )


@shared_task(bind=True, name="observatory.telescope.observe")
def observe(
    self: Task,
    work_order_pk: int | None = None,
    order: dict[str, Any] | None = None,
    resume_attempt: int | None = None,
) -> dict[str, Any]:
    return _run(self, "observe", observe_sequence, work_order_pk, order, resume_attempt)


@shared_task(bind=True, name="observatory.telescope.calibration_frames")
def calibration_frames(
    self: Task,
    work_order_pk: int | None = None,
    order: dict[str, Any] | None = None,
    resume_attempt: int | None = None,
) -> dict[str, Any]:
    return _run(
        self, "calibration_frames", take_calibration_frames, work_order_pk, order, resume_attempt
    )


@shared_task(bind=True, name="observatory.telescope.autofocus")
def autofocus(
    self: Task,
    work_order_pk: int | None = None,
    order: dict[str, Any] | None = None,
    resume_attempt: int | None = None,
) -> dict[str, Any]:
    return _run(self, "autofocus", autofocus_sequence, work_order_pk, order, resume_attempt)
