"""Half-flux diameters of the stars in a frame, and the V-curve they make across focus.

Pure functions on arrays. The half-flux diameter (HFD) is the diameter of the circle
holding half a star's flux; unlike the FWHM it stays well defined far from focus, where a
star becomes a disc (or a doughnut behind a central obstruction). Across focuser positions
``x`` the HFD follows a hyperbola, ``hfd(x) = a * sqrt(1 + ((x - c) / b) ** 2)``: ``a`` is
the HFD at best focus, ``c`` the best position and ``a / b`` the slope of its asymptotes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sep
from numpy.typing import NDArray
from scipy.ndimage import median_filter
from scipy.optimize import curve_fit

from observatory.errors import AutofocusFailed
from observatory.platesolve.sources import extract_sources

# A fit whose residuals exceed this share of the median HFD (plus the noise floor of an
# HFD measurement) is not a V-curve: faint or smeared stars, clouds, a moving mount.
MAX_RELATIVE_RMS = 0.1
NOISE_RMS_PX = 0.3
# Each end of a sweep must reach this multiple of the smallest HFD.
MIN_RISE = 1.25
EDGE_PX = 16


@dataclass(frozen=True)
class StarSizes:
    """The HFD (pixels, median over measured stars) of one frame and how many stars."""

    hfd_px: float | None
    stars: int


def measure_hfd(image: NDArray[np.generic], saturation_adu: float = 60000.0) -> StarSizes:
    """The median HFD of the stars of ``image`` (rows, columns) whose peak stays below
    ``saturation_adu``, away from the edges; ``hfd_px`` None when none was found.

    A 3 x 3 median first removes hot pixels and cosmic-ray hits, which would otherwise
    outnumber the stars of a raw frame and pin the median HFD near one pixel; it widens
    every star alike, so the position of the curve's minimum does not move. The stars
    are those of the project's one extraction (:func:`extract_sources`)."""
    found = extract_sources(median_filter(np.asarray(image, dtype=np.float32), size=3))
    ny, nx = found.shape
    keep = (found.flag == 0) & (found.peak_adu + found.background_adu < saturation_adu)
    keep &= (found.x_px > EDGE_PX) & (found.x_px < nx - EDGE_PX)
    keep &= (found.y_px > EDGE_PX) & (found.y_px < ny - EDGE_PX)
    if not keep.any():
        return StarSizes(None, 0)
    rmax = np.clip(8.0 * found.a_px[keep], 6.0, 60.0)
    radius, flags = sep.flux_radius(found.image, found.x_px[keep], found.y_px[keep], rmax, 0.5,
                                    normflux=found.flux_adu[keep], subpix=5)  # fmt: skip
    good = (flags == 0) & np.isfinite(radius) & (radius > 0)
    if not good.any():
        return StarSizes(None, 0)
    return StarSizes(float(np.median(2.0 * radius[good])), int(good.sum()))


def hyperbola(x: NDArray[np.float64], a: float, b: float, c: float) -> NDArray[np.float64]:
    """The V-curve model: HFD at focuser position ``x``."""
    return a * np.sqrt(1.0 + ((x - c) / b) ** 2)


@dataclass(frozen=True)
class VCurveFit:
    """A fitted V-curve: best position ``c`` (steps), HFD there ``a`` (pixels), asymptote
    scale ``b`` (steps), and the RMS of the residuals (pixels)."""

    a_px: float
    b_steps: float
    best_position: float
    rms_px: float


