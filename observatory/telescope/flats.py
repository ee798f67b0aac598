"""Finding a flat field's exposure time: scale toward the target level, within bounds.

The panel's signal grows linearly with exposure time, so each trial scales the time by
target / measured (above the bias). A saturated trial carries no level and is cut by
:data:`SATURATED_STEP`. Trials are not kept: only frames at the found time are.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from observatory.errors import ObservatoryError

log = logging.getLogger(__name__)

# A level within this fraction of the target is good enough.
LEVEL_TOLERANCE = 0.1
MAX_TRIALS = 8
SATURATED_STEP = 0.1
# At an exposure bound, a level at least this fraction of the target (and not saturated)
# is taken rather than nothing.
MIN_LEVEL_AT_BOUND = 0.2
# A level at or above this fraction of the camera's MaxADU is saturated.
SATURATED_FRACTION = 0.98


class FlatLevelUnreachable(ObservatoryError):
    """No exposure time within the bounds brings the flat near its target level."""


@dataclass(frozen=True)
class FlatExposure:
    exposure_s: float
    level_adu: float
    trials: int


def flat_level_adu(data: NDArray[np.uint16]) -> float:
    """The flat's level: the median pixel, ADU (bias included)."""
    return float(np.median(data))


def next_exposure_s(
    exposure_s: float, signal_adu: float, target_signal_adu: float, saturated: bool
) -> float:
    """The next trial's time (unbounded): scaled by target / signal, cut when saturated
    or when no signal is seen at all."""
    if saturated:
        return exposure_s * SATURATED_STEP
    if signal_adu <= 0:
        return exposure_s * 10.0
    return exposure_s * target_signal_adu / signal_adu


def find_flat_exposure(
    expose: Callable[[float], NDArray[np.uint16]],
    *,
    bias_adu: float,
    target_adu: float,
    max_adu: int,
    min_s: float,
    max_s: float,
    start_s: float,
) -> FlatExposure:
    """Try exposures through ``expose(exposure_s) -> pixels`` until the median is within
    :data:`LEVEL_TOLERANCE` of ``target_adu``; raises :class:`FlatLevelUnreachable` when
    the bounds ``[min_s, max_s]`` or :data:`MAX_TRIALS` do not allow it."""
    if target_adu <= bias_adu:
        raise FlatLevelUnreachable(f"target {target_adu} ADU is not above the bias {bias_adu:.0f}")
    target_signal = target_adu - bias_adu
    exposure_s = min(max(start_s, min_s), max_s)
    for trial in range(1, MAX_TRIALS + 1):
        level = flat_level_adu(expose(exposure_s))
        signal = level - bias_adu
        saturated = level >= SATURATED_FRACTION * max_adu
        if not saturated and abs(signal - target_signal) <= LEVEL_TOLERANCE * target_signal:
            return FlatExposure(exposure_s, level, trial)
        wanted = next_exposure_s(exposure_s, signal, target_signal, saturated)
        bounded = min(max(wanted, min_s), max_s)
        if bounded == exposure_s:
            if not saturated and signal >= MIN_LEVEL_AT_BOUND * target_signal:
                log.warning(
                    "flat level %.0f ADU at the exposure bound %g s (target %.0f)",
                    level, exposure_s, target_adu,
                )  # fmt: skip
                return FlatExposure(exposure_s, level, trial)
            raise FlatLevelUnreachable(
                f"flat level {level:.0f} ADU at {exposure_s:g} s; the target {target_adu:.0f}"
                f" ADU needs about {wanted:.3g} s, outside [{min_s:g}, {max_s:g}] s"
            )
        exposure_s = bounded
    raise FlatLevelUnreachable(
        f"flat level not within {LEVEL_TOLERANCE:.0%} of {target_adu:.0f} ADU after"
        f" {MAX_TRIALS} trials (last {level:.0f} ADU at {exposure_s:g} s)"
    )
