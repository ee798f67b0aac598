"""How many SQL transactions one work order costs, from receipt to finish: at most four
(intake: store and queue, then stamp the publish; worker: claim with the step's start,
then the step's end with the order's). Counted with SQLAlchemy's ``begin`` event, so
that an extra round trip cannot creep back unnoticed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, event

from observatory.intake import submit
from observatory.orders.lifecycle import Claim
from observatory.settings import Settings
from tests.unit.tasks.conftest import Deliver
from tests.unit.test_intake import Broker, order

MOST_PER_ORDER = 4


class Transactions:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, connection) -> None:
        self.count += 1


@pytest.fixture
def transactions(settings: Settings) -> Iterator[Transactions]:
    counter = Transactions()
    event.listen(Engine, "begin", counter)
    yield counter
    event.remove(Engine, "begin", counter)


def test_a_work_order_that_succeeds_takes_at_most_four_transactions(
    settings: Settings, deliver: Deliver, transactions: Transactions
) -> None:
    pk = submit(settings, order("dome_status", "count-1"), Broker()).pk
    assert transactions.count == 2, "intake: store and queue, then stamp the publish"
    deliver(lambda _: {"azimuth_deg": 10.0}, pk)
    assert transactions.count <= MOST_PER_ORDER


def test_a_work_order_that_fails_takes_at_most_four_transactions(
    settings: Settings, deliver: Deliver, transactions: Transactions
) -> None:
    pk = submit(settings, order("dome_status", "count-2"), Broker()).pk

    def action(_: Claim) -> dict:
        raise RuntimeError("dome jammed")

    with pytest.raises(RuntimeError):
        deliver(action, pk)
    assert transactions.count <= MOST_PER_ORDER


def test_a_duplicate_delivery_takes_one_transaction(
    settings: Settings, deliver: Deliver, transactions: Transactions
) -> None:
    pk = submit(settings, order("dome_status", "count-3"), Broker()).pk
    deliver(lambda _: {}, pk)
    before = transactions.count
    assert deliver(lambda _: {}, pk)["duplicate"]
    assert transactions.count - before == 1
