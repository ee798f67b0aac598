"""When a queued order may start: its window, its target's visibility, deferral and the
reconciler publishing a deferred order when its time comes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import update

from observatory.db.models import WorkOrder, WorkOrderState
from observatory.db.session import session_scope
from observatory.ephemeris import altitude_deg, local_sidereal_time_deg
from observatory.errors import PublishFailed
from observatory.intake import adopt, reconcile, submit
from observatory.orders.lifecycle import claim
from observatory.orders.window import Verdict, start_decision
from observatory.settings import Settings

SITE_LAT, SITE_LON = 37.2236, -2.5463
EVENING = dt.datetime(2026, 11, 23, 20, 0, tzinfo=dt.UTC)  # dark: Sun near -35 deg
HOUR = dt.timedelta(hours=1)


class Broker:
    def __init__(self) -> None:
        self.sent: list[int] = []
        self.down = False

    def __call__(self, *, work_order_pk: int, task_name: str, queue: str, priority: float) -> str:
        if self.down:
            raise PublishFailed("connection refused")
        self.sent.append(work_order_pk)
        return f"task-{len(self.sent)}"


def observation(order_id: str = "w1", **fields: Any) -> dict[str, Any]:
    return {
        "id": order_id,
        "request": "observation",
        "datetime": "2026-11-23T20:00:00",
        "user": "tests",
        "target": "test field",
    } | fields


# What the intake needs to accept an observation (it refuses one that could not run): a
# position (near the pole, so up whenever its time comes) and exposures.
RUNNABLE: dict[str, Any] = {
    "ra": 10.0,
    "dec": 85.0,
    "exposures": [{"filter": "R", "exposure_s": 1.0}],
}


def iso(when: dt.datetime) -> str:
    return when.isoformat()


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path)


@pytest.fixture
def db_settings(database_url: str, tmp_path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path)


def stored(settings: Settings, pk: int) -> WorkOrder:
    with session_scope(settings.sqlalchemy_url) as session:
        row = session.get_one(WorkOrder, pk)
        session.expunge(row)
        return row


# --- the decision alone, at fixed instants ------------------------------------------


def test_an_order_past_its_window_is_cancelled(settings: Settings) -> None:
    payload = observation(not_before=iso(EVENING - 2 * HOUR), not_after=iso(EVENING - HOUR))
    decision = start_decision(settings, payload, EVENING)
    assert decision.verdict is Verdict.CANCEL and "window passed" in decision.reason


def test_an_order_before_its_window_is_deferred_to_not_before(settings: Settings) -> None:
    decision = start_decision(settings, observation(not_before=iso(EVENING + HOUR)), EVENING)
    assert decision.verdict is Verdict.DEFER and decision.until == EVENING + HOUR


def test_a_target_that_never_rises_within_the_window_is_cancelled(settings: Settings) -> None:
    payload = observation(ra=10.0, dec=-80.0, not_after=iso(EVENING + 3 * HOUR))
    decision = start_decision(settings, payload, EVENING)
    assert decision.verdict is Verdict.CANCEL
    assert "not observable before its window ends" in decision.reason


def test_a_rising_target_is_deferred_to_when_it_clears_the_altitude_limit(
    settings: Settings,
) -> None:
    # On the celestial equator, six hours east of the meridian: on the horizon now, at
    # 25 deg about 1 h 50 min later.
    ra = (local_sidereal_time_deg(EVENING, SITE_LON) + 90.0) % 360.0
    payload = observation(ra=ra, dec=0.0, not_after=iso(EVENING + 5 * HOUR))
    decision = start_decision(settings, payload, EVENING)
    assert decision.verdict is Verdict.DEFER and decision.until is not None
    assert EVENING + 1.5 * HOUR < decision.until < EVENING + 2.5 * HOUR
    limit = settings.telescope.altitude_limit_deg
    at_until = altitude_deg(ra, 0.0, decision.until, SITE_LAT, SITE_LON)
    assert limit <= at_until < limit + 0.2
    earlier = decision.until - dt.timedelta(minutes=1)
    assert altitude_deg(ra, 0.0, earlier, SITE_LAT, SITE_LON) < limit


def test_daylight_defers_to_dusk_within_the_window(settings: Settings) -> None:
    noon = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
    ra = local_sidereal_time_deg(EVENING, SITE_LON)  # on the meridian at 20:00
    payload = observation(ra=ra, dec=SITE_LAT, not_after=iso(EVENING + HOUR))
    decision = start_decision(settings, payload, noon)
    assert decision.verdict is Verdict.DEFER and decision.until is not None
    # The Sun reaches -12 deg at about 18:05 UTC at the site that evening.
    assert dt.datetime(2026, 11, 23, 17, 45, tzinfo=dt.UTC) < decision.until
    assert decision.until < dt.datetime(2026, 11, 23, 18, 30, tzinfo=dt.UTC)


def test_observable_now_or_without_a_window_starts(settings: Settings) -> None:
    ra = local_sidereal_time_deg(EVENING, SITE_LON)
    in_window = observation(ra=ra, dec=SITE_LAT, not_after=iso(EVENING + HOUR))
    assert start_decision(settings, in_window, EVENING).verdict is Verdict.START
    no_window = observation(ra=10.0, dec=-80.0)
    assert start_decision(settings, no_window, EVENING).verdict is Verdict.START
    dome = {"request": "dome_open", "not_after": iso(EVENING - HOUR)}
    assert start_decision(settings, dome, EVENING).verdict is Verdict.START


# --- through the database: intake, claim, reconcile -----------------------------------


def test_claim_cancels_an_expired_order_with_the_reason(db_settings: Settings) -> None:
    now = dt.datetime.now(dt.UTC)
    data = observation(not_before=iso(now - 2 * HOUR), not_after=iso(now - HOUR), **RUNNABLE)
    receipt = submit(db_settings, data, Broker())
    assert receipt.published
    assert claim(db_settings, receipt.pk) is None
    row = stored(db_settings, receipt.pk)
    assert row.state == WorkOrderState.CANCELLED and row.started_at is None
    assert row.state_reason and "window passed" in row.state_reason
    assert row.finished_at is not None


def test_a_future_order_is_stored_unpublished_until_the_reconciler_sees_its_time(
    db_settings: Settings,
) -> None:
    broker = Broker()
    now = dt.datetime.now(dt.UTC)
    receipt = submit(db_settings, observation(not_before=iso(now + HOUR), **RUNNABLE), broker)
    assert not receipt.published and "deferred until" in receipt.message
    row = stored(db_settings, receipt.pk)
    assert row.state == WorkOrderState.QUEUED and row.published_at is None
    assert row.ready_at == dt.datetime.fromisoformat(iso(now + HOUR))
    assert broker.sent == [] and reconcile(db_settings, broker, older_than_s=0) == []
    # Its time comes (moved, rather than waited for): published at once, not after
    # reconcile_after_s, since it was waiting for the clock and not lost.
    with session_scope(db_settings.sqlalchemy_url) as session:
        session.execute(
            update(WorkOrder).where(WorkOrder.pk == receipt.pk).values(ready_at=now - HOUR)
        )
    assert reconcile(db_settings, broker) == [receipt.pk]
    assert broker.sent == [receipt.pk]
    assert stored(db_settings, receipt.pk).published_at is not None


def test_a_deferred_order_waits_again_when_the_broker_is_down(db_settings: Settings) -> None:
    broker = Broker()
    now = dt.datetime.now(dt.UTC)
    receipt = submit(db_settings, observation(not_before=iso(now + HOUR), **RUNNABLE), broker)
    with session_scope(db_settings.sqlalchemy_url) as session:
        session.execute(
            update(WorkOrder).where(WorkOrder.pk == receipt.pk).values(ready_at=now - HOUR)
        )
    broker.down = True
    assert reconcile(db_settings, broker) == []
    broker.down = False
    assert reconcile(db_settings, broker) == [receipt.pk]


def test_an_early_delivery_is_deferred_without_starting(db_settings: Settings) -> None:
    # A foreign publisher sends the order itself, hours before its not_before.
    now = dt.datetime.now(dt.UTC)
    pk = adopt(
        db_settings,
        observation(not_before=iso(now + 2 * HOUR), **RUNNABLE),
        "observatory.telescope.observe",
    )
    assert stored(db_settings, pk).published_at is not None
    assert claim(db_settings, pk) is None
    row = stored(db_settings, pk)
    assert row.state == WorkOrderState.QUEUED and row.started_at is None
    assert row.published_at is None and row.attempts == 0
    assert row.state_reason and "not_before" in row.state_reason


def test_priority_reasons_are_stored_with_the_order(db_settings: Settings) -> None:
    receipt = submit(db_settings, observation(user="operator", **RUNNABLE), Broker())
    row = stored(db_settings, receipt.pk)
    assert row.priority_reasons is not None
    components = row.priority_reasons["components"]
    # A position given, its observability now (real time) counts too.
    assert [c["name"] for c in components] == ["base", "submitter", "observability"]
    assert row.priority == pytest.approx(6.0 + components[2]["value"])
