"""Exact statistics of a whole frame without copying it: moments and order statistics.

``np.median`` of a 4096 x 4096 product copies it, partitions all 16 million values and,
for the median absolute deviation, does it again on a second copy: about 0.9 s and
400 MB per product, for every master and every calibrated light. Here each statistic
is found in a few passes over the frame as it is, in compiled parallel kernels:

- moments (count, mean, standard deviation, minimum, maximum) in two passes;
- an order statistic (the k-th smallest finite value, or of ``|x - centre|``) by
  histogram selection. A first bracket comes from an evenly spaced sample of the frame
  (else it is the minimum and maximum). A pass counts the values in 4096 equal bins of
  the bracket, checking that exactly as many lie below it and in it as hold the rank;
  the bracket then narrows to the bins that hold it (with a bin of margin on each side,
  against rounding at the edges), and the next pass checks it again. Once few values
  are left in the bracket (or all of them are equal) they are gathered and partitioned.
  The result is the value ``np.partition`` would return, bit for bit.

The frame is split into a fixed number of chunks (not one per thread), so sums are the
same whatever the number of threads. Values are taken in float64; non-finite values are
left out of every statistic and counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from observatory.calibration.kernels import PARALLEL_LOCK

CHUNKS = 64
BINS = 4096
# A bracket with at most this many values is gathered and partitioned.
GATHER_LIMIT = 1 << 20
# Values copied to a buffer at a time when binning (see _histogram_chunk).
BLOCK = 1024
# About SAMPLE values, evenly spaced, give a first bracket SAMPLE_MARGIN x sqrt(SAMPLE)
# ranks of the sample wide: eight standard errors of a random sample's quantile. A frame
# whose structure fools an evenly spaced sample fails the check of the first pass, and
# the bracket of every value is narrowed instead.
SAMPLE = 1 << 16
SAMPLE_MARGIN = 4.0
# Narrowing passes before the bracket is gathered whatever its size (never reached on
# real data: each pass divides the bracket by about BINS / 3).
MAX_PASSES = 12

_parallel = njit(parallel=True, cache=True, nogil=True, error_model="numpy")
_serial = njit(cache=True, nogil=True, error_model="numpy")


@dataclass(frozen=True)
class Moments:
    """Count, mean, standard deviation (ddof 0), minimum and maximum of the finite values,
    and how many values were not finite."""

    count: int
    nonfinite: int
    mean: float
    std: float
    minimum: float
    maximum: float


@_serial
def _span(n, chunk):
    """Where chunk ``chunk`` of ``n`` values starts and stops. Kernels loop over the
    slice values[start:stop] by its own index: a loop over range(start, stop) is not
    vectorised (the index might be negative), six times slower."""
    return chunk * n // CHUNKS, (chunk + 1) * n // CHUNKS


@_serial
def _value(x, centre, absolute):
    v = np.float64(x)
    return abs(v - centre) if absolute else v


@_parallel
def _first_moments(values):
    n = values.size
    sums = np.zeros(CHUNKS)
    counts = np.zeros(CHUNKS, np.int64)
    lows = np.full(CHUNKS, np.inf)
    highs = np.full(CHUNKS, -np.inf)
    for chunk in prange(CHUNKS):
        start, stop = _span(n, chunk)
        total, count, low, high = 0.0, 0, np.inf, -np.inf
        part = values[start:stop]  # see _span
        for i in range(part.size):
            v = np.float64(part[i])
            if np.isfinite(v):
                total += v
                count += 1
                low = min(low, v)
                high = max(high, v)
        sums[chunk], counts[chunk], lows[chunk], highs[chunk] = total, count, low, high
    return sums, counts, lows, highs


@_parallel
def _squared_deviations(values, mean):
    n = values.size
    sums = np.zeros(CHUNKS)
    for chunk in prange(CHUNKS):
        start, stop = _span(n, chunk)
        total = 0.0
        part = values[start:stop]
        for i in range(part.size):
            v = np.float64(part[i])
            if np.isfinite(v):
                total += (v - mean) * (v - mean)
        sums[chunk] = total
    return sums


@_serial
def _histogram_chunk(values, centre, absolute, low, high, start, stop, counts):
    """Add the values v of values[start:stop] in [low, high] to ``counts`` (equal bins);
    returns how many lie below ``low``, and the least and greatest in [low, high].

    Block by block, the values in the bracket are first copied to a small buffer without
    a branch (``buffer[k] = v; k += inside``), then binned: a branch around the increment
    would be turned into an unconditional read-modify-write of ``counts`` by the
    compiler, four times slower when few values lie in the bracket."""
    bins = counts.size
    width = (high - low) / bins
    buffer = np.empty(BLOCK)
    under, least, greatest = 0, np.inf, -np.inf
    for first in range(start, stop, BLOCK):
        k = 0
        block = values[first : min(first + BLOCK, stop)]
        for i in range(block.size):
            v = _value(block[i], centre, absolute)
            # v - v is 0 when v is finite; the bracket is finite, so NaN and
            # infinities never fall in it.
            under += (v < low) & (v - v == 0.0)
            buffer[k] = v
            k += (low <= v) & (v <= high)
        for j in range(k):
            v = buffer[j]
            b = int((v - low) / width) if width > 0 else 0
            counts[min(b, bins - 1)] += 1
            least = min(least, v)
            greatest = max(greatest, v)
    return under, least, greatest


@_parallel
def _histogram(values, centre, absolute, low, high, bins):
    """Of the finite values v (``|x - centre|`` when ``absolute``): how many lie below
    ``low``, how many in each of ``bins`` equal bins of [low, high], and the least and
    greatest of those in [low, high]."""
    n = values.size
    counts = np.zeros((CHUNKS, bins), np.int64)
    below = np.zeros(CHUNKS, np.int64)
    lows = np.full(CHUNKS, np.inf)
    highs = np.full(CHUNKS, -np.inf)
    for chunk in prange(CHUNKS):
        start, stop = _span(n, chunk)
        below[chunk], lows[chunk], highs[chunk] = _histogram_chunk(
            values, centre, absolute, low, high, start, stop, counts[chunk]
        )
    return below.sum(), counts.sum(axis=0), lows.min(), highs.max()


@_serial
def _tally_chunk(values, centre, absolute, low, high, start, stop):
    """How many finite values v of values[start:stop] lie below ``low`` and in [low,
    high] (finite). Without a branch, so that the compiler vectorises the loop."""
    under, inside = 0, 0
    part = values[start:stop]
    for i in range(part.size):
        v = _value(part[i], centre, absolute)
        under += (v < low) & (v - v == 0.0)
        inside += (low <= v) & (v <= high)
    return under, inside


@_parallel
def _tally(values, centre, absolute, low, high):
    """How many finite values lie below ``low`` and in [low, high] (see _tally_chunk)."""
    n = values.size
    below = np.zeros(CHUNKS, np.int64)
    inside = np.zeros(CHUNKS, np.int64)
    for chunk in prange(CHUNKS):
        start, stop = _span(n, chunk)
        below[chunk], inside[chunk] = _tally_chunk(values, centre, absolute, low, high,
                                                   start, stop)  # fmt: skip
    return below, inside


@_serial
def _count_chunk(values, centre, absolute, low, high, start, stop):
    """How many values v of values[start:stop] lie in [low, high] (a finite bracket)."""
    found = 0
    part = values[start:stop]
    for i in range(part.size):
        v = _value(part[i], centre, absolute)
        found += (low <= v) & (v <= high)
    return found


@_serial
def _gather_chunk(values, centre, absolute, low, high, start, stop, out, k):
    """Write the values v of values[start:stop] in [low, high] to out[k:], and one more
    slot after them (each value is written, then kept by moving on)."""
    part = values[start:stop]
    for i in range(part.size):
        v = _value(part[i], centre, absolute)
        out[k] = v
        k += (low <= v) & (v <= high)


@_parallel
def _gather(values, centre, absolute, low, high):
    """The values v in [low, high] (a finite bracket), in order."""
    n = values.size
    found = np.zeros(CHUNKS + 1, np.int64)
    for chunk in prange(CHUNKS):
        start, stop = _span(n, chunk)
        found[chunk + 1] = _count_chunk(values, centre, absolute, low, high, start, stop)
    # Chunk c writes from starts[c], with its own spare slot after its last value.
    starts = np.cumsum(found) + np.arange(CHUNKS + 1)
    spaced = np.empty(starts[-1])
    for chunk in prange(CHUNKS):
        start, stop = _span(n, chunk)
        _gather_chunk(values, centre, absolute, low, high, start, stop, spaced, starts[chunk])
    out = np.empty(starts[-1] - CHUNKS)
    k = 0
    for chunk in range(CHUNKS):
        out[k : k + found[chunk + 1]] = spaced[starts[chunk] : starts[chunk] + found[chunk + 1]]
        k += found[chunk + 1]
    return out


def _flat(data: np.ndarray) -> np.ndarray:
    values = np.asarray(data).reshape(-1)
    if values.dtype.kind != "f":
        values = values.astype(np.float64)
    return np.ascontiguousarray(values)


def moments(data: np.ndarray) -> Moments:
    """:class:`Moments` of ``data`` (any shape and dtype); ValueError when no pixel is
    finite."""
    values = _flat(data)
    with PARALLEL_LOCK:
        # Chunk sums added here: a sum inside a parallel kernel is itself split by thread.
        sums, counts, lows, highs = _first_moments(values)
        count, low, high = int(counts.sum()), float(lows.min()), float(highs.max())
        if count == 0:
            raise ValueError("no finite pixel to take statistics of")
        mean = float(sums.sum()) / count
        deviations = float(_squared_deviations(values, mean).sum())
    return Moments(count, values.size - count, mean, math.sqrt(deviations / count), low, high)


def order_statistics(
    data: np.ndarray,
    ranks: tuple[int, ...],
    bounds: tuple[float, float],
    count: int,
    centre: float | None = None,
) -> list[float]:
    """The values of rank ``ranks`` (0-based, ascending, close together) among the
    ``count`` finite values of ``data``, or among ``|x - centre|`` with a ``centre``.
    ``bounds`` is a (low, high) bracket of every value considered (the minimum and
    maximum). ValueError when a rank is not among the values in ``bounds``."""
    values = _flat(data)
    absolute, mid = centre is not None, 0.0 if centre is None else float(centre)
    first, last = min(ranks), max(ranks)
    with PARALLEL_LOCK:
        for low, high in (_sampled_bracket(values, mid, absolute, ranks, count), bounds):
            if not low <= high:  # NaN: no sample bracket
                continue
            below, inside = (int(n.sum()) for n in _tally(values, mid, absolute, low, high))
            if below <= first <= last < below + inside:
                break
        else:
            raise ValueError(f"ranks {ranks} are not among the finite values in {bounds}")
        if inside > GATHER_LIMIT:
            low, high, below = _narrowed(values, mid, absolute, ranks, (low, high, below))
        if low == high:
            return [float(low) for _ in ranks]
        gathered = _gather(values, mid, absolute, low, high)
    wanted = [rank - below for rank in ranks]
    selected = np.partition(gathered, wanted)
    return [float(selected[j]) for j in wanted]


def _sampled_bracket(
    values: np.ndarray, centre: float, absolute: bool, ranks: tuple[int, ...], count: int
) -> tuple[float, float]:
    """A bracket that most likely holds ``ranks``, from about SAMPLE evenly spaced values
    (see SAMPLE_MARGIN). (nan, nan) when the frame is small enough to gather whole."""
    if count <= GATHER_LIMIT:
        return np.nan, np.nan
    sample = values[:: max(1, values.size // SAMPLE)].astype(np.float64)
    if absolute:
        sample = np.abs(sample - centre)
    sample = sample[np.isfinite(sample)]
    if sample.size < 2:
        return np.nan, np.nan
    margin = SAMPLE_MARGIN * math.sqrt(sample.size) + 1
    first = max(0, math.floor(min(ranks) * sample.size / count - margin))
    last = min(sample.size - 1, math.ceil(max(ranks) * sample.size / count + margin))
    ordered = np.partition(sample, [first, last])
    return float(ordered[first]), float(ordered[last])


def _narrowed(
    values: np.ndarray,
    centre: float,
    absolute: bool,
    ranks: tuple[int, ...],
    checked: tuple[float, float, int],
) -> tuple[float, float, int]:
    """Narrow a bracket known to hold ``ranks`` (``checked``: low, high and how many
    values lie below it) pass by pass (see the module docstring); returns the last one
    a pass showed to hold them (a bracket of one value when all the values in it are
    equal)."""
    first, last = min(ranks), max(ranks)
    low, high, _ = checked
    for _ in range(MAX_PASSES):
        below, counts, least, greatest = _histogram(values, centre, absolute, low, high, BINS)
        cumulative = below + np.cumsum(counts)
        if not below <= first <= last < cumulative[-1]:
            break  # rounding at an edge: the bracket checked before holds the ranks
        if least == greatest:
            return float(least), float(least), int(below)
        checked = (low, high, int(below))
        if cumulative[-1] - below <= GATHER_LIMIT:
            break
        width = (high - low) / BINS
        first_bin = int(np.searchsorted(cumulative, first, side="right"))
        last_bin = int(np.searchsorted(cumulative, last, side="right"))
        narrowed = (max(least, low + (first_bin - 1) * width),
                    min(greatest, low + (last_bin + 2) * width))  # fmt: skip
        if narrowed == (low, high):
            break
        low, high = narrowed
    return checked


def median(data: np.ndarray, summary: Moments | None = None) -> float:
    """The median of the finite values of ``data``, as ``np.median`` gives it
    (``summary``: :func:`moments` of ``data``, taken here when not given). ValueError
    when no pixel is finite."""
    summary = moments(data) if summary is None else summary
    bounds = (summary.minimum, summary.maximum)
    return _middle(order_statistics(data, _middle_ranks(summary.count), bounds, summary.count))


def median_and_mad(data: np.ndarray, summary: Moments) -> tuple[float, float]:
    """The median of the finite values of ``data`` and their median absolute deviation
    from it, as ``np.median`` gives them (``summary``: :func:`moments` of ``data``)."""
    centre = median(data, summary)
    spread = max(abs(summary.minimum - centre), abs(summary.maximum - centre))
    ranks = _middle_ranks(summary.count)
    return centre, _middle(
        order_statistics(data, ranks, (0.0, spread), summary.count, centre=centre)
    )


def _middle_ranks(count: int) -> tuple[int, ...]:
    return (count // 2,) if count % 2 else (count // 2 - 1, count // 2)


def _middle(values: list[float]) -> float:
    return values[0] if len(values) == 1 else (values[0] + values[1]) / 2
