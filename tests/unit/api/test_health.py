"""GET /health answers whether the database and the broker are reachable."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from observatory.api import create_app
from observatory.settings import Settings
from tests.helpers import free_port
from tests.unit.api.conftest import Broker


def test_healthy(client: TestClient) -> None:
    answer = client.get("/health")
    assert answer.status_code == 200
    assert answer.json() == {"database": "ok", "broker": "ok", "held_queues": [], "holds": []}


def test_broker_down_is_503_naming_it(client: TestClient, broker: Broker) -> None:
    broker.down = True
    answer = client.get("/health")
    assert answer.status_code == 503
    assert answer.json() == {
        "database": "ok",
        "broker": "unreachable: connection refused",
        "held_queues": [],
        "holds": [],
    }


def test_database_down_is_503_naming_it(tmp_path: Path, broker: Broker) -> None:
    # Nothing listens on this port: the connection is refused.
    url = f"postgresql+psycopg2://observatory:x@127.0.0.1:{free_port()}/observatory"
    settings = Settings(database_url=url, data_dir=tmp_path)
    with TestClient(create_app(settings, broker, broker.probe)) as client:
        answer = client.get("/health")
    assert answer.status_code == 503
    body = answer.json()
    assert body["broker"] == "ok"
    assert body["database"].startswith("unreachable: OperationalError")


def test_orders_while_the_database_is_down_are_503_in_one_line(
    tmp_path: Path, broker: Broker
) -> None:
    # A PostgreSQL server stopped: its socket folder holds no socket.
    url = f"postgresql+psycopg2://postgres@/observatory?host={tmp_path}"
    settings = Settings(database_url=url, data_dir=tmp_path, api={"tokens": ["t"]})
    with TestClient(create_app(settings, broker, broker.probe)) as client:
        headers = {"Authorization": "Bearer t"}
        order = {"id": "1", "request": "dome_status", "datetime": "2026-11-23T21:00:00",
                 "user": "scheduler"}  # fmt: skip
        posted = client.post("/work-orders", json=order, headers=headers)
        listed = client.get("/work-orders", headers=headers)
    for answer in (posted, listed):
        assert answer.status_code == 503, answer.text
        detail = answer.json()["detail"]
        assert detail.startswith("database unavailable (connection to server on socket")
        assert "\n" not in detail
    assert broker.sent == []
