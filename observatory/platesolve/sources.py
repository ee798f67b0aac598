"""The stars of a frame, extracted with ``sep`` (SExtractor's algorithms as a library).

One extraction serves the plate solution and the frame's quality figures. Positions are
0-based pixel centres of the numpy array ``data[y, x]``: ``x_px`` the column, ``y_px`` the
row (FITS pixel = 0-based + 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import sep
from numpy.typing import NDArray

# Detection threshold in units of the background noise, and the smallest object [px].
THRESHOLD_SIGMA = 5.0
MIN_AREA_PX = 5
# sep's buffer of pixels above the threshold: its default (300,000) costs nothing on most
# frames, and a crowded or bright frame that overflows it is extracted again with this one
# (a bigger buffer costs its allocation on every call, so it is not the default).
LARGE_PIXSTACK = 5_000_000
DEFAULT_PIXSTACK = sep.get_extract_pixstack()
# Background mesh: SExtractor's 64 px boxes, larger on large frames (as cheap, half the time).
MIN_BOX_PX = 64
BOXES_ACROSS = 32


@dataclass(frozen=True)
class Sources:
    """Objects found on a frame, brightest first; background in ADU; ``image`` is the
    background-subtracted frame they were found on (for photometry and shapes)."""

    x_px: NDArray[np.float64]
    y_px: NDArray[np.float64]
    flux_adu: NDArray[np.float64]
    peak_adu: NDArray[np.float64]
    a_px: NDArray[np.float64]
    b_px: NDArray[np.float64]
    flag: NDArray[np.int64]
    background_adu: float
    background_rms_adu: float
    shape: tuple[int, int]
    image: NDArray[np.float32] = field(repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.x_px)


def _extract(
    image: NDArray[np.float32], rms_adu: float, mask: NDArray[np.bool_] | None
) -> NDArray[np.void]:
    try:
        return sep.extract(image, THRESHOLD_SIGMA, err=rms_adu, mask=mask, minarea=MIN_AREA_PX)
    except Exception as error:
        if "pixel buffer full" not in str(error):
            raise
    sep.set_extract_pixstack(LARGE_PIXSTACK)
    try:
        return sep.extract(image, THRESHOLD_SIGMA, err=rms_adu, mask=mask, minarea=MIN_AREA_PX)
    finally:
        sep.set_extract_pixstack(DEFAULT_PIXSTACK)


def extract_sources(data: NDArray[np.generic]) -> Sources:
    """Background-subtracted objects of a 2-D frame ``data[y, x]``, brightest first.

    Non-finite pixels are masked. Raises ValueError for an array that is not 2-D, and
    sep's own Exception when its buffers overflow (a frame of noise at a bad threshold).
    """
    if data.ndim != 2:
        raise ValueError(f"a frame is 2-D, got shape {data.shape}")
    image = np.array(data, dtype=np.float32, order="C")  # a copy: subtracted in place
    finite = np.isfinite(image)
    mask = None
    if not finite.all():
        mask = ~finite
        image[mask] = 0.0
    box_px = max(MIN_BOX_PX, min(image.shape) // BOXES_ACROSS)
    background = sep.Background(image, mask=mask, bw=box_px, bh=box_px)
    background.subfrom(image)
    objects = _extract(image, background.globalrms, mask)
    order = np.argsort(objects["flux"])[::-1]
    objects = objects[order]
    return Sources(
        x_px=objects["x"].astype(np.float64),
        y_px=objects["y"].astype(np.float64),
        flux_adu=objects["flux"].astype(np.float64),
        peak_adu=objects["peak"].astype(np.float64),
        a_px=objects["a"].astype(np.float64),
        b_px=objects["b"].astype(np.float64),
        flag=objects["flag"].astype(np.int64),
        background_adu=float(background.globalback),
        background_rms_adu=float(background.globalrms),
        shape=(int(data.shape[0]), int(data.shape[1])),
        image=image,
    )
