"""Intake and the work-order lifecycle on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import func, select

from observatory.db.models import StepRun, StepState, WorkOrder, WorkOrderState
from observatory.db.session import session_scope
from observatory.errors import InvalidTransition, PublishFailed, WorkOrderInvalid
from observatory.intake import adopt, reconcile, submit
from observatory.orders.lifecycle import cancel, claim, finish
from observatory.orders.states import FINAL_STATES, TRANSITIONS, transition
from observatory.settings import Settings


class Broker:
    """A publisher that records what it was given, and can be made unreachable."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        # The broker priority of each message sent, in the order sent.
        self.priorities: list[float] = []
        self.down = False

    def __call__(self, *, work_order_pk: int, task_name: str, queue: str, priority: float) -> str:
        if self.down:
            raise PublishFailed("connection refused")
        self.sent.append({"pk": work_order_pk, "task": task_name, "queue": queue})
        self.priorities.append(priority)
        return f"task-{len(self.sent)}"


def order(request: str = "dome_open", order_id: str = "1", **fields: Any) -> dict[str, Any]:
    return {
        "id": order_id,
        "request": request,
        "datetime": "2026-11-23T21:00:00",
        "user": "Main Module",
        **fields,
    }


@pytest.fixture
def settings(database_url: str, tmp_path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path)


def count(settings: Settings) -> int:
    with session_scope(settings.sqlalchemy_url) as session:
        return session.scalar(select(func.count()).select_from(WorkOrder)) or 0


def row(settings: Settings, pk: int) -> WorkOrder:
    with session_scope(settings.sqlalchemy_url) as session:
        found = session.get_one(WorkOrder, pk)
        session.expunge(found)
        return found


def test_submit_stores_then_publishes_to_the_routed_task(settings: Settings) -> None:
    broker = Broker()
    receipt = submit(settings, order("observation", ra=10.0, dec=20.0), broker)
    assert receipt.created and receipt.published
    assert broker.sent == [
        {"pk": receipt.pk, "task": "observatory.telescope.observe", "queue": "telescope"}
    ]
    stored = row(settings, receipt.pk)
    assert stored.state == WorkOrderState.QUEUED
    assert stored.published_at is not None and stored.priority_reasons is not None
    # The broker is given the priority the order was stored with.
    assert broker.priorities == [stored.priority]
    # The observability term depends on the hour; the request's base does not.
    assert stored.priority_reasons["components"][0]["value"] == 5.0
    assert stored.payload["ra"] == 10.0


def test_resubmission_of_a_known_id_is_not_stored_or_published_again(settings: Settings) -> None:
    broker = Broker()
    first = submit(settings, order(), broker)
    again = submit(settings, order(), broker)
    assert again.pk == first.pk and not again.created
    assert len(broker.sent) == 1 and count(settings) == 1


def test_broker_down_keeps_the_order_and_the_reconciler_publishes_it(settings: Settings) -> None:
    broker = Broker()
    broker.down = True
    receipt = submit(settings, order(), broker)
    assert receipt.created and not receipt.published
    stored = row(settings, receipt.pk)
    assert stored.state == WorkOrderState.QUEUED and stored.published_at is None
    assert "not yet published" in (stored.state_reason or "")
    assert reconcile(settings, broker, older_than_s=0) == []  # still down: nothing sent
    broker.down = False
    assert reconcile(settings, broker, older_than_s=3600) == []  # too recent to touch
    assert reconcile(settings, broker, older_than_s=0) == [receipt.pk]
    assert row(settings, receipt.pk).published_at is not None
    assert reconcile(settings, broker, older_than_s=0) == []


