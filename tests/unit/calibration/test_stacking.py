"""combine_frames against ccdproc and astropy on seeded synthetic frames."""

import re
import warnings

import numpy as np
import pytest
from astropy.nddata import CCDData
from astropy.stats import sigma_clip

from observatory.calibration import SigmaClip, combine_frames, stacking, tile_rows_for_budget
from observatory.calibration.stacking import CombineMethod
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
    ours: CombineMethod
    for method, ours in (("median", "median"), ("average", "mean")):
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


@pytest.mark.parametrize("engine", ["numba", "numpy"])
def test_scales_multiply_each_frame_before_combining(tmp_path, rng, engine):
    paths = write_frames(tmp_path, camera_frames(rng, 5, (12, 14), 2000, 30))
    scales = np.array([0.5, 1.0, 1.25, 2.0, 0.8])
    expected = ccdproc_combine(paths, method="median", scale=scales)
    ours = combine_frames(paths, "median", scales=scales, dtype=np.float64, engine=engine)
    assert np.array_equal(ours, expected)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"dtype": np.int16}, "dtype must be float32 or float64, got int16"),
        ({"method": "mode"}, "unknown combine method 'mode'"),
        ({"engine": "gpu"}, "unknown engine 'gpu'"),
        (
            {"method": "median", "clip": SigmaClip()},
            "clip applies to method='sigma_clip', not 'median'",
        ),
        (
            {"method": "mean", "clip": SigmaClip()},
            "clip applies to method='sigma_clip', not 'mean'",
        ),
        ({"scales": [1.0, 2.0]}, "scales has 2 values for 3 frames"),
        ({"scales": [[1.0], [2.0], [3.0]]}, None),
        ({"scales": [1.0, np.nan, 1.0]}, "scales must be finite"),
        ({"scales": [1.0, np.inf, 1.0]}, "scales must be finite"),
    ],
)
def test_bad_arguments_are_refused_naming_them(rng, options, message):
    frames = [rng.normal(100, 5, (4, 6)) for _ in range(3)]
    if message is None:  # one factor per frame, in any shape that flattens to that
        expected = combine_frames(frames, scales=[1.0, 2.0, 3.0])
        np.testing.assert_array_equal(combine_frames(frames, **options), expected)
        return
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        combine_frames(frames, **options)


def test_float32_and_float64_results_are_given_in_that_type(rng):
    frames = [rng.normal(100, 5, (4, 6)) for _ in range(3)]
    for dtype in (np.float32, np.float64):
        for method in ("median", "mean", "sigma_clip"):
            for engine in ("numba", "numpy"):
                result = combine_frames(frames, method, dtype=dtype, engine=engine)
                assert result.dtype == dtype


@pytest.mark.parametrize(
    ("counts", "refused"),
    [
        ((0, 10, 100), True),
        ((1, 0, 100), True),
        ((1, 10, 0), True),
        ((1, 1, 1), False),
    ],
)
def test_tile_rows_need_a_frame_a_column_and_a_byte(counts, refused):
    frame_count, cols, budget = counts
    if not refused:
        assert tile_rows_for_budget(frame_count, cols, 8, budget) == 1
        return
    with pytest.raises(ValueError, match=r"^frame_count, cols and budget_bytes must be positive$"):
        tile_rows_for_budget(frame_count, cols, 8, budget)


def test_a_value_of_no_bytes_counts_as_one_byte():
    # Frames whose values are all decoded by the kernels take no Python-side bytes.
    assert tile_rows_for_budget(2, 5, 0, 100) == 10


def test_a_kernel_thread_reads_at_least_one_row():
    assert stacking.group_rows(4, 4096, 2) == stacking.GROUP_BYTES // (4 * 4096 * 2)
    assert stacking.group_rows(1000, 4096, 8) == 1


@pytest.mark.parametrize("frame_count", [1, 3, 20, 200])
@pytest.mark.parametrize("itemsize", [2, 8, 17])
def test_a_kernel_block_is_the_widest_multiple_of_16_columns_that_fits_its_scratch(
    frame_count, itemsize
):
    budget = stacking.CLIP_BLOCK_BYTES
    block = stacking._block_columns(frame_count, itemsize, budget, 10**9)
    assert block % 16 == 0
    if block > 16:  # never narrower than 16 columns, even past the budget
        assert block * frame_count * itemsize <= budget
        assert (block + 16) * frame_count * itemsize > budget
    else:
        assert 32 * frame_count * itemsize > budget
    # Never wider than the frame.
    assert stacking._block_columns(frame_count, itemsize, budget, 7) == 7


@pytest.mark.parametrize("engine", ["numba", "numpy"])
def test_the_default_method_is_the_median_and_the_mean_keeps_every_value(engine):
    # 20 frames, one far outlier per pixel: 3-sigma clipping would reject it (its
    # deviation is 4.4 sigma), the mean must not, the median ignores it.
    stack = np.zeros((20, 3, 4))
    stack[7] = 1000.0
    frames = list(stack)
    np.testing.assert_array_equal(combine_frames(frames, engine=engine), np.zeros((3, 4)))
    mean = combine_frames(frames, "mean", engine=engine, dtype=np.float64)
    np.testing.assert_array_equal(mean, np.full((3, 4), 50.0))
    clipped = combine_frames(frames, "sigma_clip", engine=engine, dtype=np.float64)
    np.testing.assert_array_equal(clipped, np.zeros((3, 4)))
