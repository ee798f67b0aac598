"""Exact statistics of a whole frame without copying it: moments and order statistics.

``np.median`` of a 4096 x 4096 product copies it, partitions all 16 million values and,
for the median absolute deviation, does it again on a second copy: about 0.5 s and
400 MB per product, for every master and every calibrated light. Here each statistic
is found in a few passes over the frame as it is, in compiled kernels:

- moments (count, mean, standard deviation, minimum, maximum) in two passes;
- an order statistic (the k-th smallest finite value, or of ``|x - centre|``) by
  selection. A first bracket comes from an evenly spaced sample of the frame, and one
  pass counts exactly how many values lie below it and in it: when they hold the rank
  (else the bracket is the minimum and maximum), the values in the bracket are gathered
  and partitioned. A bracket that holds too many is first narrowed: a pass counts its
  values in 4096 equal bins, the bracket narrows to the bins that hold the rank (with a
  bin of margin on each side, against rounding at the edges), and the next pass checks
  it again. The result is the value ``np.partition`` would return, bit for bit.

The loops are written so that the compiler vectorises them: no branch on a value in
the hot loops (a branch on whether a value lies in a bracket is mispredicted half the
time, or turned into a read-modify-write of memory for every value). Values are taken
in float64; non-finite values are left out of every statistic and counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

BINS = 4096
# A bracket of at most this many values (or an eighth of them: gather_limit) is
# gathered and partitioned; a frame of at most this many is not sampled.
GATHER_MIN = 1 << 16
# Values copied to a buffer at a time when binning (see _histogram).
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

# One thread each: a worker process computes one product's statistics at a time, and
# several worker processes share the host's cores. Short parallel kernels in two
# processes at once on two cores ran six times slower than on one thread.
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
def _value(x, centre, absolute):
    v = np.float64(x)
    return abs(v - centre) if absolute else v


@_serial
def _first_moments(values):
    """The sum, count, least and greatest of the finite values."""
    total, count, low, high = 0.0, 0, np.inf, -np.inf
    for i in range(values.size):
        v = np.float64(values[i])
        if np.isfinite(v):
            total += v
            count += 1
            low = min(low, v)
            high = max(high, v)
    return total, count, low, high


@_serial
def _squared_deviations(values, mean):
    total = 0.0
    for i in range(values.size):
        v = np.float64(values[i])
        if np.isfinite(v):
            total += (v - mean) * (v - mean)
    return total


@_serial
def _tally(values, centre, absolute, low, high):
    """How many finite values v (``|x - centre|`` when ``absolute``) lie below ``low``
    and in [low, high] (a finite bracket). Without a branch, so that it vectorises."""
    under, inside = 0, 0
    for i in range(values.size):
        v = _value(values[i], centre, absolute)
        under += (v < low) & (v - v == 0.0)  # v - v is 0 when v is finite
        inside += (low <= v) & (v <= high)
    return under, inside


@_serial
def _histogram(values, centre, absolute, low, high, counts):
    """Add the values v in [low, high] to ``counts`` (equal bins); returns how many lie
    below ``low``, and the least and greatest in [low, high].

    Block by block, the values in the bracket are first copied to a small buffer without
    a branch (``buffer[k] = v; k += inside``), then binned: a branch around the increment
    would be turned into an unconditional read-modify-write of ``counts`` by the
    compiler, four times slower when few values lie in the bracket."""
    bins = counts.size
    width = (high - low) / bins
    buffer = np.empty(BLOCK)
    under, least, greatest = 0, np.inf, -np.inf
    for first in range(0, values.size, BLOCK):
        block = values[first : first + BLOCK]
        k = 0
        for i in range(block.size):
            v = _value(block[i], centre, absolute)
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


@_serial
def _gather(values, centre, absolute, low, high, inside):
    """The ``inside`` values v in [low, high] (a finite bracket), in order: each value is
    written, then kept by moving on, without a branch. ValueError if the bracket does
    not hold ``inside`` values (nothing is written past the end meanwhile)."""
    out = np.empty(inside + 1)
    found = 0
    for i in range(values.size):
        v = _value(values[i], centre, absolute)
        out[min(found, inside)] = v
        found += (low <= v) & (v <= high)
    if found != inside:
        raise ValueError("the bracket holds another number of values than counted")
    return out[:inside]


def _flat(data: np.ndarray) -> np.ndarray:
    """``data`` as one contiguous row the kernels take: native float32 or float64 as it
    is, anything else (integers, big-endian as FITS stores it, float16) as float64."""
    values = np.asarray(data).reshape(-1)
    if values.dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        values = values.astype(np.float64)
    return np.ascontiguousarray(values)


def moments(data: np.ndarray) -> Moments:
    """:class:`Moments` of ``data`` (any shape and dtype); ValueError when no pixel is
    finite."""
    values = _flat(data)
    total, count, low, high = _first_moments(values)
    if count == 0:
        raise ValueError("no finite pixel to take statistics of")
    mean = total / count
    std = math.sqrt(_squared_deviations(values, mean) / count)
    return Moments(int(count), values.size - int(count), mean, std, low, high)


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
    sampled = _sampled_bracket(values, mid, absolute, ranks, count)
    for low, high in (bounds,) if sampled is None else (sampled, bounds):
        below, inside = _tally(values, mid, absolute, low, high)
        if below <= first <= last < below + inside:
            break
    else:
        raise ValueError(f"ranks {ranks} are not among the finite values in {bounds}")
    if inside > gather_limit(count):
        low, high, below, inside = _narrowed(values, mid, absolute, ranks, count, (low, high))
    if low == high:
        return [float(low) for _ in ranks]
    wanted = [rank - below for rank in ranks]
    selected = np.partition(_gather(values, mid, absolute, low, high, inside), wanted)
    return [float(selected[j]) for j in wanted]


def gather_limit(count: int) -> int:
    """How many values of ``count`` a bracket may hold to be gathered and partitioned:
    partitioning costs about ten times a pass per value, so up to an eighth of them."""
    return max(GATHER_MIN, count // 8)


def _sampled_bracket(
    values: np.ndarray, centre: float, absolute: bool, ranks: tuple[int, ...], count: int
) -> tuple[float, float] | None:
    """A bracket that most likely holds ``ranks``, from about SAMPLE evenly spaced values
    (see SAMPLE_MARGIN). None when the frame is small enough to gather whole."""
    if count <= GATHER_MIN:
        return None
    sample = values[:: max(1, values.size // SAMPLE)].astype(np.float64)
    if absolute:
        sample = np.abs(sample - centre)
    sample = sample[np.isfinite(sample)]
    if sample.size < 2:
        return None
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
    count: int,
    bracket: tuple[float, float],
) -> tuple[float, float, int, int]:
    """Narrow a ``bracket`` known to hold ``ranks`` pass by pass (see the module
    docstring); returns the last one a pass showed to hold them, with how many values
    lie below it and in it (a bracket of one value when all the values in it are equal).
    """
    first, last = min(ranks), max(ranks)
    low, high = bracket
    checked = None
    for _ in range(MAX_PASSES):
        counts = np.zeros(BINS, np.int64)
        below, least, greatest = _histogram(values, centre, absolute, low, high, counts)
        cumulative = below + np.cumsum(counts)
        if not below <= first <= last < cumulative[-1]:
            break  # rounding at an edge: the bracket checked before holds the ranks
        inside = int(cumulative[-1] - below)
        if least == greatest:
            return float(least), float(least), int(below), inside
        checked = (low, high, int(below), inside)
        if inside <= gather_limit(count):
            break
        width = (high - low) / BINS
        first_bin = int(np.searchsorted(cumulative, first, side="right"))
        last_bin = int(np.searchsorted(cumulative, last, side="right"))
        narrowed = (max(least, low + (first_bin - 1) * width),
                    min(greatest, low + (last_bin + 2) * width))  # fmt: skip
        if narrowed == (low, high):
            break
        low, high = narrowed
    if checked is None:  # only when the bracket given did not hold the ranks
        raise ValueError(f"ranks {ranks} are not in [{bracket[0]}, {bracket[1]}]")
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
