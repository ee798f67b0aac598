"""Claiming, resuming, finding a claim again, finishing and cancelling, read back from SQL."""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

import pytest
from sqlalchemy import select

from observatory.db.models import StepRun, StepState, WorkOrderState
from observatory.db.session import connection_scope, session_scope
from observatory.errors import WorkOrderNotFound
from observatory.intake import submit
from observatory.orders.hold import hold
from observatory.orders.lifecycle import cancel, claim, claim_in, claimed_at, finish
from observatory.orders.states import transition_in
from observatory.settings import ClockSettings, Settings
from tests.unit.test_intake import Broker, order, row

AT = dt.datetime(2026, 12, 6, 21, 0, tzinfo=dt.UTC)
LOST = "worker lost: the message was redelivered to another worker"
EVENING = dt.datetime(2026, 11, 23, 20, 0, tzinfo=dt.UTC)  # dark at the default site
HOUR = dt.timedelta(hours=1)
LOGGER = "observatory.orders.lifecycle"


@pytest.fixture
def settings(database_url: str, tmp_path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path)


def queued(settings: Settings, order_id: str) -> int:
    return submit(settings, order("dome_status", order_id), Broker()).pk


def claimed(settings: Settings, order_id: str, at: dt.datetime = AT) -> int:
    pk = queued(settings, order_id)
    with connection_scope(settings.sqlalchemy_url) as connection:
        assert claim_in(connection, settings, pk, at=at) is not None
    return pk


def add_run(settings: Settings, pk: int, step: str, state: StepState) -> None:
    with session_scope(settings.sqlalchemy_url) as session:
        session.add(StepRun(work_order_pk=pk, step=step, attempt=1, state=state, started_at=AT))


def runs(
    settings: Settings, pk: int
) -> dict[str, tuple[StepState, dt.datetime | None, str | None]]:
    with session_scope(settings.sqlalchemy_url) as session:
        found = session.scalars(select(StepRun).where(StepRun.work_order_pk == pk))
        return {run.step: (run.state, run.ended_at, run.error) for run in found}


@pytest.fixture
def evening(database_url: str, tmp_path) -> Settings:
    """Settings whose civil clock stands still at EVENING (a billionth of real time)."""
    clock = ClockSettings(start_utc=EVENING, epoch_unix_s=time.time(), time_scale=1e-9)
    return Settings(database_url=database_url, data_dir=tmp_path, clock=clock)


def observation(order_id: str, **fields: Any) -> dict[str, Any]:
    # A position up all night at the default site, and exposures: the intake accepts it.
    return order(
        "observation",
        order_id,
        datetime="2026-11-23T20:00:00",
        ra=10.0,
        dec=85.0,
        exposures=[{"filter": "R", "exposure_s": 1.0}],
        **fields,
    )


def logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == LOGGER]


def find(settings: Settings, pk: int, at: dt.datetime):
    with connection_scope(settings.sqlalchemy_url) as connection:
        return claimed_at(connection, pk, at)


def test_a_claim_is_found_again_by_its_instant(settings: Settings) -> None:
    pk = claimed(settings, "found")
    again = find(settings, pk, AT)
    assert again is not None
    assert (again.pk, again.order_id, again.user, again.attempt) == (pk, "found", "Main Module", 1)


def test_a_claim_made_at_another_instant_is_another_delivery_s(settings: Settings) -> None:
    pk = claimed(settings, "other")
    assert find(settings, pk, AT + dt.timedelta(microseconds=1)) is None


def test_a_claim_is_not_found_on_another_order_claimed_at_the_same_instant(
    settings: Settings,
) -> None:
    claimed(settings, "first")
    waiting = queued(settings, "second")
    assert find(settings, waiting, AT) is None


def test_an_order_that_ended_at_the_claim_s_instant_is_not_claimed_again(
    settings: Settings,
) -> None:
    pk = claimed(settings, "ended")
    with connection_scope(settings.sqlalchemy_url) as connection:
        transition_in(connection, pk, WorkOrderState.SUCCEEDED, now=AT)
    assert find(settings, pk, AT) is None


def test_a_resume_fails_only_the_lost_attempt_s_running_steps_of_its_own_order(
    settings: Settings,
) -> None:
    lost, other = claimed(settings, "lost"), claimed(settings, "other")
    add_run(settings, lost, "bias", StepState.SUCCEEDED)
    add_run(settings, lost, "dark", StepState.RUNNING)
    add_run(settings, other, "dark", StepState.RUNNING)
    resume_at = AT + dt.timedelta(minutes=5)
    with connection_scope(settings.sqlalchemy_url) as connection:
        resumed = claim_in(connection, settings, lost, redelivered=True, at=resume_at)
    assert resumed is not None and (resumed.pk, resumed.attempt) == (lost, 2)
    assert runs(settings, lost) == {
        "bias": (StepState.SUCCEEDED, None, None),
        "dark": (StepState.FAILED, resume_at, LOST),
    }
    assert runs(settings, other) == {"dark": (StepState.RUNNING, None, None)}


