"""The compiled and the pure-numpy engines give identical bits, tile by tile."""

import numpy as np
import pytest

from observatory.calibration import SigmaClip, combine_frames
from tests.unit.calibration.conftest import camera_frames, write_frames

METHODS = [
    ("median", None),
    ("mean", None),
    ("sigma_clip", SigmaClip()),
    ("sigma_clip", SigmaClip(2.0, 2.0, None, "median")),
]


def both_engines(frames, method, clip, **options):
    compiled = combine_frames(frames, method, clip=clip, engine="numba", **options)
    numpy = combine_frames(frames, method, clip=clip, engine="numpy", **options)
    return compiled, numpy


@pytest.mark.parametrize(("method", "clip"), METHODS)
def test_engines_agree_on_uint16_files(tmp_path, rng, method, clip):
    paths = write_frames(tmp_path, camera_frames(rng, 9, (31, 45), 1200, 40))
    compiled, numpy = both_engines(paths, method, clip, dtype=np.float64)
    assert np.array_equal(compiled, numpy)


@pytest.mark.parametrize(("method", "clip"), METHODS)
@pytest.mark.parametrize("dtype", [np.uint16, np.float32, np.float64, np.int32])
def test_engines_agree_on_arrays_with_nans_and_scales(rng, method, clip, dtype):
    stack = rng.normal(500, 50, (8, 13, 17))
    stack[0, 3, :] = 5000
    if np.dtype(dtype).kind == "f":
        stack[rng.random(stack.shape) < 0.1] = np.nan
    else:
        stack = np.rint(stack)
    frames = [frame.astype(dtype) for frame in stack]
    scales = rng.uniform(0.5, 2.0, len(frames))
    for options in ({}, {"scales": scales}):
        compiled, numpy = both_engines(frames, method, clip, dtype=np.float64, **options)
        np.testing.assert_array_equal(compiled, numpy)


@pytest.mark.parametrize(("method", "clip"), METHODS)
def test_tiles_that_do_not_divide_the_height(tmp_path, rng, method, clip):
    """37 rows in tiles of 1, 5 and 37 rows (budget-driven), on a layout that needs a
    Python-side decoded tile (BSCALE), give the same result as one whole tile."""
    raw = [rng.integers(-2000, 2000, (37, 29)).astype(np.int16) for _ in range(6)]
    paths = write_frames(tmp_path, raw, BSCALE=0.5, BZERO=1000.5)
    row_bytes = 6 * 29 * (2 + 4)  # raw int16 + decoded float32 per value, all frames
    results = []
    for rows_per_tile in (1, 5, 37):
        for engine in ("numba", "numpy"):
            budget = rows_per_tile * row_bytes * (1 if engine == "numba" else 15)
            results.append(
                combine_frames(paths, method, clip=clip, engine=engine, memory_budget_bytes=budget)
            )
    for result in results[1:]:
        np.testing.assert_array_equal(result, results[0])


def test_kernel_row_groups_cover_odd_heights(tmp_path, rng, monkeypatch):
    """Thread row groups of 3 rows over 41 rows (last group short) read every row."""
    import observatory.calibration.stacking as stacking

    paths = write_frames(tmp_path, camera_frames(rng, 5, (41, 19), 700, 9))
    expected = combine_frames(paths, "median", engine="numpy")
    monkeypatch.setattr(stacking, "GROUP_BYTES", 3 * 5 * 19 * 2)
    assert stacking.group_rows(5, 19, 2) == 3
    for method in ("median", "mean", "sigma_clip"):
        compiled = combine_frames(paths, method)
        assert np.array_equal(compiled, combine_frames(paths, method, engine="numpy"))
    assert np.array_equal(combine_frames(paths, "median"), expected)


def test_threads_may_combine_at_the_same_time(tmp_path, rng):
    """Parallel kernels from several threads at once run one after another, not crash."""
    from concurrent.futures import ThreadPoolExecutor

    paths = write_frames(tmp_path, camera_frames(rng, 5, (64, 64), 900, 15))
    expected = combine_frames(paths, "median")
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: combine_frames(paths, "median"), range(8)))
    for result in results:
        assert np.array_equal(result, expected)
