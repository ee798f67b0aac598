"""What the intake writes on an order's row, read back: a rejection's request, user and
reason; a deferral's ``ready_at`` and reason, and the instant it ends; the order in which
the reconciler publishes; the parent link and batch; a refused payload without NUL."""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

import pytest
from sqlalchemy import select, update

from observatory.db.models import WorkOrder, WorkOrderState
from observatory.db.session import session_scope
from observatory.errors import PublishFailed, WorkOrderInvalid
from observatory.intake import adopt, publish_order, reconcile, submit
from observatory.orders.hold import hold
from observatory.settings import ClockSettings, Settings
from tests.unit.test_intake import Broker, order, row

EVENING = dt.datetime(2026, 11, 23, 20, 0, tzinfo=dt.UTC)  # dark at the default site
HOUR = dt.timedelta(hours=1)
# What the intake needs to accept an observation: a position up all night, exposures.
RUNNABLE: dict[str, Any] = {
    "ra": 10.0,
    "dec": 85.0,
    "exposures": [{"filter": "R", "exposure_s": 1.0}],
}


@pytest.fixture
def settings(database_url: str, tmp_path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path)


@pytest.fixture
def evening(database_url: str, tmp_path) -> Settings:
    """Settings whose civil clock stands at EVENING: a billionth of real time, so it reads
    EVENING to the microsecond for the first 500 s of the test."""
    clock = ClockSettings(start_utc=EVENING, epoch_unix_s=time.time(), time_scale=1e-9)
    return Settings(database_url=database_url, data_dir=tmp_path, clock=clock)


def observation(order_id: str, **fields: Any) -> dict[str, Any]:
    return order("observation", order_id, datetime="2026-11-23T20:00:00", **RUNNABLE, **fields)


def only_row(settings: Settings) -> WorkOrder:
    with session_scope(settings.sqlalchemy_url) as session:
        found = session.scalars(select(WorkOrder)).one()
        session.expunge(found)
        return found


# --- rejections ---------------------------------------------------------------------


def test_a_rejected_order_row_carries_its_request_user_payload_and_reason(
    settings: Settings,
) -> None:
    data = order("dome_goto", "r1", user="Night Planner", alt=95.0, az=10.0)
    with pytest.raises(WorkOrderInvalid) as refused:
        submit(settings, data, Broker())
    rejected = only_row(settings)
    assert (rejected.order_id, rejected.user, rejected.request) == (
        "r1",
        "Night Planner",
        "dome_goto",
    )
    assert rejected.state == WorkOrderState.REJECTED
    assert rejected.state_reason == str(refused.value)
    assert rejected.payload == data
    assert rejected.finished_at is not None and rejected.published_at is None


def test_a_rejection_of_an_unreadable_request_is_recorded_as_unknown_or_cut_to_64(
    settings: Settings,
) -> None:
    with pytest.raises(WorkOrderInvalid):
        submit(settings, order(None, "r2"), Broker())  # type: ignore[arg-type]
    with pytest.raises(WorkOrderInvalid):
        submit(settings, order("x" * 100, "r3"), Broker())
    with pytest.raises(WorkOrderInvalid):
        submit(settings, order(5, "r5"), Broker())  # type: ignore[arg-type]
    with session_scope(settings.sqlalchemy_url) as session:
        requests = dict(session.execute(select(WorkOrder.order_id, WorkOrder.request)).all())
    assert requests == {"r2": "unknown", "r3": "x" * 64, "r5": "unknown"}


def test_a_second_rejection_replaces_only_the_rejection_of_its_own_id_and_user(
    settings: Settings,
) -> None:
    for order_id, user in (("r6", "a"), ("r7", "a"), ("r6", "b")):
        with pytest.raises(WorkOrderInvalid):
            submit(settings, order("dome_goto", order_id, user=user, alt=95.0), Broker())
    with pytest.raises(WorkOrderInvalid):
        submit(settings, order("dome_set_azimuth", "r6", user="a", azimuth=True), Broker())
    with session_scope(settings.sqlalchemy_url) as session:
        rows = session.execute(select(WorkOrder.order_id, WorkOrder.user, WorkOrder.request))
        requests = {(order_id, user): request for order_id, user, request in rows}
    assert requests == {
        ("r6", "a"): "dome_set_azimuth",
        ("r7", "a"): "dome_goto",
        ("r6", "b"): "dome_goto",
    }


