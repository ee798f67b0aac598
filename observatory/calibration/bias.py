"""Master bias: the per-pixel combination of zero-second exposures."""

from collections.abc import Sequence

import numpy as np

from observatory.calibration.clipping import SigmaClip
from observatory.calibration.products import (
    IMAGE_TYPES,
    MasterFrame,
    add_statistics,
    provenance_header,
)
from observatory.calibration.sources import FrameInput, input_names
from observatory.calibration.stacking import CombineMethod, Engine, combine_frames
from observatory.calibration.statistics import frame_statistics


def make_master_bias(
    frames: Sequence[FrameInput],
    *,
    method: CombineMethod = "median",
    clip: SigmaClip | None = None,
    names: Sequence[str] | None = None,
    engine: Engine = "numba",
) -> MasterFrame:
    """Combine bias frames (FITS paths, arrays or CCDData-like) into a master bias [adu].

    ``names`` label the inputs in the provenance header (default: file names, or
    ``array[k]``). The noise of the result falls as read noise / sqrt(N) for a mean and
    about 1.25x that for a median. Raises what ``combine_frames`` raises.
    """
    data = combine_frames(frames, method, clip=clip, engine=engine)
    statistics = frame_statistics(data, len(frames))
    header = provenance_header(IMAGE_TYPES["bias"], input_names(frames, names), method, clip)
    header["EXPTIME"] = (0.0, "[s] exposure time")
    header["BUNIT"] = ("adu", "unit of the data")
    add_statistics(header, statistics)
    return MasterFrame("bias", data.astype(np.float32, copy=False), header, statistics, 0.0)
