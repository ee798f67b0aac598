"""combine_frames against ccdproc and astropy on seeded synthetic frames."""

import warnings

import numpy as np
import pytest
from astropy.nddata import CCDData
from astropy.stats import sigma_clip

from observatory.calibration import SigmaClip, combine_frames
from tests.unit.calibration.conftest import camera_frames, ccdproc_combine, write_frames


@pytest.mark.parametrize("count", [3, 4, 5, 8, 20])
def test_median_of_uint16_files_is_ccdproc_bit_for_bit(tmp_path, rng, count):
    paths = write_frames(tmp_path, camera_frames(rng, count, (23, 41), 1000, 25))
    expected = ccdproc_combine(paths, method="median")
    assert np.array_equal(combine_frames(paths, "median", dtype=np.float64), expected)
    # float32 holds every median of 16-bit values exactly (halves included).
    assert np.array_equal(combine_frames(paths, "median"), expected.astype(np.float32))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16, np.uint16])
def test_median_of_arrays_is_ccdproc_bit_for_bit(rng, dtype):
    frames = [(rng.normal(300, 40, (19, 27))).astype(dtype) for _ in range(6)]
    ccds = [CCDData(frame, unit="adu") for frame in frames]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import ccdproc

        expected = ccdproc.combine(ccds, method="median").data
    assert np.array_equal(combine_frames(frames, "median", dtype=np.float64), expected)
    assert np.array_equal(combine_frames(ccds, "median", dtype=np.float64), expected)


def test_float_fits_files_and_scaled_int16_match_ccdproc(tmp_path, rng):
    floats = [rng.normal(0, 1, (17, 21)).astype(np.float32) for _ in range(5)]
    float_paths = write_frames(tmp_path, floats, prefix="float")
    expected = ccdproc_combine(float_paths, method="median")
    assert np.array_equal(combine_frames(float_paths, "median", dtype=np.float64), expected)
    raw = [rng.integers(-3000, 3000, (17, 21)).astype(np.int16) for _ in range(4)]
    scaled = write_frames(tmp_path, raw, prefix="scaled", BSCALE=0.37, BZERO=12.5)
    for method in ("median", "average"):
        ours = "mean" if method == "average" else method
        expected = ccdproc_combine(scaled, method=method)
        assert np.array_equal(combine_frames(scaled, ours, dtype=np.float64), expected)


@pytest.mark.parametrize("count", [3, 10])
def test_mean_matches_ccdproc_average(tmp_path, rng, count):
    paths = write_frames(tmp_path, camera_frames(rng, count, (20, 30), 500, 12))
    expected = ccdproc_combine(paths, method="average")
    assert np.array_equal(combine_frames(paths, "mean", dtype=np.float64), expected)


@pytest.mark.parametrize(("low", "high"), [(3.0, 3.0), (2.0, 1.5)])
def test_sigma_clip_matches_ccdproc_sigma_clip(tmp_path, rng, low, high):
    paths = write_frames(tmp_path, camera_frames(rng, 12, (25, 33), 800, 20))
    expected = ccdproc_combine(
        paths,
        method="average",
        sigma_clip=True,
        sigma_clip_low_thresh=low,
        sigma_clip_high_thresh=high,
    )
    clip = SigmaClip(sigma_low=low, sigma_high=high)
    result = combine_frames(paths, "sigma_clip", clip=clip, dtype=np.float64)
    assert np.array_equal(result, expected)
    # The hot pixels are gone: nothing near 60000 / 12 above the level survives.
    assert result.max() < 900


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


@pytest.mark.parametrize("centre", ["mean", "median"])
@pytest.mark.parametrize("iterations", [1, 3, None])
def test_sigma_clip_rounds_follow_astropy(rng, centre, iterations):
    stack = rng.normal(100, 5, (15, 21, 26))
    outliers = rng.random(stack.shape) < 0.08
    stack[outliers] += rng.normal(0, 60, outliers.sum())
    stack[2, :5, :5] = 400.0
    stack[rng.random(stack.shape) < 0.05] = 180.0
    clip = SigmaClip(sigma_low=2.0, sigma_high=2.5, max_iterations=iterations, centre=centre)
    expected = astropy_clipped_mean(stack, clip)
    result = combine_frames(list(stack), "sigma_clip", clip=clip, dtype=np.float64)
    # Same rejections; the mean may differ in the last bit where astropy sums in
    # another order (its median partly reorders the values).
    np.testing.assert_allclose(result, expected, rtol=1e-13)


def test_nan_values_are_ignored_like_nanmedian_and_nanmean(rng):
    stack = rng.normal(10, 1, (7, 9, 11)).astype(np.float32)
    stack[rng.random(stack.shape) < 0.2] = np.nan
    stack[:, 0, 0] = np.nan  # no value left: NaN out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        median = np.nanmedian(stack.astype(np.float64), axis=0)
        mean = np.nanmean(stack.astype(np.float64), axis=0)
    for engine in ("numba", "numpy"):
        ours = combine_frames(list(stack), "median", dtype=np.float64, engine=engine)
        np.testing.assert_array_equal(ours, median)
        ours = combine_frames(list(stack), "mean", dtype=np.float64, engine=engine)
        np.testing.assert_allclose(ours, mean, rtol=1e-15)
        assert np.isnan(ours[0, 0])


def test_scales_multiply_each_frame_before_combining(tmp_path, rng):
    paths = write_frames(tmp_path, camera_frames(rng, 5, (12, 14), 2000, 30))
    scales = np.array([0.5, 1.0, 1.25, 2.0, 0.8])
    expected = ccdproc_combine(paths, method="median", scale=scales)
    ours = combine_frames(paths, "median", scales=scales, dtype=np.float64)
    assert np.array_equal(ours, expected)
