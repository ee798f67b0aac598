"""A processor order asked to cancel stops after the units already running; its later
steps are recorded skipped with who cancelled and why, and the order ends cancelled."""

from __future__ import annotations

from sqlalchemy import func, select

from observatory.db.models import MasterFrame, StepRun, WorkOrder
from observatory.db.session import session_scope
from observatory.orders.cancel import cancel_pk
from observatory.processor import STEPS, unit_outcome
from observatory.processor.chain import Advanced, advance, finish_fan_out, open_chain
from observatory.settings import Settings
from tests.unit.processor.conftest import Night, batch_url, calibrate_order

WHERE = {"task_id": "test", "worker": "tests"}
REASON = "cancelled by ops: clouds"


def recorded(settings: Settings, pk: int) -> tuple[str, str | None, dict[str, tuple[str, str]]]:
    """The order's state and reason, and each step's state and error text."""
    with session_scope(settings.sqlalchemy_url) as session:
        order = session.get_one(WorkOrder, pk)
        runs = session.scalars(select(StepRun).where(StepRun.work_order_pk == pk))
        steps = {run.step: (str(run.state), run.error or "") for run in runs}
        return str(order.state), order.state_reason, steps


def masters(settings: Settings) -> int:
    with session_scope(settings.sqlalchemy_url) as session:
        return int(session.scalar(select(func.count()).select_from(MasterFrame)) or 0)


def test_a_cancel_lets_the_running_units_finish_and_skips_the_later_steps(
    settings: Settings, night: Night
) -> None:
    url = batch_url(settings, "20261123-observation-21", [*night.bias[:3], *night.darks[:3]])
    claimed = calibrate_order(settings, url)
    chain = open_chain(settings, claimed)
    fan_out = advance(settings, chain, WHERE).fan_out
    assert fan_out is not None and fan_out.step == "bias"
    running = [unit_outcome(settings, unit) for unit in fan_out.units]
    cancel_pk(settings, claimed.pk, by="ops", reason="clouds")
    assert finish_fan_out(settings, chain, "bias", running, WHERE) == Advanced(None, None)
    state, reason, steps = recorded(settings, claimed.pk)
    assert (state, reason) == ("cancelled", REASON)
    assert steps == {
        "transfer": ("succeeded", ""),
        "ingest": ("succeeded", ""),
        "bias": ("succeeded", ""),
        **dict.fromkeys(STEPS[3:], ("skipped", REASON)),
    }
    assert masters(settings) == 1  # the bias made before the cancel is kept


def test_units_not_yet_started_do_not_run(settings: Settings, night: Night) -> None:
    url = batch_url(settings, "20261123-observation-22", night.bias[:3])
    claimed = calibrate_order(settings, url)
    chain = open_chain(settings, claimed)
    fan_out = advance(settings, chain, WHERE).fan_out
    assert fan_out is not None
    cancel_pk(settings, claimed.pk, by="ops", reason="clouds")
    outcomes = [unit_outcome(settings, unit) for unit in fan_out.units]
    assert outcomes == [
        {
            "label": "binning 2, 1024x1024 px, rows top-down",  # the telescope's frames
            "ok": False,
            "cancelled": True,
            "error": f"not run: {REASON}",
        }
    ]
    finish_fan_out(settings, chain, "bias", outcomes, WHERE)
    state, _, steps = recorded(settings, claimed.pk)
    assert state == "cancelled" and masters(settings) == 0
    assert steps["bias"] == ("skipped", "cancelled with 0 of 1 units run")
    assert steps["astrometry"] == ("skipped", REASON)


def test_a_cancel_after_the_claim_and_before_the_first_step_runs_no_step(
    settings: Settings, night: Night
) -> None:
    url = batch_url(settings, "20261123-observation-23", night.bias[:3])
    claimed = calibrate_order(settings, url)
    cancel_pk(settings, claimed.pk, by="ops", reason="clouds")
    assert advance(settings, open_chain(settings, claimed), WHERE) == Advanced(None, None)
    state, _, steps = recorded(settings, claimed.pk)
    assert state == "cancelled"
    assert steps == dict.fromkeys(STEPS, ("skipped", REASON))
