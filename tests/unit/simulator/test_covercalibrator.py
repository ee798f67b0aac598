"""The flat panel: cover motion, lamp warm-up, states and the light the camera sees."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from observatory.simulator.clock import ManualClock
from observatory.simulator.devices.covercalibrator import (
    CalibratorStatus,
    CoverCalibrator,
    CoverStatus,
)
from observatory.simulator.errors import InvalidValue
from tests.unit.simulator.conftest import call


@pytest.fixture
def panel(make_device: Callable[..., Any]) -> CoverCalibrator:
    return make_device(
        CoverCalibrator, cover_move_time_s=10.0, warmup_time_s=2.0, max_brightness=200
    )


def test_starts_open_and_dark(panel: CoverCalibrator) -> None:
    assert call(panel, "GET", "coverstate") == CoverStatus.OPEN
    assert call(panel, "GET", "calibratorstate") == CalibratorStatus.OFF
    assert call(panel, "GET", "brightness") == 0 and call(panel, "GET", "maxbrightness") == 200
    assert panel.flat_illumination == 0.0


def test_cover_moves_over_its_move_time(panel: CoverCalibrator, clock: ManualClock) -> None:
    call(panel, "PUT", "closecover")
    assert call(panel, "GET", "coverstate") == CoverStatus.MOVING
    assert call(panel, "GET", "covermoving") is True
    clock.advance(9.9)
    assert call(panel, "GET", "covermoving") is True
    clock.advance(0.1)
    assert call(panel, "GET", "coverstate") == CoverStatus.CLOSED
    call(panel, "PUT", "closecover")  # closing a closed cover is fine
    assert call(panel, "GET", "covermoving") is False


def test_halt_leaves_the_cover_part_way(panel: CoverCalibrator, clock: ManualClock) -> None:
    call(panel, "PUT", "closecover")
    clock.advance(3.0)
    call(panel, "PUT", "haltcover")
    assert call(panel, "GET", "coverstate") == CoverStatus.UNKNOWN
    call(panel, "PUT", "haltcover")


def test_lamp_warms_up_then_lights_the_closed_cover(
    panel: CoverCalibrator, clock: ManualClock
) -> None:
    call(panel, "PUT", "closecover")
    call(panel, "PUT", "calibratoron", brightness=100)
    assert call(panel, "GET", "calibratorstate") == CalibratorStatus.NOT_READY
    assert call(panel, "GET", "calibratorchanging") is True
    clock.advance(2.0)
    assert call(panel, "GET", "calibratorstate") == CalibratorStatus.READY
    assert panel.flat_illumination == 0.0  # cover still closing
    clock.advance(8.0)
    assert panel.flat_illumination == pytest.approx(0.5)
    call(panel, "PUT", "calibratoron", brightness=100)  # same brightness: stays ready
    assert call(panel, "GET", "calibratorchanging") is False
    call(panel, "PUT", "calibratoroff")
    assert call(panel, "GET", "calibratorstate") == CalibratorStatus.OFF
    assert call(panel, "GET", "brightness") == 0 and panel.flat_illumination == 0.0


@pytest.mark.parametrize("brightness", [-1, 201])
def test_brightness_outside_range_is_invalid(panel: CoverCalibrator, brightness: int) -> None:
    with pytest.raises(InvalidValue):
        call(panel, "PUT", "calibratoron", brightness=brightness)


def test_faults_jam_the_cover_and_kill_the_lamp(panel: CoverCalibrator, clock: ManualClock) -> None:
    fault = '{"kind": "stuck_cover", "mode": "error"}'
    call(panel, "PUT", "action", action="simulator:fault", parameters=fault)
    call(panel, "PUT", "closecover")
    clock.advance(20.0)
    assert call(panel, "GET", "coverstate") == CoverStatus.ERROR
    call(panel, "PUT", "action", action="simulator:fault", parameters='{"kind": "lamp_failure"}')
    call(panel, "PUT", "calibratoron", brightness=50)
    clock.advance(5.0)
    assert call(panel, "GET", "calibratorstate") == CalibratorStatus.ERROR
    assert panel.flat_illumination == 0.0
    call(panel, "PUT", "action", action="simulator:fault", parameters='{"kind": "clear"}')
    call(panel, "PUT", "closecover")
    clock.advance(10.0)
    assert call(panel, "GET", "coverstate") == CoverStatus.CLOSED
    assert panel.flat_illumination == pytest.approx(0.25)
