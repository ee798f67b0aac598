"""The KStars star-file reader, on files written here in that layout: records found by HD
number, positions carried from J1991.25 to J2000, other layouts and a missing package
refused in one line."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from observatory.catalogues import henry_draper
from observatory.catalogues.henry_draper import FILES, find_hd, hd_number
from observatory.errors import ConfigurationError

FIELDS = (
    ("RA", 4, 5, 1_000_000), ("Dec", 4, 5, 100_000), ("dRA", 4, 5, 10), ("dDec", 4, 5, 10),
    ("parallax", 4, 5, 10), ("HD", 4, 5, 10), ("mag", 2, 3, 100), ("bv_index", 2, 3, 100),
    ("spec_type", 2, 7, 0), ("flags", 1, 0, 0), ("unused", 1, 0, 100),
)  # fmt: skip


def star_file(stars: list[tuple[int, float, float, float, float]], fields=FIELDS) -> bytes:
    """A KStars star file of ``(hd, ra_hours, dec_deg, pm_ra_mas, pm_dec_mas)`` stars, all
    in one trixel of a two-trixel index."""
    head = b"KStars Star Data v1.0.".ljust(124, b"\0") + b"SK" + b"\x01"
    head += struct.pack("<H", len(fields))
    for name, size, kind, scale in fields:
        head += name.encode().ljust(10, b"\0") + bytes([size, kind]) + struct.pack("<i", scale)
    start = len(head) + 4 + 2 * 12
    head += struct.pack("<I", 2) + struct.pack("<III", 0, start, 0)
    head += struct.pack("<III", 1, start, len(stars))
    records = np.zeros(len(stars), dtype=henry_draper._RECORD)
    for row, (hd, ra_h, dec, pm_ra, pm_dec) in zip(records, stars, strict=True):
        row["hd"], row["ra"], row["dec"] = hd, round(ra_h * 1e6), round(dec * 1e5)
        row["dra"], row["ddec"] = round(pm_ra * 10), round(pm_dec * 10)
    return head + records.tobytes()


def folder_with(tmp_path: Path, named: bytes, unnamed: bytes) -> Path:
    henry_draper._by_number.cache_clear()
    (tmp_path / FILES[0]).write_bytes(named)
    (tmp_path / FILES[1]).write_bytes(unnamed)
    return tmp_path


def test_stars_are_found_by_number_and_carried_to_j2000(tmp_path: Path) -> None:
    folder = folder_with(
        tmp_path,
        star_file([(1, 6.0, 10.0, 0.0, 0.0)]),
        star_file([(2, 12.0, -30.0, 0.0, 8000.0), (0, 1.0, 1.0, 0.0, 0.0)]),
    )
    first, second = find_hd(1, folder), find_hd(2, folder)
    assert first is not None and second is not None
    assert (first.ra_deg, first.dec_deg, first.name) == (pytest.approx(90.0), 10.0, "HD 1")
    # 8 arcsec a year for the 8.75 years from J1991.25: 70 arcsec north.
    assert second.dec_deg == pytest.approx(-30.0 + 70.0 / 3600, abs=1e-6)
    assert find_hd(0, folder) is None and find_hd(3, folder) is None


def test_a_file_of_another_layout_is_refused(tmp_path: Path) -> None:
    fields = (("RA", 4, 5, 1_000_000), *FIELDS[2:])
    folder = folder_with(tmp_path, star_file([], fields), star_file([]))
    with pytest.raises(ConfigurationError, match="unexpected record layout"):
        find_hd(1, folder)


def test_without_the_package_hd_numbers_are_refused_saying_so(tmp_path: Path) -> None:
    henry_draper._by_number.cache_clear()
    with pytest.raises(ConfigurationError, match="Debian package kstars-data"):
        find_hd(48915, tmp_path)


@pytest.mark.parametrize(
    ("name", "number"), [("HD 48915", 48915), ("hd48915", 48915), (" HD  1 ", 1), ("HIP 1", None)]
)
def test_hd_names(name: str, number: int | None) -> None:
    assert hd_number(name) == number
