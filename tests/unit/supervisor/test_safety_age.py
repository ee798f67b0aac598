"""The age of the safety monitor's answer is wall-clock time, whatever the observatory's
clock: on a simulated night at a high time scale, a poll slowed by a sluggish dome must
not turn a fresh safe reading stale (and close the dome for nothing)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
from collections.abc import Callable, Iterator

import pytest
from alpaca.dome import Dome

from observatory.settings import Settings
from observatory.simulator.server import SimulatorProcess, start_simulator_process
from observatory.supervisor.decision import safety_verdict
from observatory.supervisor.loop import Supervisor
from tests.helpers import free_port

TIME_SCALE = 1000.0  # simulated seconds per wall second
SLOW_REPLY_S = 0.1  # each dome reply: 100 simulated seconds
STALE_AFTER_S = 2.0


@pytest.fixture(scope="module")
def simulator() -> Iterator[SimulatorProcess]:
    with start_simulator_process(time_scale=20.0, discovery_port=free_port()) as process:
        yield process


def fast_clock() -> Callable[[], dt.datetime]:
    """A civil clock from a winter dusk, TIME_SCALE times faster than the wall clock."""
    started_s, dusk = time.monotonic(), dt.datetime(2026, 12, 6, 19, 0, tzinfo=dt.UTC)
    return lambda: dusk + dt.timedelta(seconds=(time.monotonic() - started_s) * TIME_SCALE)


def test_a_slow_dome_does_not_age_a_fresh_safety_reading(
    simulator: SimulatorProcess, database_url: str
) -> None:
    address = simulator.address
    devices = {f"{role}_address": address for role in ("dome", "telescope", "safetymonitor")}
    settings = Settings.model_validate(
        {
            "database_url": database_url,
            "devices": devices,
            "supervisor": {"stale_after_s": STALE_AFTER_S},
        }
    )
    supervisor = Supervisor(settings, clock=fast_clock())
    dome = Dome(address, 0)
    dome.Connected = True
    dome.Action("simulator:fault", json.dumps({"kind": "slow", "delay_s": SLOW_REPLY_S}))
    try:
        polled_s = time.monotonic()
        # As a poll does: read, then judge at once.
        readings = supervisor.read()
        verdict = safety_verdict(readings, supervisor.clock(), settings.supervisor)
        polled_s = time.monotonic() - polled_s
    finally:
        dome.Action("simulator:fault", json.dumps({"kind": "clear"}))
    assert polled_s * TIME_SCALE > 10 * STALE_AFTER_S, "the dome was not slow"
    assert readings.safety is not None and readings.safety.safe
    assert verdict is None
    # An answer that really is old, in wall-clock time, still goes stale.
    time.sleep(STALE_AFTER_S + 0.1)
    aged = dataclasses.replace(readings, safety=supervisor._safety_reading())
    stale = safety_verdict(aged, supervisor.clock(), settings.supervisor)

    assert stale is not None and stale.startswith("safety reading stale"), stale
