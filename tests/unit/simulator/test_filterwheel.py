"""The filter wheel: names, offsets, Position -1 while turning, short way round."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from observatory.simulator.clock import ManualClock
from observatory.simulator.devices.filterwheel import FilterWheel, FilterWheelSettings
from observatory.simulator.errors import InvalidValue
from tests.unit.simulator.conftest import call


@pytest.fixture
def wheel(make_device: Callable[..., Any]) -> FilterWheel:
    return make_device(
        FilterWheel,
        names=["U", "B", "V", "R", "I"],
        focus_offsets=[-20, 0, 5, 10, 30],
        slot_move_time_s=1.0,
    )


def test_names_and_offsets_come_from_settings(wheel: FilterWheel) -> None:
    assert call(wheel, "GET", "names") == ["U", "B", "V", "R", "I"]
    assert call(wheel, "GET", "focusoffsets") == [-20, 0, 5, 10, 30]
    assert call(wheel, "GET", "position") == 0 and wheel.current_filter_name == "U"


def test_position_is_minus_one_while_turning(wheel: FilterWheel, clock: ManualClock) -> None:
    call(wheel, "PUT", "position", position=2)
    assert call(wheel, "GET", "position") == -1 and wheel.current_filter_name is None
    clock.advance(1.9)
    assert call(wheel, "GET", "position") == -1
    clock.advance(0.1)
    assert call(wheel, "GET", "position") == 2 and wheel.current_filter_name == "V"


def test_wheel_takes_the_short_way_round(wheel: FilterWheel, clock: ManualClock) -> None:
    call(wheel, "PUT", "position", position=4)  # 0 -> 4 is one slot backwards
    clock.advance(1.0)
    assert call(wheel, "GET", "position") == 4


def test_same_position_is_immediate(wheel: FilterWheel) -> None:
    call(wheel, "PUT", "position", position=0)
    assert call(wheel, "GET", "position") == 0


def test_retarget_while_turning(wheel: FilterWheel, clock: ManualClock) -> None:
    call(wheel, "PUT", "position", position=2)
    clock.advance(0.5)
    call(wheel, "PUT", "position", position=2)  # same target: no restart
    clock.advance(1.5)
    assert call(wheel, "GET", "position") == 2
    call(wheel, "PUT", "position", position=3)
    clock.advance(0.5)
    call(wheel, "PUT", "position", position=1)
    clock.advance(1.5)
    assert call(wheel, "GET", "position") == 1


@pytest.mark.parametrize("position", [-1, 5, 99])
def test_position_outside_the_wheel_is_invalid(wheel: FilterWheel, position: int) -> None:
    with pytest.raises(InvalidValue):
        call(wheel, "PUT", "position", position=position)


def test_stuck_wheel_never_arrives_until_cleared(wheel: FilterWheel, clock: ManualClock) -> None:
    call(wheel, "PUT", "action", action="simulator:fault", parameters='{"kind": "stuck_wheel"}')
    call(wheel, "PUT", "position", position=1)
    clock.advance(100.0)
    assert call(wheel, "GET", "position") == -1
    call(wheel, "PUT", "action", action="simulator:fault", parameters='{"kind": "clear"}')
    call(wheel, "PUT", "position", position=1)
    clock.advance(1.0)
    assert call(wheel, "GET", "position") == 1


def test_settings_must_be_consistent() -> None:
    with pytest.raises(ValidationError):
        FilterWheelSettings(names=["L", "R"], focus_offsets=[0])
    with pytest.raises(ValidationError):
        FilterWheelSettings(names=["L"], focus_offsets=[0], start_position=1)
