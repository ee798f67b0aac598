"""Orders whose messages the broker lost: processor chains that fell silent, found from SQL,
resumed once a silence and claimed only while still at the silent attempt; queued orders
whose message never came, published again, only in a quiet queue that is not held."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import update

from observatory.db.models import StepState, WorkOrder, WorkOrderState
from observatory.db.session import connection_scope, session_scope
from observatory.errors import PublishFailed
from observatory.intake import submit
from observatory.orders import stalls
from observatory.orders.hold import hold
from observatory.orders.lifecycle import claim, claim_in
from observatory.orders.listing import order_as_dict
from observatory.settings import Settings
from observatory.telescope.heartbeat import TELESCOPE_HEARTBEAT, write_heartbeat
from tests.unit.orders.test_lifecycle import add_run, runs
from tests.unit.test_intake import Broker, order, row

VISIBILITY_S = 120.0
# The visibility timeout, the broker's restore sweep (10 s) and the claim's margin.
LIMIT_S = VISIBILITY_S + 10.0 + stalls.CLAIM_MARGIN_S


@pytest.fixture
def settings(database_url: str, tmp_path) -> Settings:
    made = Settings(database_url=database_url, data_dir=tmp_path, visibility_timeout_s=VISIBILITY_S)
    assert stalls.silence_limit_s(made) == LIMIT_S
    return made


class Resumes:
    """A Resumer that records what it was asked to send, and can be made unreachable."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.down = False

    def __call__(
        self, *, work_order_pk: int, task_name: str, queue: str, priority: float, attempt: int
    ) -> str:
        if self.down:
            raise PublishFailed("connection refused")
        self.sent.append({"pk": work_order_pk, "task": task_name, "queue": queue,
                          "attempt": attempt})  # fmt: skip
        return f"resume-{len(self.sent)}"


def fields_of(settings: Settings, request: str, order_id: str) -> dict[str, Any]:
    if request == "calibrate_file_batch":
        folder = settings.batches_dir / f"20261206-{order_id}"
        folder.mkdir(parents=True, exist_ok=True)  # intake refuses a folder not here
        return {"url": str(folder)}
    return {"bias_count": 1} if request == "calibration_frames" else {}


def running(settings: Settings, request: str, order_id: str, silent_s: float) -> int:
    """A claimed order whose last sign of life was ``silent_s`` ago."""
    fields = fields_of(settings, request, order_id)
    pk = submit(settings, order(request, order_id, **fields), Broker()).pk
    assert claim(settings, pk) is not None
    set_progress(settings, pk, silent_s)
    return pk


def set_progress(settings: Settings, pk: int, silent_s: float) -> None:
    at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=silent_s)
    with connection_scope(settings.sqlalchemy_url) as connection:
        connection.execute(
            update(WorkOrder).where(WorkOrder.pk == pk).values(progressed_at=at, started_at=at)
        )


def test_a_processor_order_silent_beyond_the_visibility_timeout_is_silent(
    settings: Settings,
) -> None:
    lost = running(settings, "calibrate_file_batch", "lost", LIMIT_S + 5)
    found = stalls.silent_orders(settings)
    assert [(s.pk, s.attempt, s.task_name) for s in found] == [
        (lost, 1, "observatory.processor.calibrate_file_batch")
    ]
    assert (dt.datetime.now(dt.UTC) - found[0].last).total_seconds() >= LIMIT_S + 5
    set_progress(settings, lost, LIMIT_S - 5)
    assert stalls.silent_orders(settings) == []


def test_no_order_is_silent_while_another_processor_order_shows_life(
    settings: Settings,
) -> None:
    # Units wait in the queue behind a busy chain's: waiting is not silence.
    running(settings, "calibrate_file_batch", "waiting", LIMIT_S * 3)
    busy = running(settings, "calibrate_file_batch", "busy", 1.0)
    assert stalls.silent_orders(settings) == []
    set_progress(settings, busy, LIMIT_S + 1)
    assert len(stalls.silent_orders(settings)) == 2


def test_a_silent_order_of_any_queue_is_silent_and_a_queued_one_never(
    settings: Settings,
) -> None:
    dome = running(settings, "dome_status", "dome", LIMIT_S * 10)
    telescope = running(settings, "calibration_frames", "telescope", LIMIT_S * 10)
    queued = order(
        "calibrate_file_batch", "queued", **fields_of(settings, "calibrate_file_batch", "queued")
    )
    submit(settings, queued, Broker())
    silent = {s.pk: (s.queue, s.task_name) for s in stalls.silent_orders(settings)}
    assert silent == {
        dome: ("dome", "observatory.dome.status"),
        telescope: ("telescope", "observatory.telescope.calibration_frames"),
    }


def test_a_telescope_heartbeat_is_its_order_s_sign_of_life(settings: Settings) -> None:
    pk = running(settings, "calibration_frames", "observing", LIMIT_S * 10)
    write_heartbeat(settings, TELESCOPE_HEARTBEAT, {"work_order_pk": pk, "phase": "exposing"})
    assert stalls.silent_orders(settings) == []
    progressed = row(settings, pk).progressed_at
    assert progressed is not None and (dt.datetime.now(dt.UTC) - progressed).total_seconds() < 60
    # Operators read it in the order's report (HTTP API, observatory status ID).
    assert order_as_dict(row(settings, pk), [])["progressed_at"] == progressed.isoformat()


