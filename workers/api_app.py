"""The HTTP intake composed with the Celery publisher.

``observatory api`` serves it; any ASGI server can too::

    uvicorn --factory workers.api_app:create_app --host 0.0.0.0 --port 8022
"""

from __future__ import annotations

from fastapi import FastAPI
from kombu.exceptions import OperationalError

from observatory.api import BrokerUnreachable
from observatory.api import create_app as create_intake
from observatory.settings import Settings, get_settings
from workers.app import app as celery_app
from workers.publish import publish

BROKER_PROBE_TIMEOUT_S = 3.0


def probe_broker() -> None:
    """Open (and close) one connection to the broker; raises BrokerUnreachable."""
    try:
        with celery_app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=BROKER_PROBE_TIMEOUT_S)
    except (OperationalError, OSError) as error:
        raise BrokerUnreachable(str(error)) from error


def create_app(settings: Settings | None = None) -> FastAPI:
    """The intake application with the process's settings (or ``settings``)."""
    return create_intake(settings or get_settings(), publish, probe_broker)
