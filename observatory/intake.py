"""Intake: validate a work order, store it, then publish it.

The database is the truth and the broker only transport. An order is stored, moved from
``received`` to ``queued`` and committed in one transaction, and only then published; its
``published_at`` is stamped (a second transaction) once the broker accepted the message.
If the broker is down the order stays ``queued`` with no ``published_at``, and
:func:`reconcile` publishes it later. Publishing twice is harmless: a task claims its
order only once.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
from dataclasses import dataclass
from typing import Any, Protocol, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Delete,
    Table,
    bindparam,
    case,
    delete,
    insert,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from observatory.clock import utc_now
from observatory.db.models import WorkOrder, WorkOrderState
from observatory.db.session import connection_scope, session_scope
from observatory.errors import PublishFailed, WorkOrderInvalid
from observatory.orders.batch_names import batch_at_receipt
from observatory.orders.hold import hold_in, hold_on
from observatory.orders.models import ObservationOrder, WorkOrderBase
from observatory.orders.priority import Priority, assign_priority
from observatory.orders.receipt import (
    FILLED_ON_RECEIPT,
    check_batch_received,
    check_local_batch,
    settle_on_receipt,
)
from observatory.orders.routes import ROUTES, route_for
from observatory.orders.states import transition
from observatory.orders.validation import known_identity, parse_order
from observatory.settings import Settings

log = logging.getLogger(__name__)

_orders = cast(Table, WorkOrder.__table__)


class Publisher(Protocol):
    """Hands an order's message to the broker; returns the task id.

    Raises PublishFailed when the broker cannot take it.
    """

    def __call__(
        self, *, work_order_pk: int, task_name: str, queue: str, priority: float
    ) -> str: ...


@dataclass(frozen=True)
class Receipt:
    """What the submitter learns: the stored order and whether it reached the broker."""

    pk: int
    order_id: str
    user: str
    state: str
    created: bool
    published: bool
    message: str = ""
    # Unpublished on purpose (deferred, or its queue held), not because the broker failed.
    waiting: bool = False


def _now() -> dt.datetime:
    # When rows change. Windows, visibility and ``ready_at`` are in the observatory's civil
    # time instead (observatory.clock.utc_now), which a simulated night runs at dusk.
    return dt.datetime.now(dt.UTC)


def _receive(settings: Settings, data: Any) -> tuple[dict[str, Any], WorkOrderBase, str | None]:
    """The order as given (validated, as JSON), as it is to be stored (settled on receipt),
    and its batch name; raises WorkOrderInvalid for one that is invalid or cannot run."""
    submitted = parse_order(data)
    order = settle_on_receipt(settings, submitted, utc_now(settings))
    batch = batch_at_receipt(settings, order)
    check_batch_received(settings, order)
    check_local_batch(settings, order)
    return submitted.model_dump(mode="json"), order, batch


def submit(
    settings: Settings, data: Any, publish: Publisher, parent_pk: int | None = None
) -> Receipt:
    """Validate, store and publish one work order given as decoded JSON.

    ``parent_pk`` names the work order on whose behalf the system submits this one (the
    observation whose batch a ``calibrate_file_batch`` order calibrates, say).

    On receipt a target name is resolved and omitted exposures become the default plan
    (:mod:`observatory.orders.receipt`). Raises WorkOrderInvalid (naming the field) for an
    invalid order or one that cannot run, after recording it as
    ``rejected`` when its id and user are readable and not already taken by a received
    order. A rejected order does not take its id: the corrected order with the same id and
    user replaces the rejected row.

    An id is unique per user and per queue (the design notes send id "1" to the processor
    and to the telescope). Resubmitting an order already received (same id, user, queue
    and content, see :func:`same_content`) returns the existing order (``created=False``)
    without storing or publishing anything; the same id, user and queue with other content
    raises :class:`OrderIdTaken`, naming the stored order.
    """
    try:
        submitted, order, batch = _receive(settings, data)
    except WorkOrderInvalid as error:
        _record_rejection(settings, data, str(error))
        raise
    priority = assign_priority(order, settings, utc_now(settings))
    pk, created, waiting = _store(settings, order, priority, parent_pk, batch, submitted=submitted)
    if not created:
        with session_scope(settings.sqlalchemy_url) as session:
            row = session.get_one(WorkOrder, pk)
            return Receipt(
                pk,
                row.order_id,
                row.user,
                row.state,
                False,
                row.published_at is not None,
                "already received; not stored again",
            )
    if waiting is not None:
        return waiting
    route = route_for(order.request)
    return _send(settings, pk, route.task_name, route.queue, priority.value, publish)


def _store(
    settings: Settings,
    order: WorkOrderBase,
    priority: Priority,
    parent_pk: int | None,
    batch: str | None = None,
    *,
    submitted: dict[str, Any] | None = None,
    adopted: bool = False,
) -> tuple[int, bool, Receipt | None]:
    """Store the order, queued, in one transaction; returns its pk, whether it was stored
    now (not already known), and the receipt of an order that must wait unpublished
    (see :func:`_queue`). An ``adopted`` order is marked published by its own message.
    ``submitted`` is the order as given, before the intake settled it (default: ``order``),
    compared with a stored order of the same id, user and queue; raises
    :class:`OrderIdTaken` when they differ.

    The row is inserted already ``queued``: ``received -> queued`` within one transaction
    is one INSERT, and nobody can see the order ``received`` in between. A rejected order
    of the same id and user for this queue (or of no queue) is replaced: a rejection does
    not take its id."""
    payload = order.model_dump(mode="json")
    route = route_for(payload["request"])
    ready_at = order.not_before if isinstance(order, ObservationOrder) else None
    # Two tries: a concurrent submission of the same id may take the key between our
    # DELETE of a rejection and our INSERT; the second try then finds it stored.
    for _ in range(2):
        now = _now()
        try:
            with connection_scope(settings.sqlalchemy_url) as connection:
                connection.execute(
                    _delete_rejections(route.queue),
                    {"order_id": payload["id"], "user": payload["user"]},
                )
                reason = (
                    None if adopted else _wait_reason(settings, connection, ready_at, route.queue)
                )
                pk = connection.execute(
                    _INSERT_ORDER,
                    {
                        "order_id": payload["id"],
                        "user": payload["user"],
                        "request": payload["request"],
                        "payload": payload,
                        "priority": priority.value,
                        "priority_reasons": priority.reasons(),
                        "ready_at": ready_at,
                        "state": WorkOrderState.QUEUED,
                        "state_reason": reason,
                        "queue": route.queue,
                        "task_name": route.task_name,
                        "received_at": now,
                        "updated_at": now,
                        "published_at": now if adopted else None,
                        "parent_pk": parent_pk,
                        "batch": batch,
                    },
                ).scalar_one()
            if reason is None:
                return pk, True, None
            log.info("work order %d %s", pk, reason)
            waiting = Receipt(
                pk, payload["id"], payload["user"], "queued", True, False, reason, waiting=True
            )
            return pk, True, waiting
        except IntegrityError:
            # The same id from the same user for the same queue: a resubmission (possibly
            # racing with the first submission), or another order under a taken id.
            with connection_scope(settings.sqlalchemy_url) as connection:
                existing = connection.execute(
                    select(_orders.c.pk, _orders.c.payload, _orders.c.request,
                           _orders.c.received_at)
                    .where(_same(payload), _orders.c.queue == route.queue, ~_rejected())
                ).one_or_none()  # fmt: skip
            if existing is None:
                continue
            if not same_content(payload if submitted is None else submitted, existing.payload):
                raise OrderIdTaken(
                    f"work order id {payload['id']!r} of user {payload['user']!r} is already"
                    f" work order {existing.pk} ({existing.request}, received"
                    f" {existing.received_at.isoformat(timespec='seconds')}): an order with"
                    " other content needs another id"
                ) from None
            return existing.pk, False, None
    raise PublishFailed(f"work order {payload['id']!r} could not be stored; submit it again")


_INSERT_ORDER = insert(_orders).returning(_orders.c.pk)


def _wait_reason(
    settings: Settings, connection: Connection, ready_at: dt.datetime | None, queue: str
) -> str | None:
    """Why a queued order must stay unpublished for now (deferred, or its queue held), or
    None when it is published at once."""
    if ready_at is not None and ready_at > utc_now(settings):
        return f"deferred until {ready_at.isoformat()}"
    held = hold_in(connection, queue)
    # Stays queued and unpublished; published on release (or by the reconciler).
    return None if held is None else f"waiting: {held.describe()}"


class OrderIdTaken(WorkOrderInvalid):
    """An order whose id, user and queue are those of a stored order with other content."""


def same_content(submitted: dict[str, Any], stored: dict[str, Any]) -> bool:
    """Whether ``submitted`` (an order as given, validated and dumped as JSON) is the order
    stored as ``stored``: every field equal, except a field the intake filled in on receipt
    that ``submitted`` leaves out."""
    for key in submitted.keys() | stored.keys():
        given = submitted.get(key)
        if given is None and key in FILLED_ON_RECEIPT:
            continue
        if given != stored.get(key):
            return False
    return True


def _same(payload: dict[str, Any]) -> ColumnElement[bool]:
    return (_orders.c.order_id == payload["id"]) & (_orders.c.user == payload["user"])


@functools.cache
def _delete_rejections(queue: str | None) -> Delete:
    """The DELETE of an id's and user's rejections that an order for ``queue`` replaces
    (parameters ``order_id``, ``user``), built once per queue: it runs for every order
    stored, and building it each time cost as much as the rest of the intake."""
    same = (_orders.c.order_id == bindparam("order_id")) & (_orders.c.user == bindparam("user"))
    return delete(_orders).where(same, _rejections_for(queue))


def _rejections_for(queue: str | None) -> ColumnElement[bool]:
    """Rejected orders that an order for ``queue`` replaces: those whose request goes to
    that queue or to none (an unknown request); for ``queue`` None, only the latter."""
    requests = [name for name, route in ROUTES.items() if route.queue == queue]
    unrouted = _orders.c.request.not_in(list(ROUTES))
    which = unrouted if not requests else unrouted | _orders.c.request.in_(requests)
    return (_orders.c.state == WorkOrderState.REJECTED) & which


def _rejected() -> ColumnElement[bool]:
    return WorkOrder.state == WorkOrderState.REJECTED


def _record_rejection(settings: Settings, data: Any, reason: str) -> None:
    """Record a refused order as ``rejected`` (no queue: it takes no id), replacing an
    earlier rejection of the same id and user for the same queue; nothing when a received
    order of that id and user (for that queue, when the request names one) is stored: a
    bad resubmission must not touch it."""
    identity = known_identity(data)
    if identity is None:
        return
    order_id, user = identity
    request = data.get("request") if isinstance(data.get("request"), str) else None
    queue = ROUTES[request].queue if request in ROUTES else None
    same = (_orders.c.order_id == order_id) & (_orders.c.user == user)
    taken = same & ~_rejected() if queue is None else same & (_orders.c.queue == queue)
    now = _now()
    with connection_scope(settings.sqlalchemy_url) as connection:
        if connection.scalar(select(_orders.c.pk).where(taken).limit(1)) is not None:
            log.info("invalid resubmission of %r from %r refused: %s", order_id, user, reason)
            return
        connection.execute(delete(_orders).where(same, _rejections_for(queue)))
        connection.execute(
            insert(_orders).values(
                order_id=order_id,
                user=user,
                state=WorkOrderState.REJECTED,
                received_at=now,
                request=_without_nul(request or "unknown")[:64],
                payload=_bounded(_jsonable(data)),
                state_reason=_cut(_without_nul(reason), REJECTED_PAYLOAD_MAX_CHARS),
                updated_at=now,
                finished_at=now,
                attempts=0,
            )
        )


# A refused order is kept whole up to this many characters of JSON; beyond, only its start
# (whatever path it came by: the HTTP intake caps bodies, Python callers do not).
REJECTED_PAYLOAD_MAX_CHARS = 16 * 1024


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters, cut)"


def _bounded(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload``, or when its JSON is longer than ``REJECTED_PAYLOAD_MAX_CHARS``, its
    first characters as text and a note saying it was cut."""
    text = json.dumps(payload, ensure_ascii=False)
    if len(text) <= REJECTED_PAYLOAD_MAX_CHARS:
        return payload
    return {
        "cut": f"the order was {len(text)} characters of JSON; only the first"
        f" {REJECTED_PAYLOAD_MAX_CHARS} are kept",
        "start": text[:REJECTED_PAYLOAD_MAX_CHARS],
    }


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    """A refused order as it is recorded: JSON that PostgreSQL can store. Every NUL
    character (which it cannot store, in text or JSON) is shown as U+FFFD; NaN and the
    infinities (which Python's JSON reads but PostgreSQL's refuses) as the text ``"NaN"``,
    ``"Infinity"``, ``"-Infinity"``; a value JSON cannot carry as its ``repr``."""
    return _without_nul(json.loads(json.dumps(data, default=repr), parse_constant=str))


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    return value


