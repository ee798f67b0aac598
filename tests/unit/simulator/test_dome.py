"""The dome mechanism on a manual clock: motion, park/home, shutter, slaving, faults."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from observatory.simulator.clock import ManualClock
from observatory.simulator.devices.dome import Dome, ShutterStatus
from observatory.simulator.errors import InvalidValue, InvalidWhileSlaved, NotImplementedAscom
from tests.unit.simulator.conftest import call

OPEN, CLOSED, OPENING, CLOSING, ERROR = (int(s) for s in ShutterStatus)


@pytest.fixture
def dome(make_device: Callable[..., Any]) -> Dome:
    return make_device(Dome)  # defaults: 12 deg/s, shutter 8 s, parked at 180


def test_starts_parked_and_closed(dome: Dome) -> None:
    assert call(dome, "GET", "azimuth") == 180.0
    assert call(dome, "GET", "atpark") is True
    assert call(dome, "GET", "shutterstatus") == CLOSED
    assert call(dome, "GET", "slewing") is False
    assert call(dome, "GET", "interfaceversion") == 3


def test_slew_returns_at_once_and_moves_at_the_configured_rate(
    dome: Dome, clock: ManualClock
) -> None:
    call(dome, "PUT", "slewtoazimuth", azimuth=0.0)
    assert call(dome, "GET", "slewing") is True
    assert call(dome, "GET", "atpark") is False
    clock.advance(3.0)  # a 180-degree slew is still moving after 3 s
    assert call(dome, "GET", "slewing") is True
    assert abs(call(dome, "GET", "azimuth") - 180.0) == pytest.approx(36.0)
    clock.advance(12.0)
    assert call(dome, "GET", "slewing") is False
    assert call(dome, "GET", "azimuth") == pytest.approx(0.0)


def test_slew_takes_the_short_way_round(dome: Dome, clock: ManualClock) -> None:
    call(dome, "PUT", "synctoazimuth", azimuth=350.0)
    call(dome, "PUT", "slewtoazimuth", azimuth=10.0)
    clock.advance(1.0)
    assert call(dome, "GET", "azimuth") == pytest.approx(2.0)


@pytest.mark.parametrize("azimuth", [-0.1, 360.0, 1000.0])
def test_out_of_range_azimuth_is_invalid(dome: Dome, azimuth: float) -> None:
    with pytest.raises(InvalidValue):
        call(dome, "PUT", "slewtoazimuth", azimuth=azimuth)
    with pytest.raises(InvalidValue):
        call(dome, "PUT", "synctoazimuth", azimuth=azimuth)


@pytest.mark.parametrize("altitude", [-1.0, 90.01])
def test_out_of_range_altitude_is_invalid(dome: Dome, altitude: float) -> None:
    with pytest.raises(InvalidValue):
        call(dome, "PUT", "slewtoaltitude", altitude=altitude)


def test_altitude_moves_at_30_deg_per_s(dome: Dome, clock: ManualClock) -> None:
    call(dome, "PUT", "slewtoaltitude", altitude=90.0)
    clock.advance(1.0)
    assert call(dome, "GET", "altitude") == pytest.approx(30.0)
    assert call(dome, "GET", "slewing") is True
    clock.advance(2.0)
    assert call(dome, "GET", "altitude") == 90.0 and call(dome, "GET", "slewing") is False


def test_park_sets_at_park_only_on_arrival(dome: Dome, clock: ManualClock) -> None:
    call(dome, "PUT", "slewtoazimuth", azimuth=90.0)
    clock.advance(10.0)
    call(dome, "PUT", "park")
    assert call(dome, "GET", "atpark") is False
    clock.advance(4.0)
    assert call(dome, "GET", "atpark") is False
    clock.advance(4.0)
    assert call(dome, "GET", "atpark") is True
    call(dome, "PUT", "park")  # repeating is harmless
    assert call(dome, "GET", "atpark") is True and call(dome, "GET", "slewing") is False


def test_find_home_sets_at_home_and_a_slew_clears_it(dome: Dome, clock: ManualClock) -> None:
    call(dome, "PUT", "findhome")
    assert call(dome, "GET", "athome") is False
    clock.advance(15.0)
    assert call(dome, "GET", "athome") is True and call(dome, "GET", "azimuth") == 0.0
    call(dome, "PUT", "slewtoazimuth", azimuth=45.0)
    assert call(dome, "GET", "athome") is False


def test_set_park_moves_the_park_position(dome: Dome, clock: ManualClock) -> None:
    call(dome, "PUT", "slewtoazimuth", azimuth=120.0)
    clock.advance(10.0)
    call(dome, "PUT", "setpark")
    call(dome, "PUT", "slewtoazimuth", azimuth=100.0)
    clock.advance(5.0)
    call(dome, "PUT", "park")
    clock.advance(5.0)
    assert call(dome, "GET", "atpark") is True and call(dome, "GET", "azimuth") == 120.0


def test_shutter_opens_over_the_shutter_time_and_slewing_shows_it(
    dome: Dome, clock: ManualClock
) -> None:
    call(dome, "PUT", "openshutter")
    assert call(dome, "GET", "shutterstatus") == OPENING
    assert call(dome, "GET", "slewing") is True
    assert dome.shutter_open is False
    clock.advance(7.9)
    assert call(dome, "GET", "shutterstatus") == OPENING
    clock.advance(0.1)
    assert call(dome, "GET", "shutterstatus") == OPEN and dome.shutter_open
    assert call(dome, "GET", "slewing") is False
    call(dome, "PUT", "openshutter")  # open an open shutter: nothing happens
    assert call(dome, "GET", "shutterstatus") == OPEN


def test_closing_a_closed_shutter_is_fine(dome: Dome) -> None:
    call(dome, "PUT", "closeshutter")
    assert call(dome, "GET", "shutterstatus") == CLOSED and call(dome, "GET", "slewing") is False


def test_close_while_opening_reverses_from_where_it_is(dome: Dome, clock: ManualClock) -> None:
    call(dome, "PUT", "openshutter")
    clock.advance(2.0)
    call(dome, "PUT", "closeshutter")
    assert call(dome, "GET", "shutterstatus") == CLOSING
    clock.advance(1.9)
    assert call(dome, "GET", "shutterstatus") == CLOSING
    clock.advance(0.1)
    assert call(dome, "GET", "shutterstatus") == CLOSED


def test_abort_stops_everything_where_it_is(dome: Dome, clock: ManualClock) -> None:
    call(dome, "PUT", "slewtoazimuth", azimuth=0.0)
    call(dome, "PUT", "openshutter")
    clock.advance(2.0)
    call(dome, "PUT", "abortslew")
    clock.advance(10.0)
    assert call(dome, "GET", "slewing") is False
    assert abs(call(dome, "GET", "azimuth") - 180.0) == pytest.approx(24.0)
    assert call(dome, "GET", "shutterstatus") == ERROR  # part-open: indeterminate
    call(dome, "PUT", "abortslew")  # abort when idle is fine
    call(dome, "PUT", "openshutter")
    clock.advance(8.0)
    assert call(dome, "GET", "shutterstatus") == OPEN


def test_slaved_dome_follows_the_mount(make_device: Callable[..., Any], clock: ManualClock) -> None:
    class Mount:
        azimuth_deg = 90.0

    class Site:
        telescope = Mount()

    dome = make_device(Dome)
    dome._observatory = Site()
    assert call(dome, "GET", "canslave") is True
    call(dome, "PUT", "slaved", slaved=True)
    assert call(dome, "GET", "slewing") is True
    with pytest.raises(InvalidWhileSlaved):
        call(dome, "PUT", "slewtoazimuth", azimuth=10.0)
    with pytest.raises(InvalidWhileSlaved):
        call(dome, "PUT", "park")
    clock.advance(10.0)
    assert call(dome, "GET", "azimuth") == pytest.approx(90.0)
    Mount.azimuth_deg = 100.0
    assert call(dome, "GET", "slewing") is True
    clock.advance(1.0)
    assert call(dome, "GET", "azimuth") == pytest.approx(100.0)
    call(dome, "PUT", "slaved", slaved=False)
    call(dome, "PUT", "slewtoazimuth", azimuth=10.0)


def test_without_a_mount_the_dome_cannot_slave(dome: Dome) -> None:
    assert call(dome, "GET", "canslave") is False
    call(dome, "PUT", "slaved", slaved=False)
    with pytest.raises(NotImplementedAscom):
        call(dome, "PUT", "slaved", slaved=True)


def test_stuck_shutter_keeps_moving_for_ever(dome: Dome, clock: ManualClock) -> None:
    fault = {"kind": "stuck_shutter", "mode": "moving", "at_fraction": 0.25}
    call(dome, "PUT", "action", action="simulator:fault", parameters=json.dumps(fault))
    call(dome, "PUT", "openshutter")
    clock.advance(600.0)
    assert call(dome, "GET", "shutterstatus") == OPENING
    assert call(dome, "GET", "slewing") is True
    truth = json.loads(call(dome, "PUT", "action", action="simulator:state", parameters=""))
    assert truth["shutter_open_fraction"] == pytest.approx(0.25)
    call(dome, "PUT", "action", action="simulator:fault", parameters='{"kind": "clear"}')
    call(dome, "PUT", "openshutter")  # repaired: the same command now completes
    clock.advance(6.0)
    assert call(dome, "GET", "shutterstatus") == OPEN


def test_stuck_shutter_in_error_mode_reports_error(dome: Dome, clock: ManualClock) -> None:
    call(dome, "PUT", "openshutter")
    clock.advance(2.0)
    call(
        dome,
        "PUT",
        "action",
        action="simulator:fault",
        parameters='{"kind": "stuck_shutter", "mode": "error", "at_fraction": 0.5}',
    )
    clock.advance(2.0)
    assert call(dome, "GET", "shutterstatus") == ERROR
    assert call(dome, "GET", "slewing") is False


def test_stuck_shutter_fault_from_config(
    make_device: Callable[..., Any], clock: ManualClock
) -> None:
    dome = make_device(Dome, faults=[{"kind": "stuck_shutter"}])
    call(dome, "PUT", "openshutter")
    clock.advance(100.0)
    assert call(dome, "GET", "shutterstatus") == OPENING
    faults = json.loads(call(dome, "PUT", "action", action="simulator:faults", parameters=""))
    assert faults == [{"kind": "stuck_shutter", "mode": "moving", "at_fraction": 0.5}]


def test_device_state_lists_the_dome_members(dome: Dome) -> None:
    names = [item["Name"] for item in call(dome, "GET", "devicestate")]
    assert names == [
        "Altitude",
        "AtHome",
        "AtPark",
        "Azimuth",
        "ShutterStatus",
        "Slewing",
        "TimeStamp",
    ]
