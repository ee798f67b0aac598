"""The quality figures of one calibrated frame and the flags its thresholds raise.

Computed from the plate solver's outcome (its sources, and for an engine solution the
catalogue stars it matched); nothing is extracted twice. Figures that cannot be known
for a frame are None (no scale: no FWHM in arcsec; no solution by the engine: no zero
point; no site or time: no airmass).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from astropy.io import fits

from observatory.calibration.products import text_card
from observatory.platesolve.frame import SolveOutcome
from observatory.quality.airmass import airmass
from observatory.quality.photometry import limiting_mag, zero_point
from observatory.quality.stars import saturated, star_shapes, usable_stars
from observatory.settings import QualitySettings

# Tag-along magnitude columns of astrometry.net index files, in order of preference.
MAGNITUDE_COLUMNS = ("MAG_VT", "MAG", "mag", "MAG_V", "MAG_G", "MAG_R")


@dataclass(frozen=True)
class Observing:
    """What the frame's header and rows say about how it was taken. ``saturation_adu``
    is on the calibrated frame's scale (the raw level less the bias)."""

    exposure_s: float
    filter_name: str | None
    mid_exposure_utc: dt.datetime | None
    gain_e_per_adu: float | None
    saturation_adu: float
    scale_arcsec: float | None
    site_deg: tuple[float, float] | None
    pointing_deg: tuple[float, float] | None


@dataclass(frozen=True)
class FrameQuality:
    fwhm_arcsec: float | None
    fwhm_px: float | None
    ellipticity: float | None
    background_adu: float
    background_rms_adu: float
    sky_e_per_s_per_arcsec2: float | None
    sky_mag_per_arcsec2: float | None
    stars: int
    saturated_stars: int
    shape_stars: int
    airmass: float | None
    zero_point_mag: float | None
    zero_point_e_mag: float | None
    zero_point_scatter_mag: float | None
    zero_point_stars: int
    limiting_mag: float | None
    flags: tuple[str, ...]
    # Why a figure is missing, one phrase each (empty: every figure is there).
    notes: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        values = asdict(self)
        values["flags"] = list(self.flags)
        values["notes"] = list(self.notes)
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in values.items()}


def assess(
    outcome: SolveOutcome, observing: Observing, thresholds: QualitySettings
) -> FrameQuality:
    """The figures of the solved (or unsolved) frame and its flags."""
    sources = outcome.sources
    solution = outcome.solution
    scale = solution.pixel_scale_arcsec if solution else observing.scale_arcsec
    pointing = (
        (solution.ra_center_deg, solution.dec_center_deg) if solution else observing.pointing_deg
    )
    shapes = star_shapes(sources, observing.saturation_adu)
    figures: dict[str, Any] = {
        "fwhm_px": shapes.fwhm_px, "ellipticity": shapes.ellipticity,
        "fwhm_arcsec": shapes.fwhm_px * scale if shapes.fwhm_px and scale else None,
        "background_adu": sources.background_adu, "background_rms_adu": sources.background_rms_adu,
        "stars": len(sources), "shape_stars": shapes.stars_used,
        "saturated_stars": int(saturated(sources, observing.saturation_adu).sum()),
        "airmass": _airmass(observing, pointing),
    }  # fmt: skip
    sky_adu_per_s_arcsec2 = None
    if scale and observing.exposure_s > 0:
        sky_adu_per_s_arcsec2 = sources.background_adu / observing.exposure_s / scale**2
    figures["sky_e_per_s_per_arcsec2"] = (
        sky_adu_per_s_arcsec2 * observing.gain_e_per_adu
        if sky_adu_per_s_arcsec2 is not None and observing.gain_e_per_adu
        else None
    )
    figures.update(_photometry(outcome, observing, shapes.fwhm_px, sky_adu_per_s_arcsec2))
    return FrameQuality(
        **figures,
        flags=flags(figures, observing.filter_name, thresholds),
        notes=missing_notes(figures, outcome, observing, scale, pointing),
    )


def missing_notes(
    figures: dict[str, Any], outcome: SolveOutcome, observing: Observing, scale: float | None,
    pointing: tuple[float, float] | None,
) -> tuple[str, ...]:  # fmt: skip
    """Why each figure that is None could not be measured."""
    notes = []
    if figures["fwhm_px"] is None:
        notes.append("no FWHM: no unsaturated, isolated star well above the noise")
    elif figures["fwhm_arcsec"] is None:
        notes.append("no FWHM in arcsec: unsolved and no plate scale in the header or settings")
    if figures["airmass"] is None:
        known = pointing is not None and observing.site_deg and observing.mid_exposure_utc
        notes.append(
            "no airmass: the pointing is below the horizon"
            if known
            else "no airmass: the pointing, site or time is unknown"
        )
    if figures["zero_point_mag"] is None:
        if outcome.solution is None:
            notes.append("no zero point: the frame is not plate-solved")
        elif outcome.matches is None:
            notes.append("no zero point: solved by solve-field, which names no catalogue stars")
        else:
            notes.append("no zero point: too few unsaturated catalogue stars with magnitudes")
    if figures["sky_e_per_s_per_arcsec2"] is None and scale and not observing.gain_e_per_adu:
        notes.append("no sky in e-/s/arcsec2: the gain is unknown")
    return tuple(notes)


