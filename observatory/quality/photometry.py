"""The photometric zero point and 5-sigma limiting magnitude of a solved frame.

Zero point: the magnitude of a source giving 1 ADU/s, from aperture fluxes (radius
APERTURE_FWHM x FWHM) of the catalogue stars the plate solution matched, sigma-clipped;
its scatter is the clipped standard deviation of the stars' values. With the gain known,
the zero point for 1 e-/s is that plus 2.5 log10(gain). Limiting magnitude: a point
source whose flux in an aperture of radius FWHM (a Gaussian puts 93.75 % of its light
there) is 5 times the background noise in that aperture.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sep
from astropy.stats import sigma_clipped_stats
from numpy.typing import NDArray

from observatory.platesolve.sources import Sources

APERTURE_FWHM = 2.0
# Share of a Gaussian star's flux within a radius of one FWHM: 1 - exp(-4 ln 2).
FLUX_IN_ONE_FWHM = 1.0 - np.exp(-4.0 * np.log(2.0))
MIN_ZERO_POINT_STARS = 3


@dataclass(frozen=True)
class ZeroPoint:
    """Zero point [mag for 1 ADU/s] with its scatter [mag] over ``stars`` stars."""

    mag: float
    scatter_mag: float
    stars: int


def zero_point(
    sources: Sources, source_index: NDArray[np.intp], catalogue_mag: NDArray[np.float64],
    usable: NDArray[np.bool_], fwhm_px: float, exposure_s: float,
) -> ZeroPoint | None:  # fmt: skip
    """The zero point from catalogue stars matched with sources (``source_index`` into
    ``sources``, ``catalogue_mag`` theirs); only sources marked ``usable`` count. None
    with fewer than MIN_ZERO_POINT_STARS stars or no exposure time."""
    keep = usable[source_index] & np.isfinite(catalogue_mag)
    index, mag = source_index[keep], catalogue_mag[keep]
    if index.size < MIN_ZERO_POINT_STARS or exposure_s <= 0:
        return None
    flux_adu, _, flags = sep.sum_circle(
        sources.image, sources.x_px[index], sources.y_px[index], APERTURE_FWHM * fwhm_px,
        subpix=5,
    )  # fmt: skip
    good = (flags == 0) & (flux_adu > 0)
    if good.sum() < MIN_ZERO_POINT_STARS:
        return None
    values = mag[good] + 2.5 * np.log10(flux_adu[good] / exposure_s)
    _mean, median, std = sigma_clipped_stats(values, sigma=3.0, maxiters=5)
    clipped = np.abs(values - median) <= 3.0 * max(std, 1e-6)
    return ZeroPoint(float(median), float(std), int(clipped.sum()))


def limiting_mag(
    zero_point_mag: float, sources: Sources, fwhm_px: float, exposure_s: float
) -> float:
    """5-sigma limiting magnitude [same system as the zero point] of a point source."""
    noise_adu = sources.background_rms_adu * np.sqrt(np.pi * fwhm_px**2)
    flux_adu = 5.0 * noise_adu / FLUX_IN_ONE_FWHM
    return float(zero_point_mag - 2.5 * np.log10(flux_adu / exposure_s))
