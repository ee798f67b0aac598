"""Publishing work orders to the broker (the intake's Publisher, over Celery)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from celery import Celery
from kombu.exceptions import OperationalError

from observatory.errors import PublishFailed
from observatory.settings import Settings
from workers.app import app
from workers.config import celery_config, celery_priority

# Fail fast when the broker is down: the order is already stored and the reconciler
# publishes it later, so the submitter must not hang.
RETRY_POLICY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 1.0}

Publish = Callable[..., str]


def publisher(celery_app: Celery) -> Publish:
    """The intake's Publisher sending through ``celery_app`` (see :func:`publish`)."""

    def publish(*, work_order_pk: int, task_name: str, queue: str, priority: float) -> str:
        """Send the task that runs a stored work order; returns the task id. Raises
        PublishFailed when the broker cannot be reached within the retry policy."""
        return _send(celery_app, work_order_pk, task_name, queue, priority, {})

    return publish


def resumer(celery_app: Celery) -> Publish:
    """The reconciler's :class:`~observatory.orders.stalls.Resumer` sending through
    ``celery_app``: the order's task with the silent attempt's number."""

    def resume(
        *, work_order_pk: int, task_name: str, queue: str, priority: float, attempt: int
    ) -> str:
        kwargs = {"resume_attempt": attempt}
        return _send(celery_app, work_order_pk, task_name, queue, priority, kwargs)

    return resume


def _send(
    celery_app: Celery,
    work_order_pk: int,
    task_name: str,
    queue: str,
    priority: float,
    kwargs: dict[str, Any],
) -> str:
    task_id = f"wo{work_order_pk}-{uuid.uuid4().hex[:12]}"
    try:
        celery_app.send_task(
            task_name,
            args=[work_order_pk],
            kwargs=kwargs,
            task_id=task_id,
            queue=queue,
            routing_key=queue,
            priority=celery_priority(priority),
            retry=True,
            retry_policy=RETRY_POLICY,
            # Outcomes live in SQL. Waiting for a result would subscribe this publisher
            # to the result backend, whose lost connection turns a broker outage into a
            # long hang and a RuntimeError instead of PublishFailed.
            ignore_result=True,
        )
    except OperationalError as error:
        raise PublishFailed(f"broker unreachable: {error}") from error
    return task_id


def app_for(settings: Settings, name: str = "observatory-publisher") -> Celery:
    """A Celery app configured from ``settings`` (its broker, not the one :mod:`workers.app`
    read from the process's settings); close it when done."""
    made = Celery(name)
    made.conf.update(celery_config(settings))
    return made


_apps_by_broker: dict[str, Celery] = {}


def app_of(settings: Settings) -> Celery:
    """The Celery app that reaches ``settings``' broker: the process's own (:mod:`workers.app`)
    when it is that broker, else one made once per broker for this process."""
    broker_url = settings.effective_broker_url
    if app.conf.broker_url == broker_url:
        return app
    if broker_url not in _apps_by_broker:
        _apps_by_broker[broker_url] = app_for(settings)
    return _apps_by_broker[broker_url]


def publisher_for(settings: Settings) -> Publish:
    """The intake's Publisher on ``settings``' broker (see :func:`app_of`)."""
    return publisher(app_of(settings))


# The process's publisher, on the broker of the process-wide settings.
publish = publisher(app)
