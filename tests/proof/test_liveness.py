"""Liveness at default settings, on a private stack: an opened dome stays open with
nothing observing, closes on CloseDome(), and is closed within 20 s plus the shutter's
time after the telescope worker is killed (SIGKILL), timed against the device.

The stack's civil clock runs at the simulator's time scale (20), so 45 wall seconds are
15 simulated minutes; liveness itself is judged in wall-clock seconds.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest

from observatory.devices.dome import ShutterState
from observatory.settings import SupervisorSettings
from tests.helpers import wait_for
from tests.proof.faults_stack import TIME_SCALE, FaultStack, order, running_stack

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300)]

DEFAULTS = SupervisorSettings()
# The bound of the design: 20 s, plus the shutter's 8 simulated seconds.
SHUTTER_WALL_S = 8.0 / TIME_SCALE
CLOSED_AFTER_KILL_BOUND_S = 20.0 + SHUTTER_WALL_S
OPEN_SIMULATED_S = 15 * 60.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    now = dt.datetime.now(dt.UTC)
    overrides = {
        "OBSERVATORY_SUPERVISOR__ENABLED": "true",
        # The liveness settings at their defaults (the fault stack shortens them).
        "OBSERVATORY_SUPERVISOR__HEARTBEAT_TIMEOUT_S": repr(DEFAULTS.heartbeat_timeout_s),
        "OBSERVATORY_SUPERVISOR__POLL_INTERVAL_S": repr(DEFAULTS.poll_interval_s),
        "OBSERVATORY_SUPERVISOR__LIVENESS_INTERVAL_S": repr(DEFAULTS.liveness_interval_s),
        "OBSERVATORY_CLOCK__START_UTC": now.isoformat(),
        "OBSERVATORY_CLOCK__EPOCH_UNIX_S": repr(now.timestamp()),
        "OBSERVATORY_CLOCK__TIME_SCALE": repr(TIME_SCALE),
    }
    with running_stack(tmp_path_factory.mktemp("liveness"), overrides) as running:
        yield running


def dome_order(stack: FaultStack, request: str) -> None:
    if request == "dome_open":
        # A dome opened before the supervisor saw the hold-off through is refused.
        stack.wait_for_permit()
    pk = stack.submit(order(request)).pk
    outcome = stack.outcome(pk, timeout_s=60)
    assert outcome.state == "succeeded", outcome


def test_an_open_dome_stays_open_unused_and_closes_on_close_dome(stack: FaultStack) -> None:
    wait_for(lambda: stack.shutter() is ShutterState.CLOSED, 30, message="closed at start")
    # The events of this test only (another may have killed a worker before).
    events_before = len(stack.supervisor_events())
    dome_order(stack, "dome_open")
    assert stack.shutter() is ShutterState.OPEN
    opened_s = time.monotonic()
    wall_s = OPEN_SIMULATED_S / TIME_SCALE
    while time.monotonic() - opened_s < wall_s:
        assert stack.shutter() is ShutterState.OPEN, (
            f"closed after {time.monotonic() - opened_s:.1f} s: {stack.supervisor_events()[-3:]}"
        )
        time.sleep(1.0)
    events = stack.supervisor_events()[events_before:]
    assert not [name for name, _ in events if name == "heartbeat_lost"], events
    dome_order(stack, "dome_close")
    assert stack.shutter() is ShutterState.CLOSED


def test_the_dome_closes_within_the_bound_after_the_telescope_worker_dies(
    stack: FaultStack,
) -> None:
    dome_order(stack, "dome_open")
    # A beat just written or one about to be: the kill lands anywhere in the interval.
    stack.kill("worker-telescope")
    killed_s = time.monotonic()
    dome = stack.dome()
    wait_for(
        lambda: dome.status().shutter is ShutterState.CLOSED,
        CLOSED_AFTER_KILL_BOUND_S + 20,
        0.05,
        "shutter Closed",
    )
    elapsed_s = time.monotonic() - killed_s
    print(f"\ntelescope worker SIGKILLed with the dome open: Closed after {elapsed_s:.2f} s")
    assert elapsed_s < CLOSED_AFTER_KILL_BOUND_S
    lost = [d for name, d in stack.supervisor_events() if name == "heartbeat_lost"]
    assert lost and "telescope-worker heartbeat" in lost[-1]["reason"]
    stack.restart_dead("worker-telescope")
