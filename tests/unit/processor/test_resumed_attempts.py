"""A processor order resumed as a new attempt (its worker died, or its chain fell silent
and the reconciler resumed it) goes on from the first step its earlier attempts did not
finish, and what the replaced attempt still sends is not recorded."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from observatory.db.models import StepRun, WorkOrder
from observatory.db.session import session_scope
from observatory.orders import stalls
from observatory.orders.lifecycle import claim
from observatory.processor import STEPS, unit_outcome
from observatory.processor.chain import Advanced, advance, finish_fan_out, open_chain
from observatory.settings import Settings
from tests.unit.processor.conftest import Night, batch_url, calibrate_order

WHERE = {"task_id": "test", "worker": "tests"}


def step_runs(settings: Settings, pk: int) -> list[tuple[str, str]]:
    with session_scope(settings.sqlalchemy_url) as session:
        runs = session.scalars(
            select(StepRun).where(StepRun.work_order_pk == pk).order_by(StepRun.pk)
        )
        return [(run.step, str(run.state)) for run in runs]


def test_a_resumed_attempt_goes_on_where_the_silent_one_stopped(
    settings: Settings, night: Night
) -> None:
    url = batch_url(settings, "20261123-observation-31", [*night.bias[:3], *night.darks[:3]])
    first = calibrate_order(settings, url)
    chain = open_chain(settings, first)
    assert chain["attempt"] == 1 and chain["steps"] == list(STEPS)
    fan_out = advance(settings, chain, WHERE).fan_out
    assert fan_out is not None and fan_out.step == "bias"
    ran = [unit_outcome(settings, unit) for unit in fan_out.units]
    # The bias units' chord is lost with the broker; the reconciler resumes attempt 1.
    second = claim(settings, first.pk, resume_attempt=1)
    assert second is not None and second.attempt == 2
    resumed = open_chain(settings, second)
    assert resumed["attempt"] == 2 and resumed["steps"] == list(STEPS[2:])
    # The lost chord's callback, should it still come, records nothing.
    assert finish_fan_out(settings, chain, "bias", ran, WHERE) == Advanced(None, None)
    assert step_runs(settings, first.pk) == [("transfer", "succeeded"), ("ingest", "succeeded")]
    resumed["steps"] = ["bias", "dark"]
    fan_out = advance(settings, resumed, WHERE).fan_out
    while fan_out is not None:
        ran = [unit_outcome(settings, unit) for unit in fan_out.units]
        fan_out = finish_fan_out(settings, resumed, fan_out.step, ran, WHERE, fan_out.then).fan_out
    assert step_runs(settings, first.pk) == [
        ("transfer", "succeeded"), ("ingest", "succeeded"),
        ("bias", "succeeded"), ("dark", "succeeded"),
    ]  # fmt: skip
    with session_scope(settings.sqlalchemy_url) as session:
        order = session.get_one(WorkOrder, first.pk)
        assert (str(order.state), order.attempts) == ("succeeded", 2)


def test_a_unit_that_starts_is_its_order_s_sign_of_life(settings: Settings, night: Night) -> None:
    url = batch_url(settings, "20261123-observation-33", night.bias[:3])
    claimed = calibrate_order(settings, url)
    fan_out = advance(settings, open_chain(settings, claimed), WHERE).fan_out
    assert fan_out is not None
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=5)
    with session_scope(settings.sqlalchemy_url) as session:
        session.get_one(WorkOrder, claimed.pk).progressed_at = long_ago
    stalls._marked.clear()
    unit_outcome(settings, fan_out.units[0])
    with session_scope(settings.sqlalchemy_url) as session:
        progressed = session.get_one(WorkOrder, claimed.pk).progressed_at
    assert progressed is not None and progressed > long_ago + dt.timedelta(hours=4)