def test_a_corrected_order_is_stored_though_other_orders_are_known(settings: Settings) -> None:
    other = submit(settings, order("dome_open", "other"), Broker())
    with pytest.raises(WorkOrderInvalid):
        submit(settings, order("dome_goto", "c1", alt=95.0, az=10.0), Broker())
    corrected = submit(settings, order("dome_goto", "c1", alt=45.0, az=10.0), Broker())
    assert corrected.created and corrected.pk != other.pk
    assert row(settings, corrected.pk).state == WorkOrderState.QUEUED


def test_a_second_rejection_of_an_id_replaces_the_first_ones_request_payload_and_reason(
    settings: Settings,
) -> None:
    with pytest.raises(WorkOrderInvalid):
        submit(settings, order("dome_goto", "r4", alt=95.0, az=10.0), Broker())
    second = order("dome_set_azimuth", "r4", azimuth=True)
    with pytest.raises(WorkOrderInvalid) as refused:
        submit(settings, second, Broker())
    rejected = only_row(settings)
    assert (rejected.request, rejected.payload) == ("dome_set_azimuth", second)
    assert rejected.state_reason == str(refused.value)
    assert rejected.state == WorkOrderState.REJECTED


def test_a_task_message_for_the_wrong_task_is_refused_naming_both_and_recorded(
    settings: Settings,
) -> None:
    expected = "request: 'dome_open' is served by observatory.dome.open, not observatory.dome.close"
    with pytest.raises(WorkOrderInvalid) as refused:
        adopt(settings, order("dome_open", "a1"), "observatory.dome.close")
    assert str(refused.value) == expected
    rejected = only_row(settings)
    assert (rejected.state, rejected.state_reason) == (WorkOrderState.REJECTED, expected)


def test_nul_in_list_items_and_keys_of_a_rejected_payload_is_shown_as_replacement(
    settings: Settings,
) -> None:
    data = order("dome_open", "nul", tags=["a\x00b", {"k\x00": ["\x00"]}], **{"x\x00y": 1})
    with pytest.raises(WorkOrderInvalid):
        submit(settings, data, Broker())
    rejected = only_row(settings)
    assert rejected.payload == order(
        "dome_open", "nul", tags=["a\ufffdb", {"k\ufffd": ["\ufffd"]}], **{"x\ufffdy": 1}
    )


def test_nul_in_a_rejected_request_is_shown_as_replacement(settings: Settings) -> None:
    # PostgreSQL cannot store NUL in text: recording it as sent raised a driver error in
    # place of the refusal.
    with pytest.raises(WorkOrderInvalid, match=r"^request: unknown request"):
        submit(settings, order("dome\x00open", "nul"), Broker())
    assert only_row(settings).request == "dome\ufffdopen"


def test_nan_and_infinities_of_a_rejected_payload_are_recorded_as_text(
    settings: Settings,
) -> None:
    # Python's JSON (the API's, a task message's) reads NaN and Infinity; PostgreSQL's JSON
    # refuses them, which raised a driver error in place of the refusal.
    data = order("observation", "nan", ra=float("nan"), dec=float("inf"), x=[float("-inf")])
    with pytest.raises(WorkOrderInvalid, match="finite number"):
        submit(settings, data, Broker())
    assert only_row(settings).payload == order(
        "observation", "nan", ra="NaN", dec="Infinity", x=["-Infinity"]
    )


def test_a_value_json_cannot_carry_is_recorded_as_its_repr(settings: Settings) -> None:
    # A task message decoded by another serializer may carry any Python value.
    with pytest.raises(WorkOrderInvalid):
        adopt(settings, order("dome_open", "raw", note=b"\x00x"), "observatory.dome.open")
    assert only_row(settings).payload["note"] == "b'\\x00x'"


# --- deferral -------------------------------------------------------------------------


def test_a_future_order_is_stored_deferred_with_its_ready_at_and_reason(
    evening: Settings,
) -> None:
    broker = Broker()
    receipt = submit(evening, observation("d1", not_before="2026-11-23T21:00:00Z"), broker)
    reason = "deferred until 2026-11-23T21:00:00+00:00"
    assert (receipt.order_id, receipt.user, receipt.state) == ("d1", "Main Module", "queued")
    assert (receipt.created, receipt.published, receipt.message) == (True, False, reason)
    stored = row(evening, receipt.pk)
    assert stored.ready_at == EVENING + HOUR
    assert stored.state_reason == reason and stored.published_at is None
    assert broker.sent == []


@pytest.mark.parametrize("by", ["submit", "adopt"])
def test_a_body_without_a_window_is_placed_at_the_clock_s_instant_on_receipt(
    evening: Settings, by: str
) -> None:
    moon = order(
        "observation",
        "moon",
        datetime="2026-11-23T20:00:00",
        target="Moon",
        exposures=[{"filter": "R", "exposure_s": 1.0}],
    )
    if by == "submit":
        pk = submit(evening, moon, Broker()).pk
    else:
        pk = adopt(evening, moon, "observatory.telescope.observe")
    source = row(evening, pk).payload["resolved"]["source"]
    assert source.endswith(f"at {EVENING.isoformat()}")


