"""The engine on star lists: SIP only when the TAN fit leaves residuals it is for."""

from __future__ import annotations

import glob

import numpy as np
import pytest
from astropy.wcs import WCS, Sip

from observatory.platesolve.engine import SIP_WHEN_RMS_PX, EngineSolution, solve_sources
from observatory.platesolve.hints import Hints
from observatory.platesolve.sources import Sources
from observatory.simulator.sky.catalogue import CatalogueUnavailable, StarCatalogue
from tests.unit.platesolve.conftest import INDEX_GLOB, require_engine

SIZE_PX = 1024
SCALE_ARCSEC = 7.0
CENTRE_DEG = (150.0, 20.0)


def camera_wcs(distortion: float) -> WCS:
    """A TAN WCS at 7"/px, with a quadratic SIP term of ``distortion`` when non-zero."""
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN-SIP", "DEC--TAN-SIP"] if distortion else ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = CENTRE_DEG
    wcs.wcs.crpix = [(SIZE_PX + 1) / 2.0] * 2
    wcs.wcs.cd = np.array([[-SCALE_ARCSEC, 0.0], [0.0, SCALE_ARCSEC]]) / 3600.0
    if distortion:
        a = np.zeros((3, 3))
        b = np.zeros((3, 3))
        a[2, 0], b[0, 2] = distortion, distortion
        wcs.sip = Sip(a, b, None, None, wcs.wcs.crpix)
    wcs.wcs.set()
    return wcs


def star_list(wcs: WCS) -> Sources:
    """Tycho-2 stars of the field where ``wcs`` puts them, brightest first, as sources."""
    try:
        stars = StarCatalogue(INDEX_GLOB).cone(*CENTRE_DEG, 1.5)
    except CatalogueUnavailable as error:
        pytest.skip(f"no star catalogue here: {error}")
    x, y = wcs.all_world2pix(stars.ra_deg, stars.dec_deg, 1)
    inside = (x > 1) & (x < SIZE_PX) & (y > 1) & (y < SIZE_PX)
    order = np.argsort(stars.mag[inside])
    x, y = x[inside][order] - 1.0, y[inside][order] - 1.0  # 0-based, as sep gives them
    flux = 10 ** (-0.4 * stars.mag[inside][order]) * 1e6
    ones = np.ones_like(x)
    return Sources(x, y, flux, flux / 10, ones, ones, np.zeros(len(x), dtype=np.int64),
                   100.0, 5.0, (SIZE_PX, SIZE_PX), np.zeros((1, 1), dtype=np.float32))  # fmt: skip


def solve(wcs: WCS) -> EngineSolution:
    require_engine()
    files = tuple(sorted(glob.glob(INDEX_GLOB)))
    hints = Hints(CENTRE_DEG[0] + 0.3, CENTRE_DEG[1] - 0.2, 2.0, SCALE_ARCSEC)
    found = solve_sources(star_list(wcs), hints, files)
    assert found is not None
    return found


def test_an_undistorted_field_gets_a_tan_solution_that_fits_to_a_hundredth_of_a_pixel() -> None:
    found = solve(camera_wcs(0.0))
    assert not found.fit.wcs.has_distortion
    assert found.fit.rms_px < 0.01 and len(found.fit.pairs) >= 20


def test_a_distorted_field_gets_sip_because_it_fits_better() -> None:
    distortion = 2e-5  # 5 px at the edges of 1024 px
    found = solve(camera_wcs(distortion))
    assert found.fit.wcs.sip is not None
    assert found.fit.rms_px < SIP_WHEN_RMS_PX
