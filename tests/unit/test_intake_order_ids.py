"""An order's id is unique per user and per queue: the design notes' two orders with id
"1" from one user are two orders; a resubmission is the stored order; other content under
a taken id is refused, naming the stored order."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from observatory.db.models import WorkOrder, WorkOrderState
from observatory.db.session import session_scope
from observatory.errors import OrderAmbiguous, WorkOrderInvalid
from observatory.intake import OrderIdTaken, same_content, submit
from observatory.orders.listing import one_order_with_id
from observatory.settings import Settings
from tests.unit.seed_orders import calibrate, observation
from tests.unit.test_intake import Broker, count


@pytest.fixture
def settings(database_url: str, tmp_path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path)


def test_the_seed_orders_are_two_orders_each_published_to_its_queue(settings: Settings) -> None:
    broker = Broker()
    first = submit(settings, calibrate(), broker)
    second = submit(settings, observation(), broker)
    assert first.created and second.created and first.pk != second.pk
    assert [sent["queue"] for sent in broker.sent] == ["processor", "telescope"]
    assert second.message != "already received; not stored again"
    with session_scope(settings.sqlalchemy_url) as session:
        stored = {o.queue: o.request for o in session.scalars(select(WorkOrder))}
    assert stored == {"processor": "calibrate_file_batch", "telescope": "observation"}


def test_a_resubmission_is_the_stored_order_of_its_own_queue(settings: Settings) -> None:
    broker = Broker()
    first = submit(settings, calibrate(), broker)
    second = submit(settings, observation(), broker)
    again = submit(settings, observation(), broker)
    assert (again.pk, again.created) == (second.pk, False)
    assert submit(settings, calibrate(), broker).pk == first.pk
    assert len(broker.sent) == 2 and count(settings) == 2


def test_other_content_under_a_taken_id_is_refused_naming_the_stored_order(
    settings: Settings,
) -> None:
    broker = Broker()
    submit(settings, calibrate(), broker)
    stored = submit(settings, observation(), broker)
    moved = {**observation(), "ra": 100.0}
    with pytest.raises(OrderIdTaken) as refused:
        submit(settings, moved, broker)
    message = str(refused.value)
    assert message.startswith(
        f"work order id '1' of user 'Main Module' is already work order {stored.pk}"
        " (observation, received 20"
    )
    assert message.endswith("): an order with other content needs another id")
    assert "\n" not in message
    # Refused, not rejected: nothing is recorded and the stored order is untouched.
    assert count(settings) == 2 and len(broker.sent) == 2


def test_a_resubmission_by_name_matches_what_the_intake_filled_in(settings: Settings) -> None:
    broker = Broker()
    by_name = {**observation(), "target": "M 31"}
    del by_name["ra"], by_name["dec"]
    first = submit(settings, by_name, broker)
    again = submit(settings, by_name, broker)
    assert (again.pk, again.created) == (first.pk, False)


def test_same_content_ignores_only_what_the_submitter_left_out() -> None:
    stored = {"id": "1", "ra": 10.7, "dec": 41.3, "resolved": {"name": "M 31"}, "exposures": []}
    given = {"id": "1", "ra": None, "dec": None, "resolved": None, "exposures": None}
    assert same_content(given, stored)
    assert not same_content({**given, "ra": 11.0}, stored)
    assert not same_content({**given, "id": "2"}, stored)
    assert not same_content({**given, "extra": 1}, stored)


def test_an_id_naming_orders_of_two_queues_lists_them_until_one_is_named(
    settings: Settings,
) -> None:
    broker = Broker()
    first = submit(settings, calibrate(), broker)
    second = submit(settings, observation(), broker)
    with session_scope(settings.sqlalchemy_url) as session:
        with pytest.raises(OrderAmbiguous) as ambiguous:
            one_order_with_id(session, "1", "Main Module", None, how="--queue")
        message = str(ambiguous.value)
        assert f"{first.pk} (user 'Main Module', processor, calibrate_file_batch" in message
        assert f"{second.pk} (user 'Main Module', telescope, observation" in message
        assert message.endswith("name one with --queue")
        assert one_order_with_id(session, "1", None, "telescope", how="").pk == second.pk


def test_a_rejection_does_not_take_the_id_of_either_queue(settings: Settings) -> None:
    broker = Broker()
    submit(settings, calibrate(), broker)
    with pytest.raises(WorkOrderInvalid, match="dec"):
        submit(settings, {**observation(), "dec": 95.0}, broker)
    with session_scope(settings.sqlalchemy_url) as session:
        states = sorted(str(o.state) for o in session.scalars(select(WorkOrder)))
    assert states == ["queued", "rejected"]
    corrected = submit(settings, observation(), broker)
    assert corrected.created
    with session_scope(settings.sqlalchemy_url) as session:
        rows = list(session.scalars(select(WorkOrder).order_by(WorkOrder.pk)))
        assert [o.state for o in rows] == [WorkOrderState.QUEUED, WorkOrderState.QUEUED]
    # A bad resubmission of a stored order of that queue is not recorded at all.
    with pytest.raises(WorkOrderInvalid, match="dec"):
        submit(settings, {**observation(), "dec": 95.0}, broker)
    assert count(settings) == 2
