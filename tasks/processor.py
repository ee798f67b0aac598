"""Tasks of the ``processor`` queue: file batches calibrated step by step.

``calibrate_file_batch``, ``resume_file_batch`` and ``restart_file_batch`` claim a work
order and advance its chain (:mod:`observatory.processor.chain`, which acts on the pure
driver :mod:`observatory.processor.driver`). These tasks only map the driver's fan-out
onto a chord: the step's units run as ``observatory.processor.run_unit`` tasks on any
processor worker or host (a unit with a follower runs it next, in the same task; a step
of one unit runs in the task that reached it), and
``observatory.processor.finish_step`` records the step (and its follower) once all are
done and advances the chain again. A task whose step failed raises that error
(so Flower shows it) after the chain went on or stopped. ``resume_attempt`` is sent by
the reconciler to resume an attempt whose messages the broker lost
(:mod:`observatory.orders.stalls`).
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from celery import Task, chord, shared_task

from observatory.db.retry import retry_unavailable
from observatory.logs import work_order_context
from observatory.processor import chain as chains
from observatory.processor import unit_outcome
from observatory.settings import get_settings
from tasks.common import claim_delivery

log = logging.getLogger(__name__)


def _where(task: Task) -> dict[str, Any]:
    return {"task_id": task.request.id, "worker": task.request.hostname}


def _map(chain: chains.Chain, advanced: chains.Advanced, where: dict[str, Any]) -> dict[str, Any]:
    """Run a fan-out of one unit here (see :func:`chains.run_single_units`), dispatch a
    wider one as a chord; raise the first step failure."""
    advanced = chains.run_single_units(get_settings(), chain, advanced, where)
    fan_out = advanced.fan_out
    if fan_out is not None:
        header = [run_unit.s(unit).set(queue="processor") for unit in fan_out.units]
        step = {"step": fan_out.step, "then": fan_out.then}
        callback = finish_step.s({**chain, **step}).set(queue="processor")
        chord(header)(callback)
        log.info("step %s (then %s) of batch %s: %d units dispatched",
                 fan_out.step, fan_out.then, chain["batch"], len(fan_out.units))  # fmt: skip
    if advanced.error is not None:
        raise advanced.error
    return {"work_order_pk": chain["work_order_pk"], "batch": chain["batch"],
            "next": None if fan_out is None else fan_out.step}  # fmt: skip


def _start(
    task: Task,
    work_order_pk: int | None,
    order: dict[str, Any] | None,
    resume_attempt: int | None,
) -> dict[str, Any]:
    settings = get_settings()
    work_order_pk, claimed = claim_delivery(task, settings, work_order_pk, order, resume_attempt)
    if claimed is None:
        return {"duplicate": True, "work_order_pk": work_order_pk}
    with work_order_context(f"{claimed.order_id}@{claimed.user}"):
        # Through a database outage, tried again: a claimed order left unadvanced would
        # stay running for ever (each step is safe to run again).
        chain, advanced = retry_unavailable(
            f"starting the chain of work order {claimed.pk}",
            partial(chains.start, settings, claimed, _where(task)),
        )
        return _map(chain, advanced, _where(task))


@shared_task(bind=True, name="observatory.processor.run_unit", ignore_result=False)
def run_unit(self: Task, unit: dict[str, Any]) -> dict[str, Any]:
    """One unit of a step; its outcome (outputs, or the error) goes to ``finish_step``."""
    return unit_outcome(get_settings(), unit)


@shared_task(bind=True, name="observatory.processor.finish_step")
def finish_step(self: Task, outcomes: list[dict[str, Any]], chain: chains.Chain) -> dict[str, Any]:
    """Record the step whose units ended and advance the chain; raises the step's failure
    (StepFailed naming each failed unit) after the chain went on or stopped."""
    settings = get_settings()
    with work_order_context(chain["label"]):
        step, then, where = chain["step"], chain.get("then"), _where(self)
        advanced = retry_unavailable(
            f"recording step {step} of batch {chain['batch']}",
            partial(chains.finish_fan_out, settings, chain, step, outcomes, where, then),
        )
        return _map(chain, advanced, where)


@shared_task(bind=True, name="observatory.processor.calibrate_file_batch")
def calibrate_file_batch(
    self: Task,
    work_order_pk: int | None = None,
    order: dict[str, Any] | None = None,
    resume_attempt: int | None = None,
) -> dict[str, Any]:
    """Every step of the batch at the order's ``url``."""
    return _start(self, work_order_pk, order, resume_attempt)


@shared_task(bind=True, name="observatory.processor.resume_file_batch")
def resume_file_batch(
    self: Task,
    work_order_pk: int | None = None,
    order: dict[str, Any] | None = None,
    resume_attempt: int | None = None,
) -> dict[str, Any]:
    """The batch's steps from the first one that has not succeeded."""
    return _start(self, work_order_pk, order, resume_attempt)


@shared_task(bind=True, name="observatory.processor.restart_file_batch")
def restart_file_batch(
    self: Task,
    work_order_pk: int | None = None,
    order: dict[str, Any] | None = None,
    resume_attempt: int | None = None,
) -> dict[str, Any]:
    """Every step of the batch again."""
    return _start(self, work_order_pk, order, resume_attempt)
