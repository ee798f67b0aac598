"""The Celery application of the benchmark worker: the observatory's app plus the bare
baseline task of :mod:`tasks.bench`.

    celery -A workers.bench_app worker -Q dome -c 1
"""

from __future__ import annotations

from workers.app import app

app.conf.include = [*app.conf.include, "tasks.bench"]

__all__ = ["app"]
