"""Star shapes: FWHM and ellipticity from the unsaturated, isolated stars of a frame.

FWHM is twice the half-flux radius (exact for a Gaussian star, the usual seeing profile;
a Moffat star's core is narrower than this by a few per cent), less the width that the
measurement itself adds: sep spreads each pixel's flux evenly over the pixel when it
sums the light within a radius, which widens the profile by a one-pixel box (variance
1/12 px^2 per axis); that is taken out in quadrature. The pixels' own integration of the
star stays in: the FWHM is that of the star's image on the detector. Ellipticity is
1 - b/a of the isophotal second moments. Both are medians over the stars used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sep
from numpy.typing import NDArray

from observatory.platesolve.sources import Sources

# Stars used for shapes: the brightest unsaturated ones, detected at this S/N or better.
MAX_SHAPE_STARS = 200
MIN_SNR = 20.0
# Below this share of the saturation level a star's core is taken as linear.
LINEAR_FRACTION = 0.9
# Stars closer to the edge than this many semi-major axes are left out.
EDGE_MARGIN_A = 6.0
FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))
# Variance [px^2] of a one-pixel box, added by sep's even spread of each pixel's flux.
BOX_VARIANCE_PX2 = 1.0 / 12.0


@dataclass(frozen=True)
class StarShapes:
    """Median FWHM [px] and ellipticity of ``stars_used`` stars (None when none)."""

    fwhm_px: float | None
    ellipticity: float | None
    stars_used: int


def saturated(sources: Sources, saturation_adu: float) -> NDArray[np.bool_]:
    """Sources whose peak (background added back) reaches the saturation level of the
    frame (its ADU scale: the raw level less the bias) within LINEAR_FRACTION."""
    return sources.peak_adu + sources.background_adu >= LINEAR_FRACTION * saturation_adu


def usable_stars(sources: Sources, saturation_adu: float) -> NDArray[np.bool_]:
    """Unsaturated, unblended, untruncated sources well above the noise, off the edges."""
    height, width = sources.shape
    margin = EDGE_MARGIN_A * sources.a_px
    inside = (sources.x_px > margin) & (sources.x_px < width - 1 - margin)
    inside &= (sources.y_px > margin) & (sources.y_px < height - 1 - margin)
    # S/N of the isophotal flux against background noise over an area of pi a b.
    noise_adu = sources.background_rms_adu * np.sqrt(np.pi * sources.a_px * sources.b_px)
    bright = sources.flux_adu > MIN_SNR * np.maximum(noise_adu, 1e-9)
    return inside & bright & (sources.flag == 0) & ~saturated(sources, saturation_adu)


def star_shapes(sources: Sources, saturation_adu: float) -> StarShapes:
    """FWHM and ellipticity of the frame's usable stars (brightest MAX_SHAPE_STARS)."""
    chosen = np.flatnonzero(usable_stars(sources, saturation_adu))[:MAX_SHAPE_STARS]
    if chosen.size == 0:
        return StarShapes(None, None, 0)
    x, y = sources.x_px[chosen], sources.y_px[chosen]
    radius_px, flags = sep.flux_radius(
        sources.image, x, y, EDGE_MARGIN_A * sources.a_px[chosen], 0.5, subpix=5
    )
    good = (flags == 0) & np.isfinite(radius_px) & (radius_px > 0)
    if not good.any():
        return StarShapes(None, None, 0)
    ellipticity = 1.0 - sources.b_px[chosen][good] / sources.a_px[chosen][good]
    sigma_px = 2.0 * float(np.median(radius_px[good])) / FWHM_PER_SIGMA
    return StarShapes(
        fwhm_px=FWHM_PER_SIGMA * float(np.sqrt(max(sigma_px**2 - BOX_VARIANCE_PX2, 0.0))),
        ellipticity=float(np.median(ellipticity)),
        stars_used=int(good.sum()),
    )