def test_invalid_order_is_recorded_as_rejected_when_its_id_is_known(settings: Settings) -> None:
    broker = Broker()
    with pytest.raises(WorkOrderInvalid, match="alt"):
        submit(settings, order("dome_goto", alt=95.0, az=10.0), broker)
    with session_scope(settings.sqlalchemy_url) as session:
        rejected = session.scalars(select(WorkOrder)).one()
        assert rejected.state == WorkOrderState.REJECTED
        assert "alt" in (rejected.state_reason or "")
    assert broker.sent == []
    # Without an id nothing can be recorded, and nothing is.
    with pytest.raises(WorkOrderInvalid, match="id"):
        submit(settings, {"request": "dome_open", "user": "x", "datetime": "2026-11-23"}, broker)
    assert count(settings) == 1


def test_invalid_resubmission_leaves_the_stored_order_untouched(settings: Settings) -> None:
    broker = Broker()
    receipt = submit(settings, order(), broker)
    with pytest.raises(WorkOrderInvalid):
        submit(settings, order(colour="red"), broker)
    assert row(settings, receipt.pk).state == WorkOrderState.QUEUED
    assert count(settings) == 1


def test_adopt_stores_an_order_sent_as_a_task_and_refuses_the_wrong_task(
    settings: Settings,
) -> None:
    pk = adopt(settings, order("dome_close", "9"), "observatory.dome.close")
    assert row(settings, pk).state == WorkOrderState.QUEUED
    with pytest.raises(WorkOrderInvalid, match=r"observatory\.dome\.open"):
        adopt(settings, order("dome_open", "10"), "observatory.dome.close")


def test_claim_once_then_duplicates_do_nothing(settings: Settings) -> None:
    receipt = submit(settings, order(), Broker())
    first = claim(settings, receipt.pk)
    assert first is not None and first.attempt == 1
    assert claim(settings, receipt.pk) is None  # the same message delivered twice
    finish(settings, receipt.pk, WorkOrderState.SUCCEEDED)
    assert claim(settings, receipt.pk, redelivered=True) is None  # ended: never again


def test_redelivered_running_order_resumes_and_closes_the_lost_attempt(settings: Settings) -> None:
    receipt = submit(settings, order(), Broker())
    claim(settings, receipt.pk)
    with session_scope(settings.sqlalchemy_url) as session:
        session.add(
            StepRun(
                work_order_pk=receipt.pk,
                step="open_dome",
                attempt=1,
                state=StepState.RUNNING,
                started_at=dt.datetime.now(dt.UTC),
            )
        )
    resumed = claim(settings, receipt.pk, redelivered=True)
    assert resumed is not None and resumed.attempt == 2
    with session_scope(settings.sqlalchemy_url) as session:
        lost = session.scalars(select(StepRun)).one()
        assert lost.state == StepState.FAILED and "worker lost" in (lost.error or "")


def test_transition_table_refuses_invalid_changes(settings: Settings) -> None:
    receipt = submit(settings, order(), Broker())
    with session_scope(settings.sqlalchemy_url) as session:
        stored = session.get_one(WorkOrder, receipt.pk)
        with pytest.raises(InvalidTransition, match="queued -> succeeded"):
            transition(stored, WorkOrderState.SUCCEEDED)
    assert cancel(settings, receipt.pk, "withdrawn")
    assert not cancel(settings, receipt.pk, "again")
    assert row(settings, receipt.pk).state_reason == "withdrawn"
    assert all(not TRANSITIONS[state] for state in FINAL_STATES)
    assert len(FINAL_STATES) == 5


def test_a_rejected_order_does_not_take_its_id(settings: Settings) -> None:
    broker = Broker()
    with pytest.raises(WorkOrderInvalid, match="azimuth"):
        submit(settings, order("dome_set_azimuth", "5", azimuth=True), broker)
    # A second bad attempt replaces the first rejection rather than adding a row.
    with pytest.raises(WorkOrderInvalid, match="azimuth"):
        submit(settings, order("dome_set_azimuth", "5", azimuth="90"), broker)
    assert count(settings) == 1

    receipt = submit(settings, order("dome_set_azimuth", "5", azimuth=90.0), broker)

    assert receipt.created and receipt.published
    assert row(settings, receipt.pk).state == WorkOrderState.QUEUED
    assert row(settings, receipt.pk).payload["azimuth_deg"] == 90.0
    assert [sent["pk"] for sent in broker.sent] == [receipt.pk]
    assert count(settings) == 1


