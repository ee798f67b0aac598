"""Cancel, the filtered list and held queues over HTTP."""

from __future__ import annotations

from fastapi.testclient import TestClient

from observatory.db.models import WorkOrderState
from observatory.orders.lifecycle import claim, finish
from observatory.settings import Settings
from tests.unit.api.conftest import AUTH, Broker, order


def _submit(client: TestClient, **fields: object) -> int:
    response = client.post("/work-orders", json=order(**fields), headers=AUTH)
    assert response.status_code == 201, response.text
    return int(response.json()["pk"])


def test_cancel_a_queued_order_records_who_and_why(client: TestClient) -> None:
    _submit(client, order_id="a/b")
    response = client.post(
        "/work-orders/a/b/cancel", json={"by": "ops", "reason": "wind"}, headers=AUTH
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "id": "a/b", "user": "scheduler", "outcome": "cancelled", "by": "ops", "reason": "wind"
    }  # fmt: skip
    report = client.get("/work-orders/a/b", headers=AUTH).json()
    assert report["state"] == "cancelled"
    assert report["cancel"]["by"] == "ops" and report["cancel"]["reason"] == "wind"


def test_cancel_without_a_body_is_from_api_and_a_running_order_is_asked(
    client: TestClient, settings: Settings
) -> None:
    pk = _submit(client)
    claim(settings, pk)
    response = client.post("/work-orders/1/cancel", headers=AUTH)
    assert response.status_code == 200
    assert response.json()["outcome"] == "requested" and response.json()["by"] == "api"


def test_cancel_refusals(client: TestClient, settings: Settings) -> None:
    assert client.post("/work-orders/1/cancel").status_code == 401
    assert client.post("/work-orders/nope/cancel", headers=AUTH).status_code == 404
    pk = _submit(client)
    bad = client.post("/work-orders/1/cancel", json={"by": ""}, headers=AUTH)
    assert bad.status_code == 422 and bad.json()["detail"].startswith("by:")
    extra = client.post("/work-orders/1/cancel", json={"who": "x"}, headers=AUTH)
    assert extra.status_code == 422 and extra.json()["detail"].startswith("who:")
    claim(settings, pk)
    finish(settings, pk, WorkOrderState.SUCCEEDED)
    ended = client.post("/work-orders/1/cancel", headers=AUTH)
    assert ended.status_code == 409 and "already ended succeeded" in ended.json()["detail"]


def test_list_filters_by_state_request_user_and_time(client: TestClient) -> None:
    _submit(client, order_id="d1")
    _submit(client, order_id="d2", user="alice")
    _submit(client, order_id="o1", request="dome_open")
    client.post("/work-orders/d1/cancel", headers=AUTH)

    def ids(query: str) -> list[str]:
        response = client.get(f"/work-orders{query}", headers=AUTH)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()]

    assert ids("") == ["o1", "d2", "d1"]
    assert ids("?state=cancelled") == ["d1"]
    assert ids("?request=dome_open") == ["o1"]
    assert ids("?user=alice") == ["d2"]
    assert ids("?since=2000-01-01T00:00:00Z&limit=2") == ["o1", "d2"]
    assert ids("?until=2000-01-01T00:00:00") == []
    refused = client.get("/work-orders?state=done", headers=AUTH)
    assert refused.status_code == 422 and refused.json()["detail"].startswith("state:")
    assert client.get("/work-orders?since=yesterday", headers=AUTH).status_code == 422


def test_a_held_queue_shows_in_health_and_its_orders_wait_for_release(
    client: TestClient, broker: Broker
) -> None:
    held = client.post("/queues/dome/hold", json={"by": "ops", "reason": "service"}, headers=AUTH)
    assert held.status_code == 200 and held.json()["held_by"] == "ops"
    response = client.post("/work-orders", json=order(), headers=AUTH)
    assert response.status_code == 202 and broker.sent == []  # waiting, not a broker fault
    health = client.get("/health").json()
    assert health["held_queues"] == ["dome"] and "service" in health["holds"][0]
    assert [q["queue"] for q in client.get("/queues", headers=AUTH).json()] == ["dome"]

    released = client.post("/queues/dome/release", headers=AUTH)
    assert released.json() == {"queue": "dome", "published": 1}
    assert len(broker.sent) == 1
    assert client.get("/health").json()["held_queues"] == []
    assert client.post("/queues/nope/hold", headers=AUTH).status_code == 404
