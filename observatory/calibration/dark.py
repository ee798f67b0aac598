"""Master dark: bias-subtracted dark current of one exposure-time group, and its scaling
to another exposure time. Without a master bias (the usual CMOS night: darks at the
lights' exposure, no biases) the master keeps the bias level, says so (BIASINCL), and
serves only frames of its own exposure: what holds the bias cannot be scaled."""

from collections.abc import Sequence

import numpy as np

from observatory.calibration.clipping import SigmaClip
from observatory.calibration.products import (
    IMAGE_TYPES,
    MasterFrame,
    add_statistics,
    provenance_header,
    text_card,
)
from observatory.calibration.sources import FrameInput, input_names
from observatory.calibration.stacking import CombineMethod, Engine, combine_frames
from observatory.calibration.statistics import frame_statistics
from observatory.errors import FrameMismatch, MasterFrameMissing

# The card of a master dark that holds the bias level (made without a master bias).
_BIAS_INCLUDED = "BIASINCL"


def make_master_dark(
    frames: Sequence[FrameInput],
    master_bias: MasterFrame | None,
    exposure_s: float,
    *,
    filter_name: str | None = None,
    method: CombineMethod = "median",
    clip: SigmaClip | None = None,
    names: Sequence[str] | None = None,
    engine: Engine = "numba",
) -> MasterFrame:
    """Combine darks of one group (same ``exposure_s``, and filter when it matters),
    then subtract the master bias: the result is the dark signal accumulated in
    ``exposure_s`` seconds [adu]. Without ``master_bias`` nothing is subtracted: the
    result is the bias level plus that dark signal, marked BIASINCL = True (see
    :func:`bias_included`).

    The bias is subtracted once from the combination rather than from every frame:
    median, mean and sigma clipping all commute with subtracting one common image (up
    to float rounding), so the result is the same at a fraction of the cost.

    Raises FrameMismatch when the bias shape differs, ValueError for a non-positive
    exposure, and what ``combine_frames`` raises.
    """
    if not exposure_s > 0:
        raise ValueError(f"a dark needs a positive exposure time, got {exposure_s} s")
    combined = combine_frames(frames, method, clip=clip, dtype=np.float64, engine=engine)
    if master_bias is not None:
        if combined.shape != master_bias.data.shape:
            raise FrameMismatch(f"darks {combined.shape} and bias {master_bias.data.shape} differ")
        combined -= master_bias.data
    data = combined.astype(np.float32)
    statistics = frame_statistics(data, len(frames))
    header = provenance_header(IMAGE_TYPES["dark"], input_names(frames, names), method, clip)
    header["EXPTIME"] = (float(exposure_s), "[s] exposure time of the dark frames")
    if filter_name is not None:
        header["FILTER"] = (filter_name, "filter of the dark frames")
    if master_bias is None:
        header[_BIAS_INCLUDED] = (True, "bias level included: no master bias subtracted")
    else:
        header["BIASFILE"] = text_card("BIASFILE", master_bias.label, "master bias subtracted")
    header["BUNIT"] = ("adu", "unit of the data")
    add_statistics(header, statistics)
    return MasterFrame("dark", data, header, statistics, float(exposure_s), filter_name)


def bias_included(master_dark: MasterFrame) -> bool:
    """Whether ``master_dark`` was made without a master bias and so holds the bias level."""
    return bool(master_dark.header.get(_BIAS_INCLUDED, False))


# Two exposure times are one when they differ by at most this, or by this fraction of the
# longer, whichever is larger: a shutter's jitter, far below any two exposure times an
# observer would take darks for (60 s and 60.1 s).
EXPOSURE_TOLERANCE_S = 0.010
EXPOSURE_TOLERANCE_FRACTION = 0.001


def exposure_tolerance_s(exptime_s: float) -> float:
    """How far another exposure time may be from ``exptime_s`` [s] and still be the same
    exposure: 10 ms, or 0.1 % of ``exptime_s`` when that is larger."""
    return max(EXPOSURE_TOLERANCE_S, EXPOSURE_TOLERANCE_FRACTION * abs(exptime_s))


def same_exposure(first_s: float, second_s: float) -> bool:
    """Whether two exposure times [s] are one exposure (see :func:`exposure_tolerance_s`)."""
    return abs(first_s - second_s) <= exposure_tolerance_s(max(first_s, second_s))


def dark_scale(master_dark: MasterFrame, exposure_s: float, *, allow_scaling: bool = True) -> float:
    """Factor that turns ``master_dark`` into the dark of an ``exposure_s`` exposure.

    1.0 for a matched exposure (for a dark that holds the bias level, also within a
    shutter's jitter, :func:`same_exposure`); otherwise ``exposure_s /
    master_dark.exposure_s`` (dark current grows linearly with time) when
    ``allow_scaling``. Raises MasterFrameMissing
    when the exposures differ and scaling is not allowed or the dark holds the bias
    level (scaling it would scale the bias too), ValueError when the master is not a
    dark with a positive exposure or ``exposure_s`` is negative.
    """
    dark_exposure_s = master_dark.exposure_s
    if master_dark.kind != "dark" or dark_exposure_s is None or not dark_exposure_s > 0:
        raise ValueError(f"{master_dark.label} is not a master dark with a positive exposure")
    if exposure_s < 0:
        raise ValueError(f"exposure time must not be negative, got {exposure_s} s")
    if np.isclose(exposure_s, dark_exposure_s, rtol=1e-9, atol=0.0):
        return 1.0
    if bias_included(master_dark) and same_exposure(exposure_s, dark_exposure_s):
        # A shutter's jitter (60.009 s against 60.012 s): the bias cannot be scaled, and
        # the dark current of the difference is far below the noise.
        return 1.0
    if bias_included(master_dark):
        raise MasterFrameMissing(
            f"no matching dark for {exposure_s:g} s: {master_dark.label} is "
            f"{dark_exposure_s:g} s and holds the bias level (no master bias), so it "
            "cannot be scaled"
        )
    if not allow_scaling:
        raise MasterFrameMissing(
            f"no dark of {exposure_s} s: {master_dark.label} is {dark_exposure_s} s "
            "and scaling is not allowed"
        )
    return float(exposure_s / dark_exposure_s)
