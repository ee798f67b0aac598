"""Cancelling work orders: at once before they start, as a recorded request while they run."""

from __future__ import annotations

import pytest

from observatory.cli.dome import give_up
from observatory.db.models import WorkOrderState
from observatory.errors import OrderAmbiguous, OrderEnded, WorkOrderNotFound
from observatory.intake import submit
from observatory.orders.cancel import (
    CancelOutcome,
    cancel_order,
    cancel_pk,
    cancel_request,
    cancel_unstarted,
)
from observatory.orders.lifecycle import claim, finish
from observatory.settings import Settings
from tests.unit.test_intake import Broker, order, row


@pytest.fixture
def settings(database_url: str, tmp_path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path)


def test_a_queued_order_is_cancelled_at_once_and_never_starts(settings: Settings) -> None:
    receipt = submit(settings, order(), Broker())
    result = cancel_order(settings, "1", by="night operator", reason="clouds coming")
    assert result.outcome is CancelOutcome.CANCELLED
    stored = row(settings, receipt.pk)
    assert stored.state == WorkOrderState.CANCELLED
    assert stored.cancelled_by == "night operator" and stored.cancel_reason == "clouds coming"
    assert stored.state_reason == "cancelled by night operator: clouds coming"
    assert stored.finished_at is not None
    # Its message is still in the broker: the delivery does nothing.
    assert claim(settings, receipt.pk) is None
    assert row(settings, receipt.pk).state == WorkOrderState.CANCELLED


def test_a_running_order_gets_a_request_its_worker_reads(settings: Settings) -> None:
    receipt = submit(settings, order(), Broker())
    assert claim(settings, receipt.pk) is not None
    assert cancel_request(settings, receipt.pk) is None
    result = cancel_pk(settings, receipt.pk, by="ops", reason=None)
    assert result.outcome is CancelOutcome.REQUESTED
    assert row(settings, receipt.pk).state == WorkOrderState.RUNNING
    request = cancel_request(settings, receipt.pk)
    assert request is not None and request.by == "ops" and request.reason is None
    # A second request keeps the first: the worker may be acting on it.
    again = cancel_pk(settings, receipt.pk, by="someone else", reason="late")
    assert again.outcome is CancelOutcome.REQUESTED and again.request.by == "ops"


def test_an_ended_order_says_so_and_is_left_as_it_was(settings: Settings) -> None:
    receipt = submit(settings, order(), Broker())
    claim(settings, receipt.pk)
    finish(settings, receipt.pk, WorkOrderState.SUCCEEDED)
    with pytest.raises(OrderEnded, match="already ended succeeded"):
        cancel_pk(settings, receipt.pk, by="ops")
    stored = row(settings, receipt.pk)
    assert stored.state == WorkOrderState.SUCCEEDED and stored.cancel_requested_at is None


def test_giving_up_on_a_start_cancels_only_an_order_that_has_not_started(
    settings: Settings,
) -> None:
    waiting = submit(settings, order(order_id="waits"), Broker())
    assert cancel_unstarted(settings, waiting.pk, by="dome command", reason="late")
    assert row(settings, waiting.pk).state == WorkOrderState.CANCELLED
    # Claimed just before the command gave up (a dome already opening): no cancel request
    # is left for its worker to act on, and the command says it runs on.
    running = submit(settings, order(order_id="runs"), Broker())
    assert claim(settings, running.pk) is not None
    assert not cancel_unstarted(settings, running.pk, by="dome command", reason="late")
    assert give_up(settings, running.pk, "runs", 5.0).startswith("running after 5 s")
    assert cancel_request(settings, running.pk) is None
    assert row(settings, running.pk).state == WorkOrderState.RUNNING
    # Ended meanwhile: nothing to refuse, nothing changed.
    finish(settings, running.pk, WorkOrderState.SUCCEEDED)
    assert not cancel_unstarted(settings, running.pk, by="dome command")
    assert give_up(settings, running.pk, "runs", 5.0) == (
        "succeeded, having started only after the 5 s wait"
    )
    assert row(settings, running.pk).cancel_requested_at is None


def test_unknown_and_ambiguous_ids_are_refused(settings: Settings) -> None:
    with pytest.raises(WorkOrderNotFound, match="no work order 'nope'"):
        cancel_order(settings, "nope", by="ops")
    submit(settings, order(user="alice"), Broker())
    submit(settings, order(user="bob"), Broker())
    with pytest.raises(OrderAmbiguous, match="name one"):
        cancel_order(settings, "1", by="ops")
    assert cancel_order(settings, "1", "bob", by="ops").user == "bob"
