"""The equatorial systems a mount may work in (ASCOM ``EquatorialSystem``), and J2000
(ICRS) coordinates converted to and from each of them, with erfa.

* Topocentric (1, "JNow"): the apparent place of date (precession, nutation, annual
  aberration, light deflection: erfa's ICRS -> CIRS), right ascension counted from the
  true equinox (CIRS minus the equation of the origins), as a mount's apparent sidereal
  time expects. Diurnal aberration (under 0.32 arcsec) and parallax (none for stars) are
  left out, so no site and no IERS table are needed.
* J2050 (3): the mean place at J2050.0 (IAU 2006 precession, with frame bias).
* B1950 (4): FK4 at equinox B1950 (erfa's FK5 <-> FK4, zero FK5 proper motion).
* J2000 (2) and Other (0) pass unchanged: Other names no frame to convert to, so its
  coordinates are taken as J2000 (the mount adapter says so in its log).

``epoch_utc`` (timezone-aware) is the mount's date. TT is taken as UTC + 69.184 s (the
leap seconds since 2017: a further one moves a position by microarcseconds). The
star-independent parameters are computed once per EPOCH_STEP_S of epoch and cached: the
apparent place of a star changes by under 0.01 arcsec in that time. Angles are degrees.
``observatory.ephemeris.precess_from_j2000`` is not used here: it leaves out nutation and
aberration (up to 40 arcsec), which is fine for altitudes, not for pointing.
"""

from __future__ import annotations

import functools
import math
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

import erfa
import numpy as np
from numpy.typing import NDArray

from observatory.ephemeris import J2000_JD, julian_date

TT_MINUS_UTC_S = 69.184
EPOCH_STEP_S = 600.0
J2050_DAYS_AFTER_J2000 = 50 * 365.25


class EquatorialSystem(IntEnum):
    """ASCOM EquatorialCoordinateType."""

    OTHER = 0
    TOPOCENTRIC = 1
    J2000 = 2
    J2050 = 3
    B1950 = 4

    @property
    def needs_epoch(self) -> bool:
        """True when the conversion depends on the date (apparent place, FK4)."""
        return self in (EquatorialSystem.TOPOCENTRIC, EquatorialSystem.B1950)


def to_mount(
    system: EquatorialSystem, ra_deg: float, dec_deg: float, epoch_utc: datetime | None = None
) -> tuple[float, float]:
    """J2000 ``ra_deg``/``dec_deg`` in ``system`` at ``epoch_utc``: RA in [0, 360).

    Raises ValueError when ``system`` needs an epoch and none (or a naive one) is given.
    """
    ra, dec = math.radians(ra_deg), math.radians(dec_deg)
    if system is EquatorialSystem.TOPOCENTRIC:
        astrom, eo = _apparent_parameters(_epoch_key(epoch_utc))
        ri, di = erfa.atciq(ra, dec, 0.0, 0.0, 0.0, 0.0, astrom)
        ra, dec = erfa.anp(ri - eo), di
    elif system is EquatorialSystem.J2050:
        ra, dec = erfa.c2s(_j2050_matrix() @ erfa.s2c(ra, dec))
    elif system is EquatorialSystem.B1950:
        ra, dec, _, _ = erfa.fk54z(ra, dec, _besselian_epoch(epoch_utc))
    return _degrees(ra, dec)


def from_mount(
    system: EquatorialSystem, ra_deg: float, dec_deg: float, epoch_utc: datetime | None = None
) -> tuple[float, float]:
    """``ra_deg``/``dec_deg`` given in ``system`` at ``epoch_utc``, as J2000: the inverse
    of :func:`to_mount`. Raises ValueError as it does."""
    ra, dec = math.radians(ra_deg), math.radians(dec_deg)
    if system is EquatorialSystem.TOPOCENTRIC:
        astrom, eo = _apparent_parameters(_epoch_key(epoch_utc))
        ra, dec = erfa.aticq(erfa.anp(ra + eo), dec, astrom)
    elif system is EquatorialSystem.J2050:
        ra, dec = erfa.c2s(_j2050_matrix().T @ erfa.s2c(ra, dec))
    elif system is EquatorialSystem.B1950:
        ra, dec = erfa.fk45z(ra, dec, _besselian_epoch(epoch_utc))
    return _degrees(ra, dec)


def _degrees(ra_rad: Any, dec_rad: Any) -> tuple[float, float]:
    ra_deg = math.degrees(float(erfa.anp(ra_rad))) % 360.0
    return ra_deg, math.degrees(float(dec_rad))


def _epoch_key(epoch_utc: datetime | None) -> int:
    if epoch_utc is None:
        raise ValueError("this equatorial system needs the mount's date (epoch_utc)")
    julian_date(epoch_utc)  # refuses a naive datetime
    return round(epoch_utc.timestamp() / EPOCH_STEP_S)


def _tt(epoch_key: int) -> tuple[float, float]:
    """The TT Julian date of an epoch key, in two parts (J2000 and the days after it)."""
    utc_jd = julian_date(datetime.fromtimestamp(epoch_key * EPOCH_STEP_S, UTC))
    return J2000_JD, utc_jd - J2000_JD + TT_MINUS_UTC_S / 86400.0


@functools.lru_cache(maxsize=16)
def _apparent_parameters(epoch_key: int) -> tuple[NDArray[Any], float]:
    astrom, eo = erfa.apci13(*_tt(epoch_key))
    return astrom, float(eo)


@functools.cache
def _j2050_matrix() -> NDArray[np.float64]:
    return np.asarray(erfa.pmat06(J2000_JD, J2050_DAYS_AFTER_J2000))


def _besselian_epoch(epoch_utc: datetime | None) -> float:
    return float(erfa.epb(*_tt(_epoch_key(epoch_utc))))
