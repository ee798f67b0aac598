"""``observatory api`` as a real process on the running stack, driven with curl: a client
that shares nothing with the project's Python code."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from openapi_spec_validator import validate

from observatory.stack import Stack
from tests.helpers import free_port, wait_for

pytestmark = pytest.mark.integration

TOKEN = "integration-" + uuid.uuid4().hex


@dataclass
class Answer:
    status: int
    body: Any


def curl(method: str, url: str, *, token: str | None = None, data: Any = None) -> Answer:
    """One request with curl; the JSON answer decoded."""
    command = ["curl", "--silent", "--show-error", "--max-time", "20", "-X", method, url,
               "--write-out", "\n%{http_code}"]  # fmt: skip
    if token is not None:
        command += ["--header", f"Authorization: Bearer {token}"]
    if data is not None:
        command += ["--header", "Content-Type: application/json", "--data-binary", "@-"]
    done = subprocess.run(
        command,
        input=json.dumps(data).encode() if data is not None else None,
        capture_output=True,
        check=True,
        timeout=30,
    )
    text, _, code = done.stdout.decode().rpartition("\n")
    return Answer(int(code), json.loads(text) if text else None)


@pytest.fixture(scope="module")
def api(stack: Stack) -> Iterator[str]:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    port = free_port()
    # The stack's settings are in the environment (OBSERVATORY_*); the API adds its token.
    env = {**os.environ, **stack.child_env(), "OBSERVATORY_API__TOKENS": f"unused,{TOKEN}"}
    log = open(stack.log_path("api-test"), "ab")  # noqa: SIM115  (closed below)
    process = subprocess.Popen(
        [sys.executable, "-m", "observatory.cli.main", "api", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(base), 30, message="the API to answer")
        yield base
    finally:
        process.terminate()
        process.wait(20)
        log.close()


def _answers(base: str) -> bool:
    try:
        return curl("GET", f"{base}/health").status == 200
    except subprocess.CalledProcessError:
        return False


def dome_status_order() -> dict[str, Any]:
    return {
        "id": f"api-{uuid.uuid4().hex[:10]}",
        "request": "dome_status",
        "datetime": dt.datetime.now(dt.UTC).isoformat(),
        "user": "remote-scheduler",
    }


def test_health_reports_database_and_broker(api: str) -> None:
    answer = curl("GET", f"{api}/health")
    assert answer.status == 200
    assert answer.body == {"database": "ok", "broker": "ok", "held_queues": [], "holds": []}


def test_posted_order_runs_and_is_reported_with_its_steps(api: str) -> None:
    order = dome_status_order()
    created = curl("POST", f"{api}/work-orders", token=TOKEN, data=order)
    assert created.status == 201, created.body
    assert created.body["id"] == order["id"] and created.body["published"] is True
    assert created.body["priority"] is not None
    url = f"{api}/work-orders/{order['id']}?user=remote-scheduler"

    def finished() -> Any:
        report = curl("GET", url, token=TOKEN)
        assert report.status == 200, report.body
        return report.body if report.body["state"] in {"succeeded", "failed"} else None

    report = wait_for(finished, 60, message="the order to finish")
    assert report["state"] == "succeeded", (report["reason"], report["steps"])
    assert report["steps"] and all(s["state"] == "succeeded" for s in report["steps"])
    assert report["queue"] == "dome"
    again = curl("POST", f"{api}/work-orders", token=TOKEN, data=order)
    assert again.status == 200 and again.body["pk"] == created.body["pk"]


def test_without_or_with_a_wrong_token_is_401(api: str) -> None:
    order = dome_status_order()
    assert curl("POST", f"{api}/work-orders", data=order).status == 401
    assert curl("POST", f"{api}/work-orders", token="unused-not", data=order).status == 401
    assert curl("GET", f"{api}/work-orders/{order['id']}").status == 401
    # Nothing was stored: with the right token the order is new.
    assert curl("GET", f"{api}/work-orders/{order['id']}", token=TOKEN).status == 404


def test_invalid_order_is_422_naming_the_field(api: str) -> None:
    order = {**dome_status_order(), "request": "dome_goto", "altitude_deg": 95, "azimuth_deg": 10}
    answer = curl("POST", f"{api}/work-orders", token=TOKEN, data=order)
    assert answer.status == 422
    assert answer.body["detail"].startswith("altitude"), answer.body
    assert "Traceback" not in json.dumps(answer.body)
    rejected = curl("GET", f"{api}/work-orders/{order['id']}", token=TOKEN)
    assert rejected.status == 200 and rejected.body["state"] == "rejected"


def test_openapi_document_is_served_and_valid(api: str) -> None:
    answer = curl("GET", f"{api}/openapi.json")
    assert answer.status == 200
    validate(answer.body)
    assert {"/work-orders", "/work-orders/{order_id}", "/health"} <= set(answer.body["paths"])
