"""The one Celery application of the observatory.

Start a worker per queue, and one beat (it also runs the routine plan, workers/beat.py)::

    celery -A workers.app worker -Q dome -c 1 -n dome@%h
    celery -A workers.app worker -Q telescope -c 1 -n telescope@%h
    celery -A workers.app worker -Q processor -n processor@%h
    celery -A workers.app beat -s var/celerybeat-schedule
"""

from __future__ import annotations

from celery import Celery

from observatory.settings import get_settings
from workers.config import celery_config

app = Celery(
    "observatory", include=["tasks.dome", "tasks.telescope", "tasks.processor", "workers.signals"]
)
app.conf.update(celery_config(get_settings()))
# Beat also runs the routine imaging plan (config/routine.toml).
app.conf.beat_scheduler = "workers.beat:RoutineScheduler"
