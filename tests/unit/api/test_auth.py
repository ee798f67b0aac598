"""Every work-order route needs a configured bearer token; /health does not."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from observatory.api import create_app
from observatory.api.auth import token_matches
from observatory.settings import Settings
from tests.unit.api.conftest import AUTH, TOKEN, Broker, order


def test_no_header_is_401_with_a_bearer_challenge(client: TestClient, broker: Broker) -> None:
    answer = client.post("/work-orders", json=order())
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert "bearer token is required" in answer.json()["detail"]
    assert broker.sent == []


@pytest.mark.parametrize(
    "header",
    [f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", "Bearer", TOKEN],
)
def test_wrong_or_malformed_token_is_401(client: TestClient, header: str) -> None:
    answer = client.post("/work-orders", json=order(), headers={"Authorization": header})
    assert answer.status_code == 401
    assert client.get("/work-orders/1", headers={"Authorization": header}).status_code == 401


def test_every_configured_token_is_accepted(client: TestClient) -> None:
    assert client.post("/work-orders", json=order("a"), headers=AUTH).status_code == 201
    other = {"Authorization": "Bearer other"}
    assert client.post("/work-orders", json=order("b"), headers=other).status_code == 201


def test_no_tokens_configured_refuses_everything(
    database_url: str, tmp_path: Path, broker: Broker
) -> None:
    settings = Settings(database_url=database_url, data_dir=tmp_path)
    with TestClient(create_app(settings, broker, broker.probe)) as client:
        for header in ({}, AUTH, {"Authorization": "Bearer "}):
            answer = client.post("/work-orders", json=order(), headers=header)
            assert answer.status_code == 403
            assert "no API tokens are configured" in answer.json()["detail"]
        assert client.get("/work-orders/1", headers=AUTH).status_code == 403
        assert client.get("/health").status_code == 200
    assert broker.sent == []


def test_token_comparison() -> None:
    assert token_matches("abc", ["x", "abc"])
    assert not token_matches("abc", ["abcd", "ab", ""])
    assert not token_matches("", ["abc"])
    assert token_matches("é", ["é"])  # non-ASCII tokens compare as UTF-8


def test_each_refusal_says_exactly_what_is_wrong_and_how_to_authenticate(
    client: TestClient, database_url: str, tmp_path: Path, broker: Broker
) -> None:
    # RFC 6750: a missing token gets a bare challenge, a wrong one error="invalid_token".
    missing = client.post("/work-orders", json=order())
    assert missing.json()["detail"] == "a bearer token is required (Authorization: Bearer <token>)"
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    wrong = client.post("/work-orders", json=order(), headers={"Authorization": "Bearer nope"})
    assert wrong.json()["detail"] == "the bearer token is not valid"
    assert wrong.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    closed = Settings(database_url=database_url, data_dir=tmp_path)
    with TestClient(create_app(closed, broker, broker.probe)) as closed_client:
        refused = closed_client.post("/work-orders", json=order(), headers=AUTH)
    assert refused.json()["detail"] == (
        "this intake accepts no requests: no API tokens are configured "
        "(settings api.tokens, OBSERVATORY_API__TOKENS)"
    )
