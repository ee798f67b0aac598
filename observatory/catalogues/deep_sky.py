"""Deep-sky objects by catalogue designation or common name, from OpenNGC (``pyongc``).

Designations are those pyongc recognises (``M 31``, ``M31``, ``NGC 224``, ``IC 434``,
``UGC 454``, ``PGC 2557``, ``Mel 22``, ...); common names are OpenNGC's own (``Andromeda
Galaxy``, ``Pleiades``), matched ignoring case and repeated spaces. Coordinates are J2000.
"""

from __future__ import annotations

import math
import sqlite3

from pyongc import ongc

from observatory.catalogues.types import CatalogueEntry, fold

SOURCE = f"OpenNGC {ongc.DBDATE} (pyongc)"


def find_deep_sky(name: str) -> CatalogueEntry | None:
    """The object called ``name``, or None when OpenNGC does not know it (or knows it
    without coordinates, as for objects found not to exist)."""
    found = _by_designation(name) or _by_common_name(name)
    if found is None:
        return None
    dso = ongc.get(found)
    coords = dso.rad_coords if dso is not None else None
    if dso is None or coords is None:
        return None
    return CatalogueEntry(
        math.degrees(float(coords[0])), math.degrees(float(coords[1])), dso.name, SOURCE
    )


def _by_designation(name: str) -> str | None:
    # pyongc answers None for text that is no designation it knows ("HD 1", "Sirius").
    dso = ongc.get(" ".join(name.split()))
    return dso.name if dso is not None else None


def _by_common_name(name: str) -> str | None:
    wanted = fold(name)
    if not wanted:
        return None
    with sqlite3.connect(f"file:{ongc.DBPATH}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT name, commonnames FROM objects WHERE commonnames LIKE ?",
            (f"%{wanted.split()[0]}%",),
        ).fetchall()
    for designation, common in rows:
        if any(fold(each) == wanted for each in common.split(",")):
            return str(designation)
    return None
