"""Held queues: nothing of a held queue is published or started, and nothing is lost."""

from __future__ import annotations

import pytest

from observatory.db.models import WorkOrderState
from observatory.intake import publish_order, reconcile, submit
from observatory.orders.hold import UnknownQueue, hold, holds, release
from observatory.orders.lifecycle import claim
from observatory.settings import Settings
from tests.unit.test_intake import Broker, order, row


@pytest.fixture
def settings(database_url: str, tmp_path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path)


def test_an_order_of_a_held_queue_stays_queued_unpublished_until_release(
    settings: Settings,
) -> None:
    broker = Broker()
    hold(settings, "dome", by="ops", reason="shutter maintenance")
    receipt = submit(settings, order(), broker)
    assert not receipt.published and broker.sent == []
    stored = row(settings, receipt.pk)
    assert stored.state == WorkOrderState.QUEUED and stored.published_at is None
    assert "queue dome held by ops" in (stored.state_reason or "")
    assert reconcile(settings, broker, older_than_s=0) == []

    waiting = release(settings, "dome")
    assert waiting == [receipt.pk]
    assert publish_order(settings, receipt.pk, broker).published
    assert [sent["pk"] for sent in broker.sent] == [receipt.pk]


def test_a_message_published_before_the_hold_does_not_start_and_waits(
    settings: Settings,
) -> None:
    broker = Broker()
    receipt = submit(settings, order(), broker)
    hold(settings, "dome", by="ops")
    assert claim(settings, receipt.pk) is None
    stored = row(settings, receipt.pk)
    assert stored.state == WorkOrderState.QUEUED and stored.published_at is None
    release(settings, "dome")
    # The reconciler finds it after release, even if the releaser did not publish it.
    assert reconcile(settings, broker, older_than_s=0) == [receipt.pk]
    assert claim(settings, receipt.pk) is not None


def test_other_queues_run_and_holds_are_listed(settings: Settings) -> None:
    hold(settings, "telescope", by="ops", reason="mirror cleaning")
    hold(settings, "telescope", by="someone else")
    receipt = submit(settings, order(), Broker())
    assert receipt.published
    [held] = holds(settings)
    assert held.queue == "telescope" and held.held_by == "ops"
    assert "mirror cleaning" in held.describe()
    release(settings, "telescope")
    release(settings, "telescope")
    assert holds(settings) == []


def test_an_unknown_queue_is_refused_naming_the_known_ones(settings: Settings) -> None:
    with pytest.raises(UnknownQueue, match="dome, telescope, processor"):
        hold(settings, "telescopes", by="ops")
