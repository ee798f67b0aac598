"""Orders the camera cannot take are refused before anything moves (a scripted camera)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from observatory.errors import InvalidTarget
from observatory.orders.models import CalibrationFramesOrder
from observatory.settings import Settings
from observatory.simulator.server import start_simulator_process
from observatory.telescope.calibration import check_calibration_plan, take_calibration_frames
from observatory.telescope.rig import TelescopeRig
from tests.unit.devices.alpaca_stub import AlpacaStub
from tests.unit.devices.conftest import fast_settings
from tests.unit.devices.test_camera import CAMERA_VALUES
from tests.unit.telescope.conftest import SIMULATOR_CONFIG, claimed_order, simulator_settings
from tests.unit.test_intake import Broker

ROLES = ("dome", "telescope", "camera", "filterwheel", "covercalibrator", "safetymonitor")


@pytest.fixture
def stub() -> Iterator[AlpacaStub]:
    server = AlpacaStub().start()
    server.values.update(CAMERA_VALUES | {"names": ["R", "G", "B"]})
    yield server
    server.stop()


def rig_of(stub: AlpacaStub) -> TelescopeRig:
    devices = fast_settings(stub.address, **{f"{role}_address": stub.address for role in ROLES})
    return TelescopeRig.from_settings(Settings(devices=devices))


def calibration(**fields: Any) -> CalibrationFramesOrder:
    return CalibrationFramesOrder.model_validate(
        {"id": "c", "request": "calibration_frames", "datetime": "2026-12-07T00:00:00",
         "user": "tests", **fields}
    )  # fmt: skip


def commands(stub: AlpacaStub) -> list[str]:
    return [member for method, member in stub.requests if method == "PUT" and member != "connected"]


def test_a_colour_sensor_is_refused_before_anything_moves(stub: AlpacaStub) -> None:
    # SensorType Color sends three planes: every frame failed after its exposure (and, in
    # an observation, after the dome opened and the mount slewed).
    stub.values["sensortype"] = 1
    with pytest.raises(InvalidTarget, match=r"has a Color sensor \(SensorType 1"):
        check_calibration_plan(rig_of(stub), calibration(bias_count=1))
    assert commands(stub) == []


def test_a_flat_level_a_12_bit_camera_cannot_reach_is_refused(stub: AlpacaStub) -> None:
    # The default target (30000 ADU) saturates a camera of MaxADU 4095: the flat set ran
    # its trials down to the shortest exposure and failed, after the biases and darks,
    # with the panel lit.
    stub.values["maxadu"] = 4095
    rig = rig_of(stub)
    with pytest.raises(InvalidTarget, match=r"flats\.0\.target_adu: 30000 ADU .* MaxADU 4095"):
        check_calibration_plan(rig, calibration(bias_count=1, flats=[{"filter": "R"}]))
    check_calibration_plan(rig, calibration(flats=[{"filter": "R", "target_adu": 2000.0}]))
    assert commands(stub) == []


@pytest.mark.slow  # a simulator of its own configuration, 8 s of flat trials
def test_flat_trials_stay_within_the_camera_s_exposure_range(
    tmp_path: Path, sqlite_url: str
) -> None:
    # A camera whose ExposureMin (1 s) is above telescope.flat_min_exposure_s (0.1 s), and
    # a panel that needs about 0.4 s: the second trial asked for 0.4 s, the camera refused
    # it and the set failed. Now the trials stop at 1 s, a level the set can take.
    config = tmp_path / "simulator.toml"
    config.write_text(SIMULATOR_CONFIG.replace("[camera]\n", "[camera]\nexposure_min_s = 1.0\n"))
    with start_simulator_process(config_path=config) as simulator:
        settings = simulator_settings(simulator.address, sqlite_url, tmp_path / "data")
        rig = TelescopeRig.from_settings(settings)
        flats = [{"filter": "R", "count": 1, "target_adu": 20000.0}]
        claimed = claimed_order(settings, Broker(), "calibration_frames", flats=flats, binning=2)
        outputs = take_calibration_frames(settings, claimed, rig, Broker())
    assert outputs["flat_exposures_s"] == {"R": 1.0}
