"""The TAN refit recovers a known WCS from matched stars."""

from __future__ import annotations

import numpy as np
import pytest

from observatory.platesolve.wcsfit import Pairs, cross_match, fit_tan, refit_tan, tan_wcs
from observatory.simulator.sky.projection import angular_separation_deg


def known_pairs(rng: np.random.Generator, count: int = 40, noise_px: float = 0.05) -> tuple:
    scale_deg = 2.0 / 3600.0
    angle = np.radians(30.0)
    cd = scale_deg * np.array([[-np.cos(angle), np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    truth = tan_wcs((250.0, 60.0), (1024.5, 1024.5), cd)
    x, y = rng.uniform(1, 2048, count), rng.uniform(1, 2048, count)
    ra, dec = truth.all_pix2world(x, y, 1)
    x_seen = x + rng.normal(0, noise_px, count)
    y_seen = y + rng.normal(0, noise_px, count)
    index = np.arange(count)
    return truth, Pairs(x_seen, y_seen, ra, dec, index, index)


def test_fit_recovers_centre_scale_and_rotation_from_a_wrong_start() -> None:
    truth, pairs = known_pairs(np.random.default_rng(3))
    fit = fit_tan(pairs, (1024.5, 1024.5), (250.05, 59.97))
    ra, dec = fit.wcs.all_pix2world([[1024.5, 1024.5]], 1)[0]
    assert 3600 * angular_separation_deg(ra, dec, 250.0, 60.0) < 0.05
    assert np.allclose(fit.wcs.wcs.cd, truth.wcs.cd, rtol=1e-3, atol=1e-8)
    assert fit.rms_px == pytest.approx(0.05 * np.sqrt(2), rel=0.3)


def test_refit_drops_a_star_paired_with_the_wrong_source() -> None:
    _, pairs = known_pairs(np.random.default_rng(4))
    x = pairs.x_px.copy()
    x[0] += 2.5
    bad = Pairs(x, pairs.y_px, pairs.ra_deg, pairs.dec_deg, pairs.star_index, pairs.source_index)
    fit = refit_tan(bad, (1024.5, 1024.5), (250.0, 60.0))
    assert len(fit.pairs) == len(pairs) - 1 and 0 not in fit.pairs.star_index
    assert fit.rms_px < 0.15


def test_cross_match_pairs_each_source_once_with_its_nearest_star() -> None:
    truth, pairs = known_pairs(np.random.default_rng(5), count=10)
    # Two stars one pixel apart compete for one source: the closer one wins.
    ra = np.append(
        pairs.ra_deg, truth.all_pix2world([[pairs.x_px[0] + 1.0, pairs.y_px[0]]], 1)[0][0]
    )
    dec = np.append(pairs.dec_deg, pairs.dec_deg[0])
    matched = cross_match(truth, ra, dec, pairs.x_px, pairs.y_px, radius_px=3.0)
    assert len(matched) == 10 and 10 not in matched.star_index
    assert np.array_equal(matched.star_index, matched.source_index)


def test_too_few_pairs_is_an_error() -> None:
    _, pairs = known_pairs(np.random.default_rng(6), count=5)
    with pytest.raises(ValueError, match="5 matched stars"):
        fit_tan(pairs, (1024.5, 1024.5), (250.0, 60.0))
