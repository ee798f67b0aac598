"""A step with a follower (a light and its plate solve, a filter's corrected flats and its
master flat): each unit's follower runs right after it, both steps are recorded in order,
and a follower whose unit failed is a failed unit naming why. A step of one unit runs
where the chain is advanced."""

from __future__ import annotations

from sqlalchemy import select

from observatory.db.models import StepRun
from observatory.db.session import session_scope
from observatory.errors import StepFailed
from observatory.orders.cancel import cancel_pk
from observatory.processor import unit_outcome
from observatory.processor.chain import advance, finish_fan_out, open_chain, run_single_units
from observatory.settings import Settings
from tests.unit.processor.conftest import Night, batch_url, calibrate_order, run_chain

WHERE = {"task_id": "test", "worker": "tests"}


def recorded(settings: Settings) -> list[tuple[str, str, str]]:
    """Every step run in the order written: step, state, error text."""
    with session_scope(settings.sqlalchemy_url) as session:
        runs = session.scalars(select(StepRun).order_by(StepRun.pk))
        return [(run.step, str(run.state), run.error or "") for run in runs]


def test_a_light_that_fails_leaves_its_plate_solve_failed_naming_why(
    settings: Settings, night: Night
) -> None:
    url = batch_url(settings, "20261123-observation-31", night.lights[:2])
    outcomes = run_chain(settings, url, ("light", "astrometry"))
    assert [o["ok"] for o in outcomes["light"]] == [False, False]
    for light, solve in zip(outcomes["light"], outcomes["astrometry"], strict=True):
        assert solve["label"] == light["label"] and not solve["ok"]
        assert solve["error"].startswith("not run: its light unit failed (MasterFrameMissing")
    steps = [(step, state) for step, state, _ in recorded(settings)]
    assert steps[2:] == [("light", "failed"), ("astrometry", "failed")]
    assert "2 of 2 units failed" in recorded(settings)[3][2]


def test_corrected_flats_and_their_master_are_recorded_in_order(
    settings: Settings, night: Night
) -> None:
    frames = [*night.bias[:3], *night.darks[:3], *night.flats]
    url = batch_url(settings, "20261123-calibration_frames-32", frames)
    # The flats' dark is the batch's, scaled: flat_dark follows the dark step, not beside it.
    outcomes = run_chain(settings, url, ("bias", "dark", "flat_dark", "flat"))
    (corrected,) = outcomes["flat_dark"]
    (master,) = outcomes["flat"]
    assert corrected["ok"] and master["ok"], (corrected, master)
    assert master["outputs"]["path"].endswith(".fits")
    steps = [(step, state) for step, state, _ in recorded(settings)]
    assert steps[2:] == [(step, "succeeded") for step in ("bias", "dark", "flat_dark", "flat")]


def test_a_cancel_before_the_units_run_skips_the_step_and_its_follower(
    settings: Settings, night: Night
) -> None:
    url = batch_url(settings, "20261123-observation-33", night.lights[:1])
    claimed = calibrate_order(settings, url)
    chain = open_chain(settings, claimed)
    chain["steps"] = ["transfer", "ingest", "light", "astrometry"]
    fan_out = advance(settings, chain, WHERE).fan_out
    assert fan_out is not None and (fan_out.step, fan_out.then) == ("light", "astrometry")
    cancel_pk(settings, claimed.pk, by="ops", reason="clouds")
    outcomes = [unit_outcome(settings, unit) for unit in fan_out.units]
    assert outcomes[0]["then"]["cancelled"]
    finish_fan_out(settings, chain, "light", outcomes, WHERE, fan_out.then)
    note = "cancelled with 0 of 1 units run"
    assert recorded(settings)[2:] == [("light", "skipped", note), ("astrometry", "skipped", note)]


def test_steps_of_one_unit_run_here_until_a_step_fans_out_wider(
    settings: Settings, night: Night
) -> None:
    url = batch_url(settings, "20261123-observation-34", [*night.bias[:1], *night.lights[:2]])
    chain = open_chain(settings, calibrate_order(settings, url))
    advanced = advance(settings, chain, WHERE)
    assert advanced.fan_out is not None and advanced.fan_out.step == "bias"
    left = run_single_units(settings, chain, advanced, WHERE)
    # The one bias group failed (too few frames): recorded, carried, and the chain went on.
    assert isinstance(left.error, StepFailed) and "bias" in str(left.error)
    assert left.fan_out is not None and (left.fan_out.step, len(left.fan_out.units)) == ("light", 2)
    assert [(step, state) for step, state, _ in recorded(settings)] == [
        ("transfer", "succeeded"), ("ingest", "succeeded"), ("bias", "failed"),
        ("dark", "succeeded"), ("flat_dark", "succeeded"), ("flat", "succeeded"),
    ]  # fmt: skip
