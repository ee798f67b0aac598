"""A target's name resolved offline: the Moon and planets, bright stars, deep-sky objects.

Looked up in that order, so that a name both a star and a nebula carry means the star.
Nothing is fetched from the network: an observatory's intake must answer without it.
"""

from __future__ import annotations

import datetime as dt
import re

from observatory.catalogues.deep_sky import find_deep_sky
from observatory.catalogues.solar_system import find_body
from observatory.catalogues.stars import find_star
from observatory.catalogues.types import CatalogueEntry
from observatory.errors import WorkOrderInvalid
from observatory.settings import SiteSettings

_HD = re.compile(r"\A\s*HD\s*\d+\s*\Z", re.IGNORECASE)


def resolve_name(name: str, at_utc: dt.datetime, site: SiteSettings) -> CatalogueEntry:
    """The position of the target called ``name``; a body's position is the one at
    ``at_utc`` (aware) from ``site``.

    Raises WorkOrderInvalid naming ``target`` and the name when no catalogue knows it.
    """
    found = find_body(name, at_utc, site) or find_star(name) or find_deep_sky(name)
    if found is None and _HD.match(name):
        raise WorkOrderInvalid(
            f"target: {name!r}: HD numbers are not resolved offline (no packaged catalogue"
            " cross-indexes them); give the star's HIP number or proper name, or ra and dec"
        )
    if found is None:
        raise WorkOrderInvalid(
            f"target: {name!r} is not a name the offline catalogues know (the Moon and"
            " planets; star proper names and HIP numbers; Messier, NGC, IC and other"
            " OpenNGC designations and common names); give ra and dec in degrees (J2000)"
        )
    return found
