"""When a simulated night starts, and what it points at."""

from __future__ import annotations

import datetime as dt

import pytest

from observatory.ephemeris import altitude_deg, sun_altitude_deg
from observatory.night.plan import highest_targets, next_dusk
from observatory.settings import SiteSettings

SITE = SiteSettings()


@pytest.mark.parametrize("month", [1, 4, 7, 11])
def test_dusk_is_the_sun_setting_through_the_limit(month: int) -> None:
    noon = dt.datetime(2026, month, 15, 12, 0, tzinfo=dt.UTC)
    dusk = next_dusk(noon, SITE, -15.0)
    assert noon < dusk < noon + dt.timedelta(hours=12)
    at_dusk = sun_altitude_deg(dusk, SITE.latitude_deg, SITE.longitude_deg)
    assert -15.5 < at_dusk <= -15.0
    later = sun_altitude_deg(dusk + dt.timedelta(minutes=10), SITE.latitude_deg, SITE.longitude_deg)
    assert later < at_dusk  # setting, not rising


def test_no_dusk_in_the_polar_summer_is_an_error() -> None:
    polar = SiteSettings(latitude_deg=80.0, longitude_deg=0.0)
    with pytest.raises(ValueError, match="does not set below"):
        next_dusk(dt.datetime(2026, 6, 21, tzinfo=dt.UTC), polar, -15.0)


def test_the_highest_targets_are_up_and_ranked() -> None:
    when = dt.datetime(2026, 11, 23, 20, 0, tzinfo=dt.UTC)
    chosen = highest_targets(when, SITE, 2, 30.0)
    assert len(chosen) == 2
    assert chosen[0][1] >= chosen[1][1] >= 30.0
    for target, altitude in chosen:
        expected = altitude_deg(target.ra_deg, target.dec_deg, when, SITE.latitude_deg,
                                SITE.longitude_deg)  # fmt: skip
        assert altitude == pytest.approx(expected)
    with pytest.raises(ValueError, match="above 89"):
        highest_targets(when, SITE, 2, 89.0)
