"""The open permit in SQL: what the supervisor publishes and what openers read."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from observatory.clock import simulated_clock
from observatory.errors import UnsafeConditions
from observatory.settings import Settings, SupervisorSettings
from observatory.supervisor import liveness, permit
from observatory.supervisor.loop import Supervisor

T0 = dt.datetime(2026, 11, 23, 22, 0, tzinfo=dt.UTC)


def settings_for(database_url: str, **supervisor: Any) -> Settings:
    config = SupervisorSettings(stale_after_s=30, poll_interval_s=2, **supervisor)
    return Settings.model_validate({"database_url": database_url, "supervisor": config})


def test_nothing_published_refuses(database_url: str) -> None:
    allowed, reason = permit.opening_allowed(settings_for(database_url), now=T0)
    assert not allowed and "no safety supervisor" in reason
    with pytest.raises(UnsafeConditions, match="no safety supervisor"):
        permit.require_opening_allowed(settings_for(database_url))


def test_a_fresh_verdict_is_read_back(database_url: str) -> None:
    settings = settings_for(database_url)
    permit.publish(settings, {"opening_allowed": True, "reason": "safe"}, now=T0)
    assert permit.opening_allowed(settings, now=T0 + dt.timedelta(seconds=30)) == (True, "safe")
    permit.publish(settings, {"opening_allowed": False, "reason": "hold-off: 12 s"}, now=T0)
    assert permit.opening_allowed(settings, now=T0) == (False, "hold-off: 12 s")


def test_a_silent_supervisor_refuses(database_url: str) -> None:
    settings = settings_for(database_url)
    permit.publish(settings, {"opening_allowed": True, "reason": "safe"}, now=T0)
    allowed, reason = permit.opening_allowed(settings, now=T0 + dt.timedelta(seconds=30.5))
    assert not allowed and "silent for 30 s" in reason


def test_the_lifetime_covers_three_polls() -> None:
    settings = Settings(supervisor=SupervisorSettings(stale_after_s=5, poll_interval_s=4))
    assert permit.permit_lifetime_s(settings) == 12


def test_a_verdict_without_the_flag_refuses(database_url: str) -> None:
    settings = settings_for(database_url)
    permit.publish(settings, {"reason": "malformed"}, now=T0)
    assert permit.opening_allowed(settings, now=T0) == (False, "malformed")


def test_liveness_is_wall_clock_time_in_a_simulated_night(database_url: str) -> None:
    # A simulated night's civil clock reads dusk hours away from the wall clock; the
    # permit and the telescope heartbeat are judged by wall-clock age all the same.
    dusk = dt.datetime.now(dt.UTC) - dt.timedelta(hours=5)
    settings = settings_for(database_url).model_copy(
        update={"clock": simulated_clock(dusk, time_scale=20.0)}
    )
    permit.publish(settings, {"opening_allowed": True, "reason": "safe"})
    assert permit.opening_allowed(settings) == (True, "safe")

    liveness.beat(settings, "telescope")
    supervisor = Supervisor(settings)
    heartbeat_at = supervisor._read_heartbeats()["telescope"]
    assert heartbeat_at is not None
    age_s = (supervisor.clock() - heartbeat_at).total_seconds()
    assert 0.0 <= age_s < 2.0  # seconds of wall clock, not the five hours between clocks


def test_only_a_running_loops_fresh_permit_is_a_live_supervisor(database_url: str) -> None:
    settings = settings_for(database_url)
    assert permit.live_supervisor(settings, now=T0) is None
    loop = {"opening_allowed": True, "reason": "safe", "publisher": permit.PUBLISHER_LOOP}
    permit.publish(settings, loop, now=T0)
    live = permit.live_supervisor(settings, now=T0 + dt.timedelta(seconds=30))
    assert live is not None and live.permit == permit.Permit(True, "safe")
    assert live.age_s == 30 and live.pid > 0
    # Silent past the permit's lifetime: no longer live.
    assert permit.live_supervisor(settings, now=T0 + dt.timedelta(seconds=30.5)) is None
    # A single poll's permit, a stopped loop's refusal and an unmarked row are not a loop's.
    for publisher in (permit.PUBLISHER_SINGLE_POLL, permit.PUBLISHER_STOPPED, None):
        permit.publish(settings, {**loop, "publisher": publisher}, now=T0)
        assert permit.live_supervisor(settings, now=T0) is None
