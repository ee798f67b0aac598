"""Tycho-2 stars from astrometry.net index files, read with ``query-starkd``.

The Debian package ``astrometry-data-tycho2`` ships index files (``index-tycho2-10`` to
``-19``) whose star lists carry the Tycho ``MAG_VT`` magnitude as a tag-along column.
Each index holds a sky-uniform subset of Tycho-2 (about 9 stars per square degree down to
VT ~ 11 in ``index-tycho2-10``); the union of all files is queried and de-duplicated.

When an index carries no magnitude column, a magnitude is derived deterministically from
the star's position (a uniform hash mapped onto a Tycho-like magnitude distribution); the
query result says so in ``magnitudes_derived``.
"""

from __future__ import annotations

import glob
import logging
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from astropy.io import fits
from numpy.typing import NDArray

from observatory.simulator.sky.projection import angular_separation_deg
from observatory.simulator.sky.settings import DEFAULT_INDEX_GLOB

QUERY_TIMEOUT_S = 30.0
# Queries are snapped to a grid of this step so that nearby pointings share a cached query.
TILE_DEG = 0.5


log = logging.getLogger(__name__)


class CatalogueUnavailable(RuntimeError):
    """No index file matches, or ``query-starkd`` is missing or failed."""


@dataclass(frozen=True)
class Stars:
    """Catalogue stars: positions (J2000, degrees) and visual magnitudes."""

    ra_deg: NDArray[np.float64]
    dec_deg: NDArray[np.float64]
    mag: NDArray[np.float64]
    magnitudes_derived: bool = False

    def __len__(self) -> int:
        return len(self.ra_deg)

    def within(self, ra_deg: float, dec_deg: float, radius_deg: float) -> Stars:
        """The subset within ``radius_deg`` of (ra, dec)."""
        keep = _separation_deg(self.ra_deg, self.dec_deg, ra_deg, dec_deg) <= radius_deg
        return Stars(self.ra_deg[keep], self.dec_deg[keep], self.mag[keep], self.magnitudes_derived)


def _separation_deg(
    ra_deg: NDArray[np.float64], dec_deg: NDArray[np.float64], ra0_deg: float, dec0_deg: float
) -> NDArray[np.float64]:
    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    ra0, dec0 = np.radians(ra0_deg), np.radians(dec0_deg)
    cos_d = np.sin(dec) * np.sin(dec0) + np.cos(dec) * np.cos(dec0) * np.cos(ra - ra0)
    return np.degrees(np.arccos(np.clip(cos_d, -1.0, 1.0)))


def derived_magnitude(
    ra_deg: NDArray[np.float64], dec_deg: NDArray[np.float64]
) -> NDArray[np.float64]:
    """A plausible, deterministic VT magnitude for stars whose index has none.

    A hash of the position (to 0.1 arcsec) gives u in [0, 1); star counts grow roughly as
    10**(0.45 m), so m = 11.5 + log10(u) / 0.45, kept within [4, 11.5].
    """
    ra_key = np.round(np.asarray(ra_deg) * 36000.0).astype(np.uint64)
    dec_key = np.round((np.asarray(dec_deg) + 90.0) * 36000.0).astype(np.uint64)
    with np.errstate(over="ignore"):
        h = ra_key * np.uint64(0x9E3779B97F4A7C15) ^ dec_key * np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(31)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(29)
    u = ((h >> np.uint64(11)).astype(np.float64) + 0.5) / 2.0**53
    return np.clip(11.5 + np.log10(u) / 0.45, 4.0, 11.5)


