"""Gnomonic (TAN) projection between sky coordinates and detector pixels.

Convention (matches FITS WCS with the image written as ``data[y, x]``): pixel ``(x, y)``
is 0-based, the optical axis falls on ``reference_px`` (the centre of the full sensor), and
with ``rotation_deg`` 0 north points to +y and east to -x (the sky as seen on a screen,
standard parity). ``rotation_deg`` is the position angle of +y, measured from north
through east.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

ARCSEC_PER_DEG = 3600.0


def sky_to_plane(
    ra_deg: ArrayLike, dec_deg: ArrayLike, center_ra_deg: float, center_dec_deg: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Standard coordinates (xi east, eta north), in degrees, of points about a centre.

    Points 90 degrees or more from the centre have no gnomonic image: they come back as
    NaN.
    """
    ra = np.radians(np.asarray(ra_deg, dtype=np.float64))
    dec = np.radians(np.asarray(dec_deg, dtype=np.float64))
    ra0, dec0 = np.radians(center_ra_deg), np.radians(center_dec_deg)
    d_ra = ra - ra0
    cos_c = np.sin(dec0) * np.sin(dec) + np.cos(dec0) * np.cos(dec) * np.cos(d_ra)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.where(cos_c > 0, 1.0 / cos_c, np.nan)
    xi = np.cos(dec) * np.sin(d_ra) * inv
    eta = (np.cos(dec0) * np.sin(dec) - np.sin(dec0) * np.cos(dec) * np.cos(d_ra)) * inv
    return np.degrees(xi), np.degrees(eta)


def plane_to_sky(
    xi_deg: ArrayLike, eta_deg: ArrayLike, center_ra_deg: float, center_dec_deg: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Inverse of :func:`sky_to_plane`: (ra in [0, 360), dec) in degrees."""
    xi = np.radians(np.asarray(xi_deg, dtype=np.float64))
    eta = np.radians(np.asarray(eta_deg, dtype=np.float64))
    ra0, dec0 = np.radians(center_ra_deg), np.radians(center_dec_deg)
    # Written without rho so that the centre itself (rho = 0) needs no special case.
    denom = np.cos(dec0) - eta * np.sin(dec0)
    ra = ra0 + np.arctan2(xi, denom)
    dec = np.arctan2(np.sin(dec0) + eta * np.cos(dec0), np.hypot(xi, denom))
    return np.degrees(ra) % 360.0, np.degrees(dec)


def offset_sky(
    ra_deg: float, dec_deg: float, east_arcsec: float, north_arcsec: float
) -> tuple[float, float]:
    """The point ``east_arcsec`` east and ``north_arcsec`` north of (ra, dec), in the
    tangent plane there; exact for any offset below 90 degrees."""
    ra, dec = plane_to_sky(
        east_arcsec / ARCSEC_PER_DEG, north_arcsec / ARCSEC_PER_DEG, ra_deg, dec_deg
    )
    return float(ra), float(dec)


def offset_between(
    from_ra_deg: float, from_dec_deg: float, to_ra_deg: float, to_dec_deg: float
) -> tuple[float, float]:
    """(east_arcsec, north_arcsec) of ``to`` in the tangent plane at ``from``; the inverse
    of :func:`offset_sky`."""
    xi, eta = sky_to_plane(to_ra_deg, to_dec_deg, from_ra_deg, from_dec_deg)
    return float(xi) * ARCSEC_PER_DEG, float(eta) * ARCSEC_PER_DEG


def angular_separation_deg(
    ra1_deg: float, dec1_deg: float, ra2_deg: float, dec2_deg: float
) -> float:
    """Great-circle distance in degrees (Vincenty form: accurate at all separations)."""
    ra1, dec1, ra2, dec2 = np.radians([ra1_deg, dec1_deg, ra2_deg, dec2_deg])
    d_ra = ra2 - ra1
    num = np.hypot(
        np.cos(dec2) * np.sin(d_ra),
        np.cos(dec1) * np.sin(dec2) - np.sin(dec1) * np.cos(dec2) * np.cos(d_ra),
    )
    den = np.sin(dec1) * np.sin(dec2) + np.cos(dec1) * np.cos(dec2) * np.cos(d_ra)
    return float(np.degrees(np.arctan2(num, den)))


@dataclass(frozen=True)
class TangentPlane:
    """The mapping between sky and pixels of one pointing.

    ``pixel_scale_arcsec`` is arcseconds per unbinned pixel; ``reference_px`` the (x, y)
    pixel that sees (``center_ra_deg``, ``center_dec_deg``).
    """

    center_ra_deg: float
    center_dec_deg: float
    pixel_scale_arcsec: float
    rotation_deg: float
    reference_px: tuple[float, float]

    def _matrix(self) -> NDArray[np.float64]:
        # Maps pixel offsets to (xi, eta) in degrees; it is its own inverse up to the scale.
        c, s = np.cos(np.radians(self.rotation_deg)), np.sin(np.radians(self.rotation_deg))
        return np.array([[-c, s], [s, c]])

    def sky_to_pixel(
        self, ra_deg: ArrayLike, dec_deg: ArrayLike
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Pixel (x, y) of sky points; NaN for points 90 degrees or more away."""
        xi, eta = sky_to_plane(ra_deg, dec_deg, self.center_ra_deg, self.center_dec_deg)
        m = self._matrix()
        scale_deg = self.pixel_scale_arcsec / ARCSEC_PER_DEG
        dx = (m[0, 0] * xi + m[0, 1] * eta) / scale_deg
        dy = (m[1, 0] * xi + m[1, 1] * eta) / scale_deg
        return dx + self.reference_px[0], dy + self.reference_px[1]

    def pixel_to_sky(
        self, x: ArrayLike, y: ArrayLike
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Sky (ra, dec) in degrees of pixel positions."""
        m = self._matrix()
        scale_deg = self.pixel_scale_arcsec / ARCSEC_PER_DEG
        dx = np.asarray(x, dtype=np.float64) - self.reference_px[0]
        dy = np.asarray(y, dtype=np.float64) - self.reference_px[1]
        xi = (m[0, 0] * dx + m[0, 1] * dy) * scale_deg
        eta = (m[1, 0] * dx + m[1, 1] * dy) * scale_deg
        return plane_to_sky(xi, eta, self.center_ra_deg, self.center_dec_deg)

    def fits_wcs_header(self) -> dict[str, object]:
        """FITS WCS keywords of this mapping, for an image written as ``data[y, x]``."""
        m = self._matrix() * self.pixel_scale_arcsec / ARCSEC_PER_DEG
        return {
            "CTYPE1": "RA---TAN",
            "CTYPE2": "DEC--TAN",
            "CRVAL1": self.center_ra_deg,
            "CRVAL2": self.center_dec_deg,
            "CRPIX1": self.reference_px[0] + 1.0,
            "CRPIX2": self.reference_px[1] + 1.0,
            "CD1_1": m[0, 0],
            "CD1_2": m[0, 1],
            "CD2_1": m[1, 0],
            "CD2_2": m[1, 1],
        }
