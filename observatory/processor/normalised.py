"""Frames re-saved normalised to [0, 1] (PixInsight, Siril) refused before calibration.

PixInsight and Siril save 32-bit float frames (BITPIX -32) with a 16-bit camera's
0..65535 mapped to 0..1. The calibration maths work in the camera's ADU: such a flat
would be screened out as underexposed at half an ADU, and a normalised light or bias
mixed with frames or masters in ADU gives wrong pixels without a word. Rescaling is a
guess (the camera's range is not written down), so the frame is refused instead, in one
line naming the file.

A refused frame fails its whole unit (the light's, and the bias, dark or flat group's),
rather than being left out of the group as screening leaves out a poor exposure: it is
not a poor exposure but a processed file in a batch of raw ones; a master made from the
group's other frames would hide that, and its lights (re-saved alike) would fail one by
one anyway. The operator replaces the files with the camera's and resumes the batch.

Only frames whose raw pixel type is floating point are read for the check (integer
frames, with or without BZERO, cost a header read); a float frame with any finite pixel
above 1 or below 0 (a camera writing float ADU, MaxIm's 32-bit float option) passes.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
from astropy.io import fits
from numpy.typing import NDArray

from observatory.calibration.overscan import read_plane_values
from observatory.errors import FrameMismatch

WHAT_IS_WRONG = (
    "pixel values lie within [0, 1]: a frame normalised by PixInsight or Siril, "
    "not the camera's ADU; calibrate the raw frames"
)


class NormalisedFrame(FrameMismatch):
    """A raw frame whose float pixels all lie within [0, 1]: not in the camera's ADU."""


def float_pixels(path: Path, planes: Iterable[int] = (0,)) -> bool:
    """Whether the raw file stores any of its image HDUs ``planes`` as floating point
    (BITPIX -32 or -64), from the headers only."""
    with fits.open(path, memmap=False, lazy_load_hdus=True) as hdus:
        return any(int(hdus[index].header["BITPIX"]) < 0 for index in set(planes))


def within_unit(values: NDArray[np.generic]) -> bool:
    """Whether every finite value lies within [0, 1] (False when none is finite). The
    plain minimum and maximum decide a frame without NaN or infinity; only one with
    them pays for the mask of finite pixels."""
    low, high = np.min(values), np.max(values)
    if np.isfinite(low) and np.isfinite(high):
        return bool(low >= 0.0 and high <= 1.0)
    finite = np.isfinite(values)
    if not finite.any():
        return False
    low = np.min(values, where=finite, initial=np.inf)
    high = np.max(values, where=finite, initial=-np.inf)
    return bool(low >= 0.0 and high <= 1.0)


def refuse_normalised(
    path: Path,
    planes: Iterable[int] = (0,),
    values: Iterable[NDArray[np.generic]] | None = None,
) -> None:
    """Raise NormalisedFrame naming ``path`` when its image HDUs ``planes`` are stored
    as floating point and every finite pixel lies within [0, 1]. ``values`` are the
    planes' raw values when the caller holds them; else they are read once (35 ms for
    a 4096 x 4096 float frame in the page cache here; an integer frame costs its
    header, under 1 ms)."""
    planes = sorted(set(planes))
    if not float_pixels(path, planes):
        return
    held = list(read_plane_values(path, planes).values() if values is None else values)
    if held and all(within_unit(plane) for plane in held):
        raise NormalisedFrame(f"{path.name}: {WHAT_IS_WRONG}")