def fit_v_curve(
    positions: list[int], hfds_px: list[float | None], min_points: int = 5
) -> VCurveFit:
    """Fit the hyperbola to the measured points (None HFDs are frames without stars).

    Raises :class:`AutofocusFailed` saying why when the points cannot give a trustworthy
    best position: too few measured frames, the smallest HFD at an end of the sweep
    (best focus outside it), a curve too flat to show a minimum, or a fit that does not
    converge or puts the minimum outside the sweep.
    """
    measured = [(p, h) for p, h in zip(positions, hfds_px, strict=True) if h is not None]
    if len(measured) < min_points:
        raise AutofocusFailed(
            f"only {len(measured)} of {len(positions)} frames had stars to measure;"
            f" at least {min_points} are needed"
        )
    x = np.array([p for p, _ in measured], dtype=np.float64)
    y = np.array([h for _, h in measured], dtype=np.float64)
    lowest = int(np.argmin(y))
    if lowest in (0, len(x) - 1):
        side = "below" if lowest == 0 else "above"
        raise AutofocusFailed(
            f"the smallest HFD ({y[lowest]:.2f} px) is at the end of the sweep, position"
            f" {x[lowest]:.0f}: best focus lies {side} it; recentre the sweep"
        )
    _require_both_sides_rise(x, y, lowest)
    # Asymptote slope (px per step) from the steeper side, for the starting guess.
    slope = max((y[0] - y[lowest]) / (x[lowest] - x[0]), (y[-1] - y[lowest]) / (x[-1] - x[lowest]))
    guess = (y[lowest], max(y[lowest] / slope, 1.0), x[lowest])
    span = x[-1] - x[0]
    try:
        params, _ = curve_fit(
            hyperbola, x, y, p0=guess,
            bounds=([1e-3, 1e-3, x[0] - span], [np.inf, np.inf, x[-1] + span]),
            maxfev=5000,
        )  # fmt: skip
    except (RuntimeError, ValueError) as error:
        raise AutofocusFailed(f"the V-curve fit did not converge: {error}") from error
    a, b, c = (float(v) for v in params)
    if not x[0] <= c <= x[-1]:
        raise AutofocusFailed(
            f"the fitted best position {c:.0f} lies outside the sweep {x[0]:.0f}..{x[-1]:.0f}"
        )
    rms = float(np.sqrt(np.mean((hyperbola(x, a, b, c) - y) ** 2)))
    allowed_rms = MAX_RELATIVE_RMS * float(np.median(y)) + NOISE_RMS_PX
    if rms > allowed_rms:
        raise AutofocusFailed(
            f"the points do not follow a V-curve (residuals {rms:.2f} px RMS, more than"
            f" {allowed_rms:.2f}): stars too faint or too defocused to measure?"
        )
    return VCurveFit(a, b, c, rms)


def _require_both_sides_rise(x: NDArray[np.float64], y: NDArray[np.float64], lowest: int) -> None:
    """Each end of the sweep must be at least MIN_RISE times the smallest HFD: a curve
    flat on both sides needs a wider step; flat on one side, a sweep centred further
    that way."""
    low_end, high_end = y[0] >= MIN_RISE * y[lowest], y[-1] >= MIN_RISE * y[lowest]
    if low_end and high_end:
        return
    figures = (
        f"HFD {y[0]:.2f} px at {x[0]:.0f}, {y[lowest]:.2f} px at {x[lowest]:.0f},"
        f" {y[-1]:.2f} px at {x[-1]:.0f}"
    )
    if not low_end and not high_end:
        raise AutofocusFailed(f"the curve is too flat ({figures}): widen the step")
    side = "below" if not low_end else "above"
    raise AutofocusFailed(
        f"the curve barely rises {side} its smallest HFD ({figures}): best focus lies near"
        f" the end of the sweep; recentre it further {side}"
    )


def sweep_positions(centre: int, step: int, points: int, max_step: int) -> list[int]:
    """``points`` positions ``step`` apart centred on ``centre``, shifted (not clipped)
    to stay within 0..max_step; raises ValueError when they cannot fit."""
    span = step * (points - 1)
    if span > max_step:
        raise ValueError(f"a sweep of {points} x {step} steps exceeds the focuser's range")
    first = min(max(centre - span // 2, 0), max_step - span)
    return [first + i * step for i in range(points)]
