"""An order's chain of steps, advanced by the driver's answers.

The Celery tasks and the tests share this loop: :func:`start` opens the chain of a
claimed order and :func:`advance` acts on :func:`observatory.processor.driver.decide`
until the answer is a fan-out (returned, for the caller to run its units anywhere and
then call :func:`finish_fan_out` with their outcomes, which record the step and its
follower, if any), a wait, or the order's end. A step that fails is
recorded (and the admins told) where it fails; the first such error of a call is
returned in :class:`Advanced` for the caller to raise once it has acted.

A chain is JSON, carried by the messages: ``{"work_order_pk", "attempt", "label",
"batch", "url", "steps", "since_run_pk"}``; ``since_run_pk`` is the last step run recorded
for the order before this attempt. A resumed attempt (a worker died, or the reconciler
found the chain silent: :mod:`observatory.orders.stalls`) goes on from the first step its
earlier attempts did not finish; the messages of the attempt it replaced, should any
still arrive, find the order at another attempt and do nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from observatory.db.models import StepRun, StepState, WorkOrder, WorkOrderState
from observatory.db.retry import retry_unavailable
from observatory.db.session import read_scope
from observatory.errors import ObservatoryError
from observatory.orders.cancel import CancelRequest
from observatory.orders.lifecycle import Claim, finish
from observatory.processor import astrometry, driver
from observatory.processor.ingest import ingest_batch
from observatory.processor.locate import LocatedBatch, batch_name_from_url, locate_batch
from observatory.processor.pipeline import (
    earlier_runs,
    gather,
    latest_runs,
    transfer_batch,
    unit_outcome,
    units_of,
)
from observatory.settings import Settings
from observatory.steps import record_skipped_step, record_step

log = logging.getLogger(__name__)

Chain = dict[str, Any]


@dataclass(frozen=True)
class Advanced:
    """Where a call left the chain: units to run elsewhere (``fan_out``) or None when the
    chain waits or ended; the first step failure on the way, for the caller to raise."""

    fan_out: driver.FanOut | None
    error: Exception | None


def start(settings: Settings, claimed: Claim, where: dict[str, Any]) -> tuple[Chain, Advanced]:
    """Open the chain of a claimed order and advance it. When its batch or url cannot be
    found, the ``transfer`` step is recorded failed and the order ends failed."""
    pk = claimed.pk
    try:
        chain = open_chain(settings, claimed)
    except Exception as error:  # noqa: BLE001  (recorded, then returned to be raised)
        _record_failure(settings, pk, "transfer", where, error)
        finish(settings, pk, WorkOrderState.FAILED, f"transfer: {str(error)[:500]}")
        chain = {"work_order_pk": pk, "label": f"{claimed.order_id}@{claimed.user}",
                 "batch": None, "url": None, "steps": [], "since_run_pk": 0}  # fmt: skip
        return chain, Advanced(None, error)
    return chain, advance(settings, chain, where)


def open_chain(settings: Settings, claimed: Claim) -> Chain:
    """The chain of a claimed order: its batch, url and the steps it runs
    (:func:`driver.steps_to_run`). Raises ObservatoryError when a resumed batch has no
    calibrate order, and what locating the url raises."""
    with read_scope(settings.sqlalchemy_url) as session:
        since = session.scalar(
            select(func.max(StepRun.pk)).where(StepRun.work_order_pk == claimed.pk)
        )
        # A resumed attempt does not run again what an earlier one finished.
        own = latest_runs(session, [claimed.pk]) if claimed.attempt > 1 else {}
    if claimed.request == "calibrate_file_batch":
        url = str(claimed.payload["url"])
        batch, earlier = batch_name_from_url(url), dict[str, StepState]()
    else:
        batch = str(claimed.payload["batch"])
        url, earlier = earlier_runs(settings, batch, exclude_pk=claimed.pk)
    steps = driver.steps_to_run(claimed.request, earlier)
    if own:
        steps = driver.steps_left(steps, {step: run.state for step, run in own.items()})
    label = f"{claimed.order_id}@{claimed.user}"
    return {"work_order_pk": claimed.pk, "attempt": claimed.attempt, "label": label,
            "batch": batch, "url": url, "steps": list(steps),
            "since_run_pk": since or 0}  # fmt: skip


def is_current(settings: Settings, chain: Chain) -> bool:
    """Whether the chain is its order's running attempt (see the module docstring); a
    chain from before attempts were carried counts as current."""
    if chain.get("attempt") is None:
        return True
    with read_scope(settings.sqlalchemy_url) as session:
        order = session.get_one(WorkOrder, chain["work_order_pk"])
        return order.state == WorkOrderState.RUNNING and order.attempts == chain["attempt"]


def progress(
    settings: Settings, chain: Chain, units: dict[str, list[driver.Unit]]
) -> driver.Progress:
    """The chain's recorded state, read from SQL, with the units planned so far."""
    with read_scope(settings.sqlalchemy_url) as session:
        runs = session.scalars(
            select(StepRun)
            .where(
                StepRun.work_order_pk == chain["work_order_pk"],
                StepRun.pk > chain["since_run_pk"],
            )
            .order_by(StepRun.pk)
        )
        latest = {run.step: (run.state, run.error) for run in runs}
        cancel = cancel_asked(session, chain["work_order_pk"])
    pending = [step for step in chain["steps"] if step not in latest]
    # Astrometry next, or behind the light step as its follower.
    solve_next = "astrometry" in pending[:2]
    return driver.Progress(
        steps=tuple(chain["steps"]),
        runs={step: StepState(state) for step, (state, _) in latest.items()},
        errors={step: error for step, (_, error) in latest.items() if error},
        policy=settings.processor.on_step_failure,
        units=units,
        # Asked only then: it looks for the solver's files.
        solver_missing=astrometry.solver_missing(settings) if solve_next else None,
        cancel=cancel,
    )


