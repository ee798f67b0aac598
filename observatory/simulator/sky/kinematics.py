"""Equatorial mount geometry and axis motion.

Coordinates are degrees. The mount's primary axis holds right ascension while it tracks
and hour angle while it does not (the sky then drifts past), so each axis is a
:class:`~observatory.simulator.motion.Travel` in one of those two frames; converting
between them needs the local sidereal time at the instant of the switch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from observatory.simulator.motion import Travel, wrap_deg

PIER_EAST = 0
PIER_WEST = 1
# A primary-axis MoveAxis runs towards a target this far away: in practice, for ever.
ENDLESS_DEG = 1.0e9


def hadec_to_altaz(ha_deg: float, dec_deg: float, latitude_deg: float) -> tuple[float, float]:
    """(altitude, azimuth) in degrees, azimuth from north through east in [0, 360)."""
    ha, dec, lat = np.radians([ha_deg, dec_deg, latitude_deg])
    sin_alt = np.sin(dec) * np.sin(lat) + np.cos(dec) * np.cos(lat) * np.cos(ha)
    altitude = np.arcsin(np.clip(sin_alt, -1.0, 1.0))
    y = -np.cos(dec) * np.sin(ha)
    x = np.sin(dec) * np.cos(lat) - np.cos(dec) * np.sin(lat) * np.cos(ha)
    return float(np.degrees(altitude)), wrap_deg(float(np.degrees(np.arctan2(y, x))))


def altaz_to_hadec(alt_deg: float, az_deg: float, latitude_deg: float) -> tuple[float, float]:
    """(hour angle in (-180, 180], declination) in degrees of an alt/az direction."""
    alt, az, lat = np.radians([alt_deg, az_deg, latitude_deg])
    sin_dec = np.sin(alt) * np.sin(lat) + np.cos(alt) * np.cos(lat) * np.cos(az)
    dec = np.arcsin(np.clip(sin_dec, -1.0, 1.0))
    y = -np.cos(alt) * np.sin(az)
    x = np.sin(alt) * np.cos(lat) - np.cos(alt) * np.sin(lat) * np.cos(az)
    ha = float(np.degrees(np.arctan2(y, x)))
    return (ha if ha > -180.0 else 180.0), float(np.degrees(dec))


def signed_hour_angle_deg(ha_deg: float) -> float:
    """Hour angle folded into [-180, 180)."""
    return (ha_deg + 180.0) % 360.0 - 180.0


def pier_side_for(ha_deg: float) -> int:
    """ASCOM SideOfPier of a German mount pointing at ``ha_deg``: west of the meridian
    (HA >= 0) the tube is east of the pier looking west (pierEast), else pierWest."""
    return PIER_EAST if signed_hour_angle_deg(ha_deg) >= 0.0 else PIER_WEST


@dataclass(frozen=True)
class Axes:
    """Both axes: ``primary`` is RA when ``tracking`` else HA; ``secondary`` is Dec."""

    primary: Travel
    secondary: Travel
    tracking: bool

    @classmethod
    def at_rest(cls, ra_or_ha_deg: float, dec_deg: float, tracking: bool, now_s: float) -> Axes:
        return cls(
            Travel.at_rest(wrap_deg(ra_or_ha_deg), now_s, circular=True),
            Travel.at_rest(dec_deg, now_s),
            tracking,
        )

    def radec(self, now_s: float, lst_deg: float) -> tuple[float, float]:
        """(ra in [0, 360), dec) at ``now_s`` when the sidereal time is ``lst_deg``."""
        primary = wrap_deg(self.primary.position(now_s))
        ra = primary if self.tracking else wrap_deg(lst_deg - primary)
        return ra, self.secondary.position(now_s)

    def hadec(self, now_s: float, lst_deg: float) -> tuple[float, float]:
        ra, dec = self.radec(now_s, lst_deg)
        return wrap_deg(lst_deg - ra), dec

    def moving(self, now_s: float) -> bool:
        return self.primary.moving(now_s) or self.secondary.moving(now_s)

    def halted(self, now_s: float) -> Axes:
        return Axes(
            Travel.at_rest(wrap_deg(self.primary.position(now_s)), now_s, circular=True),
            self.secondary.halted(now_s),
            self.tracking,
        )

    def with_tracking(self, tracking: bool, now_s: float, lst_deg: float) -> Axes:
        """The same pointing held in the other frame (any motion is stopped)."""
        if tracking == self.tracking:
            return self
        ra, dec = self.radec(now_s, lst_deg)
        primary = ra if tracking else lst_deg - ra
        return Axes.at_rest(primary, dec, tracking, now_s)

    def slew(self, primary_deg: float, dec_deg: float, rate_deg_s: float, now_s: float) -> Axes:
        """Both axes set off together, each at ``rate_deg_s``, the short way round."""
        start = self.halted(now_s)
        return Axes(
            Travel(start.primary.position(now_s), wrap_deg(primary_deg), rate_deg_s, now_s, True),
            Travel(start.secondary.position(now_s), dec_deg, rate_deg_s, now_s),
            self.tracking,
        )

    def move_axis(self, axis: int, rate_deg_s: float, now_s: float) -> Axes:
        """Start (rate != 0) or stop (rate 0) a continuous MoveAxis of axis 0 or 1.
        Positive rates move RA/HA and Dec upwards; Dec stops at the poles."""
        if axis == 0:
            here = wrap_deg(self.primary.position(now_s))
            if rate_deg_s == 0.0:
                return Axes(
                    Travel.at_rest(here, now_s, circular=True), self.secondary, self.tracking
                )
            # A tracking mount's RA grows when the axis turns east: the sign follows HA.
            direction = -1.0 if self.tracking else 1.0
            target = here + np.copysign(ENDLESS_DEG, rate_deg_s) * direction
            return Axes(Travel(here, target, abs(rate_deg_s), now_s), self.secondary, self.tracking)
        dec = self.secondary.position(now_s)
        if rate_deg_s == 0.0:
            return Axes(self.primary, Travel.at_rest(dec, now_s), self.tracking)
        target = 90.0 if rate_deg_s > 0 else -90.0
        return Axes(self.primary, Travel(dec, target, abs(rate_deg_s), now_s), self.tracking)