def publish_order(settings: Settings, pk: int, publish: Publisher) -> Receipt:
    """Queue a stored order and hand it to the broker (see the module docstring).

    An order whose ``ready_at`` is still ahead stays ``queued`` and unpublished, so that it
    neither starts early nor holds up the queue; :func:`reconcile` publishes it then. So
    does an order of a held queue (:mod:`observatory.orders.hold`) until it is released.
    """
    with session_scope(settings.sqlalchemy_url) as session:
        row = session.get_one(WorkOrder, pk)
        waiting = _queue(session, settings, row)
        if waiting is not None:
            return waiting
        task_name, queue, priority = row.task_name, row.queue, row.priority
    if task_name is None or queue is None or priority is None:
        raise PublishFailed(f"work order {pk} has no route; it cannot be published")
    return _send(settings, pk, task_name, queue, priority, publish)


def _queue(session: Session, settings: Settings, row: WorkOrder) -> Receipt | None:
    """Move a received order to ``queued`` (in the caller's transaction); the receipt of
    an order that must stay unpublished for now (deferred, or its queue held), else None."""
    if row.state == WorkOrderState.RECEIVED:
        transition(row, WorkOrderState.QUEUED)
    if row.ready_at is not None and row.ready_at > utc_now(settings):
        row.state_reason = f"deferred until {row.ready_at.isoformat()}"
        log.info("work order %d %s", row.pk, row.state_reason)
        return _waiting(row)
    held = hold_on(session, row.queue)
    if held is not None:
        # Stays queued and unpublished; published on release (or by the reconciler).
        row.state_reason = f"waiting: {held.describe()}"
        return _waiting(row)
    return None


