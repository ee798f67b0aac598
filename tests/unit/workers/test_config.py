"""The Celery configuration the workers run with."""

from __future__ import annotations

import pickle

import pytest
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
