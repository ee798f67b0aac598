"""Finding and reporting work orders: the filters ``observatory status`` and
``GET /work-orders`` share, and the report of one order as a plain dict."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from observatory.db.models import StepRun, WorkOrder, WorkOrderState
from observatory.db.session import read_scope
from observatory.errors import ObservatoryError, OrderAmbiguous, WorkOrderNotFound
from observatory.orders.routes import ROUTES
from observatory.settings import Settings

MAX_LIMIT = 1000


class FilterInvalid(ObservatoryError):
    """A listing filter with a value that names nothing (state, request, time, limit)."""


@dataclass(frozen=True)
class OrderFilter:
    """Which orders to list; every field given must match. ``since``/``until`` bound the
    receipt time (aware UTC, ``since`` inclusive, ``until`` exclusive)."""

    state: str | None = None
    request: str | None = None
    user: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    limit: int = 20

    def checked(self) -> OrderFilter:
        """Itself; raises :class:`FilterInvalid` naming a value that matches nothing."""
        states = [state.value for state in WorkOrderState]
        if self.state is not None and self.state not in states:
            raise FilterInvalid(f"state: {self.state!r} is not one of {', '.join(states)}")
        if self.request is not None and self.request not in ROUTES:
            raise FilterInvalid(f"request: {self.request!r} is not one of {', '.join(ROUTES)}")
        for name in ("since", "until"):
            moment = getattr(self, name)
            if moment is not None and moment.tzinfo is None:
                raise FilterInvalid(f"{name}: give a time zone (e.g. Z) with {moment}")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise FilterInvalid(f"limit: {self.limit} is not within 1..{MAX_LIMIT}")
        return self

    def query(self) -> Select[WorkOrder]:
        query = select(WorkOrder)
        if self.state is not None:
            query = query.where(WorkOrder.state == self.state)
        if self.request is not None:
            query = query.where(WorkOrder.request == self.request)
        if self.user is not None:
            query = query.where(WorkOrder.user == self.user)
        if self.since is not None:
            query = query.where(WorkOrder.received_at >= self.since)
        if self.until is not None:
            query = query.where(WorkOrder.received_at < self.until)
        return query.order_by(WorkOrder.pk.desc()).limit(self.limit)


def parse_time(name: str, text: str) -> dt.datetime:
    """An ISO 8601 time; without an offset it is UTC. :class:`FilterInvalid` names ``name``."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise FilterInvalid(f"{name}: {text!r} is not an ISO 8601 time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def list_orders(settings: Settings, selection: OrderFilter) -> list[dict[str, Any]]:
    """The newest orders matching ``selection`` (checked first), without their steps."""
    query = selection.checked().query()
    with read_scope(settings.sqlalchemy_url) as session:
        return [order_as_dict(order, []) for order in session.scalars(query)]


def orders_with_id(
    session: Session, order_id: str, user: str | None = None, queue: str | None = None
) -> list[WorkOrder]:
    """Every stored order the submitters know as ``order_id`` (of ``user``, for ``queue``,
    when given), oldest first. An id is unique per user and per queue, so several users,
    or one user's orders to several queues, may share it."""
    query = select(WorkOrder).where(WorkOrder.order_id == order_id)
    if user is not None:
        query = query.where(WorkOrder.user == user)
    if queue is not None:
        query = query.where(WorkOrder.queue == queue)
    return list(session.scalars(query.order_by(WorkOrder.pk)))


def one_order_with_id(
    session: Session, order_id: str, user: str | None, queue: str | None, *, how: str
) -> WorkOrder:
    """The one order :func:`orders_with_id` finds. Raises :class:`WorkOrderNotFound`, or
    :class:`OrderAmbiguous` listing the candidates and ``how`` to name one (the CLI's
    options or the API's parameters)."""
    found = orders_with_id(session, order_id, user, queue)
    if not found:
        whose = "".join(
            f" {label} {value!r}" for label, value in (("from user", user), ("for queue", queue))
            if value is not None
        )  # fmt: skip
        raise WorkOrderNotFound(f"no work order {order_id!r}{whose}")
    if len(found) > 1:
        raise OrderAmbiguous(
            f"work order id {order_id!r} names {len(found)} orders: "
            + "; ".join(describe_candidate(order) for order in found)
            + f"; name one with {how}"
        )
    return found[0]


def describe_candidate(order: WorkOrder) -> str:
    """``42 (user 'me', telescope, observation, queued)``: one order an id may name."""
    queue = order.queue or "no queue"
    return f"{order.pk} (user {order.user!r}, {queue}, {order.request}, {order.state})"


def order_as_dict(order: WorkOrder, runs: list[StepRun]) -> dict[str, Any]:
    """The report of ``order`` and its step runs ``runs`` (times in UTC ISO 8601)."""

    def iso(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    cancel = None
    if order.cancel_requested_at is not None:
        cancel = {"requested_at": iso(order.cancel_requested_at), "by": order.cancelled_by,
                  "reason": order.cancel_reason}  # fmt: skip
    return {
        "id": order.order_id, "user": order.user, "request": order.request,
        "state": str(order.state), "reason": order.state_reason, "priority": order.priority,
        "queue": order.queue, "attempts": order.attempts,
        "received_at": iso(order.received_at), "published_at": iso(order.published_at),
        "started_at": iso(order.started_at), "progressed_at": iso(order.progressed_at),
        "finished_at": iso(order.finished_at),
        "cancel": cancel,
        "payload": order.payload,
        "steps": [
            {"step": r.step, "attempt": r.attempt, "state": str(r.state),
             "started_at": iso(r.started_at), "ended_at": iso(r.ended_at),
             "error": r.error, "outputs": r.outputs, "worker": r.worker}
            for r in runs
        ],
    }  # fmt: skip