def test_an_order_whose_not_before_is_now_is_published_at_once(evening: Settings) -> None:
    # Deferred only while not_before is still ahead (ready_at > now); at the instant
    # itself it may start.
    broker = Broker()
    receipt = submit(evening, observation("d2", not_before="2026-11-23T20:00:00Z"), broker)
    assert receipt.published and broker.sent[0]["pk"] == receipt.pk
    stored = row(evening, receipt.pk)
    assert stored.ready_at == EVENING and stored.state_reason is None


def test_publishing_a_deferred_order_before_its_time_keeps_it_waiting_with_the_reason(
    evening: Settings,
) -> None:
    broker = Broker()
    receipt = submit(evening, observation("d3", not_before="2026-11-23T22:30:00Z"), broker)
    with session_scope(evening.sqlalchemy_url) as session:
        session.execute(
            update(WorkOrder).where(WorkOrder.pk == receipt.pk).values(state_reason=None)
        )
    again = publish_order(evening, receipt.pk, broker)
    reason = "deferred until 2026-11-23T22:30:00+00:00"
    assert (again.pk, again.order_id, again.user) == (receipt.pk, "d3", "Main Module")
    assert (again.state, again.created, again.published, again.message) == (
        "queued",
        True,
        False,
        reason,
    )
    assert row(evening, receipt.pk).state_reason == reason
    assert broker.sent == []


def test_a_deferred_order_is_published_at_its_instant_and_its_reason_cleared(
    evening: Settings,
) -> None:
    broker = Broker()
    receipt = submit(evening, observation("d4", not_before="2026-11-23T21:00:00Z"), broker)
    with session_scope(evening.sqlalchemy_url) as session:
        session.execute(
            update(WorkOrder).where(WorkOrder.pk == receipt.pk).values(ready_at=EVENING)
        )
    # Its time is now: the reconciler publishes it at once, however recent the order.
    assert reconcile(evening, broker, older_than_s=3600) == [receipt.pk]
    assert [sent["pk"] for sent in broker.sent] == [receipt.pk]
    stored = row(evening, receipt.pk)
    assert stored.published_at is not None and stored.state_reason is None


def test_an_order_of_a_held_queue_waits_with_the_hold_as_its_reason(
    settings: Settings,
) -> None:
    broker = Broker()
    hold(settings, "dome", by="ops", reason="shutter maintenance")
    receipt = submit(settings, order("dome_open", "h1"), broker)
    waiting = r"^waiting: queue dome held by ops since \d\d:\d\d:\d\d UTC: shutter maintenance$"
    assert re.match(waiting, receipt.message)
    assert (receipt.order_id, receipt.user, receipt.state) == ("h1", "Main Module", "queued")
    assert (receipt.created, receipt.published) == (True, False)
    assert row(settings, receipt.pk).state_reason == receipt.message
    with session_scope(settings.sqlalchemy_url) as session:
        session.execute(
            update(WorkOrder).where(WorkOrder.pk == receipt.pk).values(state_reason=None)
        )

    again = publish_order(settings, receipt.pk, broker)

    assert (again.pk, again.order_id, again.user, again.state) == (
        receipt.pk,
        "h1",
        "Main Module",
        "queued",
    )
    assert (again.created, again.published) == (True, False)
    assert re.match(waiting, again.message)
    assert row(settings, receipt.pk).state_reason == again.message
    assert broker.sent == []


# --- publishing -----------------------------------------------------------------------


def test_a_refused_publish_says_why_on_the_row_and_in_the_receipt(settings: Settings) -> None:
    broker = Broker()
    broker.down = True
    receipt = submit(settings, order("dome_open", "p1"), broker)
    assert (receipt.order_id, receipt.user, receipt.state) == ("p1", "Main Module", "queued")
    assert (receipt.created, receipt.published, receipt.message) == (
        True,
        False,
        "connection refused",
    )
    assert row(settings, receipt.pk).state_reason == "not yet published: connection refused"


def test_a_resubmission_is_answered_from_the_stored_row(settings: Settings) -> None:
    broker = Broker()
    broker.down = True
    first = submit(settings, order("dome_open", "s1", user="Night Planner"), broker)
    unpublished = submit(settings, order("dome_open", "s1", user="Night Planner"), broker)
    broker.down = False
    assert reconcile(settings, broker, older_than_s=0) == [first.pk]
    published = submit(settings, order("dome_open", "s1", user="Night Planner"), broker)
    for again, was_published in ((unpublished, False), (published, True)):
        assert (again.pk, again.order_id, again.user, again.state) == (
            first.pk,
            "s1",
            "Night Planner",
            "queued",
        )
        assert (again.created, again.published) == (False, was_published)
        assert again.message == "already received; not stored again"