class StarCatalogue:
    """Cone searches over astrometry.net index files; results are cached in memory.

    Raises :class:`CatalogueUnavailable` on construction when no file matches
    ``index_glob``, and from :meth:`cone` when ``query-starkd`` fails.
    """

    def __init__(self, index_glob: str = DEFAULT_INDEX_GLOB, cache_size: int = 64) -> None:
        self.index_files = tuple(sorted(glob.glob(index_glob)))
        if not self.index_files:
            raise CatalogueUnavailable(f"no astrometry.net index file matches {index_glob!r}")
        if shutil.which("query-starkd") is None:
            raise CatalogueUnavailable("query-starkd (Debian package astrometry.net) is missing")
        self._cached_query = lru_cache(maxsize=cache_size)(self._query_all)

    def cone(self, ra_deg: float, dec_deg: float, radius_deg: float) -> Stars:
        """Stars within ``radius_deg`` of (ra, dec). Nearby cones reuse one cached query
        over a slightly larger, grid-snapped cone."""
        dec_snap = float(np.clip(round(dec_deg / TILE_DEG) * TILE_DEG, -90.0, 90.0))
        ra_step = TILE_DEG / max(np.cos(np.radians(dec_snap)), 0.05)
        ra_snap = float(round(ra_deg / ra_step) * ra_step % 360.0)
        snap_error_deg = angular_separation_deg(ra_deg, dec_deg, ra_snap, dec_snap)
        padded_radius = float(np.ceil((radius_deg + snap_error_deg) / TILE_DEG) * TILE_DEG)
        stars = self._cached_query(round(ra_snap, 9), dec_snap, padded_radius)
        return stars.within(ra_deg, dec_deg, radius_deg)

    def _query_all(self, ra_deg: float, dec_deg: float, radius_deg: float) -> Stars:
        columns = [_query_index(path, ra_deg, dec_deg, radius_deg) for path in self.index_files]
        ra = np.concatenate([c[0] for c in columns])
        dec = np.concatenate([c[1] for c in columns])
        mag = np.concatenate([c[2] for c in columns])
        derived = bool(np.isnan(mag).any())
        if derived:
            mag = np.where(np.isnan(mag), derived_magnitude(ra, dec), mag)
        # The same star appears in several index files with identical coordinates.
        keys = np.round(ra * 3.6e6).astype(np.int64) * 1_000_000_000 + np.round(
            (dec + 90.0) * 3.6e6
        ).astype(np.int64)
        _, first = np.unique(keys, return_index=True)
        return Stars(ra[first], dec[first], mag[first], derived)


def _query_index(
    path: str, ra_deg: float, dec_deg: float, radius_deg: float
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """(ra, dec, mag) of one index file's stars in a cone; mag is NaN when untagged."""
    with tempfile.TemporaryDirectory(prefix="starkd-") as folder:
        out = Path(folder) / "stars.fits"
        command = ["query-starkd", "-o", str(out), "-r", f"{ra_deg:.9f}", "-d",
                   f"{dec_deg:.9f}", "-R", f"{radius_deg:.9f}", "-T", path]  # fmt: skip
        try:
            subprocess.run(command, check=True, capture_output=True, timeout=QUERY_TIMEOUT_S)
        except (OSError, subprocess.SubprocessError) as error:
            raise CatalogueUnavailable(f"query-starkd failed on {path}: {error}") from error
        if not out.exists():  # query-starkd writes no file when the cone is empty
            empty = np.zeros(0)
            return empty, empty, empty
        with fits.open(out) as hdus:
            table = hdus[1].data
            names = [name.upper() for name in hdus[1].columns.names]
            ra = np.asarray(table["RA"], dtype=np.float64)
            dec = np.asarray(table["DEC"], dtype=np.float64)
            mag_column = next((n for n in names if n.startswith("MAG")), None)
            mag = (
                np.asarray(table[mag_column], dtype=np.float64)
                if mag_column
                else np.full(len(ra), np.nan)
            )
    return ra, dec, mag


def open_catalogue(index_glob: str) -> StarCatalogue | None:
    """The star catalogue, or None (with a warning saying what to install) where this
    machine has no astrometry.net: the simulator then runs with starless skies."""
    try:
        return StarCatalogue(index_glob)
    except CatalogueUnavailable as error:
        log.warning(
            "no star catalogue, so light frames will show no stars: %s. Install the Debian "
            "packages astrometry.net and astrometry-data-tycho2-10-19-littleendian.",
            error,
        )
        return None
