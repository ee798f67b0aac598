"""Mount geometry helpers (coordinate checks, altitude, separation), and what the mount
adapter sends, against a scripted device."""

from __future__ import annotations

import logging
import math
from dataclasses import replace

import pytest

from observatory.devices.mount import (
    MountAdapter,
    MountState,
    altitude_deg,
    check_radec_deg,
    separation_deg,
    with_horizontal,
)
from observatory.errors import DeviceRefused, InvalidTarget
from tests.unit.devices.alpaca_stub import AlpacaStub, Reply
from tests.unit.devices.conftest import fast_settings


@pytest.mark.parametrize(
    ("ra", "dec", "named"),
    [(360.0, 0.0, "ra"), (-1.0, 0.0, "ra"), (10.0, 90.5, "dec"), (math.nan, 0.0, "ra"),
     (True, 0.0, "ra"), ("10", 0.0, "ra")],
)  # fmt: skip
def test_out_of_range_coordinates_are_refused_by_name(ra: object, dec: object, named: str) -> None:
    with pytest.raises(InvalidTarget, match=named):
        check_radec_deg(ra, dec)


def test_altitude_of_the_meridian_and_the_pole() -> None:
    # On the meridian (hour angle 0) altitude = 90 - |latitude - dec|.
    assert altitude_deg(150.0, 20.0, 10.0, 37.0) == pytest.approx(73.0)
    assert altitude_deg(0.0, 90.0, 5.3, 37.0) == pytest.approx(37.0)
    assert altitude_deg(150.0, 20.0, 22.0, 37.0) < 0


def test_separation_across_ra_zero_and_near_the_pole() -> None:
    assert separation_deg(359.9, 0.0, 0.1, 0.0) == pytest.approx(0.2)
    assert separation_deg(0.0, 89.0, 180.0, 89.0) == pytest.approx(2.0)
    assert separation_deg(10.0, 10.0, 10.0, 10.0) == 0.0


def test_tracking_already_as_asked_sends_nothing(stub: AlpacaStub) -> None:
    # A mount that always tracks (CanSetTracking false) refuses any write of Tracking
    # (0x400), even of true; the observation asks for tracking on every slew.
    stub.values.update(MOUNT_VALUES)
    stub.on_put["tracking"] = lambda params: Reply(error_number=0x400, error_message="no")
    mount = MountAdapter(fast_settings(stub.address, telescope_address=stub.address))
    assert mount.set_tracking(True).tracking is True
    assert stub.count("PUT", "tracking") == 0
    with pytest.raises(DeviceRefused, match="tracking: not implemented"):
        mount.set_tracking(False)


def test_a_mount_without_altitude_and_azimuth_reads_them_as_unknown(
    stub: AlpacaStub, caplog: pytest.LogCaptureFixture
) -> None:
    # Altitude and Azimuth are optional in ASCOM: a mount that answers 0x400 failed every
    # status read, so no slew, park or tracking command could be waited for.
    stub.values.update(MOUNT_VALUES)
    stub.not_implemented |= {"altitude", "azimuth"}
    mount = MountAdapter(fast_settings(stub.address, telescope_address=stub.address))
    with caplog.at_level(logging.INFO, "observatory.devices.alpaca_client"):
        state = mount.status()
        assert mount.status() == state
    assert (state.altitude_deg, state.azimuth_deg) == (None, None)
    assert (state.ra_deg, state.dec_deg, state.tracking) == (150.0, 20.0, True)
    assert "altitude unknown, azimuth unknown" in str(state)
    said = [r.getMessage() for r in caplog.records if "does not implement" in r.getMessage()]
    assert len(said) == 2, said  # once per member, not once per reading
    # Another refusal of a mandatory reading still raises.
    stub.script("rightascension", Reply(error_number=0x40B, error_message="busy"))
    with pytest.raises(DeviceRefused, match="rightascension: invalid operation"):
        mount.status()


def test_unknown_altitude_and_azimuth_are_computed_from_the_sky() -> None:
    state = MountState(150.0, 20.0, None, None, tracking=True, slewing=False, at_park=False)
    # On the meridian at latitude 37: due south, altitude 73 (as the test above).
    south = with_horizontal(state, 10.0, 37.0)
    assert (south.altitude_deg, south.azimuth_deg) == (pytest.approx(73.0), pytest.approx(180.0))
    # Six hours east of the meridian, on the equator, at latitude 0: rising due east.
    east = with_horizontal(replace(state, dec_deg=0.0), 4.0, 0.0)
    assert (east.altitude_deg, east.azimuth_deg) == (pytest.approx(0.0, abs=1e-9),
                                                     pytest.approx(90.0))  # fmt: skip
    known = replace(state, altitude_deg=10.0, azimuth_deg=20.0)
    assert with_horizontal(known, 4.0, 0.0) is known


# A connected Telescope interface 3 at rest, tracking, in J2000.
MOUNT_VALUES = {
    "interfaceversion": 3,
    "equatorialsystem": 2,
    "rightascension": 10.0,
    "declination": 20.0,
    "altitude": 50.0,
    "azimuth": 100.0,
    "tracking": True,
    "atpark": False,
}
