"""The observatory's clock, and the simulator on the same simulated clock."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from alpaca.telescope import Telescope
from pydantic import ValidationError

from observatory.clock import clock_time, simulated_clock, utc_now
from observatory.settings import ClockSettings, Settings
from observatory.simulator.server import start_simulator_process
from observatory.stack import Stack

DUSK = dt.datetime(2026, 11, 23, 18, 0, tzinfo=dt.UTC)


def test_unset_clock_is_the_system_clock() -> None:
    assert clock_time(ClockSettings(), 0.0) == dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    assert abs(utc_now(Settings()).timestamp() - time.time()) < 1.0


def test_simulated_clock_runs_from_its_start_at_its_scale() -> None:
    clock = ClockSettings(start_utc=DUSK, epoch_unix_s=1000.0, time_scale=20.0)
    assert clock_time(clock, 1000.0) == DUSK
    assert clock_time(clock, 1003.0) == DUSK + dt.timedelta(seconds=60)


def test_simulator_reads_the_observatory_clock() -> None:
    clock = simulated_clock(DUSK, time_scale=30.0)
    simulator = start_simulator_process(
        time_scale=clock.time_scale, start_utc=DUSK, clock_epoch_unix_s=clock.epoch_unix_s
    )
    try:
        mount = Telescope(simulator.address, 0)
        mount.Connected = True
        before = clock_time(clock, time.time())
        device_time = mount.UTCDate
        after = clock_time(clock, time.time())
    finally:
        simulator.stop()
    if device_time.tzinfo is None:
        device_time = device_time.replace(tzinfo=dt.UTC)
    # Within the request's round trip (and the 1 ms-ish resolution of UTCDate).
    assert before - dt.timedelta(seconds=1) <= device_time <= after + dt.timedelta(seconds=1)
    # And far from the wall clock: the night is simulated.
    assert abs((device_time - dt.datetime.now(dt.UTC)).total_seconds()) > 60 or (
        abs((DUSK - dt.datetime.now(dt.UTC)).total_seconds()) < 600
    )


def test_a_start_without_a_time_zone_is_refused_when_the_settings_load() -> None:
    with pytest.raises(ValidationError, match="needs a time zone"):
        Settings.model_validate({"clock": {"start_utc": "2026-12-06T18:00:00"}})


def test_a_stack_on_a_start_without_an_epoch_runs_from_the_start_when_it_starts() -> None:
    # Each process alone would stand still at start_utc; the stack fixes the epoch once,
    # and its children are given it.
    settings = Settings.model_validate({"clock": {"start_utc": DUSK, "time_scale": 60.0}})
    assert utc_now(settings) == utc_now(settings) == DUSK
    before = time.time()
    stack = Stack(settings, with_beat=False)
    epoch_s = float(stack.child_env()["OBSERVATORY_CLOCK__EPOCH_UNIX_S"])
    assert before <= epoch_s <= time.time()
    assert stack.settings.clock.epoch_unix_s == epoch_s
    assert clock_time(stack.settings.clock, epoch_s + 1.0) == DUSK + dt.timedelta(seconds=60)
