"""Combine N same-shape frames into one: median, mean or sigma-clipped mean.

Memory stays bounded whatever the number of frames: the compiled kernels read 16-bit
FITS files and arrays directly, a few rows per thread; other FITS layouts and the numpy
engine work in tiles of whole rows whose height comes from a byte budget (see
``tile_rows_for_budget`` and ``sources.py``). Results match ccdproc:

- ``median``: bit-for-bit ``ccdproc.combine(frames, method="median")`` (mean of the two
  middle values for an even count), cast to ``dtype``;
- ``mean``: ``ccdproc.combine(frames, method="average")``, frames summed in order;
- ``sigma_clip``: ``ccdproc.combine(frames, method="average", sigma_clip=True, ...)``,
  see ``SigmaClip`` for the rules.

NaN values are ignored (as ccdproc's nan-functions do). The compiled engine (numba) and
the pure-numpy engine give identical results.
"""

from collections.abc import Sequence
from typing import Literal

import numpy as np

from observatory.calibration import kernels, reference
from observatory.calibration.clipping import SigmaClip
from observatory.calibration.networks import median_network, sorting_network
from observatory.calibration.sources import FrameInput, FrameStack, kernel_dtype

CombineMethod = Literal["median", "mean", "sigma_clip"]
Engine = Literal["numba", "numpy"]

DEFAULT_MEMORY_BUDGET_BYTES = 96 * 2**20
# Extra bytes per value that the numpy engine holds at once for one tile: the stacked
# values, a float64 copy, the partition/sort copy and boolean masks.
NUMPY_BYTES_PER_VALUE = 40
# Scratch per kernel block, sized for the 32 KiB L1 data cache (median) and L2 (clipping).
MEDIAN_BLOCK_BYTES = 16 * 2**10
CLIP_BLOCK_BYTES = 64 * 2**10
# Bytes of all frames that one kernel thread reads per group of rows (fits in L2).
GROUP_BYTES = 512 * 2**10


