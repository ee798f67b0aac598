"""Star images: point-spread functions rendered into small stamps.

A Gaussian PSF is integrated exactly over each pixel (separable error functions); a
Moffat PSF is sampled on a 3 x 3 grid inside each pixel. Each star touches only a stamp
around it, sized to where its light falls below a tenth of an electron.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import erf

MAX_STAMP_RADIUS_PX = 96
SIGMA_PER_FWHM = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))


@dataclass(frozen=True)
class Psf:
    """A point-spread function; ``fwhm_px`` in unbinned pixels."""

    fwhm_px: float
    model: str = "gaussian"
    moffat_beta: float = 3.0

    def __post_init__(self) -> None:
        if self.fwhm_px <= 0:
            raise ValueError("the PSF FWHM must be > 0")
        if self.model not in ("gaussian", "moffat"):
            raise ValueError(f"unknown PSF model {self.model!r}: use gaussian or moffat")
        if self.model == "moffat" and self.moffat_beta <= 1.0:
            raise ValueError("the Moffat beta must be > 1")

    def stamp_radius_px(self, electrons: float) -> int:
        """Half-size of a stamp holding all but a negligible share of ``electrons``."""
        if self.model == "gaussian":
            sigma = self.fwhm_px * SIGMA_PER_FWHM
            peak = electrons / (2 * np.pi * sigma**2)
            radius = sigma * np.sqrt(2.0 * np.log(max(peak / 0.1, np.e)))
        else:
            alpha = self._moffat_alpha()
            peak = electrons * (self.moffat_beta - 1) / (np.pi * alpha**2)
            radius = alpha * np.sqrt(max(peak / 0.1, 1.0) ** (1 / self.moffat_beta) - 1.0)
        return int(np.clip(np.ceil(radius) + 1, 3, MAX_STAMP_RADIUS_PX))

    def _moffat_alpha(self) -> float:
        return float(self.fwhm_px / (2.0 * np.sqrt(2.0 ** (1.0 / self.moffat_beta) - 1.0)))

    def stamp(self, dx: float, dy: float, radius: int) -> NDArray[np.float64]:
        """Fraction of the star's light in each pixel of a (2r+1)^2 stamp whose centre
        pixel is offset (dx, dy) pixels from the star; indexed [x, y]."""
        offsets = np.arange(-radius, radius + 1, dtype=np.float64)
        if self.model == "gaussian":
            scale = 1.0 / (self.fwhm_px * SIGMA_PER_FWHM * np.sqrt(2.0))
            fx = 0.5 * np.diff(erf((np.append(offsets - 0.5, radius + 0.5) - dx) * scale))
            fy = 0.5 * np.diff(erf((np.append(offsets - 0.5, radius + 0.5) - dy) * scale))
            return np.outer(fx, fy)
        sub = np.array([-1.0 / 3.0, 0.0, 1.0 / 3.0])
        xs = (offsets[:, None] + sub[None, :]).ravel() - dx
        ys = (offsets[:, None] + sub[None, :]).ravel() - dy
        alpha, beta = self._moffat_alpha(), self.moffat_beta
        r2 = xs[:, None] ** 2 + ys[None, :] ** 2
        density = (beta - 1) / (np.pi * alpha**2) * (1.0 + r2 / alpha**2) ** -beta
        n = 2 * radius + 1
        return density.reshape(n, 3, n, 3).mean(axis=(1, 3))


def add_stars(
    image_e: NDArray[np.float32],
    flat: NDArray[np.float32],
    x_px: NDArray[np.float64],
    y_px: NDArray[np.float64],
    electrons: NDArray[np.float64],
    psf: Psf,
) -> None:
    """Add stars (total ``electrons`` each, centred at pixel (x, y) of ``image_e``) into
    ``image_e`` in place, each stamp weighted by the ``flat`` response under it. Stars
    whose stamp misses the image are skipped."""
    nx, ny = image_e.shape
    for x, y, total in zip(x_px, y_px, electrons, strict=True):
        radius = psf.stamp_radius_px(float(total))
        cx, cy = int(np.rint(x)), int(np.rint(y))
        x0, x1 = max(cx - radius, 0), min(cx + radius + 1, nx)
        y0, y1 = max(cy - radius, 0), min(cy + radius + 1, ny)
        if x0 >= x1 or y0 >= y1:
            continue
        stamp = psf.stamp(x - cx, y - cy, radius) * total
        window = stamp[
            x0 - (cx - radius) : x1 - (cx - radius), y0 - (cy - radius) : y1 - (cy - radius)
        ]
        image_e[x0:x1, y0:y1] += (window * flat[x0:x1, y0:y1]).astype(np.float32)
