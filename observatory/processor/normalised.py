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
Such a frame is nearly always settled by its first rows (:data:`HEAD_ROWS`), read as a
section: the calibration then reads it once, not twice. Only a frame whose first rows
all lie within [0, 1] is read whole.
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


# Rows read from the top of each float plane before the whole plane is: one pixel of
# them outside [0, 1] shows the frame is in ADU.
HEAD_ROWS = 16


def _float_planes(hdus: fits.HDUList, planes: Iterable[int]) -> bool:
    """Whether any of the image HDUs ``planes`` is stored as floating point (BITPIX -32
    or -64), from the headers only."""
    return any(int(hdus[index].header["BITPIX"]) < 0 for index in planes)


def _outside_unit(values: NDArray[np.generic]) -> bool:
    """Whether any finite value lies below 0 or above 1 (NaN and infinity do not count)."""
    finite = values[np.isfinite(values)]
    return bool(finite.size and (np.min(finite) < 0.0 or np.max(finite) > 1.0))


def _in_adu_by_head(hdus: fits.HDUList, planes: Iterable[int]) -> bool:
    """Whether the first :data:`HEAD_ROWS` rows of one of the 2-D image HDUs ``planes``
    (read as a section: the rest of the plane stays on disk) hold a finite value
    outside [0, 1], which shows the frame is not normalised."""
    for index in planes:
        hdu = hdus[index]
        if hdu.header.get("NAXIS") == 2 and _outside_unit(np.asarray(hdu.section[:HEAD_ROWS])):
            return True
    return False


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
    planes' raw values when the caller holds them; else the first rows of each plane
    are read, and the whole planes only when those rows lie within [0, 1] (35 ms for a
    4096 x 4096 float frame in the page cache here; an integer frame, or a float frame
    in ADU, costs its header and a few rows, under 1 ms)."""
    planes = sorted(set(planes))
    with fits.open(path, memmap=False, lazy_load_hdus=True) as hdus:
        if not _float_planes(hdus, planes):
            return
        if values is None and _in_adu_by_head(hdus, planes):
            return
    held = list(read_plane_values(path, planes).values() if values is None else values)
    if held and all(within_unit(plane) for plane in held):
        raise NormalisedFrame(f"{path.name}: {WHAT_IS_WRONG}")
