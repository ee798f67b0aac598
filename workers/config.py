"""Celery configuration derived from the observatory's settings."""

from __future__ import annotations

import math
from typing import Any

from kombu import Queue

from observatory.orders.routes import QUEUES
from observatory.settings import Settings

# Redis priorities: kombu serves priority 0 first. Work-order priorities run 0-10 with 10
# the most urgent, so they are mapped onto ten steps in reverse.
PRIORITY_STEPS = list(range(10))


def celery_priority(priority: float) -> int:
    """The kombu priority (0 first, 9 last) of a work-order priority (10 most urgent).

    One level per unit, closed above: (9, 10] is level 0, (8, 9] level 1, ... (0, 1] level
    9, and 0 shares level 9 with (0, 1]. Orders a whole unit apart never share a level
    (except 0 and 1); within a level they run first-in-first-out."""
    return max(0, min(9, math.floor(10.0 - priority)))


def celery_config(settings: Settings) -> dict[str, Any]:
    """Every Celery setting, as a dict for ``app.conf.update``."""
    visibility_timeout = settings.effective_visibility_timeout_s
    transport_options = {
        "visibility_timeout": visibility_timeout,
        "priority_steps": PRIORITY_STEPS,
        "sep": ":",
        "queue_order_strategy": "priority",
        # Sweep for messages of dead workers often enough for short visibility timeouts;
        # every sweep scans (kombu's default throttle scans one sweep in ten, which adds up
        # to 100 s to the redelivery of a killed worker's message).
        "unacked_restore_interval": settings.unacked_restore_interval_s,
        "unacked_restore_throttle": 1,
    }
    return {
        "broker_url": settings.effective_broker_url,
        "broker_transport_options": transport_options,
        "broker_connection_retry_on_startup": True,
        # JSON only: a pickled message is refused by every worker.
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        # Outcomes live in SQL; Flower reads them from task events.
        "task_ignore_result": True,
        # Chords (the processor's parallel units) need a result backend to count finished
        # members; only tasks that opt in (ignore_result=False) store a result there.
        "result_backend": settings.effective_broker_url,
        "result_expires": 7 * 24 * 3600,
        "task_queues": [Queue(name, routing_key=name) for name in QUEUES],
        "task_default_queue": "processor",
        "task_routes": {f"observatory.{name}.*": {"queue": name} for name in QUEUES},
        "task_create_missing_queues": False,
        # A message is acknowledged after its task ends; if the worker dies first, the
        # broker delivers it again.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_track_started": True,
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "worker_hijack_root_logger": False,
        "timezone": "UTC",
        "enable_utc": True,
        "beat_max_loop_interval": 30,
    }
