"""Master dark: bias-subtracted dark current of one exposure-time group, and its scaling
to another exposure time."""

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


def make_master_dark(
    frames: Sequence[FrameInput],
    master_bias: MasterFrame,
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
    ``exposure_s`` seconds [adu].

    The bias is subtracted once from the combination rather than from every frame:
    median, mean and sigma clipping all commute with subtracting one common image (up
    to float rounding), so the result is the same at a fraction of the cost.

    Raises FrameMismatch when the bias shape differs, ValueError for a non-positive
    exposure, and what ``combine_frames`` raises.
    """
    if not exposure_s > 0:
        raise ValueError(f"a dark needs a positive exposure time, got {exposure_s} s")
    combined = combine_frames(frames, method, clip=clip, dtype=np.float64, engine=engine)
    if combined.shape != master_bias.data.shape:
        raise FrameMismatch(f"darks {combined.shape} and bias {master_bias.data.shape} differ")
    combined -= master_bias.data
    data = combined.astype(np.float32)
    statistics = frame_statistics(data, len(frames))
    header = provenance_header(IMAGE_TYPES["dark"], input_names(frames, names), method, clip)
    header["EXPTIME"] = (float(exposure_s), "[s] exposure time of the dark frames")
    if filter_name is not None:
        header["FILTER"] = (filter_name, "filter of the dark frames")
    header["BIASFILE"] = text_card("BIASFILE", master_bias.label, "master bias subtracted")
    header["BUNIT"] = ("adu", "unit of the data")
    add_statistics(header, statistics)
    return MasterFrame("dark", data, header, statistics, float(exposure_s), filter_name)


def dark_scale(master_dark: MasterFrame, exposure_s: float, *, allow_scaling: bool = True) -> float:
    """Factor that turns ``master_dark`` into the dark of an ``exposure_s`` exposure.

    1.0 for a matched exposure; otherwise ``exposure_s / master_dark.exposure_s`` (dark
    current grows linearly with time) when ``allow_scaling``. Raises MasterFrameMissing
    when the exposures differ and scaling is not allowed, ValueError when the master
    is not a dark with a positive exposure or ``exposure_s`` is negative.
    """
    dark_exposure_s = master_dark.exposure_s
    if master_dark.kind != "dark" or dark_exposure_s is None or not dark_exposure_s > 0:
        raise ValueError(f"{master_dark.label} is not a master dark with a positive exposure")
    if exposure_s < 0:
        raise ValueError(f"exposure time must not be negative, got {exposure_s} s")
    if np.isclose(exposure_s, dark_exposure_s, rtol=1e-9, atol=0.0):
        return 1.0
    if not allow_scaling:
        raise MasterFrameMissing(
            f"no dark of {exposure_s} s: {master_dark.label} is {dark_exposure_s} s "
            "and scaling is not allowed"
        )
    return float(exposure_s / dark_exposure_s)
