"""``POST /work-orders`` (submit) and ``GET /work-orders/{id}`` (report)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from observatory.api.auth import Authorized
from observatory.api.schemas import ErrorDetail, SubmissionReceipt, WorkOrderReport
from observatory.db.models import WorkOrder
from observatory.db.session import session_scope
from observatory.errors import OrderAmbiguous, WorkOrderInvalid, WorkOrderNotFound
from observatory.intake import OrderIdTaken, Receipt, submit
from observatory.orders.listing import one_order_with_id, order_as_dict
from observatory.orders.validation import MAX_ORDER_BYTES
from observatory.settings import Settings

MAX_BODY_BYTES = MAX_ORDER_BYTES

router = APIRouter(dependencies=[Authorized])

REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorDetail, "description": "no bearer token, or an unknown one"},
    403: {"model": ErrorDetail, "description": "no token is configured: the intake is closed"},
}

WORK_ORDER_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/WorkOrder"}}},
    }
}


async def read_json(request: Request, limit_bytes: int = MAX_BODY_BYTES) -> Any:
    """The request's body decoded as JSON.

    Raises HTTPException 413 past ``limit_bytes`` (without reading the rest), 422 when the
    body is not JSON.
    """
    too_large = HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE,
        f"body: a work order is at most {limit_bytes} bytes",
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit_bytes:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit_bytes:
            raise too_large
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"body: not valid JSON: {error}"
        ) from None


def stored_receipt(settings: Settings, receipt: Receipt) -> SubmissionReceipt:
    with session_scope(settings.sqlalchemy_url) as session:
        row = session.get_one(WorkOrder, receipt.pk)
        return SubmissionReceipt(
            id=row.order_id, user=row.user, pk=row.pk, state=str(row.state),
            priority=row.priority, published=row.published_at is not None,
            message=receipt.message,
        )  # fmt: skip


@router.post(
    "/work-orders",
    status_code=status.HTTP_201_CREATED,
    response_model=SubmissionReceipt,
    openapi_extra=WORK_ORDER_BODY,
    responses={
        200: {"model": SubmissionReceipt, "description": "already received: nothing stored"},
        202: {
            "model": SubmissionReceipt,
            "description": "stored, and waiting (deferred, or its queue held): says why",
        },
        409: {
            "model": ErrorDetail,
            "description": "the id, user and queue are a stored order's, with other content",
        },
        413: {"model": ErrorDetail, "description": "the body is too large"},
        422: {"model": ErrorDetail, "description": "an invalid order; names the field"},
        503: {
            "model": SubmissionReceipt,
            "description": "stored, but the broker is down: it is published when it answers",
        },
        **REFUSALS,
    },
    summary="Validate, store and enqueue a work order",
)
async def post_work_order(request: Request) -> JSONResponse:
    state = request.app.state
    data = await read_json(request)
    try:
        receipt = await run_in_threadpool(submit, state.settings, data, state.publish)
    except OrderIdTaken as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    except WorkOrderInvalid as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None
    answer = await run_in_threadpool(stored_receipt, state.settings, receipt)
    if not receipt.created:
        code = status.HTTP_200_OK
    elif receipt.published:
        code = status.HTTP_201_CREATED
    elif receipt.waiting:
        # Deferred or held on purpose: stored and accepted; the broker is not at fault.
        code = status.HTTP_202_ACCEPTED
    else:
        code = status.HTTP_503_SERVICE_UNAVAILABLE
        answer.message = (
            f"stored, not yet published ({receipt.message}); "
            "it is published when the broker answers"
        )
    location = f"/work-orders/{quote(answer.id, safe='')}?user={quote(answer.user, safe='')}"
    return JSONResponse(answer.model_dump(), status_code=code, headers={"Location": location})


def find_order(
    settings: Settings, order_id: str, user: str | None, queue: str | None = None
) -> dict[str, Any]:
    """The report of the order ``order_id`` (of ``user``, for ``queue``, when given).

    Raises HTTPException 404 when there is none, 409 listing the candidates when the id
    names several (several users, or one user's orders to several queues).
    """
    with session_scope(settings.sqlalchemy_url) as session:
        try:
            order = one_order_with_id(session, order_id, user, queue, how="?user= and ?queue=")
        except WorkOrderNotFound as error:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from None
        except OrderAmbiguous as error:
            raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
        return order_as_dict(order, list(order.step_runs))


@router.get(
    "/work-orders/{order_id:path}",
    response_model=WorkOrderReport,
    responses={
        404: {"model": ErrorDetail, "description": "no such order"},
        409: {
            "model": ErrorDetail,
            "description": "the id names several orders (users or queues): name one",
        },
        **REFUSALS,
    },
    summary="A work order as the submitter named it, with its step runs",
)
def get_work_order(
    request: Request, order_id: str, user: str | None = None, queue: str | None = None
) -> dict[str, Any]:
    return find_order(request.app.state.settings, order_id, user, queue)
