"""A roll-off roof, the project's simulator in its ``kind = "rolloff"`` mode as a real
process over HTTP: it answers 0x400 to Azimuth, AtPark and AtHome, and still opens,
closes, reads its status and is closed by the safety supervisor when it is unsafe."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alpaca.dome import Dome
from alpaca.exceptions import NotImplementedException
from alpaca.safetymonitor import SafetyMonitor

from observatory import dome_api
from observatory.devices.dome import DomeAdapter, ShutterState
from observatory.devices.mount import MountState
from observatory.settings import Settings
from observatory.simulator.server import SimulatorProcess, start_simulator_process
from observatory.supervisor.loop import Supervisor
from observatory.telescope.rig import slave_dome
from tests.integration.devices.conftest import device_settings

ROOF_CONFIG = """
seed = 1
time_scale = 20.0

[discovery]
enabled = false

[dome]
kind = "rolloff"
connect_delay_s = 0.5
shutter_time_s = 8.0
start_shutter_open = true

[telescope]
connect_delay_s = 0.5

[safetymonitor]
connect_delay_s = 0.5
"""


@pytest.fixture(scope="module")
def roof(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    config_path: Path = tmp_path_factory.mktemp("rolloff") / "simulator.toml"
    config_path.write_text(ROOF_CONFIG)
    with start_simulator_process(config_path=config_path) as process:
        yield process


def set_safe(address: str, safe: bool) -> None:
    monitor = SafetyMonitor(address, 0)
    monitor.Connected = True
    monitor.Action("simulator:set_safe", "true" if safe else "false")


def test_the_simulated_roof_has_no_azimuth(roof: SimulatorProcess) -> None:
    raw = Dome(roof.address, 0)
    raw.Connected = True
    assert (raw.CanSetAzimuth, raw.CanPark, raw.CanFindHome) == (False, False, False)
    with pytest.raises(NotImplementedException):
        _ = raw.Azimuth


def test_the_roof_opens_closes_and_reads_its_status(roof: SimulatorProcess) -> None:
    dome = DomeAdapter(device_settings(roof.address))
    assert dome.open_shutter() is ShutterState.OPEN
    status = dome_api.dome_status(settings=device_settings(roof.address))
    assert (status["azim"], status["park"], status["open"]) == (None, None, True)
    assert dome.close_shutter() is ShutterState.CLOSED
    state = dome.status()
    assert (state.azimuth_deg, state.at_park, state.at_home) == (None, None, None)


def test_the_telescope_does_not_try_to_turn_a_roof(roof: SimulatorProcess) -> None:
    mount = MountState(
        ra_deg=10.0,
        dec_deg=20.0,
        altitude_deg=45.0,
        azimuth_deg=120.0,
        tracking=True,
        slewing=False,
        at_park=False,
    )
    assert slave_dome(DomeAdapter(device_settings(roof.address)), mount, 3.0) is None


def test_the_supervisor_closes_the_open_roof_when_unsafe(
    roof: SimulatorProcess, database_url: str
) -> None:
    address = roof.address
    DomeAdapter(device_settings(address)).open_shutter()
    set_safe(address, False)
    try:
        devices = device_settings(address, telescope_address=address).model_dump()
        settings = Settings.model_validate({"database_url": database_url, "devices": devices})
        decision = Supervisor(settings).poll_once()
    finally:
        set_safe(address, True)
    assert decision.unsafe_reason == "safety monitor reports unsafe"
    assert DomeAdapter(device_settings(address)).shutter() is ShutterState.CLOSED
