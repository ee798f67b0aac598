"""run_work_order: claim, record the step, finish; a failure recorded, told and raised."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from observatory.db.models import StepRun, StepState, WorkOrder, WorkOrderState
from observatory.db.session import session_scope
from observatory.errors import ObservatoryError, WorkOrderInvalid
from observatory.intake import submit
from observatory.orders.lifecycle import Claim
from observatory.settings import Settings
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
