"""Mount, camera, filter wheel and flat panel adapters against the simulator over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from alpaca.device import Device

from observatory.devices.camera import CameraAdapter, CameraState
from observatory.devices.covercalibrator import CoverCalibratorAdapter, CoverState, LampState
from observatory.devices.filterwheel import FilterWheelAdapter
from observatory.devices.mount import MountAdapter
from observatory.errors import DeviceError, DeviceRefused, DeviceTimeout, InvalidTarget
from observatory.settings import DeviceSettings, Settings, TelescopeSettings
from observatory.simulator.server import SimulatorProcess, start_simulator_process
from tests.unit.telescope.conftest import SIMULATOR_CONFIG, simulator_settings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    config_path: Path = tmp_path_factory.mktemp("simulator") / "simulator.toml"
    config_path.write_text(SIMULATOR_CONFIG)
    with start_simulator_process(config_path=config_path) as process:
        yield process


@pytest.fixture
def settings(sim: SimulatorProcess, tmp_path: Path) -> Settings:
    return simulator_settings(sim.address, f"sqlite:///{tmp_path / 'unused.db'}", tmp_path)


def fault(sim: SimulatorProcess, device_type: str, spec: dict[str, str]) -> None:
    device = Device(sim.address, device_type, 0, "http")
    device.Connected = True
    device.Action("simulator:fault", json.dumps(spec))


def test_mount_refuses_slews_while_parked_then_slews_tracks_and_parks(settings: Settings) -> None:
    mount = MountAdapter(settings.devices, settings.telescope)
    mount.park()
    with pytest.raises(DeviceRefused):
        mount.slew_to_radec(10.0, 10.0)
    with pytest.raises(InvalidTarget, match="dec"):
        mount.slew_to_radec(10.0, 91.0)
    assert not mount.unpark().at_park
    assert mount.set_tracking(True).tracking
    ra_deg = mount.sidereal_time_hours() * 15.0
    state = mount.slew_to_radec(ra_deg, 30.0)
    assert not state.slewing and abs(state.dec_deg - 30.0) < 0.01
    assert mount.park().at_park and not mount.status().tracking


def test_camera_exposes_binned_frames_and_reports_a_readout_failure(
    settings: Settings, sim: SimulatorProcess
) -> None:
    camera = CameraAdapter(settings.devices, settings.telescope)
    frame = camera.expose(0.5, light=False, binning=4)
    assert frame.data.shape == (64, 64) and frame.data.dtype.name == "uint16"
    assert 900 < float(frame.data.mean()) < 1200  # the bias level, about 1000 ADU
    assert frame.start_utc.tzinfo is not None and frame.ccd_temp_c is not None
    with pytest.raises(InvalidTarget, match="binning"):
        camera.expose(0.5, light=False, binning=8)
    fault(sim, "camera", {"kind": "readout_error"})
    with pytest.raises(DeviceError, match="reports an error"):
        camera.expose(0.5, light=True)
    assert camera.expose(0.1, light=False, binning=4).data.shape == (64, 64)


def test_filter_wheel_selects_by_name_and_times_out_when_stuck(
    settings: Settings, sim: SimulatorProcess
) -> None:
    wheel = FilterWheelAdapter(settings.devices, settings.telescope.model_copy(
        update={"filter_timeout_s": 1.0}
    ))  # fmt: skip
    assert wheel.select("ha") == "Ha" and wheel.current_filter() == "Ha"
    with pytest.raises(InvalidTarget, match=r"'V'.*holds"):
        wheel.select("V")
    fault(sim, "filterwheel", {"kind": "stuck_wheel"})
    try:
        with pytest.raises(DeviceTimeout, match="filter 'L'"):
            wheel.select("L")
    finally:
        fault(sim, "filterwheel", {"kind": "clear"})
    assert wheel.select("L") == "L"


def test_flat_panel_lamp_and_cover(settings: Settings, sim: SimulatorProcess) -> None:
    panel = CoverCalibratorAdapter(settings.devices, settings.telescope)
    assert panel.close_cover().cover is CoverState.CLOSED
    lit = panel.lamp_on(100)
    assert (lit.lamp, lit.brightness) == (LampState.READY, 100)
    assert panel.lamp_on(100) == lit  # already so: nothing sent
    with pytest.raises(InvalidTarget):
        panel.lamp_on(10_000)
    assert panel.lamp_off().lamp is LampState.OFF
    assert panel.open_cover().cover is CoverState.OPEN
    fault(sim, "covercalibrator", {"kind": "lamp_failure"})
    try:
        with pytest.raises(DeviceError, match="lamp reports an error"):
            panel.lamp_on()
    finally:
        fault(sim, "covercalibrator", {"kind": "clear"})


def test_a_camera_left_in_error_is_cleared_once_before_the_next_exposure(
    settings: Settings, sim: SimulatorProcess
) -> None:
    camera = CameraAdapter(settings.devices, settings.telescope)
    fault(sim, "camera", {"kind": "error_state"})
    assert camera.exposure_status().state is CameraState.ERROR
    frame = camera.expose(0.1, light=False, binning=4)
    assert frame.error_cleared and frame.data.shape == (64, 64)
    assert not camera.expose(0.1, light=False, binning=4).error_cleared


@pytest.mark.slow  # a simulator of its own configuration (7 s)
def test_lamp_on_without_a_lamp_says_so_before_reading_its_brightness(tmp_path: Path) -> None:
    config = tmp_path / "simulator.toml"
    config.write_text(
        "seed = 1\ntime_scale = 20.0\n[discovery]\nenabled = false\n"
        "[covercalibrator]\ncalibrator_present = false\ncover_move_time_s = 1.0\n"
    )
    with start_simulator_process(config_path=config) as process:
        devices = DeviceSettings(covercalibrator_address=process.address, retries=1)
        panel = CoverCalibratorAdapter(devices, TelescopeSettings())
        assert panel.status().lamp is LampState.NOT_PRESENT
        with pytest.raises(DeviceRefused, match="has no calibrator lamp"):
            panel.lamp_on()
        assert panel.lamp_off().lamp is LampState.NOT_PRESENT
        assert panel.close_cover().cover is CoverState.CLOSED
