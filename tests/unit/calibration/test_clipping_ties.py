"""Sigma clipping against astropy where it is hardest: values exactly on a clip bound.

Each pixel's values are built so that the centre and the standard deviation are exact in
floating point and one value lies exactly at ``centre +/- sigma * std``: such a value is
kept (the bounds are inclusive, as in astropy's ``sigma_clip``). Pixels of plain noise
surround them, and every engine must agree with astropy on all of them.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from astropy.stats import sigma_clip

from observatory.calibration import SigmaClip, combine_frames

SHAPE = (9, 11)
# (name, values of one pixel, centre, sigma_low, sigma_high, mean kept)
TIES = [
    # mean 1, std 3: 10 is exactly 3 sigma above.
    ("mean-upper", [0.0] * 9 + [10.0], "mean", 3.0, 3.0, 1.0),
    # mean -1, std 3: -10 is exactly 3 sigma below.
    ("mean-lower", [0.0] * 9 + [-10.0], "mean", 3.0, 3.0, -1.0),
    # mean 1, std 2: 5 is exactly 2 sigma above, 0 exactly 0.5 sigma below.
    ("mean-both", [0.0] * 4 + [5.0], "mean", 0.5, 2.0, 1.0),
    # median 0, std 2: 5 is exactly 2.5 sigma above the median.
    ("median-upper", [0.0] * 4 + [5.0], "median", 2.5, 2.5, 1.0),
    ("median-lower", [0.0] * 4 + [-5.0], "median", 2.5, 2.5, -1.0),
]


def astropy_clipped_mean(stack: np.ndarray, clip: SigmaClip) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clipped = sigma_clip(
            stack,
            sigma_lower=clip.sigma_low,
            sigma_upper=clip.sigma_high,
            maxiters=clip.max_iterations,
            cenfunc=clip.centre,
            stdfunc="std",
            axis=0,
        )
    return np.ma.mean(clipped, axis=0).filled(np.nan)


def stack_with_ties(rng: np.random.Generator, values: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Frames whose pixels hold ``values`` shuffled, times a power of two plus a whole
    offset (both exact), except a quarter of plain noise; and the mask of tie pixels."""
    count = len(values)
    stack = rng.normal(500.0, 20.0, (count, *SHAPE))
    tied = rng.random(SHAPE) < 0.75
    for y, x in zip(*np.nonzero(tied), strict=True):
        scale = float(2 ** rng.integers(0, 4))
        offset = float(rng.integers(0, 1000))
        stack[:, y, x] = rng.permutation(values) * scale + offset
    return stack, tied


@pytest.mark.parametrize("engine", ["numba", "numpy"])
@pytest.mark.parametrize("iterations", [1, 3, None])
@pytest.mark.parametrize(
    ("values", "centre", "low", "high", "kept_mean"),
    [t[1:] for t in TIES],
    ids=[t[0] for t in TIES],
)
def test_a_value_exactly_on_the_bound_is_kept_as_astropy_keeps_it(
    rng, engine, iterations, values, centre, low, high, kept_mean
) -> None:
    stack, tied = stack_with_ties(rng, values)
    clip = SigmaClip(sigma_low=low, sigma_high=high, max_iterations=iterations, centre=centre)
    result = combine_frames(list(stack), "sigma_clip", clip=clip, dtype=np.float64, engine=engine)
    np.testing.assert_allclose(result, astropy_clipped_mean(stack, clip), rtol=1e-13)
    # Nothing rejected at the tie pixels: the mean of all their values.
    np.testing.assert_array_equal(result[tied], stack.mean(axis=0)[tied])
    assert np.mean(values) == kept_mean


@pytest.mark.parametrize("engine", ["numba", "numpy"])
@pytest.mark.parametrize("iterations", [3, None])
def test_a_tie_that_appears_in_a_later_round_is_kept(rng, engine, iterations) -> None:
    # Round one rejects the far outlier; round two then sees mean 1, std 3 and 10 exactly
    # 3 sigma above it.
    values = [0.0] * 9 + [10.0, 5000.0]
    stack, tied = stack_with_ties(rng, values)
    clip = SigmaClip(sigma_low=3.0, sigma_high=3.0, max_iterations=iterations)
    result = combine_frames(list(stack), "sigma_clip", clip=clip, dtype=np.float64, engine=engine)
    np.testing.assert_allclose(result, astropy_clipped_mean(stack, clip), rtol=1e-13)
    without_outlier = np.where(stack == stack.max(axis=0), np.nan, stack)
    np.testing.assert_allclose(result[tied], np.nanmean(without_outlier, axis=0)[tied], rtol=1e-13)


def test_one_round_with_an_outlier_agrees_with_astropy(rng) -> None:
    values = [0.0] * 9 + [10.0, 5000.0]
    stack, _ = stack_with_ties(rng, values)
    clip = SigmaClip(sigma_low=3.0, sigma_high=3.0, max_iterations=1)
    result = combine_frames(list(stack), "sigma_clip", clip=clip, dtype=np.float64)
    np.testing.assert_allclose(result, astropy_clipped_mean(stack, clip), rtol=1e-13)