def cancel_asked(session: Session, work_order_pk: int) -> str | None:
    """Who asked the order to cancel and why ("cancelled by ops: clouds"), or None when
    no one did: the processor's one reading of the request that
    :mod:`observatory.orders.cancel` records on the order."""
    order = session.get_one(WorkOrder, work_order_pk)
    if order.cancel_requested_at is None:
        return None
    by, reason = order.cancelled_by or "", order.cancel_reason
    return CancelRequest(order.cancel_requested_at, by, reason).describe()


def advance(
    settings: Settings, chain: Chain, where: dict[str, Any], error: Exception | None = None
) -> Advanced:
    """Act on the driver's answers until a fan-out, a wait or the order's end (see the
    module docstring); ``error`` is a failure the caller already recorded."""
    pk = chain["work_order_pk"]
    units: dict[str, list[driver.Unit]] = {}
    located: LocatedBatch | None = None
    previous: driver.Decision | None = None
    while True:
        decision = driver.decide(progress(settings, chain, units))
        if decision == previous:
            # Nothing was recorded for the last answer: asking again would spin.
            raise error or ObservatoryError(f"the chain made no progress at {decision}")
        previous = decision
        match decision:
            case driver.RunInline(step):
                try:
                    located = _run_inline(settings, chain, step, located, where)
                except Exception as failed:  # noqa: BLE001  (recorded; returned to be raised)
                    error = error or failed
            case driver.Plan(step):
                try:
                    units[step] = units_of(settings, chain["batch"], chain["url"], step)
                except Exception as failed:  # noqa: BLE001  (recorded; returned to be raised)
                    _record_failure(settings, pk, step, where, failed)
                    error = error or failed
            case driver.Settle(step, state, note):
                _settle(settings, chain, decision, where)
            case driver.FanOut(step, planned, then):
                tagged = tuple(_tagged(unit, pk) for unit in planned)
                return Advanced(driver.FanOut(step, tagged, then), error)
            case driver.Wait():
                return Advanced(None, error)
            case driver.Stop(state, reason, skipped, note):
                for later in skipped:
                    record_skipped_step(settings, pk, later, note, task_id=where.get("task_id"))
                finish(settings, pk, state, reason)
                return Advanced(None, error)
            case driver.Finish(state, reason):
                finish(settings, pk, state, reason)
                return Advanced(None, error)


