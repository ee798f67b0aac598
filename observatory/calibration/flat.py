"""Flat fields: flat-dark correction of each flat, then a master flat per filter
normalised so that the median of its central region is 1."""

from collections.abc import Sequence

import numpy as np

from observatory.calibration import selection
from observatory.calibration.clipping import SigmaClip
from observatory.calibration.correction import (
    check_bias_and_dark,
    correct_frame,
    exposure_of,
    frame_header,
    zeros_for,
)
from observatory.calibration.dark import dark_scale
from observatory.calibration.products import (
    IMAGE_TYPES,
    CalibratedFrame,
    MasterFrame,
    add_statistics,
    carried_header,
    provenance_header,
    text_card,
)
from observatory.calibration.sources import FrameInput, FrameStack, input_names
from observatory.calibration.stacking import CombineMethod, Engine, combine_frames
from observatory.calibration.statistics import frame_statistics
from observatory.errors import FlatFieldInvalid

# A master flat's pixel below this (of the centre's level, 1) has no light response to
# divide by: a dead column after bias and dark is noise around zero, and dividing by
# 0.002 would multiply the light's pixel by 500.
DEAD_BELOW = 0.01
# At most this fraction of a master flat's pixels may be dead and set to 1: a real
# CCD's dead columns are far fewer; more is a bad flat.
MAX_REPLACED_FRACTION = 0.01


def correct_flat(
    flat: FrameInput,
    master_bias: MasterFrame | None,
    master_dark: MasterFrame | None,
    *,
    exposure_s: float | None = None,
    allow_dark_scaling: bool = True,
    engine: Engine = "numba",
) -> CalibratedFrame:
    """Subtract the master bias and the master dark (matched, or scaled to the flat's
    exposure) from one raw flat; float32 [adu]. A master given as None is not
    subtracted: without a dark (a camera whose darks are not needed, or none made) only
    the bias is; without a bias, a dark of the flat's exposure that holds the bias level
    (a dark flat stacked without a master bias, see ``make_master_dark``) takes both.

    The exposure is ``exposure_s`` or the flat's EXPTIME. The input header is carried
    over with provenance cards added. Raises FrameMismatch (shapes), MasterFrameMissing
    (exposures differ and scaling is not allowed, or the dark holds the bias level),
    ValueError (unknown exposure, wrong master kinds, a bias with a dark that holds it).
    """
    check_bias_and_dark(master_bias, master_dark)
    header = carried_header(frame_header(flat))
    exposure = exposure_of(header, exposure_s)
    bias, dark = zeros_for(flat, master_bias, master_dark)
    scale = 0.0
    if master_dark is not None:
        scale = dark_scale(master_dark, exposure, allow_scaling=allow_dark_scaling)
    data = correct_frame(flat, bias, dark, scale, engine=engine)
    header["EXPTIME"] = (exposure, "[s] exposure time")
    if master_bias is not None:
        header["BIASFILE"] = text_card("BIASFILE", master_bias.label, "master bias subtracted")
    if master_dark is not None:
        header["DARKFILE"] = text_card("DARKFILE", master_dark.label, "master dark subtracted")
        header["DARKSCAL"] = (scale, "factor applied to the master dark")
    return CalibratedFrame(data, header)


