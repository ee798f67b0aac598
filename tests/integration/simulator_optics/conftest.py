"""A simulator process with the shipped config, run fast, and helpers to drive it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alpaca.camera import Camera
from alpaca.dome import Dome
from alpaca.focuser import Focuser
from alpaca.telescope import Telescope

from observatory.simulator.config import DEFAULT_CONFIG_PATH
from observatory.simulator.server import SimulatorProcess, start_simulator_process
from tests.helpers import wait_for

# One simulated minute per wall second: a 10 s exposure takes a sixth of a second.
TIME_SCALE = 60.0


@pytest.fixture(scope="module")
def simulator() -> Iterator[SimulatorProcess]:
    with start_simulator_process(time_scale=TIME_SCALE, discovery_port=0) as process:
        yield process


def config_with(tmp_path: Path, replacements: dict[str, str]) -> Path:
    """The shipped config with whole lines replaced (``"width_px = 2048"`` -> ...)."""
    text = DEFAULT_CONFIG_PATH.read_text()
    for old, new in replacements.items():
        assert old in text, f"{old!r} is not in {DEFAULT_CONFIG_PATH}"
        text = text.replace(old, new)
    path = tmp_path / "simulator.toml"
    path.write_text(text)
    return path


class Rig:
    """The mount, camera, dome and focuser of one simulator, connected, through alpyca."""

    def __init__(self, simulator: SimulatorProcess) -> None:
        self.telescope = Telescope(simulator.address, 0)
        self.camera = Camera(simulator.address, 0)
        self.dome = Dome(simulator.address, 0)
        self.focuser = Focuser(simulator.address, 0)
        for device in (self.telescope, self.camera, self.dome, self.focuser):
            device.Connect()
        for device in (self.telescope, self.camera, self.dome, self.focuser):
            wait_for(lambda d=device: not d.Connecting, timeout=10, interval=0.02)

    def open_dome(self) -> None:
        self.dome.OpenShutter()
        wait_for(lambda: self.dome.ShutterStatus == 0, timeout=10, interval=0.02)

    def focus(self) -> None:
        """Move the focuser to best focus, read from the simulator's truth (the simulated
        focuser, like a real one, starts away from it and frames are defocused until moved)."""
        state = json.loads(self.focuser.Action("simulator:state", ""))
        self.focuser.Move(round(state["best_position_steps"]))
        wait_for(lambda: not self.focuser.IsMoving, timeout=30, interval=0.02)

    def point(self, hours_east_of_meridian: float, declination_deg: float) -> float:
        """Unpark, track and slew; returns the target RA in hours once arrived."""
        if self.telescope.AtPark:
            self.telescope.Unpark()
        self.telescope.Tracking = True
        ra_h = (self.telescope.SiderealTime + hours_east_of_meridian) % 24.0
        self.telescope.SlewToCoordinatesAsync(ra_h, declination_deg)
        wait_for(lambda: not self.telescope.Slewing, timeout=30, interval=0.02)
        return ra_h

    def expose(self, duration_s: float, light: bool = True) -> None:
        self.camera.StartExposure(duration_s, light)
        wait_for(lambda: self.camera.ImageReady, timeout=60, interval=0.02, message="ImageReady")

    def camera_truth(self, **options: Any) -> dict[str, Any]:
        return dict(json.loads(self.camera.Action("simulator:truth", json.dumps(options))))

    def mount_truth(self) -> dict[str, Any]:
        return dict(json.loads(self.telescope.Action("simulator:truth", "")))


@pytest.fixture(scope="module")
def rig(simulator: SimulatorProcess) -> Rig:
    return Rig(simulator)
