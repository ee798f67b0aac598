"""Dome work orders end to end: intake -> SQL -> Redis -> a real worker -> the simulator."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import signal
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from observatory.db.models import StepRun, WorkOrder
from observatory.db.session import session_scope
from observatory.orders.states import FINAL_STATES
from observatory.settings import Settings, get_settings
from observatory.stack import Stack
from tests.helpers import wait_for

pytestmark = pytest.mark.integration


def order(request: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"t-{uuid.uuid4().hex[:10]}",
        "request": request,
        "datetime": dt.datetime.now(dt.UTC).isoformat(),
        "user": "tests",
        **fields,
    }


def submit(settings: Settings, data: dict[str, Any]) -> int:
    from observatory.cli.orders import submit_order

    receipt = submit_order(data, settings)
    assert receipt.created and receipt.published
    return receipt.pk


def outcome(settings: Settings, pk: int, timeout: float = 60) -> WorkOrder:
    def ended() -> WorkOrder | None:
        with session_scope(settings.sqlalchemy_url) as session:
            row = session.get_one(WorkOrder, pk)
            if row.state in {"succeeded", "failed", "partial", "cancelled", "rejected"}:
                session.expunge(row)
                return row
        return None

    return wait_for(ended, timeout, message=f"work order {pk} to end")


def steps(settings: Settings, pk: int) -> list[StepRun]:
    with session_scope(settings.sqlalchemy_url) as session:
        runs = list(
            session.scalars(select(StepRun).where(StepRun.work_order_pk == pk).order_by(StepRun.pk))
        )
        session.expunge_all()
        return runs


def dome_fault(settings: Settings, spec: dict[str, Any]) -> None:
    """Set a simulator fault on the dome, connecting it first: the simulator answers
    Action "not connected" until someone connected the dome, and no test may count on
    another test (or a worker) having done so."""
    from alpaca.dome import Dome

    dome = Dome(settings.devices.dome_address, 0)
    dome.Connected = True
    dome.Action("simulator:fault", json.dumps(spec))


@pytest.fixture(autouse=True)
def leaves_no_dome_order_unfinished(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test of the stack that leaves a dome order queued or running. The dome
    worker runs one order at a time for every test of the session's stack, so such an
    order runs under the next test's dome faults and holds back that test's orders
    (a slow dome made two left-over status orders take 56 s, past a 30 s wait)."""
    yield
    if "stack" not in request.fixturenames:
        return
    settings: Settings = request.getfixturevalue("stack").settings
    with session_scope(settings.sqlalchemy_url) as session:
        left = session.execute(
            select(WorkOrder.pk, WorkOrder.order_id, WorkOrder.state).where(
                WorkOrder.queue == "dome", WorkOrder.state.not_in(FINAL_STATES)
            )
        ).all()
    if left:
        named = ", ".join(f"{pk} ({order_id}, {state})" for pk, order_id, state in left)
        pytest.fail(f"the test left dome work orders unfinished: {named}; wait for them to end")


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Ran]:
    """``observatory <args>`` with ``stdin`` as its standard input, run in this process
    on the stack's settings (its environment): the exit code and what was printed. An
    exception escaping the command fails the test, as a traceback would."""

    def run(*args: str, stdin: str = "") -> Ran:
        from observatory.cli.main import main

        get_settings.cache_clear()
        capsys.readouterr()
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode())))
        code = main(list(args))
        out, err = capsys.readouterr()
        return Ran(code, out, err)

    return run


def test_dome_commands_run_on_a_worker_and_are_recorded(stack: Stack) -> None:
    settings = stack.settings
    for request, fields in [
        ("dome_open", {}),
        ("dome_set_azimuth", {"azimuth_deg": 95.0}),
        ("dome_goto", {"alt": 30.0, "az": 200.0}),
        ("dome_close", {}),
        ("dome_park", {}),
    ]:
        pk = submit(settings, order(request, **fields))
        row = outcome(settings, pk)
        assert row.state == "succeeded", row.state_reason
        [run] = steps(settings, pk)
        assert run.state == "succeeded" and run.attempt == 1
        assert run.outputs["arrived"] is True
        status = run.outputs["status"]
        if request == "dome_open":
            assert status["open"] is True
        if request == "dome_set_azimuth":
            assert abs(status["azim"] - 95.0) < 1.0
        if request == "dome_park":
            assert status["park"] is True and status["open"] is False


def test_status_order_returns_the_designed_shape(stack: Stack) -> None:
    pk = submit(stack.settings, order("dome_status"))
    assert outcome(stack.settings, pk).state == "succeeded"
    [run] = steps(stack.settings, pk)
    assert set(run.outputs) == {"azim", "open", "park", "connected", "time", "version"}
    assert run.outputs["version"].startswith("v")


def test_cli_submit_wait_prints_id_and_outcome(stack: Stack, cli: Callable[..., Ran]) -> None:
    data = order("dome_close")
    result = cli("submit", "-", "--wait", stdin=json.dumps(data))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [data["id"], "succeeded"]
    shown = cli("status", data["id"], "--json")
    assert json.loads(shown.stdout)["steps"][0]["step"] == "close_dome"


