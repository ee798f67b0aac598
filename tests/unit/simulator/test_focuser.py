"""The focuser: absolute moves at a finite speed, Halt, temperature drift and TempComp,
and a best position that follows the temperature and the filter in the beam."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from observatory.simulator.clock import ManualClock
from observatory.simulator.config import load_config
from observatory.simulator.devices.focuser import Focuser, FocuserSettings, defocus_blur_um
from observatory.simulator.errors import InvalidValue, NotImplementedAscom
from observatory.simulator.observatory import Observatory
from tests.unit.simulator.conftest import call

SETTINGS = {
    "max_step": 10000,
    "max_increment": 4000,
    "speed_steps_per_s": 100.0,
    "start_position": 5000,
    "best_position_at_reference": 5200,
    "reference_temperature_c": 10.0,
    "temperature_coefficient_steps_per_k": -4.0,
    "start_temperature_c": 10.0,
    "temperature_drift_k_per_h": -1.0,
}


@pytest.fixture
def focuser(make_device: Callable[..., Any]) -> Focuser:
    return make_device(Focuser, **SETTINGS)


def test_move_takes_time_and_arrives(focuser: Focuser, clock: ManualClock) -> None:
    call(focuser, "PUT", "move", position=5500)
    assert call(focuser, "GET", "ismoving") is True
    clock.advance(1.0)
    assert call(focuser, "GET", "position") == 5100
    clock.advance(4.0)
    assert call(focuser, "GET", "ismoving") is False
    assert call(focuser, "GET", "position") == 5500


def test_halt_stops_where_it_is(focuser: Focuser, clock: ManualClock) -> None:
    call(focuser, "PUT", "move", position=4000)
    clock.advance(2.0)
    call(focuser, "PUT", "halt")
    clock.advance(30.0)
    assert call(focuser, "GET", "ismoving") is False
    assert call(focuser, "GET", "position") == 4800


@pytest.mark.parametrize("position", [-1, 10001])
def test_position_outside_the_range_is_invalid(focuser: Focuser, position: int) -> None:
    with pytest.raises(InvalidValue):
        call(focuser, "PUT", "move", position=position)


def test_a_move_beyond_max_increment_is_invalid(focuser: Focuser) -> None:
    with pytest.raises(InvalidValue, match="MaxIncrement"):
        call(focuser, "PUT", "move", position=0)


def test_best_position_follows_temperature(focuser: Focuser, clock: ManualClock) -> None:
    assert focuser.best_position() == pytest.approx(5200.0)
    clock.advance(2 * 3600.0)  # two hours: 2 K cooler
    assert call(focuser, "GET", "temperature") == pytest.approx(8.0)
    assert focuser.best_position() == pytest.approx(5208.0)
    call(focuser, "PUT", "action", action="simulator:set_temperature", parameters="0")
    assert focuser.best_position() == pytest.approx(5240.0)


def test_temp_comp_follows_the_temperature(focuser: Focuser, clock: ManualClock) -> None:
    call(focuser, "PUT", "tempcomp", temp_comp=True)
    assert call(focuser, "GET", "tempcomp") is True
    clock.advance(3600.0)  # 1 K cooler: the best focus moved +4 steps, and so do we
    assert call(focuser, "GET", "position") == 5004
    call(focuser, "PUT", "tempcomp", temp_comp=False)
    clock.advance(3600.0)
    assert call(focuser, "GET", "position") == 5004


def test_temp_comp_is_refused_without_the_feature(make_device: Callable[..., Any]) -> None:
    focuser = make_device(Focuser, temp_comp_available=False)
    assert call(focuser, "GET", "tempcompavailable") is False
    with pytest.raises(NotImplementedAscom):
        call(focuser, "PUT", "tempcomp", temp_comp=True)


def test_settings_are_consistent() -> None:
    with pytest.raises(ValidationError):
        FocuserSettings(max_step=100, max_increment=200)
    with pytest.raises(ValidationError):
        FocuserSettings(max_step=100, max_increment=100, start_position=101)


def test_filter_offsets_shift_best_focus() -> None:
    clock = ManualClock()
    observatory = Observatory(load_config(), clock)
    focuser, wheel = observatory.focuser, observatory.filterwheel
    assert focuser is not None and wheel is not None
    at_first = focuser.best_position()
    ha = wheel.settings.names.index("Ha")
    wheel.set_position(ha)
    clock.advance(60.0)  # (the temperature drifts by less than 0.01 K meanwhile)
    shift = focuser.best_position() - at_first
    assert shift == pytest.approx(wheel.settings.focus_offsets[ha], abs=0.1)


def test_defocus_blur_is_offset_times_step_over_focal_ratio() -> None:
    assert defocus_blur_um(-50, 4.0, 5.0) == pytest.approx(40.0)
    assert defocus_blur_um(0, 4.0, 5.0) == 0.0
