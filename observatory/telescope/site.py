"""The mount's site against the observatory's: one place, or no altitude can be trusted.

Altitude limits combine the mount's sidereal time (its longitude's) with
``site.latitude_deg``, and the dome follows alt/az computed there: a mount set for another
place points where the settings do not expect and lets targets below the limit through.
Latitude and longitude must agree within :data:`SITE_TOLERANCE_DEG` (about a kilometre);
a difference of elevation (which moves no pointing) is only logged.
"""

from __future__ import annotations

import logging

from observatory.devices.angles import angular_distance_deg
from observatory.devices.mount import MountAdapter
from observatory.errors import ConfigurationError
from observatory.settings import SiteSettings

log = logging.getLogger(__name__)

# How far the mount's latitude or longitude may be from the settings', degrees.
SITE_TOLERANCE_DEG = 0.01
# A difference of elevation beyond this is logged, metres.
ELEVATION_TOLERANCE_M = 1.0


class SiteMismatch(ConfigurationError):
    """The mount (or the bundled simulator) is set for another place than ``site``."""


def site_difference(
    where: str, latitude_deg: float | None, longitude_deg: float | None, site: SiteSettings
) -> str | None:
    """One line naming each of ``where``'s coordinates that is further than
    :data:`SITE_TOLERANCE_DEG` from ``site``'s, both values and the setting; None when
    they agree. A coordinate given as None (not reported) is not compared."""
    differences = []
    for name, theirs, ours in (
        ("latitude", latitude_deg, site.latitude_deg),
        ("longitude", longitude_deg, site.longitude_deg),
    ):
        if theirs is None:
            continue
        # Longitudes 179.999 and -179.999 are one place.
        off_deg = angular_distance_deg(theirs, ours) if name == "longitude" else abs(theirs - ours)
        if off_deg > SITE_TOLERANCE_DEG:
            differences.append(f"{name} {theirs:.4f} deg, site.{name}_deg is {ours:.4f} deg")
    if not differences:
        return None
    return (
        f"{where} is set for another place than the settings' site ({'; '.join(differences)}):"
        f" set it to the observatory's site, or correct site.latitude_deg/site.longitude_deg"
    )


def check_mount_site(mount: MountAdapter, site: SiteSettings) -> None:
    """Read the mount's site and raise :class:`SiteMismatch` when its latitude or
    longitude is not ``site``'s. What the mount does not implement is logged and not
    compared; an elevation that differs is logged only."""
    reported = mount.site()
    for name, value in (
        ("SiteLatitude", reported.latitude_deg),
        ("SiteLongitude", reported.longitude_deg),
        ("SiteElevation", reported.elevation_m),
    ):
        if value is None:
            log.info(
                "%s does not report %s: not compared with the site settings", mount.label, name
            )
    problem = site_difference(mount.label, reported.latitude_deg, reported.longitude_deg, site)
    if problem is not None:
        raise SiteMismatch(problem)
    elevation_m = reported.elevation_m
    if elevation_m is not None and abs(elevation_m - site.elevation_m) > ELEVATION_TOLERANCE_M:
        log.warning(
            "%s is set for elevation %.0f m, site.elevation_m is %.0f m",
            mount.label,
            elevation_m,
            site.elevation_m,
        )
