"""What a simulated night observes, and when it starts.

The night begins at dusk at the site (the Sun ``dusk_sun_altitude_deg`` below the horizon
and setting), so that a run at any hour of the day meets a dark sky: the observatory and
the simulator share that simulated clock (:mod:`observatory.clock`). The targets are the
highest of a few well-known fields at that moment.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from observatory.ephemeris import altitude_deg
from observatory.routine.sun import SunEvent, crossings
from observatory.settings import SiteSettings


@dataclass(frozen=True)
class Target:
    name: str
    ra_deg: float
    dec_deg: float


# Bright, well-known fields spread over the sky, so that some are always up at night.
CANDIDATE_TARGETS = (
    Target("M31", 10.6847, 41.2690),
    Target("M45", 56.8500, 24.1167),
    Target("M42", 83.8221, -5.3911),
    Target("M44", 130.1000, 19.6667),
    Target("M67", 132.8250, 11.8000),
    Target("M3", 205.5484, 28.3773),
    Target("M13", 250.4235, 36.4613),
    Target("M57", 283.3963, 33.0292),
    Target("M27", 299.9016, 22.7211),
    Target("M15", 322.4930, 12.1670),
    Target("M52", 351.2000, 61.5933),
    Target("NGC 884", 35.5875, 57.1333),
)


def next_dusk(
    after_utc: dt.datetime, site: SiteSettings, sun_altitude_limit_deg: float
) -> dt.datetime:
    """The first whole minute after ``after_utc`` at which the setting Sun has reached
    ``sun_altitude_limit_deg``. Raises ValueError where it never does within two days
    (polar summer)."""
    dusk = SunEvent("dusk", sun_altitude_limit_deg, evening=True)
    within = after_utc + dt.timedelta(days=2)
    for crossing in crossings(dusk, after_utc, within, site.latitude_deg, site.longitude_deg):
        return crossing.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    raise ValueError(
        f"the Sun does not set below {sun_altitude_limit_deg} deg within two days at "
        f"latitude {site.latitude_deg} deg"
    )


def highest_targets(
    when_utc: dt.datetime, site: SiteSettings, count: int, min_altitude_deg: float
) -> list[tuple[Target, float]]:
    """The ``count`` highest candidate targets at ``when_utc`` with their altitudes.

    Raises ValueError when fewer than ``count`` are above ``min_altitude_deg``.
    """
    ranked = sorted(
        (
            (target, altitude_deg(target.ra_deg, target.dec_deg, when_utc, site.latitude_deg,
                                  site.longitude_deg))
            for target in CANDIDATE_TARGETS
        ),
        key=lambda pair: -pair[1],
    )  # fmt: skip
    chosen = [pair for pair in ranked[:count] if pair[1] >= min_altitude_deg]
    if len(chosen) < count:
        raise ValueError(
            f"only {len(chosen)} of the candidate targets are above {min_altitude_deg} deg "
            f"at {when_utc:%Y-%m-%d %H:%M} UTC"
        )
    return chosen