@pytest.mark.parametrize("missing", ["task_name", "queue", "priority"])
def test_an_order_without_a_route_is_refused_by_name(settings: Settings, missing: str) -> None:
    receipt = submit(settings, order("dome_open", "p2"), Broker())
    with session_scope(settings.sqlalchemy_url) as session:
        session.execute(
            update(WorkOrder)
            .where(WorkOrder.pk == receipt.pk)
            .values({missing: None, "published_at": None})
        )
    with pytest.raises(PublishFailed) as refused:
        publish_order(settings, receipt.pk, Broker())
    assert str(refused.value) == f"work order {receipt.pk} has no route; it cannot be published"


def test_reconcile_publishes_the_most_urgent_first_then_the_oldest(settings: Settings) -> None:
    broker = Broker()
    broker.down = True
    pks = [submit(settings, order("dome_open", str(n)), broker).pk for n in range(4)]
    priorities = [1.0, 9.0, 9.0, 5.0]
    with session_scope(settings.sqlalchemy_url) as session:
        for pk, priority in zip(pks, priorities, strict=True):
            session.execute(update(WorkOrder).where(WorkOrder.pk == pk).values(priority=priority))
    broker.down = False
    expected = [pks[1], pks[2], pks[3], pks[0]]
    assert reconcile(settings, broker, older_than_s=0) == expected
    assert [sent["pk"] for sent in broker.sent] == expected
    # Each message carries its order's stored priority, route and queue.
    assert broker.priorities == [9.0, 9.0, 5.0, 1.0]
    assert {(sent["task"], sent["queue"]) for sent in broker.sent} == {
        ("observatory.dome.open", "dome")
    }


def test_reconcile_queues_and_publishes_an_order_left_received_once_it_is_old_enough(
    settings: Settings,
) -> None:
    now = dt.datetime.now(dt.UTC)
    with session_scope(settings.sqlalchemy_url) as session:
        left = [
            WorkOrder(
                order_id=order_id,
                user="Main Module",
                request="dome_open",
                payload=order("dome_open", order_id),
                priority=5.0,
                state=WorkOrderState.RECEIVED,
                queue="dome",
                task_name="observatory.dome.open",
                received_at=now - age,
                updated_at=now - age,
            )
            for order_id, age in (("old", 2 * HOUR), ("new", dt.timedelta(0)))
        ]
        session.add_all(left)
        session.flush()
        old_pk, new_pk = (stored.pk for stored in left)
    broker = Broker()
    assert reconcile(settings, broker, older_than_s=3600) == [old_pk]
    assert row(settings, old_pk).state == WorkOrderState.QUEUED
    assert row(settings, new_pk).state == WorkOrderState.RECEIVED
    assert broker.sent == [{"pk": old_pk, "task": "observatory.dome.open", "queue": "dome"}]


# --- links ----------------------------------------------------------------------------


def test_an_order_submitted_on_behalf_of_another_keeps_its_parent_link(
    settings: Settings,
) -> None:
    parent = submit(settings, order("dome_open", "parent"), Broker())
    child = submit(settings, order("dome_close", "child"), Broker(), parent_pk=parent.pk)
    assert (child.order_id, child.user, child.state) == ("child", "Main Module", "queued")
    assert (child.created, child.published, child.message) == (True, True, "")
    assert row(settings, child.pk).parent_pk == parent.pk
    assert row(settings, parent.pk).parent_pk is None


def test_an_adopted_order_keeps_its_batch_and_has_no_parent(settings: Settings) -> None:
    # A resume names a batch received before (see test_intake_batches).
    url = "https://example.org/nights/night-1.tar.gz"
    submit(settings, order("calibrate_file_batch", "c1", url=url), Broker())
    pk = adopt(
        settings,
        order("resume_file_batch", "b1", batch="night-1"),
        "observatory.processor.resume_file_batch",
    )
    stored = row(settings, pk)
    assert (stored.batch, stored.parent_pk) == ("night-1", None)
    assert stored.published_at is not None and stored.state_reason is None


def test_an_adopted_order_of_a_held_queue_is_published_by_its_message(
    settings: Settings,
) -> None:
    hold(settings, "dome", by="ops")
    stored = row(settings, adopt(settings, order("dome_open", "h2"), "observatory.dome.open"))
    assert stored.published_at is not None and stored.state_reason is None
