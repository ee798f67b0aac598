"""The intake application over a real database, with a publisher and broker probe that
stand in for the broker (which the integration tests run for real)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from observatory.api import BrokerUnreachable, create_app
from observatory.errors import PublishFailed
from observatory.settings import Settings

TOKEN = "s3cret-token-for-tests"


class Broker:
    """Records what the intake published; ``down`` makes it unreachable."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.down = False

    def __call__(self, *, work_order_pk: int, task_name: str, queue: str, priority: float) -> str:
        if self.down:
            raise PublishFailed("broker unreachable: connection refused")
        self.sent.append({"pk": work_order_pk, "task": task_name, "queue": queue})
        return f"task-{len(self.sent)}"

    def probe(self) -> None:
        if self.down:
            raise BrokerUnreachable("connection refused")


def order(order_id: str = "1", request: str = "dome_status", **fields: Any) -> dict[str, Any]:
    return {
        "id": order_id,
        "request": request,
        "datetime": "2026-11-23T21:00:00",
        "user": "scheduler",
        **fields,
    }


@pytest.fixture
def broker() -> Broker:
    return Broker()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path, api={"tokens": [TOKEN, "other"]})


@pytest.fixture
def client(settings: Settings, broker: Broker) -> Iterator[TestClient]:
    with TestClient(create_app(settings, broker, broker.probe)) as test_client:
        yield test_client


AUTH = {"Authorization": f"Bearer {TOKEN}"}