def test_a_silent_order_is_resumed_once_a_silence_with_its_attempt(settings: Settings) -> None:
    lost = running(settings, "calibrate_file_batch", "lost", LIMIT_S + 5)
    resumes = Resumes()
    resumes.down = True
    assert stalls.resume_silent(settings, resumes) == []  # tried again next pass
    resumes.down = False
    assert stalls.resume_silent(settings, resumes) == [lost]
    assert resumes.sent == [{"pk": lost, "task": "observatory.processor.calibrate_file_batch",
                             "queue": "processor", "attempt": 1}]  # fmt: skip
    stamped = row(settings, lost)
    assert stamped.state_reason is not None
    assert stamped.state_reason.startswith("resumed: attempt 1 showed no sign of life for 14")
    # Its sign of life is now: the next pass sends nothing until another silence.
    assert stalls.resume_silent(settings, resumes) == [] and len(resumes.sent) == 1


def test_a_resume_is_claimed_only_while_the_order_is_at_the_silent_attempt(
    settings: Settings,
) -> None:
    pk = running(settings, "calibrate_file_batch", "lost", LIMIT_S + 5)
    add_run(settings, pk, "transfer", StepState.SUCCEEDED)
    add_run(settings, pk, "ingest", StepState.RUNNING)
    # A plain second delivery of a running order does nothing.
    assert claim(settings, pk) is None
    resumed = claim(settings, pk, resume_attempt=1)
    assert resumed is not None and resumed.attempt == 2
    after = row(settings, pk)
    assert after.state == WorkOrderState.RUNNING and after.attempts == 2
    assert after.progressed_at is not None
    assert (dt.datetime.now(dt.UTC) - after.progressed_at).total_seconds() < 60
    ingest = runs(settings, pk)["ingest"]
    assert ingest[0] == StepState.FAILED
    assert ingest[2] == (
        "attempt 1 fell silent: its messages were lost; the reconciler resumed the order"
    )
    assert runs(settings, pk)["transfer"][0] == StepState.SUCCEEDED
    # A second resume of attempt 1 (two reconcilers, or a duplicate) does nothing.
    assert claim(settings, pk, resume_attempt=1) is None
    assert row(settings, pk).attempts == 2


def test_a_resume_of_an_ended_order_does_nothing(settings: Settings) -> None:
    pk = running(settings, "calibrate_file_batch", "ended", LIMIT_S + 5)
    with session_scope(settings.sqlalchemy_url) as session:
        session.get_one(WorkOrder, pk).state = WorkOrderState.SUCCEEDED
    with connection_scope(settings.sqlalchemy_url) as connection:
        assert claim_in(connection, settings, pk, resume_attempt=1) is None
    assert row(settings, pk).attempts == 1


def test_a_claim_stamps_the_sign_of_life_and_marks_are_written_once_an_interval(
    settings: Settings,
) -> None:
    pk = running(settings, "calibrate_file_batch", "marked", 0.0)
    set_progress(settings, pk, LIMIT_S * 2)
    stalls._marked.clear()
    stalls.mark_progress(settings, pk)
    first = row(settings, pk).progressed_at
    assert first is not None and (dt.datetime.now(dt.UTC) - first).total_seconds() < 60
    set_progress(settings, pk, LIMIT_S * 2)
    stalls.mark_progress(settings, pk)  # within the interval: not written
    kept = row(settings, pk).progressed_at
    assert kept is not None and (dt.datetime.now(dt.UTC) - kept).total_seconds() > LIMIT_S
    assert stalls.mark_interval_s(settings) == VISIBILITY_S / 8


def published(settings: Settings, order_id: str, request: str, ago_s: float) -> int:
    """A queued order whose message was published ``ago_s`` ago."""
    pk = submit(settings, order(request, order_id, **fields_of(settings, request, order_id)),
                Broker()).pk  # fmt: skip
    at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=ago_s)
    with connection_scope(settings.sqlalchemy_url) as connection:
        connection.execute(update(WorkOrder).where(WorkOrder.pk == pk).values(published_at=at))
    return pk


def test_a_queued_order_whose_message_never_came_is_published_again(settings: Settings) -> None:
    lost = published(settings, "lost", "dome_status", LIMIT_S + 5)
    recent = published(settings, "recent", "dome_status", LIMIT_S - 5)
    broker, resumes = Broker(), Resumes()
    assert stalls.unanswered_orders(settings) == [lost]
    recovered = stalls.recover(settings, broker, resumes)
    assert recovered == stalls.Recovered(resumed=[], republished=[lost])
    assert [m["pk"] for m in broker.sent] == [lost] and resumes.sent == []
    # Stamped again: not sent again until another silence.
    assert stalls.unanswered_orders(settings) == []
    assert row(settings, recent).state == WorkOrderState.QUEUED


def test_a_queued_order_waits_in_a_busy_or_held_queue(settings: Settings) -> None:
    waiting = published(settings, "waiting", "calibrate_file_batch", LIMIT_S * 3)
    busy = running(settings, "calibrate_file_batch", "busy", 1.0)
    published(settings, "dome", "dome_status", LIMIT_S * 3)
    hold(settings, "dome", by="ops", reason="wind")
    assert stalls.unanswered_orders(settings) == []
    set_progress(settings, busy, LIMIT_S + 1)
    assert stalls.unanswered_orders(settings) == [waiting]
