"""The roll-off roof mode of the simulated dome (``kind = "rolloff"``): a shutter only,
answering 0x400 NotImplemented to what needs an azimuth, park or home, as ASCOM allows a
dome whose CanSetAzimuth, CanPark and CanFindHome are false."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from observatory.simulator.clock import ManualClock
from observatory.simulator.devices.dome import Dome, DomeSettings, ShutterStatus
from observatory.simulator.errors import NotImplementedAscom
from tests.unit.simulator.conftest import call


@pytest.fixture
def roof(make_device: Callable[..., Any]) -> Dome:
    return make_device(Dome, kind="rolloff")


@pytest.mark.parametrize(
    "flag",
    [
        "cansetazimuth",
        "cansetaltitude",
        "canpark",
        "cansetpark",
        "canfindhome",
        "cansyncazimuth",
        "canslave",
    ],
)
def test_a_roof_cannot_turn_park_or_find_home(roof: Dome, flag: str) -> None:
    assert call(roof, "GET", flag) is False
    assert call(roof, "GET", "cansetshutter") is True


@pytest.mark.parametrize(
    ("verb", "member", "arguments"),
    [
        ("GET", "azimuth", {}),
        ("GET", "altitude", {}),
        ("GET", "atpark", {}),
        ("GET", "athome", {}),
        ("PUT", "slewtoazimuth", {"azimuth": 90.0}),
        ("PUT", "slewtoaltitude", {"altitude": 30.0}),
        ("PUT", "synctoazimuth", {"azimuth": 90.0}),
        ("PUT", "park", {}),
        ("PUT", "setpark", {}),
        ("PUT", "findhome", {}),
        ("PUT", "slaved", {"slaved": True}),
    ],
)
def test_what_needs_an_azimuth_is_not_implemented(
    roof: Dome, verb: str, member: str, arguments: dict[str, Any]
) -> None:
    with pytest.raises(NotImplementedAscom, match="roll-off roof"):
        call(roof, verb, member, **arguments)


def test_the_roof_opens_and_closes_and_the_rest_still_answers(
    roof: Dome, clock: ManualClock
) -> None:
    call(roof, "PUT", "openshutter")
    assert call(roof, "GET", "shutterstatus") == ShutterStatus.OPENING
    assert call(roof, "GET", "slewing") is True
    clock.advance(8.0)
    assert call(roof, "GET", "shutterstatus") == ShutterStatus.OPEN
    call(roof, "PUT", "closeshutter")
    clock.advance(8.0)
    assert call(roof, "GET", "shutterstatus") == ShutterStatus.CLOSED
    assert call(roof, "GET", "slaved") is False
    call(roof, "PUT", "abortslew")
    call(roof, "PUT", "slaved", slaved=False)


def test_device_state_leaves_out_what_the_roof_does_not_know(roof: Dome) -> None:
    names = [item["Name"] for item in call(roof, "GET", "devicestate")]
    assert names == ["ShutterStatus", "Slewing", "TimeStamp"]


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValidationError, match="kind"):
        DomeSettings.model_validate({"kind": "roll-off"})
