"""Sun events at the site: sunset, dusk, dawn, sunrise and the twilights, as the instants
the Sun's centre crosses an altitude going down (evening) or up (morning).

``dusk``/``dawn`` are the crossings of the telescope's ``sun_altitude_limit_deg``: when
observing may begin and must end. Times are aware UTC datetimes, accurate to a second
(the ephemeris itself is good to about 0.01 deg, a few seconds of time).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from observatory.ephemeris import sun_altitude_deg

# Altitude of the Sun's centre (degrees) and whether the event is in the evening.
FIXED_EVENTS: dict[str, tuple[float, bool]] = {
    # -0.833: the upper limb on the horizon, with standard refraction.
    "sunset": (-0.833, True),
    "sunrise": (-0.833, False),
    "civil_dusk": (-6.0, True),
    "civil_dawn": (-6.0, False),
    "nautical_dusk": (-12.0, True),
    "nautical_dawn": (-12.0, False),
    "astronomical_dusk": (-18.0, True),
    "astronomical_dawn": (-18.0, False),
}
LIMIT_EVENTS = {"dusk": True, "dawn": False}
EVENTS = (*FIXED_EVENTS, *LIMIT_EVENTS)

# The Sun's altitude changes by at most 0.25 deg a minute: a 10-minute scan cannot step
# over a crossing and back, except near a polar-day turning point, where the event is
# of no use anyway.
SCAN_STEP = dt.timedelta(minutes=10)
RESOLUTION = dt.timedelta(seconds=1)


@dataclass(frozen=True)
class SunEvent:
    """A named crossing: the altitude (degrees) and direction (evening = going down)."""

    name: str
    altitude_deg: float
    evening: bool


def sun_event(name: str, sun_altitude_limit_deg: float) -> SunEvent:
    """The event called ``name`` (one of EVENTS); dusk/dawn cross the given limit.

    Raises ValueError naming the known events for an unknown name.
    """
    if name in LIMIT_EVENTS:
        return SunEvent(name, sun_altitude_limit_deg, LIMIT_EVENTS[name])
    if name in FIXED_EVENTS:
        altitude, evening = FIXED_EVENTS[name]
        return SunEvent(name, altitude, evening)
    raise ValueError(f"unknown Sun event {name!r}; expected one of {', '.join(EVENTS)}")


def crossings(
    event: SunEvent, start: dt.datetime, end: dt.datetime, latitude_deg: float, longitude_deg: float
) -> Iterator[dt.datetime]:
    """The instants in (start, end] at which the Sun makes ``event``, in order."""

    def above(when: dt.datetime) -> float:
        return sun_altitude_deg(when, latitude_deg, longitude_deg) - event.altitude_deg

    before, height_before = start, above(start)
    while before < end:
        after = min(before + SCAN_STEP, end)
        height_after = above(after)
        went_down = height_before > 0 >= height_after
        went_up = height_before <= 0 < height_after
        if (event.evening and went_down) or (not event.evening and went_up):
            yield _bisect(above, before, after, event.evening)
        before, height_before = after, height_after


def _bisect(
    above: Callable[[dt.datetime], float], low: dt.datetime, high: dt.datetime, evening: bool
) -> dt.datetime:
    # Invariant: the crossing lies in (low, high]; returns the first whole second past it.
    while high - low > RESOLUTION:
        middle = low + (high - low) / 2
        crossed = above(middle) <= 0 if evening else above(middle) > 0
        if crossed:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0) + (RESOLUTION if high.microsecond else dt.timedelta())
