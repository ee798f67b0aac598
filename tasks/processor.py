"""Tasks of the ``processor`` queue: file batches calibrated step by step.

``calibrate_file_batch``, ``resume_file_batch`` and ``restart_file_batch`` take a work
order, run the ``transfer`` and ``ingest`` steps themselves, then hand each later step
to a chord: its independent units (a dark group, a flat filter, a light frame) run as
``observatory.processor.run_unit`` tasks on any processor worker or host, and
``observatory.processor.finish_step`` records the step once all are done and dispatches
the next one. A failed step fails ``finish_step`` (so Flower shows it) after the chain
went on or stopped by ``processor.on_step_failure``; the order ends succeeded, partial
or failed.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, chord, shared_task

from observatory import processor
from observatory.db.models import WorkOrderState
from observatory.db.session import session_scope
from observatory.logs import work_order_context
from observatory.orders.lifecycle import Claim, finish
from observatory.processor import astrometry
from observatory.processor.pipeline import latest_runs
from observatory.settings import Settings, get_settings
from observatory.steps import record_skipped_step, record_step
from tasks.common import claim_delivery

log = logging.getLogger(__name__)

# A chain's state, passed from task to task as JSON:
# {"work_order_pk", "label", "batch", "url", "steps": [steps still to run, in order]}
Chain = dict[str, Any]


def _where(task: Task) -> dict[str, Any]:
    return {"task_id": task.request.id, "worker": task.request.hostname}


def _start(task: Task, work_order_pk: int | None, order: dict[str, Any] | None) -> dict[str, Any]:
    settings = get_settings()
    work_order_pk, claimed = claim_delivery(task, settings, work_order_pk, order)
    if claimed is None:
        return {"duplicate": True, "work_order_pk": work_order_pk}
    chain: Chain = {"work_order_pk": work_order_pk, "label": f"{claimed.order_id}@{claimed.user}"}
    with work_order_context(chain["label"]):
        try:
            chain.update(_first_steps(settings, claimed))
        except Exception as error:  # noqa: BLE001  (recorded, then re-raised)
            # The batch or its url could not be found: the transfer step cannot start.
            try:
                with record_step(settings, work_order_pk, "transfer", **_where(task)):
                    raise
            finally:
                finish(settings, work_order_pk, WorkOrderState.FAILED, f"transfer: {error}")
        if not chain["steps"]:
            finish(settings, work_order_pk, WorkOrderState.SUCCEEDED, "every step had succeeded")
            return {"work_order_pk": work_order_pk, "batch": chain["batch"], "steps": []}
        _run_inline(task, settings, chain)
        _dispatch(task, settings, chain)
    return {"work_order_pk": work_order_pk, "batch": chain["batch"], "steps": chain["steps"]}


def _first_steps(settings: Settings, claimed: Claim) -> dict[str, Any]:
    """The batch, its url and the steps this order runs."""
    if claimed.request == "calibrate_file_batch":
        url = str(claimed.payload["url"])
        return {"batch": processor.batch_name_from_url(url), "url": url,
                "steps": list(processor.STEPS)}  # fmt: skip
    batch = str(claimed.payload["batch"])
    url, first = processor.resume_point(settings, batch, exclude_pk=claimed.pk)
    if claimed.request == "restart_file_batch":
        first = processor.STEPS[0]
    steps = [] if first is None else list(processor.STEPS[processor.STEPS.index(first) :])
    return {"batch": batch, "url": url, "steps": steps}


def _run_inline(task: Task, settings: Settings, chain: Chain) -> None:
    """Run the chain's leading ``transfer`` and ``ingest`` steps in this task; a failure
    stops the chain. The ingest reads the batch the transfer just verified rather than
    locating (and hashing) it again."""
    located: processor.LocatedBatch | None = None
    for step in ("transfer", "ingest"):
        if chain["steps"][0] != step:
            continue
        try:
            with record_step(settings, chain["work_order_pk"], step, **_where(task)) as record:
                if step == "transfer":
                    located, record.outputs = processor.transfer_batch(settings, chain["url"])
                else:
                    located = located or processor.locate_batch(settings, chain["url"])
                    record.outputs = processor.ingest_batch(settings, located)
        except Exception as error:
            _stop(task, settings, chain, step, error)
            raise
        chain["steps"].pop(0)


def _stop(task: Task, settings: Settings, chain: Chain, step: str, error: Exception) -> None:
    """End the chain after ``step`` failed: later steps recorded skipped, order failed."""
    pk = chain["work_order_pk"]
    for later in chain["steps"][chain["steps"].index(step) + 1 :]:
        record_skipped_step(
            settings, pk, later, f"{step} failed and the chain stopped", task_id=task.request.id
        )
    finish(settings, pk, WorkOrderState.FAILED, f"{step}: {str(error)[:500]}")


def _dispatch(task: Task, settings: Settings, chain: Chain) -> None:
    """Start the chain's next step with units, recording empty steps on the way; end the
    order when no step is left."""
    pk = chain["work_order_pk"]
    while chain["steps"]:
        step = chain["steps"][0]
        missing = astrometry.solver_missing(settings) if step == "astrometry" else None
        if missing is not None:
            # Said and recorded, not faked: resume_file_batch solves them once installed.
            astrometry.mark_skipped(settings, chain["batch"])
            record_skipped_step(settings, pk, step, missing, task_id=task.request.id)
            chain["steps"].pop(0)
            continue
        try:
            units = processor.units_of(settings, chain["batch"], chain["url"], step)
        except Exception as error:  # noqa: BLE001  (recorded, then re-raised)
            try:
                with record_step(settings, pk, step, **_where(task)):
                    raise
            finally:
                _stop(task, settings, chain, step, error)
        if units:
            header = [run_unit.s(unit).set(queue="processor") for unit in units]
            chord(header)(finish_step.s(chain).set(queue="processor"))
            log.info("step %s of batch %s: %d units dispatched", step, chain["batch"], len(units))
            return
        with record_step(settings, pk, step, **_where(task)) as record:
            record.outputs = {"units": 0, "note": f"no frames for {step} in the batch"}
        chain["steps"].pop(0)
    state = processor.end_state(settings, pk)
    reason = None if state is WorkOrderState.SUCCEEDED else _failed_steps(settings, pk)
    finish(settings, pk, state, reason)


def _failed_steps(settings: Settings, pk: int) -> str:
    with session_scope(settings.sqlalchemy_url) as session:
        runs = latest_runs(session, [pk])
        return "failed: " + ", ".join(s for s, r in runs.items() if r.state != "succeeded")


@shared_task(bind=True, name="observatory.processor.run_unit", ignore_result=False)
def run_unit(self: Task, unit: dict[str, Any]) -> dict[str, Any]:
    """One unit of a step; its outcome (outputs, or the error) goes to ``finish_step``."""
    return processor.unit_outcome(get_settings(), unit)


@shared_task(bind=True, name="observatory.processor.finish_step")
def finish_step(self: Task, outcomes: list[dict[str, Any]], chain: Chain) -> dict[str, Any]:
    """Record the step whose units ended, then dispatch the next step or end the order;
    raises StepFailed (after deciding what comes next) when a unit failed."""
    settings = get_settings()
    step, pk = chain["steps"][0], chain["work_order_pk"]
    with work_order_context(chain["label"]):
        try:
            with record_step(settings, pk, step, **_where(self)) as record:
                record.outputs = processor.gather(step, outcomes)
        except Exception as error:
            if processor.stop_on_failure(settings, step):
                _stop(self, settings, chain, step, error)
            else:
                _dispatch(self, settings, {**chain, "steps": chain["steps"][1:]})
            raise
        _dispatch(self, settings, {**chain, "steps": chain["steps"][1:]})
    return {"step": step, "units": len(outcomes)}


@shared_task(bind=True, name="observatory.processor.calibrate_file_batch")
def calibrate_file_batch(
    self: Task, work_order_pk: int | None = None, order: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Every step of the batch at the order's ``url``."""
    return _start(self, work_order_pk, order)


@shared_task(bind=True, name="observatory.processor.resume_file_batch")
def resume_file_batch(
    self: Task, work_order_pk: int | None = None, order: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The batch's steps from the first one that has not succeeded."""
    return _start(self, work_order_pk, order)


@shared_task(bind=True, name="observatory.processor.restart_file_batch")
def restart_file_batch(
    self: Task, work_order_pk: int | None = None, order: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Every step of the batch again."""
    return _start(self, work_order_pk, order)
