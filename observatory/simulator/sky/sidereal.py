"""Local sidereal time of the simulated clock, from astropy.

Greenwich mean sidereal time (IAU 2006) plus the east longitude. UT1 - UTC is taken as 0
(it stays below 0.9 s, i.e. under 14 arcseconds of hour angle) and the equation of the
equinoxes (under 1.2 s) is left out, so no IERS table is needed and nothing is downloaded.
"""

from __future__ import annotations

from datetime import datetime

from astropy.time import Time


def local_sidereal_time_hours(utc: datetime, longitude_deg: float) -> float:
    """Local mean sidereal time in hours, in [0, 24), at ``utc`` (timezone-aware) and
    ``longitude_deg`` (east positive)."""
    if utc.tzinfo is None:
        raise ValueError("utc must be timezone-aware")
    time = Time(utc, scale="utc")
    time.delta_ut1_utc = 0.0
    gmst_hours = float(time.sidereal_time("mean", longitude="greenwich").hour)
    return (gmst_hours + longitude_deg / 15.0) % 24.0
