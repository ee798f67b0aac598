"""A real simulator process for the device adapters, at 20x speed, discovery off."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alpaca.dome import Dome

from observatory.devices.dome import DomeAdapter
from observatory.settings import DeviceSettings
from observatory.simulator.server import SimulatorProcess, start_simulator_process

SIMULATOR_CONFIG = """
seed = 1
time_scale = 20.0

[discovery]
enabled = false

[dome]
connect_delay_s = 1.5
azimuth_rate_deg_s = 12.0
shutter_time_s = 8.0
park_azimuth_deg = 180.0
home_azimuth_deg = 0.0
start_azimuth_deg = 180.0

[safetymonitor]
name = "Simulated Safety Monitor"
"""


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    config_path: Path = tmp_path_factory.mktemp("simulator") / "simulator.toml"
    config_path.write_text(SIMULATOR_CONFIG)
    with start_simulator_process(config_path=config_path) as process:
        yield process


def device_settings(address: str, **overrides: Any) -> DeviceSettings:
    """Short timeouts and backoff: at 20x a shutter takes 0.4 s, half a turn 0.75 s."""
    values: dict[str, Any] = {
        "dome_address": address,
        "safetymonitor_address": address,
        "poll_interval_s": 0.02,
        "retries": 2,
        "retry_backoff_s": 0.05,
        "shutter_timeout_s": 5.0,
        "dome_move_timeout_s": 5.0,
        "connect_timeout_s": 5.0,
    }
    values.update(overrides)
    return DeviceSettings.model_validate(values)


def inject_dome_fault(address: str, spec: dict[str, Any]) -> None:
    """Apply a simulator fault to the dome through its Action (connecting it first)."""
    raw = Dome(address, 0)
    raw.Connected = True
    raw.Action("simulator:fault", json.dumps(spec))


@pytest.fixture
def clear_faults(simulator: SimulatorProcess) -> Iterator[None]:
    """After the test: every fault repaired and the shutter closed. A repaired shutter
    stays where its jam left it (Opening, so Slewing) until commanded, as a real one
    would; the close leaves the dome at rest for whichever test runs next."""
    yield
    inject_dome_fault(simulator.address, {"kind": "clear"})
    DomeAdapter(device_settings(simulator.address)).close_shutter()
