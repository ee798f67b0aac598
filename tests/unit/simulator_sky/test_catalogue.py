"""Tycho-2 cone searches through query-starkd."""

from __future__ import annotations

import numpy as np
import pytest

from observatory.simulator.sky.catalogue import (
    CatalogueUnavailable,
    StarCatalogue,
    derived_magnitude,
    open_catalogue,
)
from observatory.simulator.sky.projection import angular_separation_deg


def test_cone_returns_tycho_stars_with_magnitudes(catalogue: StarCatalogue) -> None:
    stars = catalogue.cone(180.0, 30.0, 1.0)
    assert 15 <= len(stars) <= 80  # about 9 per square degree
    assert not stars.magnitudes_derived
    assert stars.mag.min() > 1.0 and stars.mag.max() < 13.0
    distances = [
        angular_separation_deg(180.0, 30.0, r, d)
        for r, d in zip(stars.ra_deg, stars.dec_deg, strict=True)
    ]
    assert max(distances) <= 1.0


def test_cone_has_no_duplicates_and_wraps_ra(catalogue: StarCatalogue) -> None:
    stars = catalogue.cone(0.05, -20.0, 1.0)
    keys = set(zip(np.round(stars.ra_deg, 7), np.round(stars.dec_deg, 7), strict=True))
    assert len(keys) == len(stars)
    assert (stars.ra_deg > 359.0).any() and (stars.ra_deg < 1.0).any()


def test_nearby_cones_share_one_cached_query(catalogue: StarCatalogue) -> None:
    catalogue.cone(100.0, 10.0, 1.0)
    before = catalogue._cached_query.cache_info()
    stars = catalogue.cone(100.02, 10.01, 1.0)
    after = catalogue._cached_query.cache_info()
    assert after.hits == before.hits + 1 and after.misses == before.misses
    assert len(stars) > 0


def test_a_bright_known_star_is_where_it_should_be(catalogue: StarCatalogue) -> None:
    # Betelgeuse (alpha Ori): RA 88.7929, Dec +7.4071, VT about 1.7-2.
    stars = catalogue.cone(88.7929, 7.4071, 0.05)
    assert len(stars) >= 1
    brightest = int(np.argmin(stars.mag))
    assert stars.mag[brightest] < 3.0
    assert (
        angular_separation_deg(88.7929, 7.4071, stars.ra_deg[brightest], stars.dec_deg[brightest])
        * 3600
        < 2.0
    )


def test_missing_index_files_are_an_error() -> None:
    with pytest.raises(CatalogueUnavailable):
        StarCatalogue("/nonexistent/index-*.fits")


def test_derived_magnitudes_are_deterministic_and_plausible() -> None:
    rng = np.random.default_rng(5)
    ra, dec = rng.uniform(0, 360, 2000), rng.uniform(-90, 90, 2000)
    mags = derived_magnitude(ra, dec)
    np.testing.assert_array_equal(mags, derived_magnitude(ra, dec))
    assert mags.min() >= 4.0 and mags.max() <= 11.5
    assert np.median(mags) > 10.0  # faint stars dominate, as in Tycho-2


def test_without_index_files_the_simulator_warns_and_runs_starless(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level("WARNING"):
        assert open_catalogue("/nonexistent/index-*.fits") is None
    assert "astrometry-data-tycho2" in caplog.text
