"""The HTTP intake composed with the Celery publisher.

``observatory api`` serves it; any ASGI server can too::

    uvicorn --factory workers.api_app:create_app --host 0.0.0.0 --port 8022
"""

from __future__ import annotations

from collections.abc import Callable

from celery import Celery
from fastapi import FastAPI
from kombu.exceptions import OperationalError

from observatory.api import BrokerUnreachable
from observatory.api import create_app as create_intake
from observatory.settings import Settings, get_settings
from workers.publish import app_of, publisher

BROKER_PROBE_TIMEOUT_S = 3.0


def broker_probe(celery_app: Celery) -> Callable[[], None]:
    """A probe that opens (and closes) one connection to the broker of ``celery_app``;
    it raises BrokerUnreachable."""

    def probe_broker() -> None:
        try:
            with celery_app.connection_for_write() as connection:
                connection.ensure_connection(max_retries=1, timeout=BROKER_PROBE_TIMEOUT_S)
        except (OperationalError, OSError) as error:
            raise BrokerUnreachable(str(error)) from error

    return probe_broker


def create_app(settings: Settings | None = None) -> FastAPI:
    """The intake application with the process's settings (or ``settings``), publishing
    to their broker."""
    settings = settings or get_settings()
    celery_app = app_of(settings)
    return create_intake(settings, publisher(celery_app), broker_probe(celery_app))
