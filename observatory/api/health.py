"""``GET /health``: whether the database and the broker answer."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from observatory.db.session import session_scope
from observatory.errors import ObservatoryError
from observatory.orders.hold import holds

router = APIRouter()

# Checks that the broker accepts a connection; raises BrokerUnreachable when it does not.
BrokerProbe = Callable[[], None]


class BrokerUnreachable(ObservatoryError):
    """The broker did not accept a connection; the message says why."""


class Health(BaseModel):
    """``ok`` for each part that answered, else the reason it did not; the held queues
    (names, and who held each, when and why)."""

    database: str
    broker: str
    held_queues: list[str] = []
    holds: list[str] = []


def database_status(url: str) -> str:
    try:
        with session_scope(url) as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        return f"unreachable: {error.__class__.__name__}: {error}".splitlines()[0]
    return "ok"


def broker_status(probe: BrokerProbe) -> str:
    try:
        probe()
    except BrokerUnreachable as error:
        return f"unreachable: {error}"
    return "ok"


@router.get(
    "/health",
    response_model=Health,
    responses={503: {"model": Health, "description": "the database or the broker is down"}},
    summary="Whether the database and the broker answer (no token needed)",
)
def health(request: Request) -> JSONResponse:
    state = request.app.state
    report = Health(
        database=database_status(state.settings.sqlalchemy_url),
        broker=broker_status(state.probe_broker),
    )
    if report.database == "ok":
        # A held queue is a state an operator chose, not a fault: still 200.
        held = holds(state.settings)
        report.held_queues = [h.queue for h in held]
        report.holds = [h.describe() for h in held]
    healthy = report.database == "ok" and report.broker == "ok"
    return JSONResponse(report.model_dump(), status_code=200 if healthy else 503)
