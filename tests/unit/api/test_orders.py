"""POST /work-orders and GET /work-orders/{id} over a real database."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from observatory.db.models import WorkOrder, WorkOrderState
from observatory.db.session import session_scope
from observatory.settings import Settings
from observatory.steps import record_step
from tests.unit.api.conftest import AUTH, Broker, order


def stored(settings: Settings) -> list[WorkOrder]:
    with session_scope(settings.sqlalchemy_url) as session:
        rows = list(session.scalars(select(WorkOrder).order_by(WorkOrder.pk)))
        session.expunge_all()
        return rows


def test_valid_order_is_stored_published_and_answered_201(
    client: TestClient, broker: Broker, settings: Settings
) -> None:
    answer = client.post("/work-orders", json=order("night-1", priority=7.5), headers=AUTH)
    assert answer.status_code == 201
    body = answer.json()
    (row,) = stored(settings)
    assert body == {
        "id": "night-1", "user": "scheduler", "pk": row.pk, "state": "queued",
        "priority": 7.5, "published": True, "message": "",
    }  # fmt: skip
    assert answer.headers["location"] == "/work-orders/night-1?user=scheduler"
    assert broker.sent == [{"pk": row.pk, "task": "observatory.dome.status", "queue": "dome"}]


def test_resubmission_is_200_and_stores_nothing(
    client: TestClient, broker: Broker, settings: Settings
) -> None:
    first = client.post("/work-orders", json=order("7"), headers=AUTH)
    again = client.post("/work-orders", json=order("7"), headers=AUTH)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["pk"] == first.json()["pk"]
    assert "already received" in again.json()["message"]
    assert len(stored(settings)) == 1 and len(broker.sent) == 1


def test_invalid_order_is_422_naming_the_field_and_recorded_rejected(
    client: TestClient, broker: Broker, settings: Settings
) -> None:
    answer = client.post(
        "/work-orders", json=order("bad", request="dome_set_azimuth", azimuth=400), headers=AUTH
    )
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert detail.startswith("azimuth:") and "Traceback" not in detail
    (row,) = stored(settings)
    assert row.state == WorkOrderState.REJECTED and broker.sent == []


def test_unknown_request_and_missing_field_name_the_field(client: TestClient) -> None:
    unknown = client.post("/work-orders", json=order(request="make_coffee"), headers=AUTH)
    assert unknown.status_code == 422
    assert unknown.json()["detail"].startswith("request: unknown request 'make_coffee'")
    data = order()
    del data["datetime"]
    missing = client.post("/work-orders", json=data, headers=AUTH)
    assert missing.status_code == 422 and missing.json()["detail"].startswith("datetime:")


def test_body_that_is_not_json_is_422(client: TestClient) -> None:
    answer = client.post("/work-orders", content=b"{not json", headers=AUTH)
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("body: not valid JSON")


def test_body_over_the_limit_is_413(client: TestClient, settings: Settings) -> None:
    big = order(comment="x" * 70_000)
    answer = client.post("/work-orders", json=big, headers=AUTH)
    assert answer.status_code == 413
    # Without a Content-Length the limit holds on the bytes actually read.
    chunks = iter([b'{"id": "', b"x" * 70_000, b'"}'])
    streamed = client.post("/work-orders", content=chunks, headers=AUTH)
    assert streamed.status_code == 413
    assert stored(settings) == []


def test_broker_down_is_503_and_the_order_stays_stored(
    client: TestClient, broker: Broker, settings: Settings
) -> None:
    broker.down = True
    answer = client.post("/work-orders", json=order("late"), headers=AUTH)
    assert answer.status_code == 503
    body = answer.json()
    assert body["published"] is False and body["state"] == "queued"
    assert body["message"].startswith("stored, not yet published")
    (row,) = stored(settings)
    assert row.pk == body["pk"] and row.published_at is None


def test_get_reports_the_order_with_its_steps(client: TestClient, settings: Settings) -> None:
    pk = client.post("/work-orders", json=order("s1"), headers=AUTH).json()["pk"]
    with record_step(settings, pk, "read_status") as record:
        record.outputs = {"shutter": "closed"}
    answer = client.get("/work-orders/s1", headers=AUTH)
    assert answer.status_code == 200
    report = answer.json()
    assert (report["id"], report["request"], report["state"]) == ("s1", "dome_status", "queued")
    (step,) = report["steps"]
    assert step["step"] == "read_status" and step["state"] == "succeeded"
    assert step["outputs"] == {"shutter": "closed"}


def test_get_unknown_is_404_and_ambiguous_is_409_until_user_is_named(
    client: TestClient,
) -> None:
    assert client.get("/work-orders/nothing", headers=AUTH).status_code == 404
    client.post("/work-orders", json=order("shared"), headers=AUTH)
    client.post("/work-orders", json={**order("shared"), "user": "other one"}, headers=AUTH)
    ambiguous = client.get("/work-orders/shared", headers=AUTH)
    assert ambiguous.status_code == 409 and "?user=" in ambiguous.json()["detail"]
    named = client.get("/work-orders/shared", params={"user": "other one"}, headers=AUTH)
    assert named.status_code == 200 and named.json()["user"] == "other one"
    absent = client.get("/work-orders/shared", params={"user": "nobody"}, headers=AUTH)
    assert absent.status_code == 404


def test_order_id_with_a_slash_is_reachable(client: TestClient) -> None:
    client.post("/work-orders", json=order("a/b c"), headers=AUTH)
    assert client.get("/work-orders/a%2Fb%20c", headers=AUTH).status_code == 200
