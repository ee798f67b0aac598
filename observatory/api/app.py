"""The intake's ASGI application."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError

from observatory import __version__
from observatory.api import control, health, orders
from observatory.api.health import BrokerProbe
from observatory.db.retry import database_unavailable
from observatory.intake import Publisher
from observatory.orders.models import WORK_ORDER_ADAPTER
from observatory.settings import Settings

log = logging.getLogger(__name__)

DESCRIPTION = """Submit work orders to the observatory and follow them.

A work order is stored first, then published to its queue. Every `/work-orders` route
needs `Authorization: Bearer <token>` with one of the configured tokens (settings
`api.tokens`); with none configured, every request there is refused. An invalid order is
answered 422 with the offending field named; the same `id` from the same `user` again
is answered 200 with the stored order, and nothing is stored twice. While the database is
unavailable every route there is answered 503: send the order again later."""


def create_app(settings: Settings, publish: Publisher, probe_broker: BrokerProbe) -> FastAPI:
    """The application, serving with ``settings`` (database, tokens), handing orders to
    ``publish`` (raises PublishFailed when the broker is down) and checking the broker
    with ``probe_broker`` (raises BrokerUnreachable) for ``/health``. Connects to nothing
    until a request arrives."""
    app = FastAPI(title="Observatory work-order intake", version=__version__)
    app.state.settings = settings
    app.state.publish = publish
    app.state.probe_broker = probe_broker
    app.include_router(orders.router)
    app.include_router(control.router)
    app.include_router(health.router)
    app.add_exception_handler(DBAPIError, database_error)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = openapi_document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


async def database_error(request: Request, error: Exception) -> JSONResponse:
    """503 naming the reason when the database is unavailable (a server stopped, a lock);
    any other database error is raised again (a 500, with its traceback in the log)."""
    if not database_unavailable(error):
        raise error
    original = getattr(error, "orig", None) or error
    reason = str(original).strip().splitlines()[0]
    log.error("%s %s: database unavailable (%s); answered 503",
              request.method, request.url.path, reason)  # fmt: skip
    detail = (
        f"database unavailable ({reason}): try again later; an order sent again with the "
        "same id is not stored twice"
    )
    return JSONResponse({"detail": detail}, status_code=status.HTTP_503_SERVICE_UNAVAILABLE)


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document plus the work-order schema, which the intake validates itself
    (so that an invalid order is recorded as rejected) rather than through FastAPI."""
    document = get_openapi(
        title=app.title, version=app.version, description=DESCRIPTION, routes=app.routes
    )
    schema = WORK_ORDER_ADAPTER.json_schema(ref_template="#/components/schemas/{model}")
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(schema.pop("$defs", {}))
    schemas["WorkOrder"] = schema
    for name, definition in schemas.items():
        if name.endswith("Order"):
            _describe_accepted_input(definition)
    return document


def _describe_accepted_input(node: Any) -> None:
    """Widen a generated schema to what validation accepts: date-times without an offset
    (read as UTC, which RFC 3339's ``date-time`` format forbids) and integer ids."""
    if isinstance(node, list):
        for item in node:
            _describe_accepted_input(item)
        return
    if not isinstance(node, dict):
        return
    if node.get("format") == "date-time":
        del node["format"]
        node["description"] = "ISO 8601 date and time; without an offset it is UTC"
        node["examples"] = ["2026-11-23T21:00:00Z", "2026-11-23T21:00:00"]
    properties = node.get("properties", {})
    if "id" in properties and properties["id"].get("type") == "string":
        text = properties["id"]
        properties["id"] = {"title": "Id", "anyOf": [text, {"type": "integer"}]}
    for value in node.values():
        _describe_accepted_input(value)
