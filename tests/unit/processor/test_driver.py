"""The processor's driver as a pure function: every answer from a recorded state."""

from __future__ import annotations

from typing import Any

import pytest

from observatory.db.models import StepState, WorkOrderState
from observatory.errors import ConfigurationError
from observatory.processor.driver import (
    FOLLOWERS,
    PREREQUISITES,
    STEPS,
    FanOut,
    Finish,
    Plan,
    Progress,
    RunInline,
    Settle,
    Stop,
    Wait,
    decide,
    end_state,
    steps_to_run,
)

OK, FAILED, SKIPPED, RUNNING = (
    StepState.SUCCEEDED,
    StepState.FAILED,
    StepState.SKIPPED,
    StepState.RUNNING,
)
UNIT_STEPS = STEPS[2:]


def unit(step: str, label: str = "one") -> dict[str, Any]:
    return {"step": step, "batch": "b", "url": "file:///b", "group": {}, "label": label}


def fanned(step: str) -> FanOut:
    """The fan-out of ``step``'s one planned unit, with its follower under ``continue``."""
    then = FOLLOWERS.get(step)
    if then is None:
        return FanOut(step, (unit(step),))
    return FanOut(step, ({**unit(step), "then": unit(then)},), then)


def planned(*empty: str) -> dict[str, list[dict[str, Any]]]:
    """Units for every unit step: one each, none for ``empty``."""
    return {step: [] if step in empty else [unit(step)] for step in UNIT_STEPS}


def until(step: str, state: StepState = OK) -> dict[str, StepState]:
    """Every step before ``step`` succeeded, ``step`` itself in ``state``."""
    index = STEPS.index(step)
    return {**dict.fromkeys(STEPS[:index], OK), step: state}


def test_the_steps_come_in_order_inline_then_planned_then_fanned_out() -> None:
    assert decide(Progress(STEPS)) == RunInline("transfer")
    assert decide(Progress(STEPS, until("transfer"))) == RunInline("ingest")
    assert decide(Progress(STEPS, until("ingest"))) == Plan("bias")
    answer = decide(Progress(STEPS, until("ingest"), units=planned()))
    assert answer == FanOut("bias", (unit("bias"),))
    assert decide(Progress(STEPS, until("light"), units=planned())) == FanOut(
        "astrometry", (unit("astrometry"),)
    )
    assert decide(Progress(STEPS, until("astrometry"))) == Finish(WorkOrderState.SUCCEEDED, None)


def test_a_step_without_units_is_settled_as_succeeded_with_a_note() -> None:
    answer = decide(Progress(STEPS, until("bias"), units=planned("dark")))
    assert answer == Settle("dark", OK, "no frames for dark in the batch")


def test_a_step_under_way_is_waited_for_even_when_a_cancel_was_asked() -> None:
    assert decide(Progress(STEPS, until("flat", RUNNING))) == Wait("flat")
    assert decide(Progress(STEPS, until("flat", RUNNING), cancel="dome maintenance")) == Wait(
        "flat"
    )


def test_astrometry_is_skipped_with_the_reason_when_the_solver_is_absent() -> None:
    progress = Progress(STEPS, until("light"), units=planned(), solver_missing="no solve-field")
    assert decide(progress) == Settle("astrometry", SKIPPED, "no solve-field")
    ended = Progress(STEPS, {**until("light"), "astrometry": SKIPPED})
    assert decide(ended) == Finish(WorkOrderState.SUCCEEDED, None)


@pytest.mark.parametrize("step", STEPS)
def test_every_failing_step_under_the_stop_policy_ends_the_order_failed(step: str) -> None:
    progress = Progress(STEPS, until(step, FAILED), policy="stop", errors={step: "broken"})
    later = STEPS[STEPS.index(step) + 1 :]
    answer = decide(progress)
    assert answer == Stop(
        WorkOrderState.FAILED, f"{step}: broken", later, f"{step} failed and the chain stopped"
    )


@pytest.mark.parametrize("step", STEPS)
def test_every_failing_step_under_the_continue_policy(step: str) -> None:
    """A prerequisite's failure stops the chain; any other step's goes on to the next,
    and the order ends partial (failed when no calibration step succeeded)."""
    runs = until(step, FAILED)
    answer = decide(Progress(STEPS, runs, policy="continue", units=planned()))
    index = STEPS.index(step)
    if step in PREREQUISITES:
        assert isinstance(answer, Stop) and answer.state is WorkOrderState.FAILED
        assert answer.skipped == STEPS[index + 1 :] and answer.reason == f"{step} failed"
        return
    if step == "astrometry":
        assert answer == Finish(WorkOrderState.PARTIAL, "failed: astrometry")
        return
    assert answer == fanned(STEPS[index + 1])
    rest = dict.fromkeys(STEPS[index + 1 :], OK)
    assert decide(Progress(STEPS, {**runs, **rest})) == Finish(
        WorkOrderState.PARTIAL, f"failed: {step}"
    )


