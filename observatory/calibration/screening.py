"""Quality checks of calibration frames before they are stacked: which bias, dark or flat
frames a master must not be made from, and why.

The rules, each a flag with its reason (thresholds from ``settings.quality``):

- bias and dark, against their stacking group (at least MIN_GROUP frames; a smaller group
  has no reference and is not checked): a median level further than ``level_sigma``
  times the group's median noise from the group's median level (a light leak, a changed
  offset, a dark taken with the shutter open), or a noise more than ``noise_ratio``
  times the group's median noise (interference, a failing readout);
- flat, on its own: more than ``max_saturated_fraction`` of its raw pixels at the
  saturation level, or a signal (its median after bias and dark are taken off) below
  ``min_level_adu`` (the panel or twilight too faint for the flat to beat the noise).

Level and noise are the median and the standard deviation after 5-sigma clipping (hot
pixels and cosmic rays left out) of at most about MAX_SAMPLES pixels, taken on a regular
grid of odd step (:func:`sample_stride`): cheap on large frames, and on a colour sensor
every filter of its mosaic is sampled (an even step would sample only the red pixels of an
RGGB frame). 65,536 samples give the level to half a percent of the noise, far inside the
limits the checks use. The deviation is not the scaled median absolute deviation,
which integer frames with a read noise of an ADU or two quantise to whole ADUs.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from observatory.calibration import selection

MIN_GROUP = 3
MAX_SAMPLES = 65_536
CLIP_SIGMA = 5.0
CLIP_ITERATIONS = 3


@dataclass(frozen=True)
class Level:
    """A frame's median level and noise [ADU]."""

    level_adu: float
    noise_adu: float


@dataclass(frozen=True)
class GroupLimits:
    """None: no such check."""

    level_sigma: float | None
    noise_ratio: float | None


@dataclass(frozen=True)
class FlatLimits:
    min_level_adu: float | None
    max_saturated_fraction: float | None


def measure(data: NDArray[np.floating] | NDArray[np.integer]) -> Level:
    """The level and noise of a frame's pixels (see the module docstring): the values
    astropy's ``sigma_clipped_stats`` gives (``maxiters`` 3), its medians taken by
    selection rather than by sorting copies. NaN for a frame with no finite pixel."""
    stride = sample_stride(data.size)
    values = np.asarray(data[::stride, ::stride], dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    if not values.size:
        return Level(math.nan, math.nan)
    level, noise = selection.median(values), float(np.std(values))
    for _ in range(CLIP_ITERATIONS):
        low, high = level - noise * CLIP_SIGMA, level + noise * CLIP_SIGMA
        kept = values[(values >= low) & (values <= high)]
        if kept.size == values.size:
            break
        values = kept
        level, noise = selection.median(values), float(np.std(values))
    return Level(level, noise)


def sample_stride(pixels: int) -> int:
    """The step of the grid :func:`measure` samples a frame of ``pixels`` pixels on: about
    MAX_SAMPLES samples, and odd, so that every phase of a 2 x 2 colour mosaic is in it."""
    return math.isqrt(pixels // MAX_SAMPLES) // 2 * 2 + 1


def group_flags(kind: str, levels: Sequence[Level], limits: GroupLimits) -> list[list[str]]:
    """Per frame (in order), why it stands out from its group; empty lists when the
    group has fewer than MIN_GROUP frames."""
    if len(levels) < MIN_GROUP:
        return [[] for _ in levels]
    median_level = statistics.median(x.level_adu for x in levels)
    median_noise = statistics.median(x.noise_adu for x in levels)
    found: list[list[str]] = []
    for x in levels:
        reasons = []
        offset = x.level_adu - median_level
        if limits.level_sigma is not None and abs(offset) > limits.level_sigma * median_noise:
            reasons.append(
                f"{kind} level: {x.level_adu:.1f} ADU is {offset:+.1f} ADU from the group's"
                f" median {median_level:.1f} (more than {limits.level_sigma:g} x the median"
                f" noise {median_noise:.2f} ADU)"
            )
        if limits.noise_ratio is not None and x.noise_adu > limits.noise_ratio * median_noise:
            reasons.append(
                f"{kind} noise: {x.noise_adu:.2f} ADU is more than {limits.noise_ratio:g} x"
                f" the group's median {median_noise:.2f} ADU"
            )
        found.append(reasons)
    return found


def saturated_fraction(raw_planes: Sequence[NDArray[np.generic]], saturation_adu: float) -> float:
    """The share of the raw pixels (every plane, as read from the file) at or above
    ``saturation_adu``."""
    total = sum(int(p.size) for p in raw_planes)
    at_ceiling = sum(int(np.count_nonzero(np.asarray(p) >= saturation_adu)) for p in raw_planes)
    return at_ceiling / total if total else 0.0


def flat_flags(signal: Level, saturated: float, limits: FlatLimits) -> list[str]:
    """Why a flat (``signal``: measured with bias and dark taken off; ``saturated``: the
    share of its raw pixels at the saturation level) must not go into a master."""
    reasons = []
    most = limits.max_saturated_fraction
    if most is not None and saturated > most:
        reasons.append(
            f"flat saturated: {100 * saturated:.2f} % of the pixels at the saturation level"
            f" (more than {100 * most:g} %)"
        )
    least = limits.min_level_adu
    if least is not None and signal.level_adu < least:
        reasons.append(f"flat underexposed: level {signal.level_adu:.1f} ADU < {least:g} ADU")
    return reasons
