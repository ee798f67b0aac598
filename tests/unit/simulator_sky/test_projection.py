"""Gnomonic projection: round trips, orientation, agreement with astropy's WCS."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from observatory.simulator.sky.projection import (
    TangentPlane,
    angular_separation_deg,
    offset_between,
    offset_sky,
    plane_to_sky,
    sky_to_plane,
)


@pytest.mark.parametrize("center", [(10.0, 20.0), (359.9, -45.0), (180.0, 89.5), (0.0, 0.0)])
def test_sky_to_plane_round_trip(center: tuple[float, float]) -> None:
    rng = np.random.default_rng(3)
    xi, eta = rng.uniform(-2, 2, 500), rng.uniform(-2, 2, 500)
    ra, dec = plane_to_sky(xi, eta, *center)
    xi2, eta2 = sky_to_plane(ra, dec, *center)
    np.testing.assert_allclose(xi2, xi, atol=1e-10)
    np.testing.assert_allclose(eta2, eta, atol=1e-10)


def test_points_beyond_90_degrees_have_no_image() -> None:
    xi, eta = sky_to_plane(190.0, 0.0, 0.0, 0.0)
    assert np.isnan(xi) and np.isnan(eta)


def test_pixel_round_trip_and_reference_pixel() -> None:
    plane = TangentPlane(83.6, -5.4, 3.5, 17.0, (1023.5, 1023.5))
    ra, dec = plane.pixel_to_sky(1023.5, 1023.5)
    assert float(ra) == pytest.approx(83.6, abs=1e-12)
    assert float(dec) == pytest.approx(-5.4, abs=1e-12)
    x = np.array([0.0, 2047.0, 500.3, 1800.7])
    y = np.array([0.0, 2047.0, 1500.2, 33.3])
    x2, y2 = plane.sky_to_pixel(*plane.pixel_to_sky(x, y))
    np.testing.assert_allclose(x2, x, atol=1e-7)
    np.testing.assert_allclose(y2, y, atol=1e-7)


def test_north_is_up_and_east_is_left_without_rotation() -> None:
    plane = TangentPlane(150.0, 30.0, 2.0, 0.0, (100.0, 100.0))
    x_north, y_north = plane.sky_to_pixel(150.0, 30.0 + 20 * 2.0 / 3600)
    assert float(x_north) == pytest.approx(100.0, abs=1e-6)
    assert float(y_north) == pytest.approx(120.0, abs=1e-3)
    x_east, y_east = plane.sky_to_pixel(*offset_sky(150.0, 30.0, 40.0, 0.0))
    assert float(x_east) == pytest.approx(80.0, abs=1e-3)
    assert float(y_east) == pytest.approx(100.0, abs=1e-6)


def test_rotation_turns_north_towards_east() -> None:
    plane = TangentPlane(150.0, 30.0, 2.0, 90.0, (100.0, 100.0))
    x, y = plane.sky_to_pixel(*offset_sky(150.0, 30.0, 40.0, 0.0))  # 20 pixels east
    assert float(x) == pytest.approx(100.0, abs=1e-6)
    assert float(y) == pytest.approx(120.0, abs=1e-3)


def test_matches_astropy_wcs_of_the_fits_header() -> None:
    plane = TangentPlane(201.3, 47.2, 3.5, 12.5, (1023.5, 1023.5))
    header = fits.Header()
    header.update(plane.fits_wcs_header())
    wcs = WCS(header)
    x = np.array([0.0, 100.0, 2047.0, 1500.0])
    y = np.array([0.0, 1900.0, 2047.0, 10.0])
    ra_expected, dec_expected = wcs.all_pix2world(x, y, 0)
    ra, dec = plane.pixel_to_sky(x, y)
    for a, b, c, d in zip(ra, dec, ra_expected, dec_expected, strict=True):
        assert angular_separation_deg(a, b, c, d) * 3600 < 1e-6


def test_offsets_invert() -> None:
    ra, dec = offset_sky(300.0, 60.0, 45.0, -30.0)
    east, north = offset_between(300.0, 60.0, ra, dec)
    assert (east, north) == pytest.approx((45.0, -30.0), abs=1e-9)
    assert angular_separation_deg(300.0, 60.0, ra, dec) * 3600 == pytest.approx(
        np.hypot(45.0, 30.0), rel=1e-6
    )
