"""The Celery configuration the workers run with."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from typing import Any

import pytest
from celery import Celery
from kombu.exceptions import ContentDisallowed
from kombu.serialization import dumps, loads, prepare_accept_content

from observatory.settings import Settings
from workers.config import celery_config, celery_priority


def test_priorities_a_unit_apart_never_share_a_redis_level() -> None:
    # Ten Redis levels for eleven whole priorities: 0 and 1 share the last one.
    levels = [celery_priority(p) for p in (10.0, 9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0)]
    assert levels == list(range(10))
    # Most urgent first: kombu serves level 0 first.
    assert celery_priority(0.0) == 9
    assert celery_priority(5.5) < celery_priority(5.0)


@pytest.mark.parametrize(
    ("priority", "level"),
    [
        (10.0, 0),
        (9.0001, 0),
        (9.0, 1),
        (8.5, 1),
        (8.0, 2),
        (1.5, 8),
        (1.0, 9),
        (0.5, 9),
        (0.0, 9),
        # Out of range values land on the nearest level rather than outside kombu's ten.
        (11.0, 0),
        (-1.0, 9),
    ],
)
def test_levels_are_the_documented_half_open_units(priority: float, level: int) -> None:
    # celery_priority's docstring: (9, 10] -> 0, (8, 9] -> 1, ... (0, 1] -> 9, 0 -> 9.
    assert celery_priority(priority) == level


def test_messages_are_json_only_and_acknowledged_late() -> None:
    config = celery_config(Settings(visibility_timeout_s=42.0))
    assert config["accept_content"] == ["json"] and config["task_serializer"] == "json"
    assert config["task_acks_late"] and config["task_reject_on_worker_lost"]
    assert config["worker_prefetch_multiplier"] == 1
    assert config["broker_transport_options"]["visibility_timeout"] == 42.0


@pytest.mark.parametrize("key", ["accept_content", "result_accept_content"])
def test_a_pickled_message_or_result_is_refused(key: str) -> None:
    # As Celery does with the names it is configured with.
    accepted = prepare_accept_content(celery_config(Settings())[key])
    content_type, encoding, body = dumps({"work_order_pk": 1}, serializer="pickle")
    assert pickle.loads(body) == {"work_order_pk": 1}
    with pytest.raises(ContentDisallowed):
        loads(body, content_type, encoding, accept=accepted)
    content_type, encoding, body = dumps({"work_order_pk": 1}, serializer="json")
    assert loads(body, content_type, encoding, accept=accepted) == {"work_order_pk": 1}


def test_results_are_serialised_as_json() -> None:
    config = celery_config(Settings())
    assert config["result_serializer"] == "json"


@pytest.fixture
def conf() -> Iterator[Any]:
    """The configuration as a Celery app sees it (an unknown key would leave Celery's
    default in place, which is what these tests would then find)."""
    app = Celery("config-test", set_as_current=False)
    app.conf.update(celery_config(Settings(broker_url="redis://127.0.0.1:6390/3")))
    yield app.conf
    app.close()


def test_a_message_is_acknowledged_only_after_its_task_and_one_at_a_time(conf: Any) -> None:
    # A worker that dies mid-task leaves its message to be delivered again.
    assert conf.task_acks_late is True and conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1


def test_every_queue_is_declared_and_its_tasks_routed_to_it(conf: Any) -> None:
    assert [(q.name, q.routing_key) for q in conf.task_queues] == [
        ("dome", "dome"),
        ("telescope", "telescope"),
        ("processor", "processor"),
    ]
    for queue in ("dome", "telescope", "processor"):
        assert conf.task_routes[f"observatory.{queue}.*"] == {"queue": queue}
    # A task of no known queue is refused rather than sent to a queue nobody reads.
    assert conf.task_create_missing_queues is False
    assert conf.task_default_queue == "processor"


def test_flower_gets_every_event_it_needs(conf: Any) -> None:
    assert conf.worker_send_task_events is True and conf.task_send_sent_event is True
    assert conf.task_track_started is True


def test_outcomes_live_in_sql_and_chords_in_the_broker(conf: Any) -> None:
    assert conf.task_ignore_result is True
    assert conf.broker_url == conf.result_backend == "redis://127.0.0.1:6390/3"
    assert conf.result_expires == 7 * 24 * 3600


def test_redis_priorities_and_separator(conf: Any) -> None:
    options = conf.broker_transport_options
    assert options["priority_steps"] == list(range(10))
    assert options["sep"] == ":" and options["queue_order_strategy"] == "priority"


@pytest.mark.parametrize(
    ("visibility_timeout_s", "restore_interval_s"), [(4.0, 1), (15.0, 5), (60.0, 10)]
)
def test_dead_workers_messages_are_swept_within_a_third_of_the_visibility_timeout(
    visibility_timeout_s: float, restore_interval_s: int
) -> None:
    options = celery_config(Settings(visibility_timeout_s=visibility_timeout_s))
    assert options["broker_transport_options"]["unacked_restore_interval"] == restore_interval_s
    # Every sweep scans Redis: kombu's default scans on one sweep in ten.
    assert options["broker_transport_options"]["unacked_restore_throttle"] == 1


def test_the_project_logs_times_and_beat_as_configured(conf: Any) -> None:
    assert conf.worker_hijack_root_logger is False
    assert conf.timezone == "UTC" and conf.enable_utc is True
    assert conf.beat_max_loop_interval == 30
    assert conf.broker_connection_retry_on_startup is True
