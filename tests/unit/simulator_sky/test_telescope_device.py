"""The simulated mount on a manual clock: parking, tracking, slews, syncs, truth."""

from __future__ import annotations

import json

import pytest

from observatory.simulator.clock import ManualClock
from observatory.simulator.devices.telescope import Telescope
from observatory.simulator.sky.kinematics import hadec_to_altaz
from observatory.simulator.sky.projection import offset_between
from tests.unit.simulator_sky.devices import call, error_number, observatory

PARKED, INVALID_OPERATION, NOT_SET, INVALID_VALUE = 0x408, 0x40B, 0x402, 0x401


def mount(**settings: object) -> tuple[Telescope, ManualClock]:
    built = observatory(telescope=dict(settings))
    telescope = built.telescope
    assert isinstance(telescope, Telescope) and isinstance(built.clock, ManualClock)
    return telescope, built.clock


def unparked_tracking(**settings: object) -> tuple[Telescope, ManualClock]:
    telescope, clock = mount(**settings)
    call(telescope, "PUT", "unpark")
    call(telescope, "PUT", "tracking", tracking=True)
    return telescope, clock


def overhead_ra_h(telescope: Telescope, hours_east: float = 0.0) -> float:
    return (call(telescope, "GET", "siderealtime") + hours_east) % 24.0


def test_starts_parked_and_refuses_motion_while_parked() -> None:
    telescope, _ = mount()
    assert call(telescope, "GET", "atpark") is True
    refusals = {
        "slewtocoordinatesasync": {"right_ascension": 1.0, "declination": 10.0},
        "slewtotargetasync": {},
        "synctotarget": {},
        "slewtoaltazasync": {"azimuth": 100.0, "altitude": 40.0},
        "synctocoordinates": {"right_ascension": 1.0, "declination": 10.0},
        "moveaxis": {"axis": 0, "rate": 1.0},
        "pulseguide": {"direction": 0, "duration": 100},
        "findhome": {},
        "abortslew": {},
        "tracking": {"tracking": True},
    }
    for member, arguments in refusals.items():
        assert error_number(telescope, "PUT", member, **arguments) == PARKED, member
    assert error_number(telescope, "PUT", "tracking", tracking=False) == 0
    call(telescope, "PUT", "park")  # parking again is harmless


def test_equatorial_slews_need_tracking() -> None:
    telescope, _ = mount()
    call(telescope, "PUT", "unpark")
    target = {"right_ascension": overhead_ra_h(telescope), "declination": 30.0}
    assert error_number(telescope, "PUT", "slewtocoordinatesasync", **target) == INVALID_OPERATION
    call(telescope, "PUT", "tracking", tracking=True)
    assert (
        error_number(telescope, "PUT", "slewtoaltazasync", azimuth=90.0, altitude=45.0)
        == INVALID_OPERATION
    )


def test_targets_are_unset_until_written() -> None:
    telescope, _ = unparked_tracking()
    assert error_number(telescope, "GET", "targetrightascension") == NOT_SET
    assert error_number(telescope, "GET", "targetdeclination") == NOT_SET
    assert error_number(telescope, "PUT", "slewtotargetasync") == NOT_SET
    assert (
        error_number(telescope, "PUT", "targetrightascension", target_right_ascension=24.0)
        == INVALID_VALUE
    )
    call(telescope, "PUT", "targetrightascension", target_right_ascension=5.5)
    assert call(telescope, "GET", "targetrightascension") == 5.5


def test_slew_takes_finite_time_and_arrives() -> None:
    telescope, clock = unparked_tracking(slew_rate_deg_s=4.0)
    ra_h = overhead_ra_h(telescope, hours_east=1.0)
    call(telescope, "PUT", "slewtocoordinatesasync", right_ascension=ra_h, declination=30.0)
    assert call(telescope, "GET", "slewing") is True
    clock.advance(5.0)  # 60 degrees of Dec from the pole at 4 deg/s: 15 s
    assert call(telescope, "GET", "slewing") is True
    dec_midway = call(telescope, "GET", "declination")
    assert 30.0 < dec_midway < 90.0
    clock.advance(20.0)
    assert call(telescope, "GET", "slewing") is False
    assert call(telescope, "GET", "rightascension") == pytest.approx(ra_h, abs=1e-9)
    assert call(telescope, "GET", "declination") == pytest.approx(30.0, abs=1e-9)
    assert call(telescope, "GET", "sideofpier") == 1  # east of the meridian: pierWest
    altitude = call(telescope, "GET", "altitude")
    azimuth = call(telescope, "GET", "azimuth")
    assert 40.0 < altitude < 90.0 and 0.0 < azimuth < 180.0
    hour_angle_deg = 15.0 * (call(telescope, "GET", "siderealtime") - ra_h)
    expected = hadec_to_altaz(hour_angle_deg, 30.0, call(telescope, "GET", "sitelatitude"))
    assert (altitude, azimuth) == pytest.approx(expected, abs=1e-6)


def test_slew_below_the_horizon_is_refused() -> None:
    telescope, _ = unparked_tracking()
    anti_meridian = overhead_ra_h(telescope, hours_east=12.0)
    assert (
        error_number(
            telescope,
            "PUT",
            "slewtocoordinatesasync",
            right_ascension=anti_meridian,
            declination=0.0,
        )
        == INVALID_VALUE
    )


def test_tracking_off_lets_the_sky_drift() -> None:
    telescope, clock = unparked_tracking()
    ra_tracking = call(telescope, "GET", "rightascension")
    clock.advance(3600.0)
    assert call(telescope, "GET", "rightascension") == pytest.approx(ra_tracking, abs=1e-9)
    call(telescope, "PUT", "tracking", tracking=False)
    ra_still = call(telescope, "GET", "rightascension")
    clock.advance(3600.0)
    drift_h = (call(telescope, "GET", "rightascension") - ra_still) % 24.0
    assert drift_h == pytest.approx(1.0027379, abs=1e-4)


