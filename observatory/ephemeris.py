"""Low-precision positions of the Sun and of fixed stars, good to about 0.01 degree.

The Sun follows the Astronomical Almanac's low-precision formula (the one NOAA's solar
calculator uses), accurate to 0.01 deg between 1950 and 2050; sidereal time is the IAU
1982 GMST polynomial (Meeus 12.4). Altitudes are geometric: no atmospheric refraction
(about 0.5 deg at the horizon, under 0.02 deg above 45 deg), no parallax (the Sun's is
0.002 deg). Nutation and annual aberration (each under 0.006 deg) are neglected.

Angles are degrees, longitudes east positive; times are timezone-aware datetimes (UTC is
treated as UT1: the difference is under a second, 0.004 deg of hour angle).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

J2000_JD = 2451545.0
_UNIX_EPOCH_JD = 2440587.5
_SECONDS_PER_DAY = 86400.0


def julian_date(when_utc: datetime) -> float:
    """The Julian date of ``when_utc``.

    Raises ValueError for a naive datetime: a time without a zone is ambiguous, and a
    local time mistaken for UTC moves the Sun by up to 180 degrees of hour angle.
    """
    if when_utc.tzinfo is None or when_utc.utcoffset() is None:
        raise ValueError(f"datetime must be timezone-aware, got naive {when_utc!r}")
    return _UNIX_EPOCH_JD + when_utc.timestamp() / _SECONDS_PER_DAY


def local_sidereal_time_deg(when_utc: datetime, longitude_deg: float) -> float:
    """Local mean sidereal time in degrees [0, 360) at ``longitude_deg`` (east positive)."""
    days = julian_date(when_utc) - J2000_JD
    centuries = days / 36525.0
    gmst_deg = (
        280.46061837
        + 360.98564736629 * days
        + 0.000387933 * centuries**2
        - centuries**3 / 38710000.0
    )
    return (gmst_deg + longitude_deg) % 360.0


def sun_ra_dec_deg(when_utc: datetime) -> tuple[float, float]:
    """The Sun's apparent right ascension [0, 360) and declination, equinox of date."""
    days = julian_date(when_utc) - J2000_JD
    mean_longitude_deg = 280.460 + 0.9856474 * days
    mean_anomaly = math.radians(357.528 + 0.9856003 * days)
    ecliptic_longitude = math.radians(
        mean_longitude_deg + 1.915 * math.sin(mean_anomaly) + 0.020 * math.sin(2 * mean_anomaly)
    )
    obliquity = math.radians(23.439 - 0.0000004 * days)
    ra = math.atan2(
        math.cos(obliquity) * math.sin(ecliptic_longitude), math.cos(ecliptic_longitude)
    )
    dec = math.asin(math.sin(obliquity) * math.sin(ecliptic_longitude))
    return math.degrees(ra) % 360.0, math.degrees(dec)


def precess_from_j2000(ra_deg: float, dec_deg: float, when_utc: datetime) -> tuple[float, float]:
    """J2000 (ICRS) coordinates precessed to the mean equinox of ``when_utc`` (IAU 1976,
    Meeus 21.2-21.4). Precession moves a star by 0.014 deg a year, so a catalogue
    position used unprecessed in 2026 would be off by up to 0.36 deg."""
    centuries = (julian_date(when_utc) - J2000_JD) / 36525.0
    arcsec = math.pi / (180.0 * 3600.0)
    zeta = (2306.2181 * centuries + 0.30188 * centuries**2 + 0.017998 * centuries**3) * arcsec
    z = (2306.2181 * centuries + 1.09468 * centuries**2 + 0.018203 * centuries**3) * arcsec
    theta = (2004.3109 * centuries - 0.42665 * centuries**2 - 0.041833 * centuries**3) * arcsec
    ra0, dec0 = math.radians(ra_deg), math.radians(dec_deg)
    a = math.cos(dec0) * math.sin(ra0 + zeta)
    b = math.cos(theta) * math.cos(dec0) * math.cos(ra0 + zeta) - math.sin(theta) * math.sin(dec0)
    c = math.sin(theta) * math.cos(dec0) * math.cos(ra0 + zeta) + math.cos(theta) * math.sin(dec0)
    ra = math.atan2(a, b) + z
    dec = math.asin(max(-1.0, min(1.0, c)))
    return math.degrees(ra) % 360.0, math.degrees(dec)


def _altitude_of_date_deg(
    ra_deg: float, dec_deg: float, when_utc: datetime, latitude_deg: float, longitude_deg: float
) -> float:
    """Altitude of a position given in the equinox of date."""
    hour_angle = math.radians(local_sidereal_time_deg(when_utc, longitude_deg) - ra_deg)
    lat, dec = math.radians(latitude_deg), math.radians(dec_deg)
    sin_alt = math.sin(lat) * math.sin(dec) + math.cos(lat) * math.cos(dec) * math.cos(hour_angle)
    return math.degrees(math.asin(max(-1.0, min(1.0, sin_alt))))


def altitude_deg(
    ra_deg: float, dec_deg: float, when_utc: datetime, latitude_deg: float, longitude_deg: float
) -> float:
    """Geometric altitude in degrees of a J2000 (ICRS) position seen from the site.

    ``ra_deg``/``dec_deg`` are catalogue (J2000) coordinates; they are precessed to the
    date before the hour angle is formed. Raises ValueError for a naive datetime.
    """
    ra_date, dec_date = precess_from_j2000(ra_deg, dec_deg, when_utc)
    return _altitude_of_date_deg(ra_date, dec_date, when_utc, latitude_deg, longitude_deg)


def sun_altitude_deg(when_utc: datetime, latitude_deg: float, longitude_deg: float) -> float:
    """Geometric altitude in degrees of the Sun's centre seen from the site.

    Civil twilight ends at -6, astronomical at -18. Raises ValueError for a naive datetime.
    """
    ra_deg, dec_deg = sun_ra_dec_deg(when_utc)
    return _altitude_of_date_deg(ra_deg, dec_deg, when_utc, latitude_deg, longitude_deg)


def utc_now() -> datetime:
    """The current time as an aware UTC datetime (the form every function here takes)."""
    return datetime.now(UTC)
