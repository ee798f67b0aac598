"""The baseline of the work-order overhead benchmark: the same dome status read as
``observatory.dome.status``, as a bare Celery task with no SQL around it.

Only the benchmark's worker (``workers.bench_app``) registers it; production workers do
not know it. It records when it started and ended in a Redis list, which is all the
benchmark needs to compare it with a work order's ``started_at`` and ``finished_at``.
"""

from __future__ import annotations

import json
import time
from functools import cache

import redis
from celery import shared_task

from observatory import dome_api
from observatory.devices.dome import DomeAdapter
from observatory.settings import get_settings

BARE_TIMES_KEY = "observatory:bench:bare"


@cache
def _dome() -> DomeAdapter:
    return DomeAdapter(get_settings().devices)


@cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(get_settings().effective_broker_url)


@shared_task(name="observatory.dome.bare_status", ignore_result=True)
def bare_status(sent_at: float) -> None:
    started = time.time()
    dome_api.dome_status(_dome())
    record = {"sent": sent_at, "started": started, "ended": time.time()}
    _redis().rpush(BARE_TIMES_KEY, json.dumps(record))