def finish_fan_out(
    settings: Settings,
    chain: Chain,
    step: str,
    outcomes: list[dict[str, Any]],
    where: dict[str, Any],
    then: str | None = None,
) -> Advanced:
    """Record ``step`` from its units' outcomes (see :func:`pipeline.gather`), then its
    follower ``then`` (if any) from the outcomes they carry, then advance the chain.
    Units not run because the order was asked to cancel leave a step skipped, unless
    another unit failed. A chain that is no longer its order's attempt records nothing."""
    if not is_current(settings, chain):
        log.warning("%s: step %s of attempt %s ended after the order was resumed; not recorded",
                    chain["label"], step, chain["attempt"])  # fmt: skip
        return Advanced(None, None)
    error = _record_outcomes(settings, chain, step, outcomes, where)
    if then is not None:
        followers = [outcome["then"] for outcome in outcomes]
        followed = _record_outcomes(settings, chain, then, followers, where)
        error = error or followed
    return advance(settings, chain, where, error)


def _record_outcomes(
    settings: Settings,
    chain: Chain,
    step: str,
    outcomes: list[dict[str, Any]],
    where: dict[str, Any],
) -> Exception | None:
    """Record ``step`` from its units' outcomes; returns its failure (recorded, the
    admins told), or None."""
    pk = chain["work_order_pk"]
    not_run = [o for o in outcomes if o.get("cancelled")]
    ran = [o for o in outcomes if not o.get("cancelled")]
    if not_run and all(o["ok"] for o in ran):
        note = f"cancelled with {len(ran)} of {len(outcomes)} units run"
        record_skipped_step(settings, pk, step, note, task_id=where.get("task_id"))
        return None
    try:
        with record_step(settings, pk, step, **where) as record:
            record.outputs = gather(step, ran)
    except Exception as failed:  # noqa: BLE001  (recorded; returned to be raised)
        return failed
    return None


def _tagged(unit: driver.Unit, work_order_pk: int) -> driver.Unit:
    """The unit (and its follower) tagged with its order, whose cancel it checks."""
    tagged = {**unit, "work_order_pk": work_order_pk}
    if "then" in unit:
        tagged["then"] = _tagged(unit["then"], work_order_pk)
    return tagged


def run_single_units(
    settings: Settings, chain: Chain, advanced: Advanced, where: dict[str, Any]
) -> Advanced:
    """Run here each fan-out of one unit (and its follower), record it and advance, until
    the chain fans out wider, waits or ends: sent elsewhere, one unit would gain no
    parallelism and pay a round trip through the broker and a callback. Returns where
    the chain was left, with the first step failure met since ``advanced``."""
    error = advanced.error
    while advanced.fan_out is not None and len(advanced.fan_out.units) == 1:
        fan_out = advanced.fan_out
        outcomes = [unit_outcome(settings, fan_out.units[0])]
        # Through a database outage, tried again, as the task recording a chord's step.
        advanced = retry_unavailable(
            f"recording step {fan_out.step} of batch {chain['batch']}",
            partial(finish_fan_out, settings, chain, fan_out.step, outcomes, where, fan_out.then),
        )
        error = error or advanced.error
    return Advanced(advanced.fan_out, error)


def _run_inline(
    settings: Settings, chain: Chain, step: str, located: LocatedBatch | None, where: dict[str, Any]
) -> LocatedBatch:
    """Run ``transfer`` or ``ingest`` here; the ingest reads the batch the transfer just
    verified rather than locating (and hashing) it again."""
    with record_step(settings, chain["work_order_pk"], step, **where) as record:
        if step == "transfer":
            located, record.outputs = transfer_batch(settings, chain["url"])
        else:
            located = located or locate_batch(settings, chain["url"])
            record.outputs = ingest_batch(settings, located)
    assert located is not None
    return located


def _settle(settings: Settings, chain: Chain, settle: driver.Settle, where: dict[str, Any]) -> None:
    pk = chain["work_order_pk"]
    if settle.state == StepState.SKIPPED:
        if settle.step == "astrometry":
            astrometry.mark_skipped(settings, chain["batch"])
        record_skipped_step(settings, pk, settle.step, settle.note, task_id=where.get("task_id"))
        return
    with record_step(settings, pk, settle.step, **where) as record:
        record.outputs = {"units": 0, "note": settle.note}


def _record_failure(
    settings: Settings, pk: int, step: str, where: dict[str, Any], error: Exception
) -> None:
    """Put an error raised outside :func:`record_step` on the step's record (the admins
    are told); the caller raises it."""
    try:
        with record_step(settings, pk, step, **where):
            raise error
    except Exception as recorded:
        if recorded is not error:
            raise