def test_a_valid_order_replaces_only_the_rejection_of_its_own_id(settings: Settings) -> None:
    broker = Broker()
    for order_id in ("5", "6"):
        with pytest.raises(WorkOrderInvalid, match="azimuth"):
            submit(settings, order("dome_set_azimuth", order_id, azimuth=True), broker)

    receipt = submit(settings, order("dome_set_azimuth", "5", azimuth=90.0), broker)

    assert row(settings, receipt.pk).state == WorkOrderState.QUEUED
    with session_scope(settings.sqlalchemy_url) as session:
        states = {r.order_id: r.state for r in session.scalars(select(WorkOrder))}
    assert states == {"5": WorkOrderState.QUEUED, "6": WorkOrderState.REJECTED}


def test_a_received_order_is_stored_once_and_keeps_its_id(settings: Settings) -> None:
    broker = Broker()
    first = submit(settings, order("dome_set_azimuth", "6", azimuth=90.0), broker)
    again = submit(settings, order("dome_set_azimuth", "6", azimuth=90.0), broker)
    assert (again.pk, again.created) == (first.pk, False)
    assert again.message == "already received; not stored again"
    # Other content under the same id, user and queue is refused, naming the stored order.
    with pytest.raises(WorkOrderInvalid, match=f"is already work order {first.pk} "):
        submit(settings, order("dome_set_azimuth", "6", azimuth=120.0), broker)
    with pytest.raises(WorkOrderInvalid):
        submit(settings, order("dome_set_azimuth", "6", azimuth=True), broker)
    assert row(settings, first.pk).state == WorkOrderState.QUEUED
    assert row(settings, first.pk).payload["azimuth_deg"] == 90.0
    assert len(broker.sent) == 1
    assert count(settings) == 1


def test_an_observation_by_name_is_stored_with_its_coordinates_and_their_source(
    settings: Settings,
) -> None:
    from observatory.settings import PlannedExposures

    settings.telescope.default_exposures = [PlannedExposures(filter="R", exposure_s=5.0)]
    broker = Broker()
    receipt = submit(settings, order("observation", "m31", target="M 31", priority=None), broker)
    payload = row(settings, receipt.pk).payload
    assert (round(payload["ra"], 3), round(payload["dec"], 3)) == (10.685, 41.269)
    assert payload["resolved"]["source"].startswith("OpenNGC")
    assert payload["exposures"] == [{"filter": "R", "exposure_s": 5.0, "count": 1, "binning": 1}]


def test_an_unknown_name_is_refused_at_receipt_and_recorded_as_rejected(
    settings: Settings,
) -> None:
    broker = Broker()
    with pytest.raises(WorkOrderInvalid, match=r"^target: 'Planet X' is not a name"):
        submit(settings, order("observation", "x", target="Planet X"), broker)
    with session_scope(settings.sqlalchemy_url) as session:
        assert session.scalars(select(WorkOrder.state)).all() == [WorkOrderState.REJECTED]
    assert broker.sent == []


@pytest.mark.parametrize(
    "fields",
    [
        {"target": "M\x0031"},  # NUL in a name: refused, and PostgreSQL cannot store it
        {"target": "M 31", "colour\x00": "red"},  # NUL in a key
        {"target": "M 31", "note": "a\x00b"},  # NUL in an unknown field's value
    ],
)
def test_a_rejection_with_nul_anywhere_is_recorded_without_it(
    settings: Settings, fields: dict[str, Any]
) -> None:
    with pytest.raises(WorkOrderInvalid):
        submit(settings, order("observation", "nul", **fields), Broker())
    with session_scope(settings.sqlalchemy_url) as session:
        rejected = session.scalars(select(WorkOrder)).one()
        assert rejected.state == WorkOrderState.REJECTED
        assert "\x00" not in json.dumps(rejected.payload, ensure_ascii=False)
        assert "\\u0000" not in json.dumps(rejected.payload)
