"""The dome adapter and the dome API against the real simulator process over HTTP."""

from __future__ import annotations

import threading
import time

import pytest
from alpaca.dome import Dome

from observatory import dome_api
from observatory.devices.dome import SHUTTER_ERROR_GRACE_S, DomeAdapter, ShutterState
from observatory.errors import (
    DeviceError,
    DeviceRefused,
    DeviceTimeout,
    DeviceUnreachable,
    InvalidTarget,
)
from observatory.simulator.server import SimulatorProcess
from tests.helpers import free_port, wait_for
from tests.integration.devices.conftest import device_settings, inject_dome_fault

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def test_dome_api_commands_arrive_and_return_true(simulator: SimulatorProcess) -> None:
    settings = device_settings(simulator.address)
    assert dome_api.OpenDome(settings=settings) is True
    assert dome_api.DomeStatus(settings=settings)["open"] is True

    assert dome_api.SetAzim(90.0, settings=settings) is True
    assert dome_api.DomeStatus(settings=settings)["azim"] == pytest.approx(90.0, abs=1.0)

    assert dome_api.GotoAltAz(35.0, 270.0, settings=settings) is True
    state = DomeAdapter(settings).status()
    assert state.azimuth_deg == pytest.approx(270.0, abs=1.0)
    assert state.altitude_deg == pytest.approx(35.0, abs=1.0)

    assert dome_api.ParkPosition(settings=settings) is True
    status = dome_api.DomeStatus(settings=settings)
    assert status["park"] is True
    assert status["azim"] == pytest.approx(180.0, abs=1.0)

    assert dome_api.CloseDome(settings=settings) is True
    status = dome_api.DomeStatus(settings=settings)
    assert (status["open"], status["connected"]) == (False, True)


def test_repeating_a_command_is_harmless_and_immediate(simulator: SimulatorProcess) -> None:
    dome = DomeAdapter(device_settings(simulator.address))
    dome.close_shutter()
    dome.slew_to_azimuth(45.0)
    started = time.monotonic()
    for _ in range(3):
        assert dome_api.close_dome(dome) is True
        assert dome_api.set_azimuth(45.0, dome) is True
    # Nothing moved: six commands answered from the state (a shutter motion takes 0.4 s).
    assert time.monotonic() - started < 0.4
    state = dome.status()
    assert (state.shutter, state.slewing) == (ShutterState.CLOSED, False)
    assert state.azimuth_deg == pytest.approx(45.0, abs=1.0)


def test_a_slew_across_north_arrives(simulator: SimulatorProcess) -> None:
    dome = DomeAdapter(device_settings(simulator.address))
    dome.slew_to_azimuth(350.0)
    state = dome.slew_to_azimuth(10.0)
    assert state.azimuth_deg == pytest.approx(10.0, abs=1.0)
    assert not state.slewing


def test_find_home_arrives(simulator: SimulatorProcess) -> None:
    dome = DomeAdapter(device_settings(simulator.address))
    dome.slew_to_azimuth(120.0)
    state = dome.find_home()
    assert state.at_home and state.azimuth_deg == pytest.approx(0.0, abs=1.0)


@pytest.mark.parametrize(
    ("call", "value"),
    [
        (lambda s: dome_api.SetAzim(360.0, settings=s), "360.0"),
        (lambda s: dome_api.SetAzim(-5, settings=s), "-5"),
        (lambda s: dome_api.GotoAltAz(91.0, 10.0, settings=s), "91.0"),
        (lambda s: dome_api.GotoAltAz(10.0, 400.0, settings=s), "400.0"),
    ],
)
def test_bad_values_raise_a_value_error_naming_them(
    simulator: SimulatorProcess, call, value: str
) -> None:
    settings = device_settings(simulator.address)
    before = DomeAdapter(settings).status()
    with pytest.raises(InvalidTarget, match=value) as caught:
        call(settings)
    assert isinstance(caught.value, ValueError)
    assert not DomeAdapter(settings).status().slewing
    assert DomeAdapter(settings).status().azimuth_deg == before.azimuth_deg


def test_a_value_the_device_refuses_is_not_retried(
    simulator: SimulatorProcess, clear_faults: None
) -> None:
    inject_dome_fault(
        simulator.address,
        {"kind": "error", "member": "slewtoazimuth", "error_number": 0x401, "message": "no"},
    )
    with pytest.raises(DeviceRefused, match="slewtoazimuth: invalid value: no"):
        DomeAdapter(device_settings(simulator.address)).slew_to_azimuth(33.0)


