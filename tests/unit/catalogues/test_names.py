"""Target names resolved offline: deep-sky objects, stars, the Moon and planets."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from observatory.catalogues.henry_draper import KSTARS_DIR
from observatory.catalogues.names import resolve_name
from observatory.errors import WorkOrderInvalid
from observatory.settings import SiteSettings

SITE = SiteSettings()
NIGHT = dt.datetime(2026, 12, 6, 22, 0, tzinfo=dt.UTC)


def separation_deg(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    a, b = math.radians(dec1), math.radians(dec2)
    cosine = math.sin(a) * math.sin(b) + math.cos(a) * math.cos(b) * math.cos(
        math.radians(ra1 - ra2)
    )
    return math.degrees(math.acos(min(1.0, cosine)))


@pytest.mark.parametrize(
    "name", ["M 31", "M31", "m31", "NGC 224", "NGC224", "Andromeda Galaxy", "andromeda  galaxy"]
)
def test_m31_by_every_name_it_goes_by(name: str) -> None:
    found = resolve_name(name, NIGHT, SITE)
    # M 31's nucleus, J2000: 00h42m44.3s +41d16m09s.
    assert separation_deg(found.ra_deg, found.dec_deg, 10.6846, 41.2692) < 0.01
    assert found.name == "NGC0224"
    assert found.source.startswith("OpenNGC")


@pytest.mark.parametrize(
    ("name", "ra_deg", "dec_deg", "hip"),
    [
        # J2000 positions of the Hipparcos catalogue's stars.
        ("Sirius", 101.2872, -16.7161, 32349),
        ("Vega", 279.2347, 38.7837, 91262),
        ("Algol", 47.0422, 40.9556, 14576),
        ("HIP 32349", 101.2872, -16.7161, 32349),
        ("hip91262", 279.2347, 38.7837, 91262),
    ],
)
def test_stars_by_proper_name_and_hipparcos_number(
    name: str, ra_deg: float, dec_deg: float, hip: int
) -> None:
    found = resolve_name(name, NIGHT, SITE)
    assert separation_deg(found.ra_deg, found.dec_deg, ra_deg, dec_deg) < 0.001
    assert found.name == f"HIP {hip}"
    assert "Hipparcos" in found.source


def test_the_moon_is_where_it_is_at_the_given_instant_from_the_site() -> None:
    tonight = resolve_name("Moon", NIGHT, SITE)
    tomorrow = resolve_name("moon", NIGHT + dt.timedelta(days=1), SITE)
    # The Moon moves about 13 degrees a day against the stars.
    assert (
        10.0
        < separation_deg(tonight.ra_deg, tonight.dec_deg, tomorrow.ra_deg, tomorrow.dec_deg)
        < 16.0
    )
    assert tonight.source.endswith("at 2026-12-06T22:00:00+00:00")
    # Seen from another place on Earth its position differs by up to its parallax (~1 deg).
    antipodes = SiteSettings(latitude_deg=-37.2, longitude_deg=177.45)
    elsewhere = resolve_name("Moon", NIGHT, antipodes)
    assert (
        0.2
        < separation_deg(tonight.ra_deg, tonight.dec_deg, elsewhere.ra_deg, elsewhere.dec_deg)
        < 2.1
    )


def test_planets_by_name() -> None:
    jupiter = resolve_name("Jupiter", NIGHT, SITE)
    assert jupiter.name == "Jupiter"
    # Jupiter stays within about 1.3 degrees of the ecliptic (obliquity 23.44 deg).
    ra, dec = math.radians(jupiter.ra_deg), math.radians(jupiter.dec_deg)
    obliquity = math.radians(23.4393)
    ecliptic_latitude = math.degrees(
        math.asin(
            math.sin(dec) * math.cos(obliquity) - math.cos(dec) * math.sin(obliquity) * math.sin(ra)
        )
    )
    assert abs(ecliptic_latitude) < 1.5


def test_the_sun_is_never_a_target() -> None:
    with pytest.raises(WorkOrderInvalid, match="target: the Sun"):
        resolve_name("Sun", NIGHT, SITE)


@pytest.mark.skipif(
    not (KSTARS_DIR / "namedstars.dat").is_file(),
    reason="HD numbers need the Debian package kstars-data (scripts/system-deps.sh)",
)
@pytest.mark.parametrize(
    ("name", "ra_deg", "dec_deg"),
    [
        # J2000 positions: Sirius (high proper motion), Vega, Polaris.
        ("HD 48915", 101.287155, -16.716116),
        ("hd172167", 279.234735, 38.783689),
        ("HD  8890", 37.954561, 89.264109),
    ],
)
def test_a_bright_star_by_its_hd_number(name: str, ra_deg: float, dec_deg: float) -> None:
    found = resolve_name(name, NIGHT, SITE)
    assert separation_deg(found.ra_deg, found.dec_deg, ra_deg, dec_deg) < 0.5 / 3600
    assert found.name == f"HD {int(name[2:])}" and "kstars-data" in found.source


@pytest.mark.skipif(
    not (KSTARS_DIR / "namedstars.dat").is_file(),
    reason="HD numbers need the Debian package kstars-data (scripts/system-deps.sh)",
)
def test_an_hd_number_beyond_the_bright_stars_is_refused() -> None:
    with pytest.raises(WorkOrderInvalid, match=r"^target: 'HD 359000' is not among the bright"):
        resolve_name("HD 359000", NIGHT, SITE)
