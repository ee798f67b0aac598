"""Run times of routine entries: cron (UTC) and Sun-relative at the simulator's site."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from observatory.ephemeris import sun_altitude_deg
from observatory.routine.plan import RoutineEntry, parse_plan
from observatory.routine.schedule import latest_run, next_run
from observatory.settings import Settings

LAT, LON = 37.2236, -2.5463  # config/simulator.toml
NOON = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)  # type: ignore[misc]


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path)


def make(**when: Any) -> RoutineEntry:
    raw = {"name": "e", "order": {"request": "calibration_frames", "bias_count": 1}} | when
    return parse_plan({"entries": [raw]}).entries[0]


def test_cron_next_and_latest(settings: Settings) -> None:
    every_half_hour = make(cron="*/30 18-23,0-5 * * *")
    assert next_run(every_half_hour, settings, NOON) == utc(2026, 11, 23, 18, 0)
    assert next_run(every_half_hour, settings, utc(2026, 11, 23, 18, 0)) == utc(
        2026, 11, 23, 18, 30
    )
    assert latest_run(every_half_hour, settings, NOON) == utc(2026, 11, 23, 5, 30)
    # A run time itself is the latest run at that instant, also a fraction of a second on.
    on_time = utc(2026, 11, 23, 18, 30)
    assert latest_run(every_half_hour, settings, on_time) == on_time
    late = on_time + dt.timedelta(milliseconds=500)
    assert latest_run(every_half_hour, settings, late) == on_time


def test_cron_with_seconds(settings: Settings) -> None:
    every_3_s = make(cron="* * * * * */3")
    assert next_run(every_3_s, settings, utc(2026, 11, 23, 12, 0, 1)) == utc(2026, 11, 23, 12, 0, 3)
    assert latest_run(every_3_s, settings, utc(2026, 11, 23, 12, 0, 5)) == utc(
        2026, 11, 23, 12, 0, 3
    )


def test_sunset_and_dawn_at_the_site(settings: Settings) -> None:
    # Almanac for 37.22 N, 2.55 W on 2026-11-23: sunset about 16:55 UTC; the Sun at
    # -12 deg (dusk/dawn at the default limit) about 18:00 and 06:00 UTC.
    sunset = next_run(make(at="sunset"), settings, NOON)
    assert sunset is not None and utc(2026, 11, 23, 16, 50) < sunset < utc(2026, 11, 23, 17, 0)
    assert sun_altitude_deg(sunset, LAT, LON) == pytest.approx(-0.833, abs=0.01)
    after_sunset = next_run(make(at="sunset+30min"), settings, NOON)
    assert after_sunset == sunset + dt.timedelta(minutes=30)
    before_dawn = next_run(make(at="dawn-60min"), settings, NOON)
    assert before_dawn is not None
    dawn = before_dawn + dt.timedelta(hours=1)
    assert utc(2026, 11, 24, 5, 50) < dawn < utc(2026, 11, 24, 6, 10)
    assert sun_altitude_deg(dawn, LAT, LON) == pytest.approx(-12.0, abs=0.01)
    assert sun_altitude_deg(dawn + dt.timedelta(minutes=5), LAT, LON) > -12.0  # rising


def test_dusk_follows_the_telescope_sun_limit(tmp_path) -> None:
    strict = Settings(data_dir=tmp_path, telescope={"sun_altitude_limit_deg": -18.0})
    dusk = next_run(make(at="dusk"), strict, NOON)
    astronomical = next_run(make(at="astronomical_dusk"), strict, NOON)
    assert dusk == astronomical
    assert dusk is not None and sun_altitude_deg(dusk, LAT, LON) == pytest.approx(-18, abs=0.01)


def test_sun_relative_latest_and_next_around_a_run(settings: Settings) -> None:
    entry = make(at="sunset+30min")
    run = next_run(entry, settings, NOON)
    assert run is not None
    assert latest_run(entry, settings, run) == run
    assert latest_run(entry, settings, run - dt.timedelta(seconds=1)) == latest_run(
        entry, settings, NOON
    )
    previous = latest_run(entry, settings, NOON)
    assert previous is not None
    assert dt.timedelta(hours=23, minutes=58) < run - previous < dt.timedelta(hours=24)
    following = next_run(entry, settings, run)
    assert following is not None and following - run < dt.timedelta(hours=24)


def test_polar_night_has_no_sunset(tmp_path) -> None:
    arctic = Settings(data_dir=tmp_path, site={"latitude_deg": 78.2, "longitude_deg": 15.6})
    midwinter = utc(2026, 12, 21, 12, 0)
    assert next_run(make(at="sunset"), arctic, midwinter) is None
    assert latest_run(make(at="sunset"), arctic, midwinter) is None
