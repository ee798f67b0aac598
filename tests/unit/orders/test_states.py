"""The work-order transition table against the documented diagram, every pair of states.

The diagram (``observatory/orders/states.py`` docstring, and the README)::

    received ──> queued ──> running ──> succeeded | failed | partial | cancelled
       │           │
       │           └──> cancelled
       └──> rejected | cancelled

``DOCUMENTED`` below is that diagram transcribed. A change to the table that the diagram
does not show, or an arrow of the diagram the table lacks, fails here.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from observatory.db.models import WorkOrder, WorkOrderState
from observatory.db.session import connection_scope, session_scope
from observatory.errors import InvalidTransition, WorkOrderNotFound
from observatory.orders.states import FINAL_STATES, can_transition, transition, transition_in

S = WorkOrderState

DOCUMENTED: set[tuple[WorkOrderState, WorkOrderState]] = {
    (S.RECEIVED, S.QUEUED),
    (S.RECEIVED, S.REJECTED),
    (S.RECEIVED, S.CANCELLED),
    (S.QUEUED, S.RUNNING),
    (S.QUEUED, S.CANCELLED),
    (S.RUNNING, S.SUCCEEDED),
    (S.RUNNING, S.FAILED),
    (S.RUNNING, S.PARTIAL),
    (S.RUNNING, S.CANCELLED),
}
DOCUMENTED_FINAL = {S.SUCCEEDED, S.FAILED, S.PARTIAL, S.CANCELLED, S.REJECTED}
ALL_PAIRS = list(itertools.product(WorkOrderState, repeat=2))
NOW = dt.datetime(2026, 12, 6, 21, 0, tzinfo=dt.UTC)
EARLIER = NOW - dt.timedelta(hours=1)


def order_in(state: WorkOrderState) -> WorkOrder:
    return WorkOrder(
        order_id="o-1",
        user="Main Module",
        state=state,
        state_reason="before",
        updated_at=EARLIER,
        started_at=None,
        finished_at=None,
    )


def test_every_state_is_in_the_documented_diagram() -> None:
    drawn = {state for pair in DOCUMENTED for state in pair} | DOCUMENTED_FINAL
    assert set(WorkOrderState) == drawn, "a new state needs its arrows in the diagram and here"


@pytest.mark.parametrize(("current", "new"), ALL_PAIRS, ids=lambda s: s.value)
def test_transition_is_allowed_exactly_where_the_diagram_draws_an_arrow(
    current: WorkOrderState, new: WorkOrderState
) -> None:
    order = order_in(current)
    if (current, new) in DOCUMENTED:
        assert can_transition(current, new)
        transition(order, new, "why", now=NOW)
        assert order.state == new and order.state_reason == "why" and order.updated_at == NOW
    else:
        assert not can_transition(current, new)
        with pytest.raises(InvalidTransition, match=f"{current.value} -> {new.value}"):
            transition(order, new, "why", now=NOW)
        # A refused change leaves the order as it was.
        assert order.state == current and order.state_reason == "before"
        assert order.updated_at == EARLIER


def test_the_final_states_are_the_documented_ones() -> None:
    assert set(FINAL_STATES) == DOCUMENTED_FINAL


@pytest.mark.parametrize(("current", "new"), sorted(DOCUMENTED), ids=lambda s: s.value)
def test_a_transition_stamps_the_times_of_its_new_state(
    current: WorkOrderState, new: WorkOrderState
) -> None:
    order = order_in(current)
    transition(order, new, now=NOW)
    assert order.started_at == (NOW if new is S.RUNNING else None)
    assert order.finished_at == (NOW if new in DOCUMENTED_FINAL else None)
    assert order.state_reason is None


def test_without_a_clock_the_transition_stamps_the_current_utc_time() -> None:
    order = order_in(S.QUEUED)
    before = dt.datetime.now(dt.UTC)
    transition(order, S.RUNNING)
    assert before <= order.started_at <= dt.datetime.now(dt.UTC)
    assert order.updated_at == order.started_at


def test_a_refused_transition_names_the_order_and_its_user() -> None:
    with pytest.raises(InvalidTransition, match="'o-1' of 'Main Module'"):
        transition(order_in(S.SUCCEEDED), S.RUNNING)


def test_the_sql_transition_follows_the_same_table_for_every_pair(database_url: str) -> None:
    """transition_in (one conditional UPDATE, as the worker ends an order) changes a stored
    row exactly where transition would, stamps the same times, and otherwise refuses with
    the same message and leaves the row as it was."""
    with session_scope(database_url) as session:
        pks = {}
        for index, (current, new) in enumerate(ALL_PAIRS):
            row = order_in(current)
            row.order_id, row.request, row.payload = f"o-{index}", "dome_status", {}
            row.received_at = EARLIER
            session.add(row)
            session.flush()
            pks[current, new] = row.pk
    for (current, new), pk in pks.items():
        with connection_scope(database_url) as connection:
            if (current, new) in DOCUMENTED:
                transition_in(connection, pk, new, "why", now=NOW)
            else:
                with pytest.raises(InvalidTransition, match=f"{current.value} -> {new.value}"):
                    transition_in(connection, pk, new, "why", now=NOW)
    with session_scope(database_url) as session:
        for (current, new), pk in pks.items():
            row = session.get_one(WorkOrder, pk)
            if (current, new) in DOCUMENTED:
                assert (row.state, row.state_reason, row.updated_at) == (new, "why", NOW)
                assert row.started_at == (NOW if new is S.RUNNING else None)
                assert row.finished_at == (NOW if new in DOCUMENTED_FINAL else None)
            else:
                assert (row.state, row.state_reason, row.updated_at) == (current, "before", EARLIER)


def test_the_sql_transition_of_an_unknown_order_says_so(database_url: str) -> None:
    with (
        connection_scope(database_url) as connection,
        pytest.raises(WorkOrderNotFound, match="no work order with pk 424242"),
    ):
        transition_in(connection, 424242, S.SUCCEEDED)


def test_a_refused_sql_transition_names_the_order_and_its_user(database_url: str) -> None:
    with session_scope(database_url) as session:
        stored = order_in(S.SUCCEEDED)
        stored.request, stored.payload, stored.received_at = "dome_status", {}, EARLIER
        session.add(stored)
        session.flush()
        pk = stored.pk
    with (
        connection_scope(database_url) as connection,
        pytest.raises(InvalidTransition, match="'o-1' of 'Main Module': succeeded -> running"),
    ):
        transition_in(connection, pk, S.RUNNING)
