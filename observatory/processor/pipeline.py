"""The work of the processor's steps and its bookkeeping.

The order of the steps and what follows a failure are the driver's
(:mod:`observatory.processor.driver`). Here: ``transfer`` (the batch made readable
here), the units of the other steps (see :mod:`observatory.processor.plan`) run and
gathered into a step's outputs, and the batch's earlier orders for a resume.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from observatory.db.models import StepRun, StepState, WorkOrder
from observatory.db.retry import retry_unavailable
from observatory.db.session import read_scope
from observatory.errors import ObservatoryError, StepFailed
from observatory.orders.cancel import cancel_request
from observatory.orders.stalls import mark_progress
from observatory.processor.astrometry import solve_unit
from observatory.processor.lights import calibrate_light_unit
from observatory.processor.locate import LocatedBatch, locate_batch
from observatory.processor.plan import plan_units
from observatory.processor.stacks import correct_flats, stack_bias, stack_dark, stack_flat
from observatory.settings import Settings

UNIT_RUNNERS: dict[str, Callable[[Settings, dict[str, Any]], dict[str, Any]]] = {
    "bias": stack_bias,
    "dark": stack_dark,
    "flat_dark": correct_flats,
    "flat": stack_flat,
    "light": calibrate_light_unit,
    "astrometry": solve_unit,
}


def units_of(settings: Settings, batch: str, url: str, step: str) -> list[dict[str, Any]]:
    """The independent units of a unit step for the batch."""
    with read_scope(settings.sqlalchemy_url) as session:
        return plan_units(session, batch, url, step)


def run_unit(settings: Settings, unit: dict[str, Any]) -> dict[str, Any]:
    """Run one unit; returns its outputs, raises what the step's work raises."""
    return UNIT_RUNNERS[unit["step"]](settings, unit)


def unit_outcome(settings: Settings, unit: dict[str, Any]) -> dict[str, Any]:
    """Run one unit and describe what happened as JSON, for the step that gathers its
    units: ``{"label", "ok": True, "outputs"}`` or ``{"label", "ok": False, "error",
    "traceback"}``. The error is not dropped: :func:`gather` raises it for the step.
    A unit of an order (``work_order_pk``) asked to cancel before it starts does not run:
    ``{"label", "ok": False, "cancelled": True, "error"}``. A unit with a follower
    (``"then"``, see :data:`observatory.processor.driver.FOLLOWERS`) runs it next, when
    it succeeded, and carries its outcome under ``"then"``; when it failed, the follower
    is a failed unit too, its error naming the unit it needed."""
    outcome = _one_outcome(settings, unit)
    follower = unit.get("then")
    if follower is None:
        return outcome
    if outcome["ok"]:
        return {**outcome, "then": _one_outcome(settings, follower)}
    if outcome.get("cancelled"):
        return {**outcome, "then": {**outcome}}
    error = f"not run: its {unit['step']} unit failed ({outcome['error']})"
    return {**outcome, "then": {"label": follower["label"], "ok": False, "error": error,
                                "traceback": outcome["traceback"]}}  # fmt: skip


def _one_outcome(settings: Settings, unit: dict[str, Any]) -> dict[str, Any]:
    pk = unit.get("work_order_pk")
    what = f"unit {unit['label']} of step {unit['step']}"
    # Through a database outage, tried again (a unit is safe to run again).
    request = None
    if pk is not None:
        # A sign of life of the order's chain (observatory.orders.stalls).
        retry_unavailable(what, partial(mark_progress, settings, int(pk)))
        request = retry_unavailable(what, partial(cancel_request, settings, int(pk)))
    if request is not None:
        return {"label": unit["label"], "ok": False, "cancelled": True,
                "error": f"not run: {request.describe()}"}  # fmt: skip
    try:
        outputs = retry_unavailable(what, partial(run_unit, settings, unit))
        return {"label": unit["label"], "ok": True, "outputs": outputs}
    except Exception as error:  # noqa: BLE001  (carried to gather(), which raises it)
        return {"label": unit["label"], "ok": False, "error": f"{type(error).__name__}: {error}",
                "traceback": "".join(traceback.format_exception(error))}  # fmt: skip


def gather(step: str, outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    """The step's outputs from its units' outcomes; raises StepFailed naming every unit
    that failed and why when any did (their tracebacks in its ``details``)."""
    failed = [o for o in outcomes if not o["ok"]]
    if failed:
        lines = [f"{o['label']}: {o['error']}" for o in failed]
        traces = "\n".join(o["traceback"] for o in failed)
        raise StepFailed(
            f"{step}: {len(failed)} of {len(outcomes)} units failed:\n" + "\n".join(lines),
            f"Unit tracebacks:\n{traces}",
        )
    return {"units": len(outcomes), "results": {o["label"]: o["outputs"] for o in outcomes}}


def latest_runs(session: Session, order_pks: list[int]) -> dict[str, StepRun]:
    """The most recent run of each step over the given orders."""
    runs = session.scalars(
        select(StepRun).where(StepRun.work_order_pk.in_(order_pks)).order_by(StepRun.pk)
    )
    return {run.step: run for run in runs}


def batch_orders(session: Session, batch: str) -> list[WorkOrder]:
    """The batch's latest calibrate order and the resume/restart orders after it, found
    by the indexed ``batch`` column set at receipt (no stored url is parsed)."""
    latest = session.scalars(
        select(WorkOrder)
        .where(WorkOrder.batch == batch, WorkOrder.request == "calibrate_file_batch")
        .order_by(WorkOrder.pk.desc())
        .limit(1)
    ).one_or_none()
    if latest is None:
        raise ObservatoryError(f"no calibrate_file_batch order names batch {batch!r}")
    followers = session.scalars(
        select(WorkOrder)
        .where(
            WorkOrder.batch == batch,
            WorkOrder.request.in_(["resume_file_batch", "restart_file_batch"]),
            WorkOrder.pk > latest.pk,
        )
        .order_by(WorkOrder.pk)
    )
    return [latest, *followers]


def earlier_runs(
    settings: Settings, batch: str, exclude_pk: int
) -> tuple[str, dict[str, StepState]]:
    """The batch's url and the state of each step's latest run over its latest calibrate
    order and the resumes after it, leaving out the order ``exclude_pk``."""
    with read_scope(settings.sqlalchemy_url) as session:
        orders = [o for o in batch_orders(session, batch) if o.pk != exclude_pk]
        runs = latest_runs(session, [o.pk for o in orders])
        return str(orders[0].payload["url"]), {step: run.state for step, run in runs.items()}


def transfer_batch(settings: Settings, url: str) -> tuple[LocatedBatch, dict[str, Any]]:
    """The ``transfer`` step: the batch made readable here; returns it and the outputs."""
    located = locate_batch(settings, url)
    outputs = {"batch": located.name, "folder": str(located.folder), "url": url,
               "bytes_fetched": located.bytes_fetched,
               "files": len((located.manifest or {}).get("files", [])),
               "ignored_count": len(located.ignored),
               "manifest_computed": bool((located.manifest or {}).get("computed"))}  # fmt: skip
    if located.manifest is not None and located.manifest.get("complete") is False:
        outputs["interrupted"] = located.manifest.get("interrupted")
    return located, outputs
