"""The processor's pipeline, declared once: what a file batch's order does next.

:func:`decide` is a pure function. Given an order's recorded state (:class:`Progress`:
the steps it runs, the latest run of each in this attempt, the units planned, the failure
policy, whether the plate solver is present and whether a cancel was asked) it answers
one :class:`Decision`: run a step here (:class:`RunInline`), plan a step's units
(:class:`Plan`), fan them out (:class:`FanOut`), record a step that has no work
(:class:`Settle`), wait for a step under way (:class:`Wait`), stop (:class:`Stop`) or
finish (:class:`Finish`). The Celery tasks and the tests act on the same answers.

A step whose units each feed one unit of the next step (:data:`FOLLOWERS`: a filter's
corrected flats its master flat, a calibrated light its plate solve) fans out with that
step as its follower: each unit's follower runs on the same worker as soon as the unit
ends, rather than once every unit of the step has ended. Both steps are still recorded,
in order. Only under the ``continue`` policy: under ``stop`` a failed unit must stop the
whole next step, so the next step waits for all of the first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from observatory.db.models import StepState, WorkOrderState
from observatory.errors import ConfigurationError

STEPS = ("transfer", "ingest", "bias", "dark", "flat_dark", "flat", "light", "astrometry")
# Run by the task that took the order, in one unit each; the other steps fan out.
INLINE_STEPS = ("transfer", "ingest")
# Steps whose failure leaves nothing to calibrate, whatever the policy.
PREREQUISITES = ("transfer", "ingest")
# A step -> the next step whose unit of each group needs only that group's unit.
FOLLOWERS = {"flat_dark": "flat", "light": "astrometry"}
POLICIES = ("continue", "stop")
REQUESTS = ("calibrate_file_batch", "resume_file_batch", "restart_file_batch")

Unit = dict[str, Any]


@dataclass(frozen=True)
class Progress:
    """An order's recorded state, as the driver needs it.

    ``runs`` holds the state of the latest run of each step in this attempt of the order
    (``errors`` their error texts); ``units`` the units planned so far, by step;
    ``solver_missing`` why plate solving cannot run here (None: it can); ``cancel`` who
    asked the order to cancel and why, as recorded on later steps and the order (None:
    no cancel was asked).
    """

    steps: tuple[str, ...]
    runs: Mapping[str, StepState] = field(default_factory=dict)
    policy: str = "continue"
    units: Mapping[str, Sequence[Unit]] = field(default_factory=dict)
    solver_missing: str | None = None
    cancel: str | None = None
    errors: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RunInline:
    """Run ``step`` (transfer or ingest) in this task and record it."""

    step: str


@dataclass(frozen=True)
class Plan:
    """Plan the units of ``step``, then ask again with them in ``Progress.units``."""

    step: str


@dataclass(frozen=True)
class FanOut:
    """Run these units of ``step`` anywhere, then record the step from their outcomes.
    With ``then`` (a follower, see :data:`FOLLOWERS`), each unit carries under ``"then"``
    the unit of that step for the same group, to run after it where it succeeded; the
    step ``then`` is recorded from those, after ``step``."""

    step: str
    units: tuple[Unit, ...]
    then: str | None = None


@dataclass(frozen=True)
class Settle:
    """Record ``step`` in ``state`` without work, with ``note`` (why), and ask again."""

    step: str
    state: StepState
    note: str


@dataclass(frozen=True)
class Wait:
    """``step`` is under way elsewhere: nothing to do until it is recorded."""

    step: str


@dataclass(frozen=True)
class Stop:
    """End the order in ``state`` with ``reason``, recording ``skipped`` as skipped with
    ``note``."""

    state: WorkOrderState
    reason: str
    skipped: tuple[str, ...]
    note: str


@dataclass(frozen=True)
class Finish:
    """Every step was recorded: end the order in ``state`` (``reason`` when not succeeded)."""

    state: WorkOrderState
    reason: str | None


Decision = RunInline | Plan | FanOut | Settle | Wait | Stop | Finish


def steps_to_run(request: str, earlier: Mapping[str, StepState]) -> tuple[str, ...]:
    """The steps an order runs: every step for ``calibrate_file_batch`` and
    ``restart_file_batch``; for ``resume_file_batch``, from the first step whose latest
    run over the batch's earlier orders (``earlier``) did not succeed (none: all did).
    Raises ConfigurationError for another request."""
    if request not in REQUESTS:
        raise ConfigurationError(f"{request!r} is not a processor request ({', '.join(REQUESTS)})")
    if request != "resume_file_batch":
        return STEPS
    return steps_left(STEPS, earlier)


def steps_left(steps: Sequence[str], earlier: Mapping[str, StepState]) -> tuple[str, ...]:
    """``steps`` from the first one whose latest run (``earlier``) did not succeed; none
    when all did."""
    for index, step in enumerate(steps):
        if earlier.get(step) != StepState.SUCCEEDED:
            return tuple(steps[index:])
    return ()


def decide(progress: Progress) -> Decision:
    """What the order does next (see the module docstring). Raises ConfigurationError
    for a policy other than ``continue`` or ``stop``."""
    if progress.policy not in POLICIES:
        raise ConfigurationError(
            f"processor.on_step_failure {progress.policy!r} is not continue|stop"
        )
    pending = [step for step in progress.steps if step not in progress.runs]
    for step in progress.steps:
        state = progress.runs.get(step)
        if state == StepState.RUNNING:
            # Its units finish first, even when a cancel was asked.
            return Wait(step)
        if state == StepState.FAILED and (progress.policy == "stop" or step in PREREQUISITES):
            error = progress.errors.get(step)
            return Stop(
                WorkOrderState.FAILED,
                f"{step}: {error[:500]}" if error else f"{step} failed",
                tuple(pending),
                f"{step} failed and the chain stopped",
            )
    if not pending:
        return Finish(*end_state(progress.runs))
    step = pending[0]
    if progress.cancel is not None:
        return Stop(WorkOrderState.CANCELLED, progress.cancel, tuple(pending), progress.cancel)
    return _next_work(progress, step)


def _next_work(progress: Progress, step: str) -> Decision:
    if step in INLINE_STEPS:
        return RunInline(step)
    if step == "astrometry" and progress.solver_missing is not None:
        # Said and recorded, not faked: resume_file_batch solves them once installed.
        return Settle(step, StepState.SKIPPED, progress.solver_missing)
    if step not in progress.units:
        return Plan(step)
    units = tuple(progress.units[step])
    if not units:
        return Settle(step, StepState.SUCCEEDED, f"no frames for {step} in the batch")
    then = _follower(progress, step)
    if then is None:
        return FanOut(step, units)
    return FanOut(step, tuple({**unit, "then": {**unit, "step": then}} for unit in units), then)


def _follower(progress: Progress, step: str) -> str | None:
    """The step to run unit by unit behind ``step``: its follower, when that is the next
    step to run, the policy is ``continue`` and (for astrometry) the solver is here."""
    then = FOLLOWERS.get(step)
    index = progress.steps.index(step)
    if then is None or progress.steps[index + 1 : index + 2] != (then,):
        return None
    if progress.policy != "continue" or then in progress.runs:
        return None
    if then == "astrometry" and progress.solver_missing is not None:
        return None
    return then


def end_state(runs: Mapping[str, StepState]) -> tuple[WorkOrderState, str | None]:
    """The order's end state and reason from its steps' latest runs: succeeded when each
    succeeded or was skipped; partial when some failed and a calibration step succeeded
    (the prerequisites did not fail); failed otherwise. The reason names failed steps."""
    failed = [step for step, state in runs.items() if state == StepState.FAILED]
    if not failed:
        return WorkOrderState.SUCCEEDED, None
    reason = "failed: " + ", ".join(failed)
    calibrated = [state for step, state in runs.items() if step not in PREREQUISITES]
    if StepState.SUCCEEDED in calibrated and not set(failed) & set(PREREQUISITES):
        return WorkOrderState.PARTIAL, reason
    return WorkOrderState.FAILED, reason
