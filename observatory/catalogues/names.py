"""A target's name resolved offline: the Moon and planets, bright stars, deep-sky objects.

Looked up in that order, so that a name both a star and a nebula carry means the star.
Nothing is fetched from the network: an observatory's intake must answer without it.
"""

from __future__ import annotations

import datetime as dt

from observatory.catalogues.deep_sky import find_deep_sky
from observatory.catalogues.henry_draper import find_hd, hd_number
from observatory.catalogues.solar_system import find_body
from observatory.catalogues.stars import find_star
from observatory.catalogues.types import CatalogueEntry
from observatory.errors import ConfigurationError, WorkOrderInvalid
from observatory.settings import SiteSettings


def resolve_name(name: str, at_utc: dt.datetime, site: SiteSettings) -> CatalogueEntry:
    """The position of the target called ``name``; a body's position is the one at
    ``at_utc`` (aware) from ``site``.

    Raises WorkOrderInvalid naming ``target`` and the name when no catalogue knows it.
    """
    number = hd_number(name)
    if number is not None:
        return _henry_draper(name, number)
    found = find_body(name, at_utc, site) or find_star(name) or find_deep_sky(name)
    if found is None:
        raise WorkOrderInvalid(
            f"target: {name!r} is not a name the offline catalogues know (the Moon and"
            " planets; star proper names, HIP and HD numbers; Messier, NGC, IC and other"
            " OpenNGC designations and common names); give ra and dec in degrees (J2000)"
        )
    return found


def _henry_draper(name: str, number: int) -> CatalogueEntry:
    try:
        found = find_hd(number)
    except ConfigurationError as error:
        raise WorkOrderInvalid(f"target: {name!r}: {error}") from error
    if found is None:
        raise WorkOrderInvalid(
            f"target: {name!r} is not among the bright stars (to magnitude 8) whose HD"
            " numbers are resolved; give ra and dec in degrees (J2000)"
        )
    return found