def tile_rows_for_budget(
    frame_count: int, cols: int, bytes_per_value: int, budget_bytes: int
) -> int:
    """Rows per tile so that ``frame_count`` frames of the tile fit in ``budget_bytes``.

    At least one row, even when a single row of every frame exceeds the budget.
    """
    if frame_count < 1 or cols < 1 or budget_bytes < 1:
        raise ValueError("frame_count, cols and budget_bytes must be positive")
    row_bytes = frame_count * cols * max(1, bytes_per_value)
    return max(1, budget_bytes // row_bytes)


def combine_frames(
    frames: Sequence[FrameInput],
    method: CombineMethod = "median",
    *,
    clip: SigmaClip | None = None,
    scales: Sequence[float] | np.ndarray | None = None,
    dtype: type[np.floating] | np.dtype = np.float32,
    engine: Engine = "numba",
    memory_budget_bytes: int = DEFAULT_MEMORY_BUDGET_BYTES,
) -> np.ndarray:
    """Combine frames pixel by pixel; returns a new 2-D array of ``dtype``.

    ``frames``: FITS paths (uint16/int16/float, BZERO/BSCALE/BLANK honoured), 2-D arrays
    or CCDData-like objects (``.data``; masks are refused), all of one shape.
    ``clip``: rejection rules for ``sigma_clip`` (default ``SigmaClip()``).
    ``scales``: one factor per frame, multiplied into its values before combining
    (ccdproc's ``scale``); computation then runs in float64.
    ``dtype``: float32 (products) or float64 (ccdproc's own output type).
    ``memory_budget_bytes``: bytes of frame data decoded at once (Python-side tiles).

    Raises FrameMismatch (shapes differ, no frames), FrameFormatUnsupported (a FITS file
    without a plain 2-D image), ValueError (bad arguments), OSError (unreadable file).
    """
    out_dtype = np.dtype(dtype)
    if out_dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype must be float32 or float64, got {out_dtype}")
    if method not in ("median", "mean", "sigma_clip"):
        raise ValueError(f"unknown combine method {method!r}")
    if engine not in ("numba", "numpy"):
        raise ValueError(f"unknown engine {engine!r}")
    if clip is not None and method != "sigma_clip":
        raise ValueError(f"clip applies to method='sigma_clip', not {method!r}")
    clip = clip or SigmaClip()
    with FrameStack(frames) as stack:
        factors = _checked_scales(scales, stack.count)
        rows, cols = stack.shape
        per_value = stack.tile_bytes_per_value
        if engine == "numpy":
            per_value += stack.kernel_itemsize + NUMPY_BYTES_PER_VALUE
        step = rows
        if per_value:
            step = tile_rows_for_budget(stack.count, cols, per_value, memory_budget_bytes)
        out = np.empty(stack.shape, out_dtype)
        for row0 in range(0, rows, step):
            row1 = min(rows, row0 + step)
            if engine == "numba":
                with kernels.PARALLEL_LOCK:
                    _combine_tile_numba(stack, method, clip, factors, row0, row1, out)
            else:
                out[row0:row1] = _combine_tile_numpy(stack, method, clip, factors, row0, row1)
        return out


def _checked_scales(scales: Sequence[float] | np.ndarray | None, count: int) -> np.ndarray | None:
    if scales is None:
        return None
    factors = np.asarray(scales, dtype=np.float64).reshape(-1)
    if factors.shape != (count,):
        raise ValueError(f"scales has {factors.size} values for {count} frames")
    if not np.all(np.isfinite(factors)):
        raise ValueError("scales must be finite")
    return factors


def _median_offsets(stack: FrameStack, scales: np.ndarray | None) -> tuple[np.dtype, float, float]:
    """Work dtype, offset added before sorting, offset added to the median.

    Unscaled 16-bit files sort their raw int16 words and add BZERO to the median, which
    is exact; scaled values need (value + BZERO) * scale in float64 first.
    """
    if scales is not None:
        return np.dtype(np.float64), stack.offset, 0.0
    work = np.dtype(np.int16) if stack.fast_int16 else kernel_dtype(stack.value_dtype)
    return work, 0.0, stack.offset


def _block_columns(frame_count: int, itemsize: int, budget_bytes: int, cols: int) -> int:
    block = budget_bytes // (frame_count * itemsize) // 16 * 16
    return int(min(cols, max(16, block)))


def group_rows(frame_count: int, cols: int, itemsize: int) -> int:
    """Rows that one kernel thread reads at once: about ``GROUP_BYTES`` of every frame."""
    return max(1, GROUP_BYTES // (frame_count * cols * itemsize))


def _combine_tile_numba(
    stack: FrameStack,
    method: CombineMethod,
    clip: SigmaClip,
    scales: np.ndarray | None,
    row0: int,
    row1: int,
    out: np.ndarray,
) -> None:
    source = stack.kernel_frames(row0, row1)
    frames = source.as_tuple()
    n, cols = stack.count, stack.shape[1]
    group = group_rows(n, cols, stack.kernel_itemsize)
    factors = scales if scales is not None else np.ones(n)
    scaled = scales is not None
    if method == "median":
        work, load_offset, out_offset = _median_offsets(stack, scales)
        block = _block_columns(n, work.itemsize, MEDIAN_BLOCK_BYTES, cols)
        failures = kernels.median_rows(
            frames, row0, row1, group, np.empty(0, work), work.kind == "f", load_offset,
            factors, scaled, out_offset, median_network(n), sorting_network(n), block, out,
        )  # fmt: skip
    elif method == "mean":
        block = _block_columns(n, 8, MEDIAN_BLOCK_BYTES, cols)
        failures = kernels.mean_rows(
            frames, row0, row1, group, source.offset, factors, scaled, block, out
        )
    else:
        median_centre = clip.centre == "median"
        block = _block_columns(n, 17 if median_centre else 9, CLIP_BLOCK_BYTES, cols)
        iterations = -1 if clip.max_iterations is None else clip.max_iterations
        # Integer frames hold no NaN or infinity (offset and scales are finite).
        finite = stack.fast_int16 or np.dtype(stack.value_dtype).kind in "iub"
        failures = kernels.sigma_clip_rows(
            frames, row0, row1, group, source.offset, factors, scaled, float(clip.sigma_low),
            float(clip.sigma_high), iterations, median_centre, sorting_network(n), finite,
            block, out,
        )  # fmt: skip
    if failures:
        raise OSError(f"{failures} reads of frame data failed (file truncated or unreadable)")


def _combine_tile_numpy(
    stack: FrameStack,
    method: CombineMethod,
    clip: SigmaClip,
    scales: np.ndarray | None,
    row0: int,
    row1: int,
) -> np.ndarray:
    values = np.stack([stack.values(k, row0, row1) for k in range(stack.count)])
    if method == "median":
        work, load_offset, out_offset = _median_offsets(stack, scales)
        return reference.median_tile(values.astype(work), load_offset, out_offset, scales)
    if method == "mean":
        return reference.mean_tile(values, stack.offset, scales)
    return reference.sigma_clip_tile(values, clip, stack.offset, scales)