def _waiting(row: WorkOrder) -> Receipt:
    return Receipt(
        row.pk, row.order_id, row.user, row.state, True, False, row.state_reason or "", waiting=True
    )


def _send(
    settings: Settings, pk: int, task_name: str, queue: str, priority: float, publish: Publisher
) -> Receipt:
    """Publish a committed, queued order, then stamp ``published_at`` (or, when the broker
    refused, say why on the row; the reconciler publishes it later)."""
    try:
        task_id = publish(work_order_pk=pk, task_name=task_name, queue=queue, priority=priority)
    except PublishFailed as error:
        with session_scope(settings.sqlalchemy_url) as session:
            row = session.get_one(WorkOrder, pk)
            log.warning(
                "work order %r (pk %d) stored but not published: %s", row.order_id, pk, error
            )
            row.state_reason = f"not yet published: {error}"
            return Receipt(pk, row.order_id, row.user, row.state, True, False, str(error))
    with connection_scope(settings.sqlalchemy_url) as connection:
        stamped = connection.execute(_STAMP_PUBLISHED, {"order_pk": pk, "at": _now()}).one()
    log.info("work order %d published as task %s on %s", pk, task_id, queue)
    return Receipt(pk, stamped.order_id, stamped.user, stamped.state, True, True)


# One UPDATE, no read first; the receipt's fields come back with it. The worker may have
# claimed and even ended the order before this stamp: only a reason the intake wrote while
# the order waited ("not yet published", "waiting", "deferred") is cleared, never the
# reason a worker ended it with, and the state is left as it is.
_STAMP_PUBLISHED = (
    update(_orders)
    .where(_orders.c.pk == bindparam("order_pk"))
    .values(
        published_at=bindparam("at"),
        state_reason=case(
            (
                _orders.c.state.in_((WorkOrderState.RECEIVED, WorkOrderState.QUEUED)),
                null(),
            ),
            else_=_orders.c.state_reason,
        ),
    )
    .returning(_orders.c.order_id, _orders.c.user, _orders.c.state)
)