def central_region(shape: tuple[int, int], fraction: float) -> tuple[slice, slice]:
    """The centred block covering ``fraction`` of each axis (at least one pixel).

    ``fraction`` = 1 is the whole frame. Raises ValueError outside (0, 1]."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    slices = []
    for size in shape:
        length = max(1, round(size * fraction))
        start = (size - length) // 2
        slices.append(slice(start, start + length))
    return slices[0], slices[1]


def flat_levels(flats: Sequence[FrameInput], fraction: float) -> np.ndarray:
    """Median of each flat's central region (float64), read one frame at a time.

    Raises FlatFieldInvalid when a centre has no finite pixel or its level is not
    positive."""
    with FrameStack(flats) as stack:
        rows, cols = central_region(stack.shape, fraction)
        levels = np.empty(stack.count)
        for k in range(stack.count):
            region = stack.values(k, rows.start, rows.stop)[:, cols]
            if not np.isfinite(region).any():
                raise FlatFieldInvalid(f"{stack.names[k]}: no finite pixel in its centre")
            levels[k] = selection.median(region) + stack.offset
            if not levels[k] > 0:
                raise FlatFieldInvalid(f"{stack.names[k]}: level {levels[k]} is not positive")
    return levels


def make_master_flat(
    flats: Sequence[FrameInput],
    *,
    filter_name: str,
    method: CombineMethod = "median",
    clip: SigmaClip | None = None,
    normalisation_fraction: float = 0.5,
    names: Sequence[str] | None = None,
    engine: Engine = "numba",
    max_replaced_fraction: float = MAX_REPLACED_FRACTION,
) -> MasterFrame:
    """Combine flat-dark corrected flats of one filter into a normalised master flat.

    Each flat is first divided by its own level (median of its central region, the
    centred block spanning ``normalisation_fraction`` of each axis; 1.0 = whole frame)
    so that flats of different brightness weigh alike; the combination is then divided
    by its own level, so the median of the master's central region is 1 (to float32
    precision). Pixels of the master below DEAD_BELOW or not finite (dead columns,
    pixels the camera flagged NaN) cannot divide a light: they are set to 1,
    leaving those pixels of the lights uncorrected (IRAF ccdproc's ``minreplace``), and
    counted in ``FLATREPL``. Raises FlatFieldInvalid when a level is not positive or
    more than ``max_replaced_fraction`` of the pixels would be set, and what
    ``combine_frames`` raises.
    """
    levels = flat_levels(flats, normalisation_fraction)
    combined = combine_frames(
        flats, method, clip=clip, scales=1.0 / levels, dtype=np.float64, engine=engine
    )
    rows, cols = central_region(combined.shape, normalisation_fraction)
    centre = combined[rows, cols]
    if not np.isfinite(centre).any():
        raise FlatFieldInvalid("combined flat has no finite pixel in its centre")
    level = selection.median(centre)
    if not level > 0:
        raise FlatFieldInvalid(f"combined flat has level {level}")
    data = (combined / level).astype(np.float32)
    replaced = replace_dead_pixels(data, max_replaced_fraction)
    statistics = frame_statistics(data, len(flats))
    header = provenance_header(IMAGE_TYPES["flat"], input_names(flats, names), method, clip)
    header["FILTER"] = (filter_name, "filter of the flat frames")
    header["FLATFRAC"] = (normalisation_fraction, "central fraction used for levels")
    header["FLATLEVL"] = (level, "scaled combination's level before normalising")
    header["FLATREPL"] = (replaced, f"pixels < {DEAD_BELOW:g} or not finite set to 1")
    if replaced:
        header.add_history(
            f"{replaced} pixels below {DEAD_BELOW:g} or not finite set to 1: lights left"
            " uncorrected there"
        )
    add_statistics(header, statistics)
    return MasterFrame("flat", data, header, statistics, None, filter_name)


def replace_dead_pixels(flat: np.ndarray, max_fraction: float) -> int:
    """Set the pixels of the normalised ``flat`` below DEAD_BELOW or not finite to 1 (in
    place) and return how many. Raises FlatFieldInvalid, naming the first, when they
    are more than ``max_fraction`` of the pixels."""
    bad = ~((flat >= DEAD_BELOW) & (flat < np.inf))
    count = int(np.count_nonzero(bad))
    if count > max_fraction * flat.size:
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raise FlatFieldInvalid(
            f"flat has {count} pixels ({100 * count / flat.size:.2g} %) below {DEAD_BELOW:g} or"
            f" not finite (first at row {row}, column {col}): more than the"
            f" {100 * max_fraction:g} % that may be set to 1"
        )
    flat[bad] = 1.0
    return count
