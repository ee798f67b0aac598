"""A real Celery beat runs a routine plan against the stack's Redis and database: an
entry every 2 seconds becomes one work order per run; a second beat stores nothing twice."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from observatory.db.models import WorkOrder
from observatory.db.session import session_scope
from observatory.stack import Stack
from tests.helpers import wait_for

# Slow: two real beats over several cron periods; one order per run has fast tests
# (tests/unit/routine/test_beat.py).
pytestmark = [pytest.mark.integration, pytest.mark.slow]

PLAN = """
user = "routine-test"
grace_s = 30

[[entries]]
name = "status-every-2s"
cron = "* * * * * */2"
[entries.order]
request = "dome_status"
"""


def routine_ids(stack: Stack) -> list[str]:
    with session_scope(stack.settings.sqlalchemy_url) as session:
        return list(
            session.scalars(
                select(WorkOrder.order_id)
                .where(WorkOrder.user == "routine-test")
                .order_by(WorkOrder.order_id)
            )
        )


@pytest.fixture
def beats(stack: Stack, tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    plan = tmp_path / "routine.toml"
    plan.write_text(PLAN)
    env = {**stack.env, "OBSERVATORY_ROUTINE_PLAN": str(plan)}
    started = []
    for index in range(2):
        log = (tmp_path / f"beat-{index}.log").open("wb")
        started.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "workers.app",
                    "beat",
                    "--loglevel",
                    "INFO",
                    "-s",
                    str(tmp_path / f"schedule-{index}"),
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    try:
        yield started
    finally:
        for process in started:
            process.terminate()
        for process in started:
            process.wait(timeout=20)


def test_two_beats_submit_each_run_once(stack: Stack, beats: list[subprocess.Popen[bytes]]) -> None:
    wait_for(lambda: len(routine_ids(stack)) >= 3, 40, message="three routine runs")
    ids = routine_ids(stack)
    assert len(ids) == len(set(ids))
    assert all(i.startswith("routine-status-every-2s-") for i in ids)
    seconds = sorted(int(i[-2:]) for i in ids)
    assert all(second % 2 == 0 for second in seconds)
    assert all(process.poll() is None for process in beats), "a beat exited"
    # Each run's order reached the dome worker and ran.
    with session_scope(stack.settings.sqlalchemy_url) as session:
        first = session.scalars(select(WorkOrder).where(WorkOrder.order_id == ids[0])).one()
        pk = first.pk
    wait_for(lambda: _state(stack, pk) == "succeeded", 60, message="the first routine order to run")


def _state(stack: Stack, pk: int) -> str:
    with session_scope(stack.settings.sqlalchemy_url) as session:
        return str(session.get_one(WorkOrder, pk).state)
