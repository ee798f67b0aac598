"""The one Celery application of the observatory.

Start a worker per queue::

    celery -A workers.app worker -Q dome -c 1 -n dome@%h
    celery -A workers.app worker -Q telescope -c 1 -n telescope@%h
    celery -A workers.app worker -Q processor -n processor@%h
"""

from __future__ import annotations

from celery import Celery

from observatory.settings import get_settings
from workers.config import celery_config

app = Celery(
    "observatory", include=["tasks.dome", "tasks.telescope", "tasks.processor", "workers.signals"]
)
app.conf.update(celery_config(get_settings()))
