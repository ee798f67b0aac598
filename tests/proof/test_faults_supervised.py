"""Faults with the safety supervisor watching: the telescope worker killed mid-exposure,
simulated device faults (slow, failing, a stuck shutter), and the SMTP server down
when a step fails. One private stack (faults_stack.py) with the supervisor on: it polls
every 0.2 s and takes the telescope worker for dead after 2 s without a heartbeat."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from observatory.db.models import Exposure, FileBatch, WorkOrder
from observatory.db.session import session_scope
from observatory.devices.dome import ShutterState
from tests.helpers import wait_for
from tests.proof.faults_stack import ADMIN, FaultStack, order, running_stack, zenith

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

HEARTBEAT_TIMEOUT_S = 2.0
HEARTBEAT_INTERVAL_S = 0.5
SUPERVISOR_POLL_S = 0.2
SHUTTER_TIMEOUT_S = 2.0
STACK_ENV = {
    "OBSERVATORY_SUPERVISOR__ENABLED": "true",
    "OBSERVATORY_SUPERVISOR__HEARTBEAT_TIMEOUT_S": repr(HEARTBEAT_TIMEOUT_S),
    "OBSERVATORY_SUPERVISOR__POLL_INTERVAL_S": repr(SUPERVISOR_POLL_S),
    "OBSERVATORY_TELESCOPE__HEARTBEAT_INTERVAL_S": repr(HEARTBEAT_INTERVAL_S),
    "OBSERVATORY_SUPERVISOR__LIVENESS_INTERVAL_S": repr(HEARTBEAT_INTERVAL_S),
    # A jammed shutter is given up quickly, by the dome worker and the supervisor alike.
    "OBSERVATORY_DEVICES__SHUTTER_TIMEOUT_S": repr(SHUTTER_TIMEOUT_S),
}
# What closing the dome itself may take once the supervisor decided to: a poll, the
# readings, the shutter's 0.4 s and its confirmation, with room for two busy cores.
CLOSE_S = 4.0
# A worker killed right after a beat: the beat ages HEARTBEAT_TIMEOUT_S, and the
# supervisor notices on its next poll.
KILLED_WORKER_BOUND_S = HEARTBEAT_TIMEOUT_S + HEARTBEAT_INTERVAL_S + SUPERVISOR_POLL_S + CLOSE_S


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    with running_stack(tmp_path_factory.mktemp("supervised"), STACK_ENV) as running:
        yield running


def time_to_closed(stack: FaultStack, since_s: float, timeout_s: float) -> float:
    dome = stack.dome()
    wait_for(
        lambda: dome.status().shutter is ShutterState.CLOSED, timeout_s, 0.05, "shutter Closed"
    )
    return time.monotonic() - since_s


def batch_of(stack: FaultStack, pk: int) -> tuple[FileBatch, list[Exposure]]:
    with session_scope(stack.settings.sqlalchemy_url) as session:
        batch = session.scalars(select(FileBatch).where(FileBatch.work_order_pk == pk)).one()
        query = select(Exposure).where(Exposure.file_batch_pk == batch.pk).order_by(Exposure.pk)
        rows = list(session.scalars(query))
        session.expunge_all()
    return batch, rows


def mails_about(stack: FaultStack, pk: int, since: int) -> list[Any]:
    """The admins' emails since the ``since``-th that name work order ``pk``: other
    orders of the stack (a calibration child of an earlier test) may fail meanwhile."""
    with session_scope(stack.settings.sqlalchemy_url) as session:
        order_id = session.get_one(WorkOrder, pk).order_id
    return [m for m in stack.smtp.messages[since:] if order_id in m.get_payload()]


def test_telescope_worker_killed_mid_exposure(stack: FaultStack) -> None:
    """The dome is closed by the supervisor; the order is redelivered and resumed into
    the same batch, whose rows, files and manifest agree."""
    # 30 s exposures take 1.5 wall seconds at the simulator's time scale of 20; the whole
    # order stays well inside the 10 s visibility timeout (else a running order's message
    # would be redelivered).
    plan = [{"filter": "R", "exposure_s": 30.0, "count": 2, "binning": 4}]
    pk = stack.submit(order("observation", exposures=plan, **zenith(stack))).pk

    def first_frame_written() -> bool:
        with session_scope(stack.settings.sqlalchemy_url) as session:
            batch = session.scalar(select(FileBatch).where(FileBatch.work_order_pk == pk))
            if batch is None:
                return False
            taken = session.scalars(select(Exposure).where(Exposure.file_batch_pk == batch.pk))
            return len(list(taken)) == 1

    wait_for(first_frame_written, 60, 0.05, "the first frame to be written")
    assert stack.shutter() is ShutterState.OPEN
    stack.kill("worker-telescope")
    killed_s = time.monotonic()
    elapsed_s = time_to_closed(stack, killed_s, KILLED_WORKER_BOUND_S + 10)
    print(f"\ntelescope worker SIGKILLed: dome Closed after {elapsed_s:.2f} s")
    assert elapsed_s < KILLED_WORKER_BOUND_S, (
        f"dome Closed {elapsed_s:.2f} s after the kill; bound {KILLED_WORKER_BOUND_S:g} s"
    )
    lost = [d for name, d in stack.supervisor_events() if name == "heartbeat_lost"]
    assert lost and "telescope-worker heartbeat" in lost[-1]["reason"]

    # The broker redelivers the unacknowledged message (visibility timeout 10 s) to the
    # restarted worker; the order resumes as attempt 2 into the same batch.
    stack.restart_dead("worker-telescope")
    outcome = stack.outcome(pk, timeout_s=90)
    resumed_s = time.monotonic() - killed_s
    print(f"order {outcome.state} (attempt {outcome.attempts}) {resumed_s:.1f} s after the kill")
    assert (outcome.state, outcome.attempts) == ("succeeded", 2), outcome
    runs = stack.steps(pk)
    assert [(r.step, str(r.state)) for r in runs] == [
        ("observe", "failed"),
        ("observe", "succeeded"),
    ]
    assert "worker lost" in (runs[0].error or "")

    batch, rows = batch_of(stack, pk)
    folder = Path(batch.path)
    on_disk = sorted(p.name for p in folder.glob("*.fits"))
    # The first attempt's frame stays; the resumed attempt takes the whole plan again,
    # continuing the sequence numbers.
    assert [r.path for r in rows] == on_disk == [f"light_R_30s_{n:04d}.fits" for n in (1, 2, 3)]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest == batch.manifest and manifest["complete"] is True
    assert batch.state == "complete"
    assert [f["path"] for f in manifest["files"]] == on_disk
    for entry, row in zip(manifest["files"], rows, strict=True):
        digest = hashlib.sha256((folder / entry["path"]).read_bytes()).hexdigest()
        assert entry["sha256"] == row.checksum == digest
    with session_scope(stack.settings.sqlalchemy_url) as session:
        children = session.scalars(select(WorkOrder).where(WorkOrder.parent_pk == pk)).all()
        assert [c.order_id for c in children] == [f"calibrate-{batch.name}"]
    assert stack.shutter() is ShutterState.CLOSED


def test_slow_replies_within_the_timeouts_succeed(stack: FaultStack) -> None:
    delay_s = 0.5
    stack.fault("dome", {"kind": "slow", "delay_s": delay_s})
    try:
        started_s = time.monotonic()
        pk = stack.submit(order("dome_status")).pk
        outcome = stack.outcome(pk, timeout_s=60)
        elapsed_s = time.monotonic() - started_s
    finally:
        stack.fault("dome", {"kind": "clear"})
    print(f"\ndome replies {delay_s} s late: dome_status {outcome.state} in {elapsed_s:.2f} s")
    assert outcome.state == "succeeded", outcome
    assert elapsed_s >= delay_s, "the slow fault was not applied"
    [run] = stack.steps(pk)
    assert run.attempt == 1 and run.outputs is not None and "azim" in run.outputs


def test_device_errors_are_retried_then_fail_naming_the_device(stack: FaultStack) -> None:
    retries = stack.settings.devices.retries
    retry_notes_before = stack.log("worker-dome").count("retrying in")
    # Fewer errors than retries: the command is repeated and succeeds.
    glitch = {"kind": "error", "member": "slewtoazimuth", "count": retries, "message": "glitch"}
    stack.fault("dome", glitch)
    try:
        pk = stack.submit(order("dome_set_azimuth", azimuth_deg=120.0)).pk
        assert stack.outcome(pk).state == "succeeded"
        retried = stack.log("worker-dome").count("retrying in") - retry_notes_before
        assert retried == retries, f"{retried} retries logged, expected {retries}"

        # A lasting error: retries spent, then a failure naming the device and member.
        mails_before = len(stack.smtp.messages)
        stall = {"kind": "error", "member": "slewtoazimuth", "message": "azimuth motor stalled"}
        stack.fault("dome", stall)
        started_s = time.monotonic()
        pk = stack.submit(order("dome_set_azimuth", azimuth_deg=200.0)).pk
        outcome = stack.outcome(pk)
        elapsed_s = time.monotonic() - started_s
    finally:
        stack.fault("dome", {"kind": "clear"})
    print(f"\nlasting dome error: order {outcome.state} after {elapsed_s:.2f} s: {outcome.reason}")
    assert outcome.state == "failed"
    dome_label = f"dome 0 at {stack.settings.devices.dome_address}"
    assert outcome.reason is not None and outcome.reason.startswith("set_azimuth: ")
    assert dome_label in outcome.reason and "azimuth motor stalled" in outcome.reason
    [run] = stack.steps(pk)
    assert run.state == "failed" and run.error and dome_label in run.error
    mails = wait_for(lambda: mails_about(stack, pk, mails_before), 20, message="the admins' email")
    assert "set_azimuth" in mails[0]["Subject"] and ADMIN in mails[0]["To"]


def test_stuck_shutter_fails_the_close_and_the_supervisor_closes_once_repaired(
    stack: FaultStack,
) -> None:
    mails_before = len(stack.smtp.messages)
    events_before = len(stack.supervisor_events())
    # The worker processes beat whether or not an order runs, so the supervisor leaves
    # the open dome alone while the stack is alive.
    stack.wait_for_permit()
    opened = stack.submit(order("dome_open")).pk
    assert stack.outcome(opened).state == "succeeded", stack.state(opened)
    stack.fault("dome", {"kind": "stuck_shutter", "mode": "moving"})
    close = stack.submit(order("dome_close")).pk
    outcome = stack.outcome(close, timeout_s=60)
    assert outcome.state == "failed"
    assert outcome.reason is not None and outcome.reason.startswith("close_dome: ")
    assert "shutter closed" in outcome.reason and "dome 0" in outcome.reason

    # The telescope worker dies: its heartbeat stops, the supervisor tries to close,
    # retries, gives up and mails.
    stack.kill("worker-telescope")
    stopped_s = time.monotonic()
    try:
        closed_after_repair(stack, events_before, mails_before, stopped_s)
    finally:
        stack.fault("dome", {"kind": "clear"})
        stack.restart_dead("worker-telescope")


def closed_after_repair(
    stack: FaultStack, events_before: int, mails_before: int, stopped_s: float
) -> None:
    """The supervisor's part of the stuck-shutter test, from the heartbeat's end."""
    attempts = stack.settings.supervisor.close_attempts

    def close_failed() -> bool:
        return "close_failed" in [name for name, _ in stack.supervisor_events()[events_before:]]

    wait_for(close_failed, HEARTBEAT_TIMEOUT_S + attempts * SHUTTER_TIMEOUT_S + 15)
    events = stack.supervisor_events()[events_before:]
    tried = [d["attempt"] for name, d in events if name == "close_requested"]
    assert tried[:attempts] == list(range(1, attempts + 1))
    assert "heartbeat_lost" in [name for name, _ in events]

    def subjects() -> list[str]:
        return [str(m["Subject"]) for m in stack.smtp.messages[mails_before:]]

    def both_mailed() -> bool:
        mailed = subjects()
        wanted = ("step close_dome failed", "DOME WILL NOT CLOSE")
        return all(any(w in s for s in mailed) for w in wanted)

    # Other orders' emails may come between (an earlier test's calibration child).
    wait_for(both_mailed, 20, message="both emails to the admins")
    assert stack.shutter() is not ShutterState.CLOSED

    # Repaired: a later attempt of the supervisor closes it.
    stack.fault("dome", {"kind": "clear"})
    repaired_s = time.monotonic()
    bound_s = SHUTTER_TIMEOUT_S + SUPERVISOR_POLL_S + CLOSE_S
    elapsed_s = time_to_closed(stack, repaired_s, bound_s + 10)
    print(
        f"\nstuck shutter: close order failed; supervisor gave up {attempts} attempts;"
        f" dome Closed {elapsed_s:.2f} s after the repair"
        f" ({time.monotonic() - stopped_s:.1f} s after the heartbeat stopped)"
    )
    assert elapsed_s < bound_s, f"dome Closed {elapsed_s:.2f} s after the repair; bound {bound_s} s"
    wait_for(
        lambda: "closed_confirmed" in [n for n, _ in stack.supervisor_events()[events_before:]],
        5,
        message="closed_confirmed recorded",
    )


def noted_mail_failure(stack: FaultStack, pk: int) -> str | None:
    """The error of the order's one step run once it notes the failed admin email."""
    [run] = stack.steps(pk)
    error = run.error or ""
    return error if "(admin email failed: could not email the admins" in error else None


