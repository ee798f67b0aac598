"""Pure-numpy twins of the compiled kernels, for checking and for machines without numba.

Each function takes a tile of decoded values shaped (frames, rows, cols) and performs
the same floating-point operations, in the same order, as its kernel in ``kernels.py``,
so the two engines give identical bits. Frames are summed one after another (never
pairwise), as the kernels and ccdproc's float64 stack do.
"""

import warnings

import numpy as np
from astropy.stats import sigma_clipped_stats

from observatory.calibration.clipping import SigmaClip


def shift_and_scale(values: np.ndarray, offset: float, scales: np.ndarray | None) -> np.ndarray:
    """(decoded + offset) * scales[k]: BZERO first, then the per-frame scaling."""
    if offset != 0.0:
        values = values + offset
    if scales is not None:
        values = values * scales[:, None, None]
    return values


def median_tile(
    values: np.ndarray,
    load_offset: float = 0.0,
    out_offset: float = 0.0,
    scales: np.ndarray | None = None,
) -> np.ndarray:
    """Per-pixel median over axis 0 (+ out_offset) in float64, NaNs ignored.

    ``values`` are sorted in their own dtype (float64 when ``scales`` or ``load_offset``
    apply), as ``kernels.median_rows`` does."""
    if scales is not None or load_offset != 0.0:
        values = values.astype(np.float64)
    work = shift_and_scale(values, load_offset, scales)
    count = work.shape[0]
    missing = np.isnan(work) if work.dtype.kind == "f" else None
    if missing is None or not missing.any():
        low, high = (count - 1) // 2, count // 2
        part = np.partition(work, (low, high), axis=0)
        middle = part[low].astype(np.float64) + part[high].astype(np.float64)
        return middle * 0.5 + out_offset
    ordered = np.sort(np.where(missing, np.inf, work), axis=0)
    valid = count - missing.sum(axis=0)
    low = np.maximum(valid - 1, 0) // 2
    high = np.minimum(valid // 2, count - 1)
    first = np.take_along_axis(ordered, low[None], axis=0)[0].astype(np.float64)
    second = np.take_along_axis(ordered, high[None], axis=0)[0].astype(np.float64)
    return np.where(valid == 0, np.nan, (first + second) * 0.5 + out_offset)


def mean_tile(
    values: np.ndarray, offset: float = 0.0, scales: np.ndarray | None = None
) -> np.ndarray:
    """Per-pixel mean over axis 0 in float64, NaNs ignored (NaN where none is left)."""
    work = shift_and_scale(values.astype(np.float64), offset, scales)
    return _kept_mean(work, work == work)


def _kept_mean(work: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Per-pixel mean of the kept values, frames summed in order (NaN where none is kept)."""
    total = np.zeros(work.shape[1:])
    count = np.zeros(work.shape[1:])
    for frame, kept in zip(work, keep, strict=True):
        total += np.where(kept, frame, 0.0)
        count += np.where(kept, 1.0, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count


def _kept_mean_std(work: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = _kept_mean(work, keep)
    count = keep.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        squares = np.zeros(work.shape[1:])
        for frame, kept in zip(work, keep, strict=True):
            deviation = frame - mean
            squares += np.where(kept, deviation * deviation, 0.0)
        return mean, np.sqrt(squares / count)


def _interval_median(ordered: np.ndarray, first: np.ndarray, stop: np.ndarray) -> np.ndarray:
    size = stop - first
    last = ordered.shape[0] - 1
    low = np.clip(first + (size - 1) // 2, 0, last)
    high = np.clip(first + size // 2, 0, last)
    a = np.take_along_axis(ordered, low[None], axis=0)[0]
    b = np.take_along_axis(ordered, high[None], axis=0)[0]
    return np.where(size > 0, (a + b) * 0.5, np.nan)


def sigma_clip_tile(
    values: np.ndarray,
    clip: SigmaClip,
    offset: float = 0.0,
    scales: np.ndarray | None = None,
) -> np.ndarray:
    """Mean of the values inside each pixel's final sigma-clipping bounds (float64).

    Same rounds and stopping rules as ``kernels.sigma_clip_rows``.
    """
    work = shift_and_scale(values.astype(np.float64), offset, scales)
    keep = np.isfinite(work)
    median_centre = clip.centre == "median"
    first = np.zeros(work.shape[1:], np.int64)
    stop = keep.sum(axis=0)
    ordered = np.sort(np.where(keep, work, np.inf), axis=0) if median_centre else work
    active = np.ones(work.shape[1:], bool)
    lower = np.full(work.shape[1:], np.nan)
    upper = np.full(work.shape[1:], np.nan)
    rounds = 0
    while True:
        mean, std = _kept_mean_std(work, keep)
        centre = _interval_median(ordered, first, stop) if median_centre else mean
        with np.errstate(invalid="ignore"):
            lower = np.where(active, centre - clip.sigma_low * std, lower)
            upper = np.where(active, centre + clip.sigma_high * std, upper)
            before = keep.sum(axis=0)
            keep = keep & (lower <= work) & (work <= upper)
            after = keep.sum(axis=0)
            if median_centre:
                first = np.maximum(first, (ordered < lower).sum(axis=0))
                stop = np.minimum(stop, (ordered <= upper).sum(axis=0))
        active &= ~((after == before) | (after == 0))
        rounds += 1
        limit = clip.max_iterations
        if not active.any() or (limit is not None and rounds >= limit):
            break
    with np.errstate(invalid="ignore"):
        inside = (lower <= work) & (work <= upper)
    return _kept_mean(work, inside)


def calibrate(
    values: np.ndarray,
    offset: float,
    bias: np.ndarray,
    dark: np.ndarray,
    dark_scale: float,
    flat: np.ndarray | None,
) -> tuple[np.ndarray, int]:
    """((value - bias) - dark * dark_scale) / flat in float32, and the count of flat
    pixels that are not finite and positive (as ``kernels.calibrate_rows``)."""
    value = values.astype(np.float32)
    if offset != 0.0:
        value = value + np.float32(offset)
    result = (value - bias) - dark * np.float32(dark_scale)
    if flat is None:
        return result, 0
    bad = int(np.count_nonzero(~((flat > 0.0) & (flat < np.inf))))
    with np.errstate(invalid="ignore", divide="ignore"):
        return result / flat, bad


def median_and_mad(data: np.ndarray) -> tuple[float, float]:
    """The median of the finite values of ``data`` (in float64) and their median absolute
    deviation from it, by ``np.median`` on copies (twin of ``selection.median_and_mad``)."""
    values = np.asarray(data, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    median = float(np.median(values))
    return median, float(np.median(np.abs(values - median)))


def clipped_level(data: np.ndarray, stride: int) -> tuple[float, float]:
    """The median and standard deviation of every ``stride``-th pixel of every
    ``stride``-th row after 5-sigma clipping (3 iterations), by astropy's
    ``sigma_clipped_stats`` (twin of ``screening.measure``)."""
    sample = np.asarray(data[::stride, ::stride], dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # non-finite values, left out
        _, level, noise = sigma_clipped_stats(sample, sigma=5.0, maxiters=3)
    return float(level), float(noise)
