"""``observatory dome ... --timeout``: an order that has not started by then is cancelled
(it must not run whenever the stack next starts); one that started is left to finish."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Row, select

from observatory.cli.main import main
from observatory.db.models import WorkOrder, WorkOrderState
from observatory.db.session import session_scope
from observatory.intake import publish_order
from observatory.orders.lifecycle import claim
from observatory.settings import Settings
from tests.helpers import env_settings
from tests.unit.test_intake import Broker


@pytest.fixture
def settings(database_url: str, tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    yield from env_settings(monkeypatch, database_url, tmp_path)


def the_order(settings: Settings) -> Row[Any] | None:
    """The one order the command submitted (None before it is stored), as plain values."""
    columns = (
        WorkOrder.pk,
        WorkOrder.order_id,
        WorkOrder.state,
        WorkOrder.cancelled_by,
        WorkOrder.cancel_reason,
        WorkOrder.cancel_requested_at,
    )
    with session_scope(settings.sqlalchemy_url) as session:
        return session.execute(select(*columns)).one_or_none()


def test_an_order_not_started_in_time_is_cancelled(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["dome", "open", "--timeout", "1"]) == 1
    out = capsys.readouterr().out
    order = the_order(settings)
    assert order is not None
    assert out == f"{order.order_id}: not started within 1 s: cancelled\n"
    assert order.state == WorkOrderState.CANCELLED
    assert order.cancelled_by == "observatory dome"
    assert order.cancel_reason is not None and "not started within 1 s" in order.cancel_reason


def test_an_order_that_started_is_left_to_finish(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    started = threading.Event()

    def worker() -> None:
        # What the reconciler and the dome worker would do: publish it, then take it.
        while (order := the_order(settings)) is None:
            started.wait(0.05)
        publish_order(settings, order.pk, Broker())
        assert claim(settings, order.pk) is not None
        started.set()

    thread = threading.Thread(target=worker)
    thread.start()
    assert main(["dome", "status", "--timeout", "1.5"]) == 1
    thread.join()
    order = the_order(settings)
    assert order is not None and order.state == WorkOrderState.RUNNING
    assert order.cancel_requested_at is None
    out = capsys.readouterr().out
    assert out == (
        f"{order.order_id}: running after 1.5 s: left to finish"
        f" (follow it with `observatory status {order.order_id}`)\n"
    )
