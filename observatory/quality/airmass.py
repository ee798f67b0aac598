"""Airmass of a pointing at an instant, from the site (Kasten & Young 1989)."""

from __future__ import annotations

import datetime as dt
import math

from observatory.ephemeris import altitude_deg


def airmass(
    ra_deg: float, dec_deg: float, when_utc: dt.datetime, latitude_deg: float, longitude_deg: float
) -> float | None:
    """Relative air mass towards a J2000 position; None below the horizon."""
    altitude = altitude_deg(ra_deg, dec_deg, when_utc, latitude_deg, longitude_deg)
    if altitude <= 0.0:
        return None
    return 1.0 / (math.sin(math.radians(altitude)) + 0.50572 * (altitude + 6.07995) ** -1.6364)
