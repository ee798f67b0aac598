"""The HTTP intake: other systems submit work orders and read their outcome.

:func:`create_app` builds the ASGI application around a publisher (the library never
imports Celery, so the caller supplies it); ``workers.api_app:create_app`` is the factory
that uvicorn runs and ``observatory api`` serves.
"""

from observatory.api.app import create_app
from observatory.api.health import BrokerProbe, BrokerUnreachable

__all__ = ["BrokerProbe", "BrokerUnreachable", "create_app"]