def test_a_step_fans_out_with_its_follower_unit_by_unit_under_continue() -> None:
    flats = decide(Progress(STEPS, until("dark"), units=planned()))
    assert flats == FanOut("flat_dark", ({**unit("flat_dark"), "then": unit("flat")},), then="flat")
    lights = decide(Progress(STEPS, until("flat"), units=planned()))
    assert lights == FanOut("light", ({**unit("light"), "then": unit("astrometry")},), "astrometry")
    # Once both are recorded (the follower after its step) the order goes on.
    assert decide(Progress(STEPS, until("astrometry"))) == Finish(WorkOrderState.SUCCEEDED, None)


def test_under_stop_a_step_waits_for_every_unit_of_the_one_before() -> None:
    answer = decide(Progress(STEPS, until("dark"), policy="stop", units=planned()))
    assert answer == FanOut("flat_dark", (unit("flat_dark"),))


def test_no_follower_when_it_is_not_the_next_step_or_cannot_run_here() -> None:
    # A resume that starts at the flat runs it alone (its flat_dark is not in this order).
    resumed = steps_to_run("resume_file_batch", until("flat", FAILED))
    assert decide(Progress(resumed, units=planned())) == FanOut("flat", (unit("flat"),))
    assert decide(Progress(("light",), units=planned())) == FanOut("light", (unit("light"),))
    # Without the solver the lights are calibrated alone, and astrometry skipped after.
    missing = Progress(STEPS, until("flat"), units=planned(), solver_missing="no solve-field")
    assert decide(missing) == FanOut("light", (unit("light"),))


def test_every_calibration_step_failing_ends_the_order_failed() -> None:
    runs = {**until("ingest"), **dict.fromkeys(UNIT_STEPS, FAILED)}
    assert decide(Progress(STEPS, runs)) == Finish(
        WorkOrderState.FAILED, "failed: " + ", ".join(UNIT_STEPS)
    )


def test_an_unknown_policy_is_refused_naming_it() -> None:
    with pytest.raises(ConfigurationError, match=r"'pause' is not continue\|stop"):
        decide(Progress(STEPS, policy="pause"))


def test_a_cancel_stops_before_the_next_step_and_skips_the_rest() -> None:
    note = "cancelled by ops: clouds"
    answer = decide(Progress(STEPS, until("dark"), units=planned(), cancel=note))
    assert answer == Stop(WorkOrderState.CANCELLED, note, STEPS[4:], note)
    # Asked before anything ran, the order does nothing at all.
    assert decide(Progress(STEPS, cancel="withdrawn")).skipped == STEPS
    # A cancel after the last step changes nothing: the order ends as its steps say.
    assert decide(Progress(STEPS, until("astrometry"), cancel="late")) == Finish(
        WorkOrderState.SUCCEEDED, None
    )


def test_a_failure_under_stop_wins_over_a_cancel() -> None:
    answer = decide(Progress(STEPS, until("bias", FAILED), policy="stop", cancel="ops"))
    assert isinstance(answer, Stop) and answer.state is WorkOrderState.FAILED


def test_no_steps_to_run_finishes_at_once() -> None:
    assert decide(Progress(())) == Finish(WorkOrderState.SUCCEEDED, None)


def test_a_resume_starts_at_the_first_step_that_did_not_succeed() -> None:
    assert steps_to_run("resume_file_batch", until("bias", FAILED)) == UNIT_STEPS
    assert steps_to_run("resume_file_batch", until("light", SKIPPED)) == ("light", "astrometry")
    assert steps_to_run("resume_file_batch", {}) == STEPS
    assert steps_to_run("resume_file_batch", dict.fromkeys(STEPS, OK)) == ()
    # A resume records only its own steps: the driver starts it at the first of them.
    assert decide(Progress(UNIT_STEPS, units=planned())) == FanOut("bias", (unit("bias"),))


def test_calibrate_and_restart_run_every_step_whatever_ran_before() -> None:
    assert steps_to_run("calibrate_file_batch", {}) == STEPS
    assert steps_to_run("restart_file_batch", dict.fromkeys(STEPS, OK)) == STEPS
    with pytest.raises(ConfigurationError, match="'observe' is not a processor request"):
        steps_to_run("observe", {})


def test_end_state_reads_the_latest_runs() -> None:
    assert end_state({"transfer": FAILED}) == (WorkOrderState.FAILED, "failed: transfer")
    assert end_state({**until("ingest", FAILED), "bias": OK}) == (
        WorkOrderState.FAILED,
        "failed: ingest",
    )
    assert end_state(dict.fromkeys(STEPS, SKIPPED)) == (WorkOrderState.SUCCEEDED, None)


def test_an_unknown_request_is_refused_listing_the_processor_requests() -> None:
    with pytest.raises(ConfigurationError) as refused:
        steps_to_run("observe", {})
    assert str(refused.value) == (
        "'observe' is not a processor request "
        "(calibrate_file_batch, resume_file_batch, restart_file_batch)"
    )


def test_a_failed_step_s_error_is_cut_to_500_characters_in_the_order_s_reason() -> None:
    error = "x" * 499 + "yz"
    runs = until("bias", FAILED)
    answer = decide(Progress(STEPS, runs, policy="stop", errors={"bias": error}))
    assert isinstance(answer, Stop) and answer.reason == "bias: " + "x" * 499 + "y"
