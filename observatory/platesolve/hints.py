"""Where to look: the mount's RA/Dec and the plate scale, from a frame's header.

The hints narrow the search; a wrong hint makes a frame fail to solve, never solve wrong
(every solution is verified against the catalogue).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from astropy.coordinates import Angle

from observatory.errors import ObservatoryError
from observatory.settings import Settings

ARCSEC_PER_RADIAN = 206264.806
# The scale hint's range: header values are rarely better than this.
SCALE_TOLERANCE = 0.1


class HintUnreadable(ObservatoryError):
    """A header card meant as a hint (RA, DEC) holds a value that is not an angle."""


@dataclass(frozen=True)
class Hints:
    """Where the frame should be: centre [deg] within ``radius_deg``, and the plate
    scale [arcsec/px]; None where unknown."""

    ra_deg: float | None
    dec_deg: float | None
    radius_deg: float
    scale_arcsec: float | None

    @property
    def has_position(self) -> bool:
        return self.ra_deg is not None and self.dec_deg is not None

    def scale_range_arcsec(self) -> tuple[float, float] | None:
        if self.scale_arcsec is None:
            return None
        return (
            self.scale_arcsec * (1 - SCALE_TOLERANCE),
            self.scale_arcsec * (1 + SCALE_TOLERANCE),
        )


def plate_scale_arcsec(header: Mapping[str, Any], binning: int, settings: Settings) -> float | None:
    """Arcseconds per (binned) pixel: 206265 x XPIXSZ [um] / FOCALLEN [mm], where XPIXSZ
    is the binned pixel as capture programs write it; else the unbinned
    ``processor.pixel_scale_arcsec`` x binning; None when neither is known."""
    pixel_um, focal_mm = header.get("XPIXSZ"), header.get("FOCALLEN")
    if isinstance(pixel_um, int | float) and isinstance(focal_mm, int | float) and focal_mm > 0:
        return ARCSEC_PER_RADIAN * pixel_um * 1e-3 / focal_mm
    if settings.processor.pixel_scale_arcsec is not None:
        return settings.processor.pixel_scale_arcsec * binning
    return None


def hints_from_header(header: Mapping[str, Any], settings: Settings) -> Hints:
    """Hints from the cards capture programs write: RA/DEC (degrees as numbers, RA in
    hours as a sexagesimal string) or OBJCTRA/OBJCTDEC, XPIXSZ/FOCALLEN/XBINNING.

    Raises HintUnreadable naming a card whose value is not an angle."""
    ra_deg = _angle_deg(header, ("RA", "OBJCTRA"), "hourangle")
    dec_deg = _angle_deg(header, ("DEC", "OBJCTDEC"), "deg")
    binning = header.get("XBINNING", 1)
    binning = int(binning) if isinstance(binning, int | float) and binning >= 1 else 1
    return Hints(
        ra_deg=ra_deg,
        dec_deg=dec_deg,
        radius_deg=settings.processor.solve_radius_deg,
        scale_arcsec=plate_scale_arcsec(header, binning, settings),
    )


def _angle_deg(header: Mapping[str, Any], keys: tuple[str, ...], string_unit: str) -> float | None:
    for key in keys:
        value = header.get(key)
        if value is None or value == "":
            continue
        if isinstance(value, int | float):
            return float(value)
        try:
            return float(Angle(str(value), unit=string_unit).deg)
        except ValueError as error:
            raise HintUnreadable(f"header card {key} = {value!r} is not an angle") from error
    return None