def test_abort_stops_a_slew_and_park_completes_later() -> None:
    telescope, clock = unparked_tracking()
    call(
        telescope,
        "PUT",
        "slewtocoordinatesasync",
        right_ascension=overhead_ra_h(telescope),
        declination=20.0,
    )
    clock.advance(2.0)
    call(telescope, "PUT", "abortslew")
    assert call(telescope, "GET", "slewing") is False
    dec = call(telescope, "GET", "declination")
    assert 20.0 < dec < 90.0
    call(telescope, "PUT", "park")
    assert call(telescope, "GET", "atpark") is False  # on its way
    assert call(telescope, "GET", "tracking") is False
    clock.advance(60.0)
    assert call(telescope, "GET", "atpark") is True


def test_true_pointing_differs_by_the_configured_error() -> None:
    telescope, clock = unparked_tracking(pointing_error_random_arcsec=0.0)
    call(
        telescope,
        "PUT",
        "slewtocoordinatesasync",
        right_ascension=overhead_ra_h(telescope),
        declination=40.0,
    )
    clock.advance(60.0)
    truth = json.loads(call(telescope, "PUT", "action", action="simulator:truth", parameters=""))
    reported = (
        call(telescope, "GET", "rightascension") * 15.0,
        call(telescope, "GET", "declination"),
    )
    assert (truth["reported_ra_deg"], truth["reported_dec_deg"]) == pytest.approx(reported)
    offset = offset_between(*reported, *telescope.true_pointing())
    assert offset == pytest.approx((45.0, -30.0), abs=1e-6)
    assert (truth["true_ra_deg"], truth["true_dec_deg"]) == pytest.approx(telescope.true_pointing())


def test_sync_to_the_true_position_removes_the_error() -> None:
    telescope, clock = unparked_tracking(pointing_error_random_arcsec=0.0)
    call(
        telescope,
        "PUT",
        "slewtocoordinatesasync",
        right_ascension=overhead_ra_h(telescope),
        declination=40.0,
    )
    clock.advance(60.0)
    true_ra, true_dec = telescope.true_pointing()
    call(
        telescope, "PUT", "synctocoordinates", right_ascension=true_ra / 15.0, declination=true_dec
    )
    assert telescope.true_pointing() == pytest.approx((true_ra, true_dec), abs=1e-9)
    assert call(telescope, "GET", "declination") == pytest.approx(true_dec)
    call(
        telescope,
        "PUT",
        "slewtocoordinatesasync",
        right_ascension=overhead_ra_h(telescope, 0.5),
        declination=50.0,
    )
    clock.advance(60.0)
    reported = (call(telescope, "GET", "rightascension") * 15.0, 50.0)
    assert offset_between(*reported, *telescope.true_pointing()) == pytest.approx((0, 0), abs=1e-6)


def test_random_error_changes_per_slew() -> None:
    telescope, clock = unparked_tracking(pointing_error_random_arcsec=20.0)
    errors = []
    for dec in (30.0, 40.0):
        call(
            telescope,
            "PUT",
            "slewtocoordinatesasync",
            right_ascension=overhead_ra_h(telescope),
            declination=dec,
        )
        clock.advance(60.0)
        errors.append(telescope.pointing.error_arcsec)
    assert errors[0] != errors[1]


def test_move_axis_pulse_guide_and_rates() -> None:
    telescope, clock = unparked_tracking()
    assert call(telescope, "GET", "canmoveaxis", axis=1) is True
    assert call(telescope, "GET", "canmoveaxis", axis=2) is False
    assert error_number(telescope, "PUT", "moveaxis", axis=1, rate=99.0) == INVALID_VALUE
    call(telescope, "PUT", "moveaxis", axis=1, rate=-1.0)
    clock.advance(10.0)
    assert call(telescope, "GET", "slewing") is True
    call(telescope, "PUT", "moveaxis", axis=1, rate=0.0)
    assert call(telescope, "GET", "slewing") is False
    dec = call(telescope, "GET", "declination")
    assert dec == pytest.approx(80.0, abs=1e-6)
    call(telescope, "PUT", "pulseguide", direction=1, duration=2000)  # south
    assert call(telescope, "GET", "ispulseguiding") is True
    clock.advance(2.0)
    assert call(telescope, "GET", "ispulseguiding") is False
    rate = call(telescope, "GET", "guideratedeclination")
    assert call(telescope, "GET", "declination") == pytest.approx(80.0 - 2.0 * rate)


def test_utc_date_and_sidereal_time() -> None:
    telescope, clock = mount()
    assert call(telescope, "GET", "utcdate") == "2025-01-15T21:00:00.000Z"
    lst = call(telescope, "GET", "siderealtime")
    clock.advance(3600.0)
    assert (call(telescope, "GET", "siderealtime") - lst) % 24 == pytest.approx(1.0027379, abs=1e-6)
    assert call(telescope, "GET", "sitelatitude") == 37.2
    assert call(telescope, "GET", "equatorialsystem") == 2
    assert call(telescope, "GET", "focallength") == pytest.approx(0.53)


def test_dome_can_follow_the_mount_azimuth() -> None:
    built = observatory(dome={"connect_delay_s": 0})
    telescope = built.telescope
    assert isinstance(telescope, Telescope)
    assert telescope.azimuth_deg == pytest.approx(call(telescope, "GET", "azimuth"))
    assert call(built.dome, "GET", "canslave") is True  # type: ignore[arg-type]
