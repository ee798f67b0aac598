"""run_work_order: claim, record the step, finish; a failure recorded, told and raised."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from email.header import decode_header, make_header

import pytest
from sqlalchemy import Connection, select
from sqlalchemy.exc import OperationalError

import tasks.common as common
from observatory.db import retry
from observatory.db.models import StepRun, StepState, WorkOrder, WorkOrderState
from observatory.db.session import connection_scope, session_scope
from observatory.errors import ObservatoryError, WorkOrderInvalid
from observatory.intake import submit
from observatory.orders.cancel import CANCELLED_OUTPUT
from observatory.orders.lifecycle import Claim
from observatory.settings import Settings
from tasks.common import claim_delivery
from tests.helpers import wait_for
from tests.unit.tasks.conftest import ADMIN, Deliver
from tests.unit.test_intake import Broker, order


class ShutterJammed(RuntimeError):
    pass


def stored(settings: Settings, pk: int) -> tuple[WorkOrder, list[StepRun]]:
    with session_scope(settings.sqlalchemy_url) as session:
        row = session.get_one(WorkOrder, pk)
        runs = list(
            session.scalars(select(StepRun).where(StepRun.work_order_pk == pk).order_by(StepRun.pk))
        )
        session.expunge_all()
        return row, runs


def queued(settings: Settings, order_id: str = "1") -> int:
    return submit(settings, order("dome_status", order_id), Broker()).pk


def test_success_records_the_step_and_ends_the_order_succeeded(
    settings: Settings, deliver: Deliver
) -> None:
    pk = queued(settings)
    seen: list[Claim] = []

    def action(claim: Claim) -> dict:
        seen.append(claim)
        return {"azimuth_deg": 12.5}

    assert deliver(action, pk) == {"azimuth_deg": 12.5}
    row, [run] = stored(settings, pk)
    assert [claim.pk for claim in seen] == [pk] and seen[0].attempt == 1
    assert row.state == WorkOrderState.SUCCEEDED and row.finished_at is not None
    assert row.state_reason is None and row.started_at is not None
    assert run.step == "dome_status" and run.state == StepState.SUCCEEDED
    assert run.outputs == {"azimuth_deg": 12.5} and run.attempt == 1
    assert run.task_id == "task-1" and run.worker == "dome@test"
    assert run.started_at is not None and run.ended_at is not None


def test_an_action_returning_nothing_records_empty_outputs(
    settings: Settings, deliver: Deliver
) -> None:
    pk = queued(settings)
    assert deliver(lambda _: None, pk) == {}
    _, [run] = stored(settings, pk)
    assert run.outputs == {}


def test_a_failing_action_is_recorded_told_and_raised_unchanged(
    settings: Settings, deliver: Deliver, smtp_server
) -> None:
    _, _, mailbox = smtp_server
    before = len(mailbox.messages)
    pk = queued(settings)
    jam = ShutterJammed("shutter motor stalled")

    def action(_: Claim) -> dict:
        raise jam

    with pytest.raises(ShutterJammed) as raised:
        deliver(action, pk, step="open_dome")
    assert raised.value is jam
    row, [run] = stored(settings, pk)
    assert row.state == WorkOrderState.FAILED
    assert row.state_reason == "open_dome: shutter motor stalled"
    assert run.state == StepState.FAILED and run.ended_at is not None
    assert run.error == "ShutterJammed: shutter motor stalled"
    assert "Traceback" in (run.traceback or "") and "shutter motor stalled" in run.traceback
    mail = wait_for(lambda: mailbox.messages[before:], 10, message="the admins' email")
    assert ADMIN in mail[0]["To"] and "open_dome" in mail[0]["Subject"]
    assert "'1'" in mail[0].get_payload() and "attempt 1" in mail[0].get_payload()


def test_the_end_state_of_a_failure_is_the_caller_s(settings: Settings, deliver: Deliver) -> None:
    pk = queued(settings)

    def action(_: Claim) -> dict:
        raise ShutterJammed("clouds")

    with pytest.raises(ShutterJammed):
        deliver(action, pk, end_state=lambda error: WorkOrderState.PARTIAL)
    row, _ = stored(settings, pk)
    assert row.state == WorkOrderState.PARTIAL and row.state_reason == "dome_status: clouds"


def test_a_duplicate_delivery_does_nothing(settings: Settings, deliver: Deliver) -> None:
    pk = queued(settings)
    calls: list[int] = []
    deliver(lambda claim: calls.append(claim.pk), pk)
    assert deliver(lambda claim: calls.append(claim.pk), pk) == {
        "duplicate": True,
        "work_order_pk": pk,
    }
    _, runs = stored(settings, pk)
    assert calls == [pk] and len(runs) == 1


def test_a_redelivered_running_order_resumes_as_a_new_attempt(
    settings: Settings, deliver: Deliver
) -> None:
    pk = queued(settings)

    def dies(_: Claim) -> dict:
        # The worker is lost mid-step: the order stays running, its step run open.
        raise SystemExit

    with pytest.raises(SystemExit):
        deliver(dies, pk)
    row, [run] = stored(settings, pk)
    assert row.state == WorkOrderState.RUNNING and run.state == StepState.RUNNING
    # Not redelivered: another delivery of a running order does nothing.
    assert deliver(lambda _: {"ran": True}, pk)["duplicate"]
    attempts: list[int] = []
    assert deliver(lambda claim: attempts.append(claim.attempt), pk, redelivered=True) == {}
    row, runs = stored(settings, pk)
    assert attempts == [2] and row.state == WorkOrderState.SUCCEEDED and row.attempts == 2
    assert [(r.attempt, r.state) for r in runs] == [(1, "failed"), (2, "succeeded")]
    assert "worker lost" in (runs[0].error or "")


def test_a_resume_from_the_reconciler_runs_the_silent_attempt_again_once(
    settings: Settings, deliver: Deliver
) -> None:
    pk = queued(settings)

    def dies(_: Claim) -> dict:
        raise SystemExit  # the worker is lost, and the broker lost its message

    with pytest.raises(SystemExit):
        deliver(dies, pk)
    attempts: list[int] = []
    # A resume of another attempt than the one that fell silent does nothing.
    assert deliver(lambda claim: attempts.append(claim.attempt), pk, resume_attempt=2)["duplicate"]
    assert deliver(lambda claim: attempts.append(claim.attempt), pk, resume_attempt=1) == {}
    assert deliver(lambda claim: attempts.append(claim.attempt), pk, resume_attempt=1)["duplicate"]
    row, runs = stored(settings, pk)
    assert attempts == [2] and row.state == WorkOrderState.SUCCEEDED and row.attempts == 2
    assert [(r.attempt, r.state) for r in runs] == [(1, "failed"), (2, "succeeded")]
    assert "attempt 1 fell silent" in (runs[0].error or "")


def test_an_order_sent_whole_by_another_program_is_stored_and_run(
    settings: Settings, deliver: Deliver
) -> None:
    result = deliver(lambda claim: {"order_id": claim.order_id}, order=order("dome_status", "f1"))
    assert result == {"order_id": "f1"}
    with session_scope(settings.sqlalchemy_url) as session:
        row = session.scalars(select(WorkOrder).where(WorkOrder.order_id == "f1")).one()
        assert row.state == WorkOrderState.SUCCEEDED and row.published_at is not None


def test_an_order_sent_to_the_wrong_task_is_refused(settings: Settings, deliver: Deliver) -> None:
    with pytest.raises(WorkOrderInvalid, match=r"observatory\.dome\.open, not observatory\.dome"):
        deliver(lambda _: {}, order=order("dome_open", "f2"))


@pytest.mark.parametrize("both", [True, False])
def test_exactly_one_of_pk_and_order(settings: Settings, deliver: Deliver, both: bool) -> None:
    pk = queued(settings) if both else None
    data = order("dome_status", "f3") if both else None
    with pytest.raises(ObservatoryError, match="exactly one of work_order_pk and order"):
        deliver(lambda _: {}, pk, data)


def test_an_action_that_stopped_on_a_cancel_request_ends_the_order_cancelled(
    settings: Settings, deliver: Deliver
) -> None:
    pk = queued(settings)
    outputs = deliver(lambda _: {CANCELLED_OUTPUT: "withdrawn by the PI", "frames": 3}, pk)
    assert outputs["frames"] == 3
    row, [run] = stored(settings, pk)
    assert row.state == WorkOrderState.CANCELLED
    assert row.state_reason == "dome_status: withdrawn by the PI"
    assert run.state == StepState.SUCCEEDED and run.outputs == outputs


def test_the_end_state_is_chosen_from_the_error_raised(
    settings: Settings, deliver: Deliver
) -> None:
    def by_error(error: Exception) -> WorkOrderState:
        return WorkOrderState.PARTIAL if isinstance(error, ShutterJammed) else WorkOrderState.FAILED

    jammed, broken = queued(settings, "a"), queued(settings, "b")
    for pk, error in ((jammed, ShutterJammed("jam")), (broken, ValueError("bad"))):

        def action(_: Claim, error: Exception = error) -> dict:
            raise error

        with pytest.raises(type(error)):
            deliver(action, pk, end_state=by_error)
    assert stored(settings, jammed)[0].state == WorkOrderState.PARTIAL
    assert stored(settings, broken)[0].state == WorkOrderState.FAILED


def test_the_failure_record_and_email_carry_the_error_and_its_traceback(
    settings: Settings, deliver: Deliver, smtp_server
) -> None:
    _, _, mailbox = smtp_server
    before = len(mailbox.messages)
    pk = queued(settings, "tb")

    def action(_: Claim) -> dict:
        raise ShutterJammed("x" * 200)

    with pytest.raises(ShutterJammed):
        deliver(action, pk, step="open_dome")
    _, [run] = stored(settings, pk)
    assert (run.traceback or "").startswith("Traceback (most recent call last):\n  File ")
    assert run.traceback.endswith(f"ShutterJammed: {'x' * 200}\n")
    [mail] = wait_for(lambda: mailbox.messages[before:], 10, message="the admins' email")
    # The subject carries the first 120 characters of the error.
    error_text = f"ShutterJammed: {'x' * 200}"
    subject = str(make_header(decode_header(mail["Subject"])))
    assert subject.endswith(f"step open_dome failed: {error_text[:120]}")
    body = mail.get_payload(decode=True).decode().replace("\r\n", "\n")
    assert (
        "Step 'open_dome' (attempt 1) of work order 'tb' (dome_status, user 'Main Module')" in body
    )
    assert run.traceback.strip() in body


def test_neither_or_both_of_pk_and_order_is_refused_with_one_line(
    settings: Settings, deliver: Deliver
) -> None:
    with pytest.raises(ObservatoryError, match=r"^give exactly one of work_order_pk and order$"):
        deliver(lambda _: {})


def test_claim_delivery_claims_once_and_adopts_a_whole_order(
    settings: Settings, celery_task
) -> None:
    pk = queued(settings, "cd")
    celery_task.push_request(id="t", hostname="h", delivery_info={"redelivered": False})
    try:
        first = claim_delivery(celery_task, settings, pk, None)
        again = claim_delivery(celery_task, settings, pk, None)
        adopted_pk, adopted = claim_delivery(
            celery_task, settings, None, order("dome_status", "whole")
        )
        one_line = r"^give exactly one of work_order_pk and order$"
        with pytest.raises(ObservatoryError, match=one_line):
            claim_delivery(celery_task, settings, pk, order("dome_status", "both"))
    finally:
        celery_task.pop_request()
    assert first[0] == pk and first[1] is not None and first[1].attempt == 1
    assert again == (pk, None)
    assert adopted is not None and adopted.order_id == "whole" and adopted.pk == adopted_pk


def test_claim_delivery_resumes_a_running_order_only_when_redelivered(
    settings: Settings, celery_task
) -> None:
    pk = queued(settings, "rd")
    for redelivered, expected_attempt in ((False, 1), (False, None), (True, 2)):
        celery_task.push_request(id="t", hostname="h", delivery_info={"redelivered": redelivered})
        try:
            _, claimed = claim_delivery(celery_task, settings, pk, None)
        finally:
            celery_task.pop_request()
        assert (claimed.attempt if claimed else None) == expected_attempt


class CutAnswers:
    """Stands in for ``connection_scope``: the transactions numbered in ``cut`` (1 first)
    raise the error of a database gone away, after their commit (``after_commit``: the
    answer was lost) or instead of it."""

    def __init__(self, cut: set[int], after_commit: bool) -> None:
        self.cut = cut
        self.after_commit = after_commit
        self.count = 0

    @contextmanager
    def __call__(self, url: str | None = None) -> Iterator[Connection]:
        self.count += 1
        gone = OperationalError("COMMIT", {}, sqlite3.OperationalError("database is locked"))
        with connection_scope(url) as connection:
            yield connection
            if self.count in self.cut and not self.after_commit:
                raise gone
        if self.count in self.cut:
            raise gone


@pytest.mark.parametrize("after_commit", [False, True])
def test_a_claim_cut_by_a_database_outage_runs_the_order_once(
    settings: Settings, deliver: Deliver, monkeypatch: pytest.MonkeyPatch, after_commit: bool
) -> None:
    monkeypatch.setattr(retry, "FIRST_DELAY_S", 0.01)
    monkeypatch.setattr(common, "connection_scope", CutAnswers({1}, after_commit))
    pk = queued(settings)
    runs: list[Claim] = []
    assert deliver(lambda claim: runs.append(claim) or {"ok": 1}, pk) == {"ok": 1}
    row, [run] = stored(settings, pk)
    assert len(runs) == 1 and runs[0].attempt == 1 and row.attempts == 1
    assert row.state == WorkOrderState.SUCCEEDED and run.state == StepState.SUCCEEDED


@pytest.mark.parametrize("after_commit", [False, True])
def test_the_end_of_an_order_waits_out_a_database_outage(
    settings: Settings, deliver: Deliver, monkeypatch: pytest.MonkeyPatch, after_commit: bool
) -> None:
    monkeypatch.setattr(retry, "FIRST_DELAY_S", 0.01)
    monkeypatch.setattr(common, "connection_scope", CutAnswers({2, 3}, after_commit))
    pk = queued(settings)
    assert deliver(lambda _: {"ok": 1}, pk) == {"ok": 1}
    row, [run] = stored(settings, pk)
    assert row.state == WorkOrderState.SUCCEEDED and run.outputs == {"ok": 1}


@pytest.mark.parametrize("after_commit", [False, True])
def test_the_failure_of_an_order_is_recorded_once_through_a_database_outage(
    settings: Settings, deliver: Deliver, monkeypatch: pytest.MonkeyPatch, after_commit: bool
) -> None:
    monkeypatch.setattr(retry, "FIRST_DELAY_S", 0.01)
    monkeypatch.setattr(common, "connection_scope", CutAnswers({2}, after_commit))
    pk = queued(settings)

    def jammed(_: Claim) -> dict:
        raise ShutterJammed("stuck at 40%")

    with pytest.raises(ShutterJammed):
        deliver(jammed, pk)
    row, [run] = stored(settings, pk)
    assert row.state == WorkOrderState.FAILED and run.state == StepState.FAILED
    assert run.error == "ShutterJammed: stuck at 40%"


@pytest.mark.parametrize("redelivered", [False, True])
def test_claim_delivery_finds_its_own_claim_after_a_lost_answer(
    settings: Settings, celery_task, monkeypatch: pytest.MonkeyPatch, redelivered: bool
) -> None:
    pk = queued(settings, "lost-answer")
    if redelivered:  # a running order whose worker died: the resume is the claim
        claim_delivery_once(celery_task, settings, pk, redelivered=False)
    monkeypatch.setattr(retry, "FIRST_DELAY_S", 0.01)
    monkeypatch.setattr(common, "connection_scope", CutAnswers({1}, after_commit=True))
    claimed = claim_delivery_once(celery_task, settings, pk, redelivered=redelivered)
    monkeypatch.undo()
    row, _ = stored(settings, pk)
    assert claimed is not None and claimed.attempt == row.attempts == (2 if redelivered else 1)
    assert row.state == WorkOrderState.RUNNING


def claim_delivery_once(
    celery_task, settings: Settings, pk: int, redelivered: bool
) -> Claim | None:
    celery_task.push_request(id="t", hostname="h", delivery_info={"redelivered": redelivered})
    try:
        return claim_delivery(celery_task, settings, pk, None)[1]
    finally:
        celery_task.pop_request()