def test_a_stuck_shutter_ends_in_device_timeout_within_the_bound(
    simulator: SimulatorProcess, clear_faults: None
) -> None:
    dome = DomeAdapter(device_settings(simulator.address, shutter_timeout_s=1.0))
    dome.close_shutter()
    inject_dome_fault(simulator.address, {"kind": "stuck_shutter", "mode": "moving"})
    started = time.monotonic()
    with pytest.raises(DeviceTimeout) as caught:
        dome.open_shutter()
    assert 1.0 <= time.monotonic() - started < 2.0
    message = str(caught.value)
    assert f"dome 0 at {simulator.address} openshutter did not reach shutter open" in message
    assert "shutter opening" in message


def test_a_shutter_that_jams_in_error_fails_after_the_grace(
    simulator: SimulatorProcess, clear_faults: None
) -> None:
    dome = DomeAdapter(device_settings(simulator.address, shutter_timeout_s=30.0))
    dome.close_shutter()
    inject_dome_fault(simulator.address, {"kind": "stuck_shutter", "mode": "error"})
    started = time.monotonic()
    with pytest.raises(DeviceError, match="shutter reports an error"):
        dome.open_shutter()
    assert SHUTTER_ERROR_GRACE_S <= time.monotonic() - started < SHUTTER_ERROR_GRACE_S + 1.5
    inject_dome_fault(simulator.address, {"kind": "clear"})
    assert dome.close_shutter() is ShutterState.CLOSED


def test_a_driver_error_is_retried_then_the_command_succeeds(
    simulator: SimulatorProcess, clear_faults: None
) -> None:
    dome = DomeAdapter(device_settings(simulator.address, retries=2))
    dome.close_shutter()
    inject_dome_fault(simulator.address, {"kind": "error", "member": "openshutter", "count": 2})
    assert dome.open_shutter() is ShutterState.OPEN


def test_a_persistent_driver_error_is_raised_after_the_retries(
    simulator: SimulatorProcess, clear_faults: None
) -> None:
    dome = DomeAdapter(device_settings(simulator.address, retries=2))
    dome.open_shutter()
    inject_dome_fault(simulator.address, {"kind": "error", "member": "closeshutter"})
    with pytest.raises(DeviceError, match=r"closeshutter: driver error: .*after 3 attempts"):
        dome.close_shutter()


def test_abort_stops_a_slew_and_the_slewing_caller_learns_it(
    simulator: SimulatorProcess,
) -> None:
    settings = device_settings(simulator.address)
    observer = DomeAdapter(settings)
    start_deg = observer.slew_to_azimuth(0.0).azimuth_deg
    outcome: list[BaseException | None] = []

    def slew() -> None:
        try:
            DomeAdapter(settings).slew_to_azimuth(179.0)
            outcome.append(None)
        except DeviceError as error:
            outcome.append(error)

    slewer = threading.Thread(target=slew)
    slewer.start()
    wait_for(lambda: observer.status().slewing, 2.0, interval=0.01, message="the slew to start")
    stopped = observer.abort()
    slewer.join(5.0)
    assert not stopped.slewing
    assert 0.5 < abs(stopped.azimuth_deg - start_deg) < 178.0
    assert len(outcome) == 1 and isinstance(outcome[0], DeviceError)
    assert "stopped before reaching the target" in str(outcome[0])


def test_connects_on_first_use_and_again_after_a_disconnect(simulator: SimulatorProcess) -> None:
    raw = Dome(simulator.address, 0)
    raw.Connected = False
    dome = DomeAdapter(device_settings(simulator.address))
    assert dome.status().connected  # Connect, then Connecting until done (75 ms at 20x)
    raw.Connected = False
    assert dome_api.dome_status(dome)["connected"] is True


@pytest.mark.slow
def test_a_slow_reply_times_out_cleanly(simulator: SimulatorProcess, clear_faults: None) -> None:
    dome = DomeAdapter(device_settings(simulator.address, retries=0))
    dome.status()
    inject_dome_fault(simulator.address, {"kind": "slow", "delay_s": 6, "member": "azimuth"})
    started = time.monotonic()
    with pytest.raises(DeviceTimeout, match="azimuth: no reply within the HTTP timeout"):
        dome.status()
    assert 5.0 <= time.monotonic() - started < 6.0


def test_a_refused_connection_becomes_unreachable_after_retries() -> None:
    address = f"127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(DeviceUnreachable, match="after 3 attempts"):
        dome_api.OpenDome(settings=device_settings(address, retries=2, retry_backoff_s=0.1))
    assert 0.3 <= time.monotonic() - started < 3.0
