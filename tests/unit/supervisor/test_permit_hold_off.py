"""A refusal by the hold-off alone says so, machine-readably: the decision's
``hold_off_until``, published in the permit, read back as ``retry_after_s`` (wall-clock
seconds) so that an opener may wait rather than fail."""

from __future__ import annotations

import datetime as dt

import pytest

from observatory.clock import simulated_clock
from observatory.settings import Settings, SupervisorSettings
from observatory.supervisor import permit
from tests.unit.supervisor.test_decision import at, readings, run


def settings_for(database_url: str) -> Settings:
    config = SupervisorSettings(stale_after_s=30, poll_interval_s=2)
    return Settings.model_validate({"database_url": database_url, "supervisor": config})


def test_only_the_hold_off_sets_hold_off_until() -> None:
    waiting, allowed = run([(0, readings(0)), (300, readings(300))])
    assert waiting.hold_off_until == at(300) and allowed.hold_off_until is None
    (unsafe,) = run([(0, readings(0, safe=False))])
    (dawn,) = run([(0, readings(0, sun_deg=0.0))])
    assert unsafe.hold_off_until is None and dawn.hold_off_until is None


def test_a_hold_off_refusal_tells_how_long_is_left(database_url: str) -> None:
    settings, now = settings_for(database_url), dt.datetime.now(dt.UTC)
    until = (now + dt.timedelta(seconds=240)).isoformat()
    details = {"opening_allowed": False, "reason": "hold-off: ...", "hold_off_until": until}
    permit.publish(settings, details, now=now)
    refusal = permit.read_permit(settings, now=now)
    assert not refusal.allowed and refusal.retry_after_s == pytest.approx(240, abs=0.01)
    # Past its end the permit follows at the next poll: nothing left to wait, but a wait.
    later = now + dt.timedelta(seconds=250)
    permit.publish(settings, details, now=later)
    late = permit.read_permit(settings, now=later)
    assert late.retry_after_s == 0.0
    permit.publish(settings, details)
    with pytest.raises(permit.OpeningRefused, match="hold-off") as caught:
        permit.require_opening_allowed(settings)
    assert caught.value.retry_after_s is not None and 0 < caught.value.retry_after_s <= 240


def test_other_refusals_leave_retry_after_unset(database_url: str) -> None:
    settings, now = settings_for(database_url), dt.datetime.now(dt.UTC)
    permit.publish(settings, {"opening_allowed": False, "reason": "unsafe: rain"}, now=now)
    assert permit.read_permit(settings, now=now).retry_after_s is None
    with pytest.raises(permit.OpeningRefused, match="unsafe: rain") as caught:
        permit.require_opening_allowed(settings)
    assert caught.value.retry_after_s is None
    # A silent supervisor's last hold-off is not waited for.
    until = (now + dt.timedelta(seconds=60)).isoformat()
    details = {"opening_allowed": False, "reason": "hold-off", "hold_off_until": until}
    permit.publish(settings, details, now=now)
    silent = permit.read_permit(settings, now=now + dt.timedelta(seconds=31))
    assert "silent" in silent.reason and silent.retry_after_s is None


def test_a_simulated_nights_hold_off_is_waited_in_wall_clock_seconds(database_url: str) -> None:
    dusk = dt.datetime(2026, 12, 6, 17, 30, tzinfo=dt.UTC)
    clock = simulated_clock(dusk, time_scale=20.0)
    settings = settings_for(database_url).model_copy(update={"clock": clock})
    until = (dusk + dt.timedelta(seconds=300)).isoformat()
    details = {"opening_allowed": False, "reason": "hold-off", "hold_off_until": until}
    wall_now = dt.datetime.fromtimestamp(clock.epoch_unix_s or 0.0, dt.UTC)
    permit.publish(settings, details, now=wall_now)
    refusal = permit.read_permit(settings, now=wall_now)
    assert refusal.retry_after_s == pytest.approx(15.0, abs=0.01)
