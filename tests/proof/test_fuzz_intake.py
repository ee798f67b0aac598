"""Property-based fuzzing of the intake: a malformed order is refused with an error that
names the problem, and leaves nothing behind but (where its id is readable) one
``rejected`` row; nothing is published and no step runs.

The same properties are checked through the Python entry point, the CLI and the HTTP
intake (a real ``observatory api`` process).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from observatory.cli.main import main as cli_main
from observatory.db.migrate import upgrade
from observatory.db.models import StepRun, WorkOrder, WorkOrderState
from observatory.db.session import dispose_engines, session_scope
from observatory.errors import WorkOrderInvalid
from observatory.intake import submit
from observatory.settings import Settings, get_settings
from tests.helpers import free_port, wait_for
from tests.proof.strategies import Malformed, hostile_examples, malformed_orders

API_TOKEN = "fuzz-token"

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def with_hostile_examples(test: Any) -> Any:
    """Run ``test`` on each of the hostile orders explicitly, besides the drawn ones."""
    for hostile in reversed(hostile_examples()):
        test = example(malformed=hostile)(test)
    return test


class RefusingBroker:
    """A publisher for orders that must never reach the broker: any call is a failure."""

    def __call__(self, *, work_order_pk: int, task_name: str, queue: str, priority: float) -> str:
        raise AssertionError(f"a refused order was published: pk {work_order_pk} to {task_name}")


@pytest.fixture(scope="module")
def intake_settings() -> Iterator[Settings]:
    with tempfile.TemporaryDirectory(prefix="fuzz-intake-") as folder:
        settings = Settings(data_dir=Path(folder), database_url=None)
        upgrade(settings.sqlalchemy_url)
        with pytest.MonkeyPatch.context() as env:
            # The CLI reads its settings from the environment, as it does for an operator;
            # the broker is unreachable, and must never be needed.
            env.setenv("OBSERVATORY_DATA_DIR", folder)
            env.delenv("OBSERVATORY_DATABASE_URL", raising=False)
            env.setenv("OBSERVATORY_BROKER_URL", "redis://127.0.0.1:1/0")
            get_settings.cache_clear()
            yield settings
        get_settings.cache_clear()
        dispose_engines(settings.sqlalchemy_url)


def rows_of(settings: Settings, order: dict[str, Any]) -> list[tuple[str, WorkOrderState]]:
    with session_scope(settings.sqlalchemy_url) as session:
        found = session.execute(
            # Every fuzzed order has a fresh id, so the id alone finds its rows.
            select(WorkOrder.order_id, WorkOrder.state).where(
                WorkOrder.order_id == str(order.get("id"))
            )
        )
        return [(order_id, state) for order_id, state in found]


def step_runs(settings: Settings) -> int:
    with session_scope(settings.sqlalchemy_url) as session:
        return session.scalar(select(func.count()).select_from(StepRun)) or 0


def assert_refused_cleanly(settings: Settings, malformed: Malformed, message: str) -> None:
    assert malformed.named in message, f"error {message!r} does not name {malformed.named!r}"
    assert "Traceback" not in message
    # At most the rejection itself is stored, and only as `rejected`.
    assert {state for _, state in rows_of(settings, malformed.order)} <= {WorkOrderState.REJECTED}
    assert step_runs(settings) == 0


@FUZZ
@given(malformed=malformed_orders())
@with_hostile_examples
def test_python_intake_refuses_malformed_orders(
    intake_settings: Settings, malformed: Malformed
) -> None:
    with pytest.raises(WorkOrderInvalid) as refused:
        submit(intake_settings, malformed.order, RefusingBroker())
    assert_refused_cleanly(intake_settings, malformed, str(refused.value))


@FUZZ
@given(malformed=malformed_orders())
@with_hostile_examples
def test_cli_refuses_malformed_orders(intake_settings: Settings, malformed: Malformed) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
        json.dump(malformed.order, file)
    out, err = io.StringIO(), io.StringIO()
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = cli_main(["submit", file.name])
    finally:
        Path(file.name).unlink()
    assert code == 2, f"exit {code}; stderr {err.getvalue()!r}"
    assert out.getvalue() == ""
    assert_refused_cleanly(intake_settings, malformed, err.getvalue())


@FUZZ
@given(text=st.text(max_size=40))
def test_cli_refuses_text_that_is_not_an_order(
    intake_settings: Settings, text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    err = io.StringIO()
    with redirect_stdout(io.StringIO()), redirect_stderr(err):
        code = cli_main(["submit", "-"])
    assert code == 2
    assert err.getvalue().startswith("invalid work order:")
    assert "Traceback" not in err.getvalue()


@pytest.fixture(scope="module")
def api_url(intake_settings: Settings) -> Iterator[str]:
    """A real ``observatory api`` process on the fuzzed database (the broker unreachable:
    a refused order must never need it)."""
    port = free_port()
    env = {
        **os.environ,
        "OBSERVATORY_DATA_DIR": str(intake_settings.data_dir),
        "OBSERVATORY_BROKER_URL": "redis://127.0.0.1:1/0",
        "OBSERVATORY_API__TOKENS": API_TOKEN,
        "OBSERVATORY_LOG_LEVEL": "WARNING",
    }
    env.pop("OBSERVATORY_DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "observatory.cli.main", "api", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(f"{url}/openapi.json"), 60, message="the API to answer")
        yield url
    finally:
        process.terminate()
        process.wait(20)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.ConnectionError:
        return False


@FUZZ
@given(malformed=malformed_orders())
@with_hostile_examples
def test_http_intake_refuses_malformed_orders(
    intake_settings: Settings, api_url: str, malformed: Malformed
) -> None:
    answer = requests.post(
        f"{api_url}/work-orders",
        data=json.dumps(malformed.order),
        headers={"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"},
        timeout=20,
    )
    assert answer.status_code == 422, answer.text
    assert_refused_cleanly(intake_settings, malformed, json.dumps(answer.json()))


@FUZZ
@given(malformed=malformed_orders())
def test_http_intake_without_a_token_stores_nothing(
    intake_settings: Settings, api_url: str, malformed: Malformed
) -> None:
    answer = requests.post(
        f"{api_url}/work-orders",
        data=json.dumps(malformed.order),
        headers={"Content-Type": "application/json"},
        timeout=20,
    )
    assert answer.status_code == 401
    assert rows_of(intake_settings, malformed.order) == []
