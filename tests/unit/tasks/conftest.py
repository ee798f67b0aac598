"""A real Celery task object around ``run_work_order``, called in this process with the
request a worker would give it (no broker: what is tested is the wrapper's bookkeeping;
tests/integration runs the same tasks on real workers)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from celery import Celery, Task

from observatory.db.models import WorkOrderState
from observatory.settings import Settings, get_settings
from tasks.common import Action, run_work_order
from tests.smtp import smtp_server  # noqa: F401  (fixture)

ADMIN = "ops@example.org"


@pytest.fixture
def settings(
    database_url: str,
    tmp_path,
    smtp_server,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Settings]:
    host, port, _ = smtp_server
    for key, value in {
        "DATABASE_URL": database_url,
        "DATA_DIR": str(tmp_path),
        "ADMIN_EMAILS": ADMIN,
        "SMTP__HOST": host,
        "SMTP__PORT": str(port),
    }.items():
        monkeypatch.setenv(f"OBSERVATORY_{key}", value)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def celery_task() -> Task:
    app = Celery("tests", set_as_current=False)

    @app.task(bind=True, name="observatory.dome.status")
    def status(self: Task, work_order_pk: int | None = None, order: dict | None = None) -> None:
        raise AssertionError("called through deliver(), not by a worker")

    return status


Deliver = Callable[..., dict[str, Any]]


@pytest.fixture
def deliver(celery_task: Task) -> Deliver:
    """Run ``action`` as the task would for one delivery of the order."""

    def run(
        action: Action,
        work_order_pk: int | None = None,
        order: dict[str, Any] | None = None,
        *,
        redelivered: bool = False,
        resume_attempt: int | None = None,
        step: str = "dome_status",
        end_state: Callable[[Exception], WorkOrderState] | None = None,
    ) -> dict[str, Any]:
        celery_task.push_request(
            id="task-1", hostname="dome@test", delivery_info={"redelivered": redelivered}
        )
        try:
            extra = {} if end_state is None else {"end_state": end_state}
            return run_work_order(
                celery_task, step, action, work_order_pk, order,
                resume_attempt=resume_attempt, **extra,
            )  # fmt: skip
        finally:
            celery_task.pop_request()

    return run
