"""The OpenAPI document is valid, covers every route, and the answers match it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_spec_validator import validate

from tests.unit.api.conftest import AUTH, Broker, order

ROUTES = {
    ("/work-orders", "post"),
    ("/work-orders/{order_id}", "get"),
    ("/health", "get"),
    ("/work-orders", "get"),
    ("/work-orders/{order_id}/cancel", "post"),
    ("/queues", "get"),
    ("/queues/{queue}/hold", "post"),
    ("/queues/{queue}/release", "post"),
}


@pytest.fixture
def document(client: TestClient) -> dict[str, Any]:
    answer = client.get("/openapi.json")
    assert answer.status_code == 200
    return dict(answer.json())


def test_document_is_valid_and_covers_every_route(document: dict[str, Any]) -> None:
    validate(document)
    served = {(path, method) for path, item in document["paths"].items() for method in item}
    assert served == ROUTES
    body = document["paths"]["/work-orders"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/WorkOrder"
    }
    mapping = document["components"]["schemas"]["WorkOrder"]["discriminator"]["mapping"]
    assert {"dome_status", "observation", "calibrate_file_batch"} <= set(mapping)
    post = document["paths"]["/work-orders"]["post"]
    assert {"200", "201", "401", "403", "413", "422", "503"} <= set(post["responses"])
    assert post["security"] == [{"HTTPBearer": []}]


def check(spec: OpenAPI, method: str, path: str, answer: Any, body: Any = None) -> None:
    """Validate one request and its answer against the document (raises on a mismatch)."""
    path_only, _, query = path.partition("?")
    args = dict(part.split("=", 1) for part in query.split("&")) if query else None
    data = json.dumps(body).encode() if body is not None else None
    request = MockRequest(
        "http://testserver", method, path_only, args=args, headers=AUTH, data=data
    )
    response = MockResponse(
        answer.content, answer.status_code, content_type=answer.headers["content-type"]
    )
    spec.validate_response(request, response)


def test_answers_match_the_document(
    client: TestClient, broker: Broker, document: dict[str, Any]
) -> None:
    spec = OpenAPI.from_dict(document)
    good = order("doc-1")
    spec.validate_request(MockRequest("http://testserver", "post", "/work-orders",
                                      headers=AUTH, data=json.dumps(good).encode()))  # fmt: skip
    answers = [
        ("post", "/work-orders", good, client.post("/work-orders", json=good, headers=AUTH)),
        ("post", "/work-orders", good, client.post("/work-orders", json=good, headers=AUTH)),
        ("post", "/work-orders", {"id": 1}, client.post("/work-orders", json={"id": 1},
                                                        headers=AUTH)),
        ("get", "/work-orders/doc-1", None, client.get("/work-orders/doc-1", headers=AUTH)),
        ("get", "/work-orders/none?user=x", None,
         client.get("/work-orders/none?user=x", headers=AUTH)),
        ("get", "/health", None, client.get("/health")),
    ]  # fmt: skip
    assert [a[3].status_code for a in answers] == [201, 200, 422, 200, 404, 200]
    broker.down = True
    down = order("doc-2")
    answers.append(("post", "/work-orders", down,
                    client.post("/work-orders", json=down, headers=AUTH)))  # fmt: skip
    answers.append(("get", "/health", None, client.get("/health")))
    assert [a[3].status_code for a in answers[-2:]] == [503, 503]
    for method, path, body, answer in answers:
        check(spec, method, path, answer, body)
