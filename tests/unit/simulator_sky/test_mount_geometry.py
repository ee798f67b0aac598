"""Alt/az conversions, pier side, axis motion, pointing model, sidereal time, cooler."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import AltAz, EarthLocation, SkyCoord
from astropy.time import Time

from observatory.simulator.sky.cooler import Cooler, CoolerSpec
from observatory.simulator.sky.kinematics import (
    PIER_EAST,
    PIER_WEST,
    Axes,
    altaz_to_hadec,
    hadec_to_altaz,
    pier_side_for,
)
from observatory.simulator.sky.pointing import PointingModel
from observatory.simulator.sky.projection import angular_separation_deg, offset_between
from observatory.simulator.sky.sidereal import local_sidereal_time_hours


def test_meridian_and_pole() -> None:
    assert hadec_to_altaz(0.0, 37.0, 37.0)[0] == pytest.approx(90.0)
    altitude, azimuth = hadec_to_altaz(0.0, 90.0, 37.0)
    assert (altitude, azimuth) == pytest.approx((37.0, 0.0), abs=1e-9)
    altitude, azimuth = hadec_to_altaz(-30.0, 0.0, 37.0)
    assert 90.0 < azimuth < 180.0 or 0 < azimuth < 90  # rising: east half
    assert azimuth < 180.0


@pytest.mark.parametrize("latitude", [-33.0, 0.0, 37.2, 60.0])
def test_altaz_hadec_round_trip(latitude: float) -> None:
    rng = np.random.default_rng(1)
    for ha, dec in zip(rng.uniform(-179, 179, 50), rng.uniform(-89, 89, 50), strict=True):
        alt, az = hadec_to_altaz(ha, dec, latitude)
        ha2, dec2 = altaz_to_hadec(alt, az, latitude)
        assert ha2 == pytest.approx(ha, abs=1e-7)
        assert dec2 == pytest.approx(dec, abs=1e-7)


def test_altaz_agrees_with_astropy_without_refraction() -> None:
    when = datetime(2025, 1, 15, 21, 0, tzinfo=UTC)
    lat, lon = 37.2236, -2.5463
    lst_deg = 15.0 * local_sidereal_time_hours(when, lon)
    ra, dec = 83.8, -5.4
    alt, az = hadec_to_altaz(lst_deg - ra, dec, lat)
    time = Time(when)
    time.delta_ut1_utc = 0.0
    frame = AltAz(obstime=time, location=EarthLocation(lon=lon * u.deg, lat=lat * u.deg))
    # Our coordinates are J2000 without precession or aberration: expect agreement to
    # a third of a degree (25 years of precession), not better.
    truth = SkyCoord(ra * u.deg, dec * u.deg).transform_to(frame)
    assert angular_separation_deg(az, alt, truth.az.deg, truth.alt.deg) < 0.35


def test_sidereal_time_matches_astropy() -> None:
    when = datetime(2025, 6, 1, 3, 4, 5, tzinfo=UTC)
    time = Time(when)
    time.delta_ut1_utc = 0.0
    expected = time.sidereal_time("mean", longitude="greenwich").hour + 10.0 / 15.0
    assert local_sidereal_time_hours(when, 10.0) == pytest.approx(expected % 24, abs=1e-9)
    with pytest.raises(ValueError):
        local_sidereal_time_hours(datetime(2030, 1, 1), 0.0)


def test_pier_side() -> None:
    assert pier_side_for(30.0) == PIER_EAST
    assert pier_side_for(-30.0) == PIER_WEST
    assert pier_side_for(330.0) == PIER_WEST


def test_axes_slew_at_rate_and_hold_ra_while_tracking() -> None:
    axes = Axes.at_rest(10.0, 20.0, tracking=True, now_s=0.0).slew(30.0, 60.0, 4.0, 0.0)
    assert axes.moving(5.0) and not axes.moving(10.01)
    assert axes.radec(5.0, lst_deg=0.0) == pytest.approx((30.0, 40.0))
    assert axes.radec(100.0, lst_deg=50.0) == pytest.approx((30.0, 60.0))
    still = axes.with_tracking(False, 100.0, lst_deg=50.0)
    assert still.radec(100.0, lst_deg=50.0) == pytest.approx((30.0, 60.0))
    assert still.radec(200.0, lst_deg=51.0)[0] == pytest.approx(31.0)  # the sky drifts by


def test_move_axis_runs_until_stopped_and_dec_stops_at_the_pole() -> None:
    axes = Axes.at_rest(0.0, 80.0, tracking=False, now_s=0.0)
    axes = axes.move_axis(1, 2.0, 0.0).move_axis(0, 1.0, 0.0)
    assert axes.moving(100.0)
    assert axes.hadec(100.0, 0.0) == pytest.approx((100.0, 90.0))
    stopped = axes.move_axis(0, 0.0, 100.0).move_axis(1, 0.0, 100.0)
    assert not stopped.moving(100.0)


def test_pointing_error_and_sync() -> None:
    model = PointingModel(45.0, -30.0, 0.0, random.Random(1))
    true = model.true_from_reported(150.0, 20.0)
    assert offset_between(150.0, 20.0, *true) == pytest.approx((45.0, -30.0), abs=1e-6)
    model.sync((true[0], true[1]), true)  # a plate solve: report the true position
    assert model.error_arcsec == pytest.approx((0.0, 0.0), abs=1e-6)
    model.new_slew()
    assert model.error_arcsec == pytest.approx((0.0, 0.0), abs=1e-6)


def test_random_pointing_error_is_seeded() -> None:
    errors = []
    for _ in range(2):
        model = PointingModel(0.0, 0.0, 20.0, random.Random(7))
        model.new_slew()
        errors.append(model.error_arcsec)
    assert errors[0] == errors[1] and errors[0] != (0.0, 0.0)


def test_cooler_reaches_set_point_at_its_rate() -> None:
    cooler = Cooler(CoolerSpec(ambient_c=10.0, rate_k_per_s=0.5, max_delta_k=30.0), now_s=0.0)
    cooler.set_point(-10.0, 0.0)
    assert cooler.temperature_c(10.0) == pytest.approx(10.0)  # cooler still off
    cooler.switch(True, 10.0)
    assert cooler.temperature_c(20.0) == pytest.approx(5.0)
    assert cooler.power_percent(20.0) == 100.0
    assert cooler.temperature_c(60.0) == pytest.approx(-10.0)
    assert 0 < cooler.power_percent(60.0) < 100
    cooler.set_point(-40.0, 60.0)
    assert cooler.temperature_c(1000.0) == pytest.approx(-20.0)  # ambient - max delta
    cooler.switch(False, 1000.0)
    assert cooler.temperature_c(1100.0) == pytest.approx(10.0)
