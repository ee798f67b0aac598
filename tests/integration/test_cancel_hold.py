"""Cancel and hold over HTTP (``observatory api`` driven with curl) on the running stack
and the simulator: a running 20 x 60 s observation cancelled ends ``cancelled`` with the
camera idle within 30 s and its frames kept; a queued order cancelled never starts; a held
telescope queue keeps a new order queued until released, then runs it."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from observatory.db.models import Exposure, FileBatch, StepRun, WorkOrder
from observatory.db.session import session_scope
from observatory.devices.camera import CameraAdapter, CameraState
from observatory.stack import Stack
from tests.helpers import wait_for
from tests.integration.test_api import TOKEN, api, curl  # noqa: F401  (api is a fixture)
from tests.integration.test_telescope_orders import check_batch, check_child, zenith

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300)]

CANCEL_BOUND_S = 30.0


def observation(stack: Stack, count: int, exposure_s: float) -> dict[str, Any]:
    plan = [{"filter": "R", "exposure_s": exposure_s, "count": count, "binning": 4}]
    return {
        "id": f"op-{uuid.uuid4().hex[:10]}",
        "request": "observation",
        "datetime": dt.datetime.now(dt.UTC).isoformat(),
        "user": "night-operator",
        "exposures": plan,
        **zenith(stack.settings),
    }


def post(api: str, path: str, data: Any = None) -> Any:  # noqa: F811
    return curl("POST", f"{api}{path}", token=TOKEN, data=data)


def report(api: str, order_id: str) -> dict[str, Any]:  # noqa: F811
    answer = curl("GET", f"{api}/work-orders/{order_id}?user=night-operator", token=TOKEN)
    assert answer.status == 200, answer.body
    return dict(answer.body)


def frames_taken(stack: Stack, pk: int) -> int:
    with session_scope(stack.settings.sqlalchemy_url) as session:
        query = select(func.count()).select_from(Exposure).join(FileBatch)
        return int(session.scalar(query.where(FileBatch.work_order_pk == pk)) or 0)


def step_runs(stack: Stack, pk: int) -> int:
    with session_scope(stack.settings.sqlalchemy_url) as session:
        query = select(func.count()).select_from(StepRun).where(StepRun.work_order_pk == pk)
        return int(session.scalar(query) or 0)


@pytest.fixture
def held_telescope(api: str) -> Iterator[None]:  # noqa: F811
    held = post(api, "/queues/telescope/hold", {"by": "tests", "reason": "mirror cleaning"})
    assert held.status == 200, held.body
    try:
        yield
    finally:
        post(api, "/queues/telescope/release")


def test_a_running_observation_cancelled_stops_within_30_s(stack: Stack, api: str) -> None:  # noqa: F811
    order = observation(stack, 20, 60.0)
    created = post(api, "/work-orders", order)
    assert created.status == 201, created.body
    pk = created.body["pk"]
    wait_for(lambda: frames_taken(stack, pk) >= 1, 120, message="the first frame")
    cancelled_s = time.monotonic()
    answer = post(api, f"/work-orders/{order['id']}/cancel?user=night-operator",
                  {"by": "night operator", "reason": "clouds"})  # fmt: skip
    assert answer.status == 200 and answer.body["outcome"] == "requested", answer.body
    camera = CameraAdapter(stack.settings.devices, stack.settings.telescope)

    def ended() -> dict[str, Any] | None:
        body = report(api, order["id"])
        return body if body["state"] not in {"queued", "running"} else None

    body = wait_for(ended, CANCEL_BOUND_S + 10, message="the order to end")
    camera_idle = camera.exposure_status().state is CameraState.IDLE
    elapsed_s = time.monotonic() - cancelled_s
    print(f"\n20 x 60 s observation cancelled: ended {body['state']} after {elapsed_s:.1f} s")
    assert body["state"] == "cancelled", body
    assert body["reason"] == "observe: cancelled by night operator: clouds"
    assert body["cancel"]["by"] == "night operator"
    assert camera_idle and elapsed_s < CANCEL_BOUND_S
    taken = frames_taken(stack, pk)
    assert 1 <= taken < 20
    batch, rows, manifest = check_batch(stack.settings, pk)
    assert len(rows) == taken and manifest["cancelled"].startswith("cancelled by")
    check_child(stack.settings, pk, batch)
    again = post(api, f"/work-orders/{order['id']}/cancel?user=night-operator")
    assert again.status == 409 and "already ended cancelled" in again.body["detail"]


def test_a_queued_order_cancelled_never_starts(
    stack: Stack,
    api: str,  # noqa: F811
    held_telescope: None,
) -> None:
    order = observation(stack, 1, 1.0)
    created = post(api, "/work-orders", order)
    assert created.status == 202 and created.body["state"] == "queued", created.body
    answer = post(api, f"/work-orders/{order['id']}/cancel?user=night-operator")
    assert answer.status == 200 and answer.body["outcome"] == "cancelled"
    assert post(api, "/queues/telescope/release").status == 200
    time.sleep(3.0)  # room for a wrongly published order to start
    body = report(api, order["id"])
    assert body["state"] == "cancelled" and body["started_at"] is None
    assert step_runs(stack, created.body["pk"]) == 0


def test_a_held_telescope_queue_keeps_an_order_queued_until_released(
    stack: Stack,
    api: str,  # noqa: F811
    held_telescope: None,
) -> None:
    health = curl("GET", f"{api}/health").body
    assert health["held_queues"] == ["telescope"] and "mirror cleaning" in health["holds"][0]
    order = observation(stack, 1, 1.0)
    created = post(api, "/work-orders", order)
    pk = created.body["pk"]
    time.sleep(5.0)  # longer than the reconciler's pass and a worker's pick-up
    body = report(api, order["id"])
    assert body["state"] == "queued" and "held by tests" in body["reason"], body
    assert step_runs(stack, pk) == 0
    released = post(api, "/queues/telescope/release")
    assert released.body == {"queue": "telescope", "published": 1}

    def ended() -> dict[str, Any] | None:
        state = report(api, order["id"])
        return state if state["state"] not in {"queued", "running"} else None

    assert wait_for(ended, 120, message="the released order")["state"] == "succeeded"
    with session_scope(stack.settings.sqlalchemy_url) as session:
        assert session.get_one(WorkOrder, pk).attempts == 1


def test_a_message_delivered_while_held_does_not_start_and_runs_after_release(
    stack: Stack,
    api: str,  # noqa: F811
) -> None:
    # A long order keeps the telescope worker busy while the next one's message waits in
    # the broker; the queue is held before the worker gets to it.
    busy = observation(stack, 20, 60.0)
    busy_pk = post(api, "/work-orders", busy).body["pk"]
    wait_for(lambda: frames_taken(stack, busy_pk) >= 1, 120, message="the busy order's frame")
    waiting = observation(stack, 1, 1.0)
    created = post(api, "/work-orders", waiting)
    assert created.status == 201 and created.body["published"] is True, created.body
    try:
        assert post(api, "/queues/telescope/hold", {"by": "tests"}).status == 200
        post(api, f"/work-orders/{busy['id']}/cancel?user=night-operator")
        wait_for(lambda: report(api, busy["id"])["state"] == "cancelled", 60, message="cancel")

        def handed_back() -> bool:
            body = report(api, waiting["id"])
            return body["published_at"] is None and "held by tests" in (body["reason"] or "")

        wait_for(handed_back, 30, message="the delivered message to be handed back")
        time.sleep(2.0)
        body = report(api, waiting["id"])
        assert body["state"] == "queued" and body["started_at"] is None
        assert step_runs(stack, created.body["pk"]) == 0
    finally:
        released = post(api, "/queues/telescope/release")
    assert released.body["published"] == 1

    def ended() -> dict[str, Any] | None:
        state = report(api, waiting["id"])
        return state if state["state"] not in {"queued", "running"} else None

    assert wait_for(ended, 120, message="the released order")["state"] == "succeeded"
