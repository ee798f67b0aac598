"""The night's window and the default night."""

from __future__ import annotations

import datetime as dt

import pytest

from observatory.clock import night_of, night_window
from observatory.db.models import WorkOrder
from observatory.db.session import session_scope
from observatory.report.gather import gather_night
from observatory.report.night import latest_night
from observatory.telescope.batch import batch_name

GREENWICH = 0.0
# Siding Spring, far east: local mean solar noon is 02:00 UTC.
EAST = 149.07


def test_a_night_runs_from_local_mean_solar_noon_to_the_next() -> None:
    start, end = night_window(dt.date(2026, 11, 23), GREENWICH)
    assert start == dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC)
    assert end == dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)
    start, end = night_window(dt.date(2026, 11, 23), EAST)
    assert start == dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC) - dt.timedelta(hours=EAST / 15)
    assert end - start == dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("instant", "longitude_deg", "night"),
    [
        (dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC), GREENWICH, dt.date(2026, 11, 23)),
        (dt.datetime(2026, 11, 24, 3, 0, tzinfo=dt.UTC), GREENWICH, dt.date(2026, 11, 23)),
        (dt.datetime(2026, 11, 24, 11, 59, 59, tzinfo=dt.UTC), GREENWICH, dt.date(2026, 11, 23)),
        (dt.datetime(2026, 11, 23, 11, 59, 59, tzinfo=dt.UTC), GREENWICH, dt.date(2026, 11, 22)),
        # 01:00 at UTC+2 is 23:00 UTC the evening before.
        (
            dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            GREENWICH,
            dt.date(2026, 11, 23),
        ),
        # Far east, 09:00 UTC is 19:00 local: the evening of the 24th, not the morning
        # after the 23rd (a noon-UTC night split the site's night at 22:00 local).
        (dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC), EAST, dt.date(2026, 11, 24)),
        (dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC), EAST, dt.date(2026, 11, 23)),
    ],
)
def test_night_of_an_instant(instant: dt.datetime, longitude_deg: float, night: dt.date) -> None:
    assert night_of(instant, longitude_deg) == night
    start, end = night_window(night, longitude_deg)
    assert start <= instant < end
    # The report's night is the night of the batch names.
    assert batch_name("observation", 7, instant, longitude_deg).startswith(f"{night:%Y%m%d}-")


def test_night_of_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="naive"):
        night_of(dt.datetime(2026, 11, 23, 20), GREENWICH)


def test_latest_night_is_the_night_of_the_newest_order(database_url: str) -> None:
    with session_scope(database_url) as session:
        assert latest_night(session, GREENWICH) is None
        for number, received in enumerate(
            [
                dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.UTC),
                dt.datetime(2026, 11, 20, 22, 0, tzinfo=dt.UTC),
            ]
        ):
            session.add(
                WorkOrder(
                    order_id=f"o{number}",
                    user="tests",
                    request="dome_status",
                    payload={},
                    received_at=received,
                )
            )
    with session_scope(database_url) as session:
        assert latest_night(session, GREENWICH) == dt.date(2026, 11, 23)


def test_a_window_narrows_the_night_to_its_own_orders(database_url: str) -> None:
    # Two simulated nights run back to back within one real night: each report holds
    # only the orders received in its own wall-clock span.
    first_at = dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.UTC)
    second_at = first_at + dt.timedelta(minutes=5)
    with session_scope(database_url) as session:
        for number, received in enumerate([first_at, second_at]):
            session.add(
                WorkOrder(
                    order_id=f"night-{number + 1}",
                    user="tests",
                    request="dome_status",
                    payload={},
                    received_at=received,
                )
            )
    split = first_at + dt.timedelta(minutes=2)
    with session_scope(database_url) as session:
        whole = gather_night(session, dt.date(2026, 11, 23), GREENWICH)
        first = gather_night(session, dt.date(2026, 11, 23), GREENWICH, (first_at, split))
        second = gather_night(
            session, dt.date(2026, 11, 24), GREENWICH, (split, second_at + dt.timedelta(1))
        )
    assert [o.order_id for o in whole.orders] == ["night-1", "night-2"]
    assert [o.order_id for o in first.orders] == ["night-1"]
    assert [o.order_id for o in second.orders] == ["night-2"]
    assert (second.night, second.start) == (dt.date(2026, 11, 24), split)