def test_finish_records_the_end_state_and_its_reason(settings: Settings) -> None:
    pk = queued(settings, "finish")
    assert claim(settings, pk) is not None
    finish(settings, pk, WorkOrderState.FAILED, "open_dome: shutter motor stalled")
    stored = row(settings, pk)
    assert stored.state == WorkOrderState.FAILED
    assert stored.state_reason == "open_dome: shutter motor stalled"


def test_cancelling_an_unknown_order_names_its_pk(settings: Settings) -> None:
    with pytest.raises(WorkOrderNotFound, match=r"^no work order with pk 424242$"):
        cancel(settings, 424242, "nobody's")


def test_a_claim_carries_the_stored_order(settings: Settings) -> None:
    pk = submit(settings, order("dome_set_azimuth", "carried", azimuth_deg=120.0), Broker()).pk
    taken = claim(settings, pk)
    assert taken is not None
    assert (taken.pk, taken.order_id, taken.user, taken.request) == (
        pk,
        "carried",
        "Main Module",
        "dome_set_azimuth",
    )
    assert taken.payload == row(settings, pk).payload
    assert taken.payload["azimuth_deg"] == 120.0


def test_a_delivery_of_a_held_queue_waits_saying_who_held_it_and_why(settings: Settings) -> None:
    other = queued(settings, "other")
    pk = queued(settings, "held")
    held = hold(settings, "dome", by="ops", reason="shutter maintenance")
    assert claim(settings, pk) is None
    stored = row(settings, pk)
    assert (stored.state, stored.published_at) == (WorkOrderState.QUEUED, None)
    since = f"{held.held_at:%H:%M:%S}"
    assert (
        stored.state_reason
        == f"waiting: queue dome held by ops since {since} UTC: shutter maintenance"
    )
    # Only this delivery's order goes back to unpublished.
    assert row(settings, other).published_at is not None


def test_claiming_in_a_transaction_resumes_a_running_order_only_when_told_it_was_redelivered(
    settings: Settings,
) -> None:
    pk = claimed(settings, "running")
    with connection_scope(settings.sqlalchemy_url) as connection:
        assert claim_in(connection, settings, pk) is None
    assert row(settings, pk).attempts == 1


def test_claiming_an_unknown_order_names_its_pk(settings: Settings) -> None:
    with (
        connection_scope(settings.sqlalchemy_url) as connection,
        pytest.raises(WorkOrderNotFound, match=r"^no work order with pk 424242$"),
    ):
        claim_in(connection, settings, 424242)


def test_an_observation_within_its_window_and_up_starts(evening: Settings) -> None:
    data = observation("up", not_after=(EVENING + HOUR).isoformat())
    pk = submit(evening, data, Broker()).pk
    taken = claim(evening, pk)
    assert taken is not None and taken.pk == pk
    assert row(evening, pk).state == WorkOrderState.RUNNING


def test_an_expired_delivery_cancels_only_its_own_order(evening: Settings) -> None:
    other = queued(evening, "other")
    window = {"not_before": (EVENING - 2 * HOUR).isoformat(), "not_after": EVENING.isoformat()}
    pk = submit(evening, observation("late", **window), Broker()).pk
    assert claim(evening, pk) is None
    assert row(evening, pk).state == WorkOrderState.CANCELLED
    untouched = row(evening, other)
    assert untouched.state == WorkOrderState.QUEUED and untouched.published_at is not None
    assert untouched.state_reason is None


def test_a_delivery_says_in_the_log_why_it_does_not_run_or_runs_again(
    settings: Settings, evening: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """The worker's log is where an operator sees what became of each delivery."""
    caplog.set_level(logging.INFO, logger=LOGGER)
    pk = claimed(settings, "twice")
    assert find(settings, pk, AT) is not None
    assert claim(settings, pk) is None
    assert claim(settings, pk, redelivered=True) is not None
    held = queued(settings, "held")
    stop = hold(settings, "dome", by="ops", reason="maintenance")
    assert claim(settings, held) is None
    not_before = (EVENING + HOUR).isoformat()
    early = submit(evening, observation("early", not_before=not_before), Broker()).pk
    assert claim(evening, early) is None
    assert logged(caplog) == [
        f"work order {pk}: the claim of this delivery was committed; going on",
        f"work order {pk} is running; this delivery does nothing",
        f"work order {pk} resumed after a lost worker (attempt 2)",
        f"work order {held} not started: {stop.describe()}",
        f"work order {early} not started (defer): not_before {not_before} is ahead",
    ]