def test_invalid_order_exits_non_zero_naming_the_field_and_stores_nothing(
    stack: Stack, cli: Callable[..., Ran]
) -> None:
    settings = stack.settings
    with session_scope(settings.sqlalchemy_url) as session:
        before = session.scalar(select(func.count()).select_from(WorkOrder))
    bad = order("dome_goto", alt=120.0, az=10.0)
    del bad["user"]
    result = cli("submit", "-", stdin=json.dumps(bad))
    assert result.returncode == 2
    assert "alt" in result.stderr and "user" in result.stderr
    assert "Traceback" not in result.stderr
    with session_scope(settings.sqlalchemy_url) as session:
        assert session.scalar(select(func.count()).select_from(WorkOrder)) == before


def test_resubmitting_the_same_id_and_user_creates_no_second_order(stack: Stack) -> None:
    from observatory.cli.orders import submit_order

    data = order("dome_status")
    first = submit_order(data, stack.settings)
    again = submit_order(data, stack.settings)
    assert (again.pk, again.created) == (first.pk, False)
    other_user = submit_order(data | {"user": "someone else"}, stack.settings)
    assert other_user.created and other_user.pk != first.pk
    # Both orders run on the shared dome worker: they end here, not under the next
    # test's faults (a slow dome made them 28 s each and starved the next order).
    for pk in (first.pk, other_user.pk):
        assert pk is not None
        assert outcome(stack.settings, pk).state == "succeeded"
        [run] = steps(stack.settings, pk)  # the resubmission's message ran nothing
        assert run.state == "succeeded"


def test_foreign_publisher_sends_the_order_itself(stack: Stack) -> None:
    from workers.publish import app_of

    app = app_of(stack.settings)
    data = order("dome_status")
    app.send_task("observatory.dome.status", kwargs={"order": data}, queue="dome")

    def stored() -> int | None:
        with session_scope(stack.settings.sqlalchemy_url) as session:
            return session.scalar(select(WorkOrder.pk).where(WorkOrder.order_id == data["id"]))

    pk = wait_for(stored, 30, message="the foreign order to be stored")
    assert outcome(stack.settings, pk).state == "succeeded"


def test_a_failing_command_fails_the_order_records_it_and_emails_admins(
    stack: Stack, smtp_server
) -> None:
    _, _, mailbox = smtp_server
    dome_fault(stack.settings, {"kind": "error", "member": "openshutter"})
    try:
        close_first = submit(stack.settings, order("dome_close"))
        assert outcome(stack.settings, close_first).state == "succeeded"
        before = len(mailbox.messages)
        pk = submit(stack.settings, order("dome_open"))
        row = outcome(stack.settings, pk)
    finally:
        dome_fault(stack.settings, {"kind": "clear"})
    assert row.state == "failed"
    assert "open_dome" in row.state_reason
    [run] = steps(stack.settings, pk)
    assert run.state == "failed" and run.error and run.traceback
    mail = wait_for(lambda: mailbox.messages[before:], 30, message="the admins' email")
    assert "open_dome" in mail[0]["Subject"]
    assert row.order_id in mail[0].get_payload()


def test_pickled_message_is_refused_and_nothing_runs(stack: Stack) -> None:
    from workers.publish import app_of

    app = app_of(stack.settings)
    data = order("dome_status")
    # A pickled message carrying a valid order: a JSON-only worker must not run it.
    app.send_task(
        "observatory.dome.status", kwargs={"order": data}, queue="dome", serializer="pickle"
    )
    log = stack.log_path("worker-dome")
    wait_for(
        lambda: b"ContentDisallowed" in log.read_bytes() or b"disallowed" in log.read_bytes(),
        30,
        message="the worker to refuse the pickled message",
    )
    with session_scope(stack.settings.sqlalchemy_url) as session:
        assert session.scalar(select(WorkOrder).where(WorkOrder.order_id == data["id"])) is None


@pytest.mark.slow  # a worker killed and restarted; fast: tests/unit/tasks/test_common.py
def test_worker_killed_mid_task_does_not_lose_its_order(stack: Stack) -> None:
    settings = stack.settings
    # Slow replies keep the task busy long enough to kill the worker in the middle of it.
    dome_fault(settings, {"kind": "slow", "delay_s": 2.0})
    try:
        pk = submit(settings, order("dome_status"))
        wait_for(
            lambda: [r for r in steps(settings, pk) if r.state == "running"],
            30,
            message="the step to start",
        )
        worker = next(c for c in stack.children if c.name == "worker-dome")
        assert worker.process is not None
        os.killpg(worker.process.pid, signal.SIGKILL)
        worker.process.wait()
    finally:
        dome_fault(settings, {"kind": "clear"})
    stack.check()  # the supervisor restarts the dead worker
    row = outcome(settings, pk, timeout=120)
    assert row.state == "succeeded"
    assert row.attempts == 2
    runs = steps(settings, pk)
    assert [r.state for r in runs] == ["failed", "succeeded"]
    assert "worker lost" in (runs[0].error or "")
