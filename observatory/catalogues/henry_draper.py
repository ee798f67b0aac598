"""Stars by Henry Draper (HD) number, from the bright-star files Debian's ``kstars-data``
package installs (``namedstars.dat`` and ``unnamedstars.dat``: about 42,000 stars to
magnitude 8, each with its HD number, its Hipparcos position at epoch J1991.25 and its
proper motion, carried here to J2000).

The files are KStars' binary star format: a 124-byte text, a 2-byte byte-order mark, a
version byte, the field descriptors (name, size, type, scale), an index of HTM trixels
``(id, offset, count)``, then fixed 32-byte records. The descriptors are checked against
the layout read here, so a file of another layout is refused rather than misread.
Without the package, HD numbers are refused with a message that says so.
"""

from __future__ import annotations

import re
import struct
from functools import cache
from pathlib import Path

import numpy as np

from observatory.catalogues.types import CatalogueEntry
from observatory.errors import ConfigurationError

KSTARS_DIR = Path("/usr/share/kstars")
FILES = ("namedstars.dat", "unnamedstars.dat")
SOURCE = "KStars bright stars (Debian kstars-data), J1991.25 carried to J2000"
_YEARS_TO_J2000 = 2000.0 - 1991.25
# Proper motions are stored in 0.1 mas per year, RA's as pmRA * cos(Dec).
_PM_DEG_PER_UNIT = 0.1 / 3.6e6
_HD = re.compile(r"\A\s*HD\s*(\d{1,6})\s*\Z", re.IGNORECASE)
_TEXT_BYTES = 124
# The layout of a record: (field, size, scale) as the file's descriptors must give it.
_FIELDS = (
    ("RA", 4, 1_000_000), ("Dec", 4, 100_000), ("dRA", 4, 10), ("dDec", 4, 10),
    ("parallax", 4, 10), ("HD", 4, 10), ("mag", 2, 100), ("bv_index", 2, 100),
    ("spec_type", 2, 0), ("flags", 1, 0), ("unused", 1, 100),
)  # fmt: skip
_RECORD = np.dtype([
    ("ra", "<i4"), ("dec", "<i4"), ("dra", "<i4"), ("ddec", "<i4"), ("parallax", "<i4"),
    ("hd", "<i4"), ("mag", "<i2"), ("bv", "<i2"), ("spec", "S2"), ("flags", "u1"),
    ("unused", "u1"),
])  # fmt: skip


def hd_number(name: str) -> int | None:
    """The number of ``HD n`` (any case and spacing), or None for another name."""
    match = _HD.match(name)
    return int(match.group(1)) if match else None


def find_hd(number: int, folder: Path = KSTARS_DIR) -> CatalogueEntry | None:
    """The star HD ``number``, or None when the files do not hold it. Raises
    ConfigurationError when the files are absent or not of the expected layout."""
    found = _by_number(folder).get(number)
    if found is None:
        return None
    ra_deg, dec_deg = found
    return CatalogueEntry(ra_deg, dec_deg, f"HD {number}", SOURCE)


@cache
def _by_number(folder: Path) -> dict[int, tuple[float, float]]:
    stars: dict[int, tuple[float, float]] = {}
    for name in FILES:
        path = folder / name
        if not path.is_file():
            raise ConfigurationError(
                f"HD numbers need {path} (Debian package kstars-data); give the star's HIP"
                " number or proper name, or ra and dec"
            )
        records = read_records(path.read_bytes(), path)
        records = records[records["hd"] > 0]
        dec_deg = records["dec"] / 1e5 + records["ddec"] * _PM_DEG_PER_UNIT * _YEARS_TO_J2000
        cos_dec = np.maximum(np.cos(np.radians(records["dec"] / 1e5)), 1e-9)
        ra_deg = records["ra"] * 15.0 / 1e6
        ra_deg = ra_deg + records["dra"] * _PM_DEG_PER_UNIT * _YEARS_TO_J2000 / cos_dec
        for hd, ra, dec in zip(records["hd"].tolist(), ra_deg.tolist(), dec_deg.tolist(),
                               strict=True):  # fmt: skip
            stars.setdefault(hd, (ra % 360.0, dec))
    return stars


def read_records(data: bytes, path: Path) -> np.ndarray:
    """The star records of one KStars star file (see the module docstring)."""
    if not data.startswith(b"KStars Star Data"):
        raise ConfigurationError(f"{path} is not a KStars star data file")
    offset = _TEXT_BYTES + 3  # text, byte-order mark, version
    (count,) = struct.unpack_from("<H", data, offset)
    offset += 2
    fields = []
    for _ in range(count):
        name = data[offset : offset + 10].rstrip(b"\0").decode("ascii", "replace")
        size, scale = data[offset + 10], struct.unpack_from("<i", data, offset + 12)[0]
        fields.append((name, size, scale))
        offset += 16
    if tuple(fields) != _FIELDS:
        raise ConfigurationError(f"{path}: unexpected record layout {fields}")
    (trixels,) = struct.unpack_from("<I", data, offset)
    index = np.frombuffer(data, dtype="<u4", count=3 * trixels, offset=offset + 4)
    starts, counts = index[1::3], index[2::3]
    first, total = int(starts.min()), int(counts.sum())
    if first + total * _RECORD.itemsize > len(data):
        raise ConfigurationError(f"{path} is shorter than its index says")
    return np.frombuffer(data, dtype=_RECORD, count=total, offset=first)
