"""Scheduling on the running stack: while the telescope is busy, waiting observations
start most urgent first; a future one neither starts early nor blocks; an expired one is
cancelled without starting."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from observatory.db.models import WorkOrder
from observatory.db.session import session_scope
from observatory.intake import submit
from observatory.settings import Settings
from observatory.stack import Stack
from tests.helpers import wait_for
from tests.integration.test_telescope_orders import zenith

# Slow: minutes of simulated exposure on the stack; the ranking has fast tests
# (tests/unit/orders/test_priority.py, test_priority_window.py).
pytestmark = [pytest.mark.integration, pytest.mark.slow]

ENDED = {"succeeded", "failed", "partial", "cancelled", "rejected"}


def observation(settings: Settings, **fields: Any) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    # The zenith in the telescope's own sky, whatever the hour: the worker judges the
    # altitude by the mount's sidereal time, and the stack's simulator runs 20 times
    # faster than the wall clock (an hour of tests turns its sky by 20 hours).
    return {
        "id": f"sched-{uuid.uuid4().hex[:10]}",
        "request": "observation",
        "datetime": now.isoformat(),
        "user": "tests",
        "target": "zenith field",
        **zenith(settings),
        "exposures": [{"filter": "R", "exposure_s": 1.0, "count": 1}],
    } | fields


def send(settings: Settings, data: dict[str, Any]) -> int:
    from workers.publish import publisher_for

    return submit(settings, data, publisher_for(settings)).pk


def load(settings: Settings, pk: int) -> WorkOrder:
    with session_scope(settings.sqlalchemy_url) as session:
        row = session.get_one(WorkOrder, pk)
        session.expunge(row)
        return row


def test_waiting_orders_start_most_urgent_first(stack: Stack) -> None:
    settings = stack.settings
    # Two minutes of simulated exposure keep the telescope busy while the others queue.
    blocker = send(
        settings,
        observation(settings, exposures=[{"filter": "R", "exposure_s": 60.0, "count": 2}]),
    )

    def started() -> str | None:
        state = str(load(settings, blocker).state)
        return state if state == "running" or state in ENDED else None

    # The shared stack's telescope may still be finishing another test's order.
    state = wait_for(started, 180, message="the blocker to start")
    assert state == "running", load(settings, blocker).state_reason
    now = dt.datetime.now(dt.UTC)
    # The least urgent is sent first. By day at the site every order loses
    # scheduling.unobservable_penalty (2); these stay a whole unit apart and above 1 with
    # or without it, so no two share a broker priority level (0 and 1 would, and run in
    # the order sent).
    priorities = [3.0, 9.0, 5.0, 4.0, 7.0]
    waiting = {send(settings, observation(settings, priority=p)): p for p in priorities}
    expired = send(
        settings,
        observation(
            settings,
            priority=10.0,
            not_before=(now - dt.timedelta(hours=2)).isoformat(),
            not_after=(now - dt.timedelta(minutes=1)).isoformat(),
        ),
    )
    not_before = now + dt.timedelta(seconds=3)
    future = send(settings, observation(settings, priority=10.0, not_before=not_before.isoformat()))
    assert load(settings, future).published_at is None
    assert load(settings, blocker).state == "running", "the blocker ended before the others queued"

    pks = [blocker, *waiting, expired, future]
    wait_for(
        lambda: all(load(settings, pk).state in ENDED for pk in pks), 180, message="every order"
    )
    rows = {pk: load(settings, pk) for pk in pks}
    started = sorted(waiting, key=lambda pk: rows[pk].started_at)  # type: ignore[arg-type, return-value]
    assert [waiting[pk] for pk in started] == sorted(priorities, reverse=True)
    assert all(rows[pk].started_at > rows[blocker].started_at for pk in waiting)  # type: ignore[operator]

    assert rows[expired].state == "cancelled" and rows[expired].started_at is None
    assert rows[expired].state_reason and "window passed" in rows[expired].state_reason

    # The future order was published by the reconciler once its time came, and never
    # started before it.
    assert rows[future].published_at is not None and rows[future].published_at >= not_before
    assert rows[future].started_at is not None and rows[future].started_at >= not_before
    assert rows[future].priority_reasons is not None
