"""Priority on receipt: base, submitter boost, observability, clamping and its reasons."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from observatory.ephemeris import local_sidereal_time_deg
from observatory.orders.priority import assign_priority
from observatory.orders.validation import parse_order
from observatory.settings import Settings

SITE_LAT, SITE_LON = 37.2236, -2.5463
NIGHT = dt.datetime(2026, 11, 23, 22, 0, tzinfo=dt.UTC)  # Sun near -50 deg
NOON = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)  # Sun near +30 deg


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path, scheduling={"user_boosts": {"operator": 1.0, "guest": -1.5}})


def zenith(when: dt.datetime) -> tuple[float, float]:
    """RA/Dec (J2000, close enough) of the site's zenith at ``when``."""
    return local_sidereal_time_deg(when, SITE_LON), SITE_LAT


def order(request: str = "observation", user: str = "tests", **fields: Any) -> Any:
    return parse_order(
        {"id": "p1", "request": request, "datetime": "2026-11-23T12:00:00", "user": user} | fields
    )


def components(priority: Any) -> dict[str, float]:
    return {c.name: c.value for c in priority.components}


def test_request_default_and_submitter_boost(settings: Settings) -> None:
    assert assign_priority(order("dome_close"), settings, NIGHT).value == 10.0
    assert assign_priority(order("calibration_frames", bias_count=3), settings, NIGHT).value == 4.0
    operator = assign_priority(
        order("calibration_frames", "operator", bias_count=3), settings, NIGHT
    )
    assert operator.value == 5.0
    assert components(operator) == {"base": 4.0, "submitter": 1.0}
    guest = assign_priority(order("calibration_frames", "guest", bias_count=3), settings, NIGHT)
    assert guest.value == 2.5


def test_given_priority_replaces_the_default_and_the_sum_is_clamped(settings: Settings) -> None:
    given = assign_priority(order("dome_status", priority=1.0), settings, NIGHT)
    assert given.value == 1.0
    top = assign_priority(order("dome_close", "operator"), settings, NIGHT)
    assert top.value == 10.0
    assert components(top) == {"base": 10.0, "submitter": 1.0, "clamp": -1.0}
    bottom = assign_priority(order("dome_status", "guest", priority=0.5), settings, NIGHT)
    assert bottom.value == 0.0


def test_observable_target_keeps_its_priority_and_an_unobservable_one_loses(
    settings: Settings,
) -> None:
    ra, dec = zenith(NIGHT)
    at_night = assign_priority(order(ra=ra, dec=dec), settings, NIGHT)
    assert at_night.value == 5.0
    assert components(at_night)["observability"] == 0.0
    by_day = assign_priority(order(ra=ra, dec=dec), settings, NOON)
    assert by_day.value == 5.0 - settings.scheduling.unobservable_penalty
    assert "Sun at" in by_day.components[-1].why
    never_up = assign_priority(order(ra=ra, dec=-80.0), settings, NIGHT)  # below the pole
    assert never_up.value == 3.0
    assert "target at -" in never_up.components[-1].why


def test_observability_is_judged_when_the_order_may_start(settings: Settings) -> None:
    ra, dec = zenith(NIGHT)
    later = order(ra=ra, dec=dec, not_before=NIGHT.isoformat())
    assert assign_priority(later, settings, NOON).value == 5.0


def test_an_observation_by_name_has_no_observability_term(settings: Settings) -> None:
    named = assign_priority(order(target="M 42"), settings, NOON)
    assert components(named) == {"base": 5.0, "submitter": 0.0}


def test_reasons_are_json_with_every_component(settings: Settings) -> None:
    ra, dec = zenith(NIGHT)
    reasons = assign_priority(order(user="operator", ra=ra, dec=dec), settings, NOON).reasons()
    assert reasons["priority"] == 4.0
    assert reasons["evaluated_at"] == NOON.isoformat()
    assert [c["name"] for c in reasons["components"]] == ["base", "submitter", "observability"]
    assert all(isinstance(c["why"], str) and c["why"] for c in reasons["components"])
