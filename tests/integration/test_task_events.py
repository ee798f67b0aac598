"""What Flower shows: a work order whose action fails ends its Celery task FAILURE.

Flower knows tasks only from the workers' events (``task-received``, ``task-failed``,
...), folded by ``celery.events.state.State``. This test listens to the same events on the
stack's real Redis, with the same State, while a real dome worker fails an order.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from celery.events.state import State

from observatory.stack import Stack
from tests.helpers import wait_for
from tests.integration.test_dome_orders import dome_fault, order, outcome, submit

pytestmark = pytest.mark.integration


class EventLog:
    """Every event the workers send, as Flower receives them, in a thread."""

    def __init__(self, stack: Stack) -> None:
        from workers.publish import app_of

        self.app = app_of(stack.settings)
        self.state = State()
        self.events: list[dict[str, Any]] = []
        self._receiver: Any = None
        self._thread = threading.Thread(target=self._listen, daemon=True)

    def _record(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        self.state.event(event)

    def _listen(self) -> None:
        with self.app.connection_for_read() as connection:
            self._receiver = self.app.events.Receiver(connection, handlers={"*": self._record})
            self._receiver.capture(limit=None, timeout=None, wakeup=True)

    def start(self) -> None:
        self._thread.start()
        # Listening once a worker's event arrives (wakeup asks the workers for one).
        wait_for(
            lambda: any(e["type"].startswith("worker-") for e in self.events),
            30,
            message="an event from the workers",
        )

    def stop(self) -> None:
        if self._receiver is not None:
            self._receiver.should_stop = True
        self._thread.join(10)

    def task_of(self, pk: int) -> Any:
        for task in list(self.state.tasks.values()):
            if task.args == f"[{pk}]":
                return task
        return None


@pytest.fixture
def event_log(stack: Stack) -> Iterator[EventLog]:
    log = EventLog(stack)
    log.start()
    yield log
    log.stop()


def test_a_failing_action_ends_its_task_failure_in_the_events_flower_reads(
    stack: Stack, event_log: EventLog
) -> None:
    settings = stack.settings
    dome_fault(settings, {"kind": "error", "member": "openshutter"})
    try:
        closed = submit(settings, order("dome_close"))
        assert outcome(settings, closed).state == "succeeded"
        pk = submit(settings, order("dome_open"))
        assert outcome(settings, pk).state == "failed"
    finally:
        dome_fault(settings, {"kind": "clear"})

    def ended(task_pk: int) -> Any:
        task = event_log.task_of(task_pk)
        return task if task is not None and task.state in ("SUCCESS", "FAILURE") else None

    failed = wait_for(lambda: ended(pk), 30, message="the failed task's events")
    assert failed.state == "FAILURE"
    assert failed.name == "observatory.dome.open"
    assert failed.exception and failed.traceback
    kinds = [e["type"] for e in event_log.events if e.get("uuid") == failed.uuid]
    assert "task-failed" in kinds and "task-succeeded" not in kinds
    # The order that succeeded shows SUCCESS: the listener tells the two apart.
    assert wait_for(lambda: ended(closed), 30, message="the close task's events").state == (
        "SUCCESS"
    )
