"""Checking and comparing commanded angles, in degrees."""

from __future__ import annotations

import math
from numbers import Real

from observatory.errors import InvalidTarget


def angular_distance_deg(a_deg: float, b_deg: float) -> float:
    """The shorter way round from ``a_deg`` to ``b_deg``, in [0, 180] degrees."""
    return abs((a_deg - b_deg + 180.0) % 360.0 - 180.0)


def check_azimuth_deg(azimuth_deg: object, name: str = "azimuth") -> float:
    """Return ``azimuth_deg`` as a float in [0, 360); raise :class:`InvalidTarget` (a
    ``ValueError``) naming the value when it is not a finite number in that range."""
    value = _as_degrees(azimuth_deg, name)
    if not 0.0 <= value < 360.0:
        raise InvalidTarget(f"{name} {azimuth_deg!r} deg is outside [0, 360)")
    return value


def check_altitude_deg(altitude_deg: object, name: str = "altitude") -> float:
    """Return ``altitude_deg`` as a float in [0, 90]; raise :class:`InvalidTarget` (a
    ``ValueError``) naming the value when it is not a finite number in that range."""
    value = _as_degrees(altitude_deg, name)
    if not 0.0 <= value <= 90.0:
        raise InvalidTarget(f"{name} {altitude_deg!r} deg is outside [0, 90]")
    return value


def _as_degrees(value: object, name: str) -> float:
    # bool is an int, but True degrees is a bug in the caller, not an angle.
    if isinstance(value, bool) or not isinstance(value, Real):
        raise InvalidTarget(f"{name} must be a number of degrees, got {value!r}")
    degrees = float(value)
    if not math.isfinite(degrees):
        raise InvalidTarget(f"{name} {value!r} deg is not a finite number")
    return degrees
