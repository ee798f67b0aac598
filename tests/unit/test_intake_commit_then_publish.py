"""Commit, then publish: the broker never carries an order the database has not committed.

A worker takes a message at once and claims its order with a conditional UPDATE on
``queued``; if the message left inside the transaction that queues the order, a fast
worker would find it ``received`` (or absent), claim nothing, and the order would stay
queued and "published" for ever. The publisher here is such a worker: it reads the row
through its own engine and connection, as another process does, when it is handed the
message.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, select

from observatory.db.models import WorkOrder, WorkOrderState
from observatory.db.session import session_scope
from observatory.errors import PublishFailed
from observatory.intake import adopt, publish_order, reconcile, submit
from observatory.settings import Settings


class ReadingBroker:
    """A publisher that, as it accepts a message, reads the order as another process sees
    it (committed rows only), and fails the publish when it is not a committed, queued
    order."""

    def __init__(self, url: str) -> None:
        # Not the project's engine: no shared pool, no BEGIN IMMEDIATE, a short lock wait,
        # so an uncommitted order is simply not visible (or the read fails at once).
        args = {"timeout": 1} if url.startswith("sqlite") else {}
        self.engine: Engine = create_engine(url, connect_args=args)
        self.seen: list[dict[str, Any]] = []

    def __call__(self, *, work_order_pk: int, task_name: str, queue: str, priority: float) -> str:
        with self.engine.connect() as connection:
            found = connection.execute(
                select(WorkOrder.state, WorkOrder.published_at).where(WorkOrder.pk == work_order_pk)
            ).one_or_none()
        if found is None:
            raise AssertionError(f"order {work_order_pk} published before it was committed")
        state, published_at = found
        if state != WorkOrderState.QUEUED:
            raise AssertionError(f"order {work_order_pk} published while {state} in SQL")
        self.seen.append({"pk": work_order_pk, "state": state, "published_at": published_at})
        return f"task-{len(self.seen)}"


def order(order_id: str = "1", **fields: Any) -> dict[str, Any]:
    return {
        "id": order_id,
        "request": "dome_open",
        "datetime": "2026-11-23T21:00:00",
        "user": "Main Module",
        **fields,
    }


@pytest.fixture
def settings(database_url: str, tmp_path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path)


@pytest.fixture
def broker(database_url: str):
    reading = ReadingBroker(database_url)
    yield reading
    reading.engine.dispose()


def published_at(settings: Settings, pk: int) -> dt.datetime | None:
    with session_scope(settings.sqlalchemy_url) as session:
        return session.get_one(WorkOrder, pk).published_at


def test_submit_publishes_an_order_already_committed_as_queued(
    settings: Settings, broker: ReadingBroker
) -> None:
    receipt = submit(settings, order(), broker)
    assert receipt.published
    assert broker.seen == [{"pk": receipt.pk, "state": "queued", "published_at": None}]
    # Stamped once the broker took the message, not before.
    assert published_at(settings, receipt.pk) is not None


def test_reconcile_republishes_only_committed_queued_orders(
    settings: Settings, broker: ReadingBroker
) -> None:
    class Down:
        def __call__(self, **_: Any) -> str:
            raise PublishFailed("connection refused")

    receipt = submit(settings, order(), Down())
    assert not receipt.published and published_at(settings, receipt.pk) is None
    assert reconcile(settings, broker, older_than_s=0) == [receipt.pk]
    assert [seen["state"] for seen in broker.seen] == ["queued"]
    assert published_at(settings, receipt.pk) is not None


def test_a_stored_received_order_is_queued_and_committed_before_its_message(
    settings: Settings, broker: ReadingBroker
) -> None:
    # An order left ``received`` (the submitter stopped before queueing it) goes through
    # the same path when the reconciler finds it.
    now = dt.datetime.now(dt.UTC)
    with session_scope(settings.sqlalchemy_url) as session:
        row = WorkOrder(
            order_id="left",
            user="Main Module",
            request="dome_open",
            payload=order("left"),
            priority=5.0,
            state=WorkOrderState.RECEIVED,
            queue="dome",
            task_name="observatory.dome.open",
            received_at=now,
            updated_at=now,
        )
        session.add(row)
        session.flush()
        pk = row.pk
    assert publish_order(settings, pk, broker).published
    assert broker.seen == [{"pk": pk, "state": "queued", "published_at": None}]


def test_an_adopted_order_is_committed_before_its_task_claims_it(settings: Settings) -> None:
    # A foreign publisher's message carries the order; it is stored and committed as
    # queued (and published by that message) before the task goes on to claim it.
    pk = adopt(settings, order("foreign"), "observatory.dome.open")
    engine = create_engine(settings.sqlalchemy_url)
    try:
        with engine.connect() as connection:
            state, stamped = connection.execute(
                select(WorkOrder.state, WorkOrder.published_at).where(WorkOrder.pk == pk)
            ).one()
    finally:
        engine.dispose()
    assert state == WorkOrderState.QUEUED and stamped is not None
