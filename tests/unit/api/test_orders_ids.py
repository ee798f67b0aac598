"""The design notes' two orders (id "1" from "Main Module", one to the processor, one to
the telescope) over HTTP: two orders, each found by naming its queue."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.unit.api.conftest import AUTH, Broker
from tests.unit.seed_orders import CALIBRATE_TEXT, OBSERVATION_TEXT, observation

JSON = {**AUTH, "Content-Type": "application/json"}


def test_the_seed_orders_over_http(client: TestClient, broker: Broker) -> None:
    first = client.post("/work-orders", content=CALIBRATE_TEXT, headers=JSON)
    second = client.post("/work-orders", content=OBSERVATION_TEXT, headers=JSON)
    assert (first.status_code, second.status_code) == (201, 201), second.text
    assert first.json()["pk"] != second.json()["pk"]
    assert [sent["queue"] for sent in broker.sent] == ["processor", "telescope"]

    again = client.post("/work-orders", content=OBSERVATION_TEXT, headers=JSON)
    assert again.status_code == 200 and again.json()["pk"] == second.json()["pk"]

    moved = client.post("/work-orders", json={**observation(), "ra": 100.0}, headers=AUTH)
    assert moved.status_code == 409
    detail = moved.json()["detail"]
    assert detail.startswith(
        f"work order id '1' of user 'Main Module' is already work order {second.json()['pk']}"
        " (observation, received "
    )

    ambiguous = client.get("/work-orders/1", headers=AUTH)
    assert ambiguous.status_code == 409
    assert "calibrate_file_batch" in ambiguous.json()["detail"]
    assert "observation" in ambiguous.json()["detail"]
    assert ambiguous.json()["detail"].endswith("name one with ?user= and ?queue=")
    named = client.get("/work-orders/1", params={"queue": "telescope"}, headers=AUTH)
    assert named.status_code == 200 and named.json()["request"] == "observation"

    refused = client.post("/work-orders/1/cancel", headers=AUTH)
    assert refused.status_code == 409 and "?queue=" in refused.json()["detail"]
    cancelled = client.post("/work-orders/1/cancel", params={"queue": "processor"}, headers=AUTH)
    assert cancelled.status_code == 200 and cancelled.json()["outcome"] == "cancelled"
    report = client.get("/work-orders/1", params={"queue": "processor"}, headers=AUTH).json()
    assert report["state"] == "cancelled"
