"""Whether an observation's target can be observed at the site: the target above the
telescope's altitude limit while the Sun is below its limit.

Times are aware UTC datetimes; coordinates are J2000 degrees (see observatory.ephemeris).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from observatory.ephemeris import altitude_deg, sun_altitude_deg
from observatory.settings import Settings

# Scan step when searching for the first observable instant: a target rises by at most
# 15 deg an hour, so 5 minutes cannot step over a whole observable stretch worth using.
SCAN_STEP = dt.timedelta(minutes=5)
# The first observable instant is refined to this.
RESOLUTION = dt.timedelta(seconds=30)


@dataclass(frozen=True)
class Visibility:
    """The target's and the Sun's altitude (degrees) at ``when``, and the verdict."""

    when: dt.datetime
    target_altitude_deg: float
    sun_altitude_deg: float
    observable: bool

    def describe(self) -> str:
        return (
            f"target at {self.target_altitude_deg:.1f} deg, Sun at "
            f"{self.sun_altitude_deg:.1f} deg at {self.when.isoformat(timespec='minutes')}"
        )


def visibility(settings: Settings, ra_deg: float, dec_deg: float, when: dt.datetime) -> Visibility:
    """The target's visibility at ``when`` under the telescope's altitude and Sun limits."""
    site, limits = settings.site, settings.telescope
    target = altitude_deg(ra_deg, dec_deg, when, site.latitude_deg, site.longitude_deg)
    sun = sun_altitude_deg(when, site.latitude_deg, site.longitude_deg)
    observable = target >= limits.altitude_limit_deg and sun <= limits.sun_altitude_limit_deg
    return Visibility(when, target, sun, observable)


def first_observable(
    settings: Settings, ra_deg: float, dec_deg: float, start: dt.datetime, end: dt.datetime
) -> dt.datetime | None:
    """The first instant in [start, end] at which the target is observable, or None.

    ``start`` itself when it is observable already; otherwise accurate to RESOLUTION.
    """
    if visibility(settings, ra_deg, dec_deg, start).observable:
        return start
    before = start
    while before < end:
        after = min(before + SCAN_STEP, end)
        if visibility(settings, ra_deg, dec_deg, after).observable:
            return _refine(settings, ra_deg, dec_deg, before, after)
        before = after
    return None


def _refine(
    settings: Settings,
    ra_deg: float,
    dec_deg: float,
    unobservable: dt.datetime,
    observable: dt.datetime,
) -> dt.datetime:
    # Bisection between an unobservable and an observable instant; returns an observable one.
    while observable - unobservable > RESOLUTION:
        middle = unobservable + (observable - unobservable) / 2
        if visibility(settings, ra_deg, dec_deg, middle).observable:
            observable = middle
        else:
            unobservable = middle
    return observable
