"""``observatory flower`` against the running stack: basic auth on the dashboard and the
API, and the stack's tasks in it; and the refusals to run without credentials."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from observatory.settings import Settings
from observatory.stack import Stack
from tests.helpers import free_port, wait_for

pytestmark = pytest.mark.integration

USER, PASSWORD = "operator", "pw-" + uuid.uuid4().hex
FLOWER = [sys.executable, "-m", "observatory.cli.main", "flower"]


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("FLOWER_", "OBSERVATORY_FLOWER"))
    }
    return {**env, **extra}


@pytest.fixture(scope="module")
def flower(stack: Stack) -> Iterator[str]:
    port = free_port()
    env = clean_env(**stack.child_env(), OBSERVATORY_FLOWER__BASIC_AUTH=f"{USER}:{PASSWORD}")
    log = open(stack.log_path("flower-test"), "ab")  # noqa: SIM115  (closed below)
    process = subprocess.Popen(
        [*FLOWER, "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(base), 30, message="Flower to answer")
        yield base
    finally:
        process.terminate()
        process.wait(20)
        log.close()


def _answers(base: str) -> bool:
    try:
        requests.get(f"{base}/healthcheck", timeout=2)
    except requests.ConnectionError:
        return False
    return True


def test_dashboard_and_api_need_the_credentials(flower: str) -> None:
    # The dashboard (Flower 2 serves it at / and /workers), the task list and the API.
    for path in ("/", "/workers", "/tasks", "/api/workers", "/api/tasks"):
        assert requests.get(flower + path, timeout=10).status_code == 401, path
        wrong = requests.get(flower + path, auth=(USER, "nope"), timeout=10)
        assert wrong.status_code == 401, path
        right = requests.get(flower + path, auth=(USER, PASSWORD), timeout=10)
        assert right.status_code == 200, path


def test_a_task_run_by_the_stack_appears_with_queue_args_and_state(
    flower: str, stack_settings: Settings
) -> None:
    from observatory.cli.orders import submit_order

    def workers() -> Any:
        answer = requests.get(f"{flower}/api/workers", auth=(USER, PASSWORD), timeout=10)
        return answer.status_code == 200 and any(n.startswith("dome@") for n in answer.json())

    wait_for(workers, 30, interval=0.5, message="Flower to see the dome worker")
    order = {
        "id": f"flower-{uuid.uuid4().hex[:10]}",
        "request": "dome_status",
        "datetime": dt.datetime.now(dt.UTC).isoformat(),
        "user": "tests",
    }
    receipt = submit_order(order, stack_settings)
    assert receipt.published

    def finished_task() -> dict[str, Any] | None:
        answer = requests.get(
            f"{flower}/api/tasks",
            params={"taskname": "observatory.dome.status"},
            auth=(USER, PASSWORD),
            timeout=10,
        )
        for task in answer.json().values():
            if task["args"] == f"[{receipt.pk}]" and task["state"] == "SUCCESS":
                return dict(task)
        return None

    task = wait_for(finished_task, 60, interval=0.5, message="the task in Flower")
    assert task["name"] == "observatory.dome.status"
    assert task["routing_key"] == "dome"
    assert task["worker"].startswith("dome@")


@pytest.mark.slow  # a process for a refusal; fast: tests/unit/cli/test_flower.py
def test_refuses_to_start_without_credentials(stack_settings: Settings) -> None:
    env = clean_env()
    done = subprocess.run([*FLOWER, "--port", "0"], env=env, capture_output=True, timeout=60)
    assert done.returncode == 2
    assert b"Flower needs credentials" in done.stderr


@pytest.mark.slow  # a process for a refusal; fast: tests/unit/cli/test_flower.py
def test_no_auth_only_on_loopback(stack_settings: Settings) -> None:
    env = clean_env()
    command = [*FLOWER, "--host", "0.0.0.0", "--port", "0", "--no-auth"]
    done = subprocess.run(command, env=env, capture_output=True, timeout=60)
    assert done.returncode == 2
    assert b"loopback" in done.stderr


@pytest.mark.slow  # a process for a refusal; fast: tests/unit/cli/test_flower.py
def test_up_with_flower_refuses_before_starting_anything(tmp_path) -> None:
    env = clean_env(OBSERVATORY_DATA_DIR=str(tmp_path / "data"))
    command = [sys.executable, "-m", "observatory.cli.main", "up", "--flower"]
    done = subprocess.run(command, env=env, capture_output=True, timeout=60)
    assert done.returncode == 2
    assert b"Flower needs credentials" in done.stderr
    assert not (tmp_path / "data").exists()