def _airmass(observing: Observing, pointing: tuple[float, float] | None) -> float | None:
    if pointing is None or observing.site_deg is None or observing.mid_exposure_utc is None:
        return None
    return airmass(*pointing, observing.mid_exposure_utc, *observing.site_deg)


def _photometry(
    outcome: SolveOutcome, observing: Observing, fwhm_px: float | None,
    sky_adu_per_s_arcsec2: float | None,
) -> dict[str, Any]:  # fmt: skip
    figures: dict[str, Any] = {
        "zero_point_mag": None, "zero_point_e_mag": None, "zero_point_scatter_mag": None,
        "zero_point_stars": 0, "limiting_mag": None, "sky_mag_per_arcsec2": None,
    }  # fmt: skip
    matches = outcome.matches
    if matches is None or fwhm_px is None:
        return figures
    mags = np.array([_catalogue_mag(star) for star in matches.star_metadata], dtype=np.float64)
    usable = usable_stars(outcome.sources, observing.saturation_adu)
    found = zero_point(
        outcome.sources, matches.fit.pairs.source_index, mags, usable, fwhm_px,
        observing.exposure_s,
    )  # fmt: skip
    if found is None:
        return figures
    figures["zero_point_mag"] = found.mag
    figures["zero_point_scatter_mag"] = found.scatter_mag
    figures["zero_point_stars"] = found.stars
    if observing.gain_e_per_adu:
        figures["zero_point_e_mag"] = found.mag + 2.5 * math.log10(observing.gain_e_per_adu)
    figures["limiting_mag"] = limiting_mag(
        found.mag, outcome.sources, fwhm_px, observing.exposure_s
    )
    if sky_adu_per_s_arcsec2 is not None and sky_adu_per_s_arcsec2 > 0:
        figures["sky_mag_per_arcsec2"] = found.mag - 2.5 * math.log10(sky_adu_per_s_arcsec2)
    return figures


def _catalogue_mag(metadata: dict[str, Any]) -> float:
    for column in MAGNITUDE_COLUMNS:
        value = metadata.get(column)
        if isinstance(value, int | float):
            return float(value)
    return math.nan


def flags(
    figures: dict[str, Any], filter_name: str | None, limits: QualitySettings
) -> tuple[str, ...]:
    """Why the frame is flagged, one phrase per threshold crossed (empty: not flagged)."""
    found = []
    fwhm, ellipticity = figures.get("fwhm_arcsec"), figures.get("ellipticity")
    if limits.max_fwhm_arcsec is not None and fwhm is not None and fwhm > limits.max_fwhm_arcsec:
        found.append(f'out of focus: FWHM {fwhm:.2f}" > {limits.max_fwhm_arcsec:g}"')
    if (limits.max_ellipticity is not None and ellipticity is not None
            and ellipticity > limits.max_ellipticity):  # fmt: skip
        found.append(f"trailed: ellipticity {ellipticity:.2f} > {limits.max_ellipticity:g}")
    zero_point_mag = figures.get("zero_point_mag")
    least = limits.min_zero_point_mag.get(filter_name or "")
    if least is not None and zero_point_mag is not None and zero_point_mag < least:
        found.append(f"low transparency: zero point {zero_point_mag:.2f} < {least:g} mag")
    sky = figures.get("sky_mag_per_arcsec2")
    brightest = limits.min_sky_mag_per_arcsec2
    if brightest is not None and sky is not None and sky < brightest:
        found.append(f"bright sky: {sky:.2f} < {brightest:g} mag/arcsec2")
    return tuple(found)


def quality_cards(quality: FrameQuality) -> fits.Header:
    """The figures as header cards (absent figures are left out)."""
    cards = fits.Header()
    rows: list[tuple[str, Any, str]] = [
        ("FWHM", quality.fwhm_arcsec, "[arcsec] median FWHM of unsaturated stars"),
        ("FWHMPIX", quality.fwhm_px, "[px] median FWHM of unsaturated stars"),
        ("ELLIPTIC", quality.ellipticity, "median ellipticity 1 - b/a"),
        ("SKYLEVEL", quality.background_adu, "[ADU] sky background"),
        ("SKYNOISE", quality.background_rms_adu, "[ADU] sky noise per pixel"),
        ("SKYMAG", quality.sky_mag_per_arcsec2, "[mag/arcsec2] sky brightness"),
        ("NSTARS", quality.stars, "sources detected at 5 sigma"),
        ("NSATUR", quality.saturated_stars, "saturated sources"),
        ("AIRMASS", quality.airmass, "air mass at mid-exposure"),
        ("MAGZP", quality.zero_point_mag, "[mag] zero point for 1 ADU/s"),
        ("MAGZPE", quality.zero_point_e_mag, "[mag] zero point for 1 e-/s"),
        ("MAGZPSIG", quality.zero_point_scatter_mag, "[mag] scatter of the zero point"),
        ("MAGZPN", quality.zero_point_stars, "catalogue stars in the zero point"),
        ("MAGLIM", quality.limiting_mag, "[mag] 5-sigma limiting magnitude"),
    ]
    for key, value, comment in rows:
        if value is not None:
            cards[key] = (round(value, 4) if isinstance(value, float) else value, comment)
    cards["QFLAGS"] = text_card("QFLAGS", "; ".join(quality.flags) or "none", "quality flags")
    if quality.notes:
        notes = "; ".join(quality.notes)
        cards["QNOTES"] = text_card("QNOTES", notes, "why quality figures are missing")
    return cards
