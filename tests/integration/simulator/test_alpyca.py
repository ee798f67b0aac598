"""The simulator driven by alpyca, the client the observatory uses."""

from __future__ import annotations

import json
import time

import pytest
from alpaca.covercalibrator import CalibratorStatus, CoverCalibrator, CoverStatus
from alpaca.dome import Dome, ShutterState
from alpaca.exceptions import (
    ActionNotImplementedException,
    DriverException,
    InvalidValueException,
    NotConnectedException,
)
from alpaca.filterwheel import FilterWheel
from alpaca.safetymonitor import SafetyMonitor

from observatory.simulator.server import SimulatorProcess
from tests.helpers import wait_for
from tests.integration.simulator.conftest import Api

pytestmark = pytest.mark.integration


@pytest.fixture
def dome(api: Api, simulator: SimulatorProcess) -> Dome:
    return Dome(simulator.address, 0)


def test_dome_open_slew_park_close(dome: Dome) -> None:
    assert dome.InterfaceVersion == 3 and dome.Connected
    assert dome.CanSetShutter and dome.CanPark and dome.CanFindHome and dome.CanSetAzimuth
    dome.OpenShutter()
    assert dome.ShutterStatus in (ShutterState.shutterOpening, ShutterState.shutterOpen)
    wait_for(lambda: dome.ShutterStatus == ShutterState.shutterOpen, 5, 0.02, "open")
    dome.SlewToAzimuth(45.0)
    assert dome.Slewing
    wait_for(lambda: not dome.Slewing, 5, 0.02, "slew end")
    assert dome.Azimuth == pytest.approx(45.0)
    dome.Park()
    wait_for(lambda: dome.AtPark, 5, 0.02, "park")
    dome.CloseShutter()
    wait_for(lambda: dome.ShutterStatus == ShutterState.shutterClosed, 5, 0.02, "closed")
    state = {item["Name"]: item["Value"] for item in dome.DeviceState}
    assert state["AtPark"] is True and state["ShutterStatus"] == 1 and "TimeStamp" in state


def test_dome_errors_map_to_alpyca_exceptions(dome: Dome) -> None:
    with pytest.raises(InvalidValueException):
        dome.SlewToAzimuth(400.0)
    with pytest.raises(ActionNotImplementedException):
        dome.Action("no such action")
    dome.Disconnect()
    try:
        with pytest.raises(NotConnectedException):
            dome.Azimuth  # noqa: B018
    finally:
        dome.Connected = True


def test_abort_stops_a_long_slew(dome: Dome) -> None:
    dome.SlewToAzimuth(0.0)
    wait_for(lambda: not dome.Slewing, 5, 0.02, "at 0")
    dome.SlewToAzimuth(180.0)
    dome.AbortSlew()
    assert not dome.Slewing
    azimuth = dome.Azimuth
    assert 0.0 <= azimuth < 60.0 or azimuth > 300.0


def test_injected_error_and_stuck_shutter(api: Api, dome: Dome) -> None:
    api.action(
        "dome",
        "simulator:fault",
        {"kind": "error", "member": "openshutter", "error_number": 0x501, "count": 1},
    )
    with pytest.raises(DriverException) as raised:
        dome.OpenShutter()
    assert raised.value.number == 0x501
    dome.CloseShutter()
    wait_for(lambda: dome.ShutterStatus == ShutterState.shutterClosed, 5, 0.02, "closed")
    dome.Action("simulator:fault", json.dumps({"kind": "stuck_shutter", "mode": "error"}))
    dome.OpenShutter()
    wait_for(lambda: dome.ShutterStatus == ShutterState.shutterError, 5, 0.02, "error")
    truth = json.loads(dome.Action("simulator:state", ""))
    assert truth["shutter_open_fraction"] == pytest.approx(0.5)


def test_slow_fault_delays_replies_in_wall_time(api: Api, dome: Dome) -> None:
    api.action("dome", "simulator:fault", {"kind": "slow", "delay_s": 0.5, "member": "azimuth"})
    started = time.monotonic()
    dome.Azimuth  # noqa: B018
    assert time.monotonic() - started >= 0.5
    started = time.monotonic()
    dome.Slewing  # noqa: B018
    assert time.monotonic() - started < 0.4


def test_filter_wheel(api: Api, simulator: SimulatorProcess) -> None:
    wheel = FilterWheel(simulator.address, 0)
    assert wheel.Names == ["L", "R", "G", "B", "Ha"]
    assert wheel.FocusOffsets == [0, 12, 10, 15, -30]
    target = (wheel.Position + 2) % 5 if wheel.Position >= 0 else 2
    wheel.Position = target
    assert wheel.Position == -1
    wait_for(lambda: wheel.Position == target, 5, 0.02, "filter in place")
    with pytest.raises(InvalidValueException):
        wheel.Position = 5


def test_cover_calibrator(api: Api, simulator: SimulatorProcess) -> None:
    panel = CoverCalibrator(simulator.address, 0)
    assert panel.InterfaceVersion == 2 and panel.MaxBrightness == 255
    panel.CloseCover()
    assert panel.CoverMoving or panel.CoverState == CoverStatus.Closed
    wait_for(lambda: panel.CoverState == CoverStatus.Closed, 5, 0.02, "cover closed")
    panel.CalibratorOn(128)
    wait_for(lambda: panel.CalibratorState == CalibratorStatus.Ready, 5, 0.02, "lamp ready")
    assert not panel.CalibratorChanging and panel.Brightness == 128
    truth = json.loads(panel.Action("simulator:state", ""))
    assert truth["flat_illumination"] == pytest.approx(128 / 255)
    panel.CalibratorOff()
    panel.OpenCover()
    wait_for(lambda: panel.CoverState == CoverStatus.Open, 5, 0.02, "cover open")
    with pytest.raises(InvalidValueException):
        panel.CalibratorOn(256)


def test_safety_monitor_is_flipped_by_an_action(api: Api, simulator: SimulatorProcess) -> None:
    monitor = SafetyMonitor(simulator.address, 0)
    assert "simulator:set_safe" in monitor.SupportedActions
    monitor.Action("simulator:set_safe", "false")
    assert monitor.IsSafe is False
    monitor.Action("simulator:set_safe", "true")
    assert monitor.IsSafe is True
