"""The Celery configuration the workers run with."""

from __future__ import annotations

from observatory.settings import Settings
from workers.config import celery_config, celery_priority


def test_priorities_a_unit_apart_never_share_a_redis_level() -> None:
    # Ten Redis levels for eleven whole priorities: 0 and 1 share the last one.
    levels = [celery_priority(p) for p in (10.0, 9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0)]
    assert levels == list(range(10))
    # Most urgent first: kombu serves level 0 first.
    assert celery_priority(0.0) == 9
    assert celery_priority(5.5) < celery_priority(5.0)


def test_messages_are_json_only_and_acknowledged_late() -> None:
    config = celery_config(Settings(visibility_timeout_s=42.0))
    assert config["accept_content"] == ["json"] and config["task_serializer"] == "json"
    assert config["task_acks_late"] and config["task_reject_on_worker_lost"]
    assert config["worker_prefetch_multiplier"] == 1
    assert config["broker_transport_options"]["visibility_timeout"] == 42.0
