"""``POST /work-orders/{id}/cancel``, ``GET /work-orders`` (filtered), and the held queues
(``GET /queues``, ``POST /queues/{queue}/hold``, ``POST /queues/{queue}/release``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from observatory.api.auth import Authorized
from observatory.api.orders import REFUSALS, read_json
from observatory.api.schemas import ErrorDetail, WorkOrderReport
from observatory.errors import OrderAmbiguous, OrderEnded, WorkOrderNotFound
from observatory.orders.cancel import cancel_order
from observatory.orders.hold import Hold, UnknownQueue, hold, holds
from observatory.orders.listing import FilterInvalid, OrderFilter, list_orders, parse_time
from observatory.orders.operate import release_queue

router = APIRouter(dependencies=[Authorized])

# Who and why are plain text of bounded length, like the ids they sit beside.
WHO_CHARS = 128
WHY_CHARS = 1000


class Instruction(BaseModel):
    """Who asks (default ``api``) and why; both optional."""

    model_config = ConfigDict(extra="forbid")
    by: str = Field(default="api", min_length=1, max_length=WHO_CHARS)
    reason: str | None = Field(default=None, max_length=WHY_CHARS)


class CancelAnswer(BaseModel):
    id: str
    user: str
    outcome: str = Field(description="cancelled (it never starts) or requested (it stops)")
    by: str
    reason: str | None


class HoldReport(BaseModel):
    queue: str
    held_by: str
    held_at: str
    reason: str | None


async def read_instruction(request: Request) -> Instruction:
    """The optional JSON body; 422 naming the field when it is not an :class:`Instruction`."""
    if not request.headers.get("content-length", "0").strip("0"):
        return Instruction()
    data = await read_json(request, 4096)
    try:
        return Instruction.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"{where}: {first['msg']}"
        ) from None


@router.post(
    "/work-orders/{order_id:path}/cancel",
    response_model=CancelAnswer,
    responses={
        404: {"model": ErrorDetail, "description": "no such order"},
        409: {"model": ErrorDetail, "description": "it has ended, or the id names several"},
        422: {"model": ErrorDetail, "description": "an invalid body"},
        **REFUSALS,
    },
    summary="Cancel a work order: a queued one never starts, a running one stops",
)
async def post_cancel(
    request: Request, order_id: str, user: str | None = None, queue: str | None = None
) -> CancelAnswer:
    instruction = await read_instruction(request)
    settings = request.app.state.settings
    try:
        result = await run_in_threadpool(
            cancel_order, settings, order_id, user, by=instruction.by,
            reason=instruction.reason, queue=queue, how="?user= and ?queue=",
        )  # fmt: skip
    except WorkOrderNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from None
    except (OrderEnded, OrderAmbiguous) as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    return CancelAnswer(
        id=result.order_id,
        user=result.user,
        outcome=str(result.outcome),
        by=result.request.by,
        reason=result.request.reason,
    )


@router.get(
    "/work-orders",
    response_model=list[WorkOrderReport],
    responses={422: {"model": ErrorDetail, "description": "a filter names nothing"}, **REFUSALS},
    summary="The newest work orders, by state, request, user and receipt time",
)
def get_work_orders(
    request: Request,
    state: str | None = None,
    request_kind: Annotated[str | None, Query(alias="request")] = None,
    user: str | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: int = 20,
) -> list[dict[str, Any]]:
    try:
        selection = OrderFilter(
            state=state,
            request=request_kind,
            user=user,
            since=None if since is None else parse_time("since", since),
            until=None if until is None else parse_time("until", until),
            limit=limit,
        )
        return list_orders(request.app.state.settings, selection)
    except FilterInvalid as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None


@router.get("/queues", response_model=list[HoldReport], responses={**REFUSALS})
def get_holds(request: Request) -> list[HoldReport]:
    """The held queues (an empty list: nothing is held)."""
    return [_report(held) for held in holds(request.app.state.settings)]


@router.post(
    "/queues/{queue}/hold",
    response_model=HoldReport,
    responses={404: {"model": ErrorDetail, "description": "no such queue"}, **REFUSALS},
    summary="Hold a queue: its orders stay queued and nothing of it starts",
)
async def post_hold(request: Request, queue: str) -> HoldReport:
    instruction = await read_instruction(request)
    settings = request.app.state.settings
    try:
        held = await run_in_threadpool(
            hold, settings, queue, by=instruction.by, reason=instruction.reason
        )
    except UnknownQueue as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from None
    return _report(held)


@router.post(
    "/queues/{queue}/release",
    responses={404: {"model": ErrorDetail, "description": "no such queue"}, **REFUSALS},
    summary="Release a held queue and publish the orders that waited",
)
def post_release(request: Request, queue: str) -> dict[str, Any]:
    state = request.app.state
    try:
        published = release_queue(state.settings, queue, state.publish)
    except UnknownQueue as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from None
    return {"queue": queue, "published": len(published)}


def _report(held: Hold) -> HoldReport:
    return HoldReport(
        queue=held.queue, held_by=held.held_by, held_at=held.held_at.isoformat(), reason=held.reason
    )
