"""The publisher's stamp against a worker that was quicker: the order may be claimed and
even ended before ``published_at`` is written, and the stamp must not undo any of it."""

from __future__ import annotations

from typing import Any

import pytest

from observatory.db.models import WorkOrder, WorkOrderState
from observatory.db.session import session_scope
from observatory.intake import submit
from observatory.orders.lifecycle import claim, finish
from observatory.settings import Settings


@pytest.fixture
def settings(database_url: str, tmp_path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path)


class QuickWorker:
    """A broker whose worker claims and ends the order before ``publish`` returns, as a
    real worker may do before the intake's stamp commits."""

    def __init__(self, settings: Settings, end: WorkOrderState, reason: str | None) -> None:
        self.settings, self.end, self.reason = settings, end, reason

    def __call__(self, *, work_order_pk: int, task_name: str, queue: str, priority: float) -> str:
        assert claim(self.settings, work_order_pk) is not None
        finish(self.settings, work_order_pk, self.end, self.reason)
        return "task-1"


def order(request: str = "dome_park", **fields: Any) -> dict[str, Any]:
    return {"id": "7", "request": request, "datetime": "2026-11-23T21:00:00", "user": "u", **fields}


def stored(settings: Settings, pk: int) -> WorkOrder:
    with session_scope(settings.sqlalchemy_url) as session:
        found = session.get_one(WorkOrder, pk)
        session.expunge(found)
        return found


def test_a_failure_reason_written_before_the_stamp_is_kept(settings: Settings) -> None:
    reason = "dome_park refused: observation 3 keeps the slit on the mount"
    worker = QuickWorker(settings, WorkOrderState.FAILED, reason)
    receipt = submit(settings, order(), worker)
    row = stored(settings, receipt.pk)
    assert row.state == WorkOrderState.FAILED
    assert row.state_reason == reason
    assert row.published_at is not None
    assert receipt.state == "failed"


def test_the_stamp_clears_the_intakes_own_reason_of_a_waiting_order(settings: Settings) -> None:
    from observatory.intake import publish_order
    from tests.unit.test_intake import Broker

    broker = Broker()
    broker.down = True
    receipt = submit(settings, order("dome_status"), broker)
    assert "not yet published" in (stored(settings, receipt.pk).state_reason or "")
    broker.down = False
    assert publish_order(settings, receipt.pk, broker).published
    row = stored(settings, receipt.pk)
    assert row.state == WorkOrderState.QUEUED and row.state_reason is None