def test_smtp_down_when_a_step_fails(stack: FaultStack) -> None:
    """The step's error is recorded whatever the mail does; the email is retried and
    delivered when the server comes back in time, else the failure is noted on the row."""
    attempts = stack.settings.smtp.attempts
    note = "email to admins failed"
    stack.fault("dome", {"kind": "error", "member": "slewtoazimuth", "message": "encoder fault"})
    try:
        # The server comes back during the retries.
        stack.smtp.stop()
        mails_before = len(stack.smtp.messages)
        notes_before = stack.log("worker-dome").count(note)
        pk = stack.submit(order("dome_set_azimuth", azimuth_deg=30.0)).pk
        wait_for(lambda: stack.log("worker-dome").count(note) > notes_before, 30, 0.02)
        stack.smtp.start()
        back_s = time.monotonic()
        mails = wait_for(lambda: mails_about(stack, pk, mails_before), 20, message="the email")
        delivered_s = time.monotonic() - back_s
        print(f"\nSMTP back during the retries: email delivered {delivered_s:.2f} s later")
        assert stack.outcome(pk).state == "failed"
        [run] = stack.steps(pk)
        assert run.error is not None and "encoder fault" in run.error
        assert "admin email failed" not in run.error
        assert "set_azimuth" in mails[0]["Subject"]
        with session_scope(stack.settings.sqlalchemy_url) as session:
            assert session.get_one(WorkOrder, pk).order_id in mails[0].get_payload()

        # The server never comes back: every attempt made, the failure noted on the row.
        stack.smtp.stop()
        notes_before = stack.log("worker-dome").count(note)
        started_s = time.monotonic()
        pk = stack.submit(order("dome_set_azimuth", azimuth_deg=40.0)).pk
        outcome = stack.outcome(pk, timeout_s=60)
        elapsed_s = time.monotonic() - started_s
        # The step and the order end in one commit and the admins are told after it, so
        # the server stays down until the failed email is noted on the row.
        error = wait_for(
            lambda: noted_mail_failure(stack, pk),
            attempts * (stack.settings.smtp.timeout_s + 5.0),
            message="the failed email noted on the step",
        )
    finally:
        stack.smtp.start()
        stack.fault("dome", {"kind": "clear"})
    print(f"SMTP down for good: order {outcome.state} after {elapsed_s:.2f} s")
    assert outcome.state == "failed"
    assert error is not None and "encoder fault" in error
    made = stack.log("worker-dome").count(note) - notes_before
    assert made == attempts, f"{made} email attempts logged, expected {attempts}"