def reconcile(
    settings: Settings, publish: Publisher, *, older_than_s: float | None = None
) -> list[int]:
    """Publish orders whose message never reached the broker, or whose time has come;
    returns the pks published.

    Those are orders still ``received`` (the submitter stopped between the two commits)
    or ``queued`` without ``published_at`` (the broker was down), older than
    ``older_than_s`` (default: the ``reconcile_after_s`` setting); and deferred orders
    (``queued``, unpublished) whose ``ready_at`` has passed, at once. Most urgent first.
    """
    now = _now()
    age = settings.reconcile_after_s if older_than_s is None else older_than_s
    cutoff = now - dt.timedelta(seconds=age)
    unpublished = (WorkOrder.state == WorkOrderState.QUEUED) & WorkOrder.published_at.is_(None)
    with session_scope(settings.sqlalchemy_url) as session:
        pks = list(
            session.scalars(
                select(WorkOrder.pk)
                .where(
                    or_(
                        (WorkOrder.state == WorkOrderState.RECEIVED)
                        & (WorkOrder.updated_at <= cutoff),
                        unpublished
                        & WorkOrder.ready_at.is_(None)
                        & (WorkOrder.updated_at <= cutoff),
                        unpublished & (WorkOrder.ready_at <= utc_now(settings)),
                    )
                )
                .order_by(WorkOrder.priority.desc(), WorkOrder.pk)
            )
        )
    published = []
    for pk in pks:
        if publish_order(settings, pk, publish).published:
            published.append(pk)
    return published


def adopt(settings: Settings, data: Any, task_name: str) -> int:
    """Store an order that arrived as a task message from another program; returns its pk.

    Any program that can publish a Celery task may send ``task_name`` with the work order
    itself (``kwargs={"order": {...}}``) instead of a stored pk. The order is validated and
    stored exactly as :func:`submit` would, and marked as published by this very message.
    Raises WorkOrderInvalid for an invalid order or one sent to the wrong task.
    """
    try:
        submitted, order, batch = _receive(settings, data)
        expected = route_for(order.request).task_name
        if expected != task_name:
            raise WorkOrderInvalid(
                f"request: {order.request!r} is served by {expected}, not {task_name}"
            )
    except WorkOrderInvalid as error:
        _record_rejection(settings, data, str(error))
        raise
    priority = assign_priority(order, settings, utc_now(settings))
    pk, _, _ = _store(settings, order, priority, None, batch, submitted=submitted, adopted=True)
    return pk
