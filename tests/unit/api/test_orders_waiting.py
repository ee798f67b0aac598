"""``POST /work-orders`` for an order that waits on purpose: 202 with the reason, never the
503 that means the broker failed."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.unit.api.conftest import AUTH, Broker, order


def observation(order_id: str, **fields: object) -> dict[str, object]:
    return order(order_id, "observation", ra=10.0, dec=20.0, **fields)


def test_an_order_of_a_held_queue_is_202_with_the_hold(client: TestClient, broker: Broker) -> None:
    held = client.post(
        "/queues/telescope/hold", json={"by": "ops", "reason": "mirror"}, headers=AUTH
    )
    assert held.status_code == 200, held.text
    answer = client.post("/work-orders", json=observation("h1"), headers=AUTH)
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["published"] is False and body["state"] == "queued"
    assert body["message"].startswith("waiting: queue telescope held by ops")
    assert "broker" not in body["message"]
    assert broker.sent == []


def test_a_deferred_order_is_202_with_its_time(client: TestClient, broker: Broker) -> None:
    answer = client.post(
        "/work-orders", json=observation("d1", not_before="2099-01-01T00:00:00Z"), headers=AUTH
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["message"] == "deferred until 2099-01-01T00:00:00+00:00"
    assert broker.sent == []


def test_a_held_queue_with_the_broker_down_is_still_202(client: TestClient, broker: Broker) -> None:
    # Nothing was sent to the broker, so its state does not matter to this order.
    broker.down = True
    client.post("/queues/telescope/hold", headers=AUTH)
    answer = client.post("/work-orders", json=observation("h2"), headers=AUTH)
    assert answer.status_code == 202, answer.text
