"""The Moon and the planets, from astropy's built-in ephemeris, as seen from the site.

Positions are topocentric (the Moon's parallax reaches a degree) in GCRS, whose axes are
ICRS's, for one instant: a body moves (the Moon by half a degree an hour), so the caller
chooses the instant, and records it. UT1 is taken as UTC (under a second; the bundled
Earth-orientation tables do not reach every future date and nothing is downloaded).
"""

from __future__ import annotations

import datetime as dt
import warnings

from observatory.catalogues.types import CatalogueEntry, fold
from observatory.errors import WorkOrderInvalid
from observatory.settings import SiteSettings

BODIES = ("moon", "mercury", "venus", "mars", "jupiter", "saturn", "uranus", "neptune")
SOURCE = "astropy built-in ephemeris"


def find_body(name: str, at_utc: dt.datetime, site: SiteSettings) -> CatalogueEntry | None:
    """Where the body ``name`` is at ``at_utc`` (aware) from ``site``, or None when
    ``name`` is no body. Raises WorkOrderInvalid for the Sun, which is never a target."""
    key = fold(name).removeprefix("the ")
    if key == "sun":
        raise WorkOrderInvalid("target: the Sun is never observed")
    if key not in BODIES:
        return None
    # Imported here: astropy's coordinates take seconds to load, and most orders never
    # name a body.
    import astropy.units as u
    from astropy.coordinates import EarthLocation, get_body, solar_system_ephemeris
    from astropy.time import Time
    from astropy.utils import iers
    from erfa import ErfaWarning

    when = Time(at_utc)
    when.delta_ut1_utc = 0.0
    location = EarthLocation.from_geodetic(
        site.longitude_deg * u.deg, site.latitude_deg * u.deg, site.elevation_m * u.m
    )
    with (
        iers.conf.set_temp("auto_download", False),
        iers.conf.set_temp("auto_max_age", None),
        iers.conf.set_temp("iers_degraded_accuracy", "ignore"),
        solar_system_ephemeris.set("builtin"),
        warnings.catch_warnings(),
    ):
        # Beyond the known leap seconds ERFA calls a year "dubious"; a second is harmless.
        warnings.simplefilter("ignore", ErfaWarning)
        body = get_body(key, when, location)
    stamp = at_utc.astimezone(dt.UTC).isoformat(timespec="seconds")
    return CatalogueEntry(
        float(body.ra.deg), float(body.dec.deg), key.capitalize(), f"{SOURCE} at {stamp}"
    )
