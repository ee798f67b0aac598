"""The low-precision ephemeris against astropy's full reduction."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta, timezone

import pytest

from observatory import ephemeris

astropy_units = pytest.importorskip("astropy.units")
from astropy.coordinates import AltAz, EarthLocation, SkyCoord, get_sun  # noqa: E402
from astropy.time import Time  # noqa: E402
from astropy.utils import iers  # noqa: E402

# No network: astropy must use its bundled Earth-orientation tables; beyond them it
# extrapolates (dUT1 < 1 s, far below the tolerances here).
iers.conf.auto_download = False
iers.conf.auto_max_age = None
iers.conf.iers_degraded_accuracy = "ignore"

DATES = [
    datetime(2000, 1, 1, 12, 0, tzinfo=UTC),
    datetime(2012, 6, 20, 23, 30, tzinfo=UTC),
    datetime(2019, 3, 20, 6, 15, tzinfo=UTC),
    datetime(2024, 9, 22, 18, 45, tzinfo=UTC),
    datetime(2026, 11, 23, 5, 50, tzinfo=UTC),
    datetime(2026, 12, 21, 17, 5, tzinfo=UTC),
    datetime(2031, 7, 4, 3, 0, tzinfo=UTC),
]
SITES = [(37.2236, -2.5463), (-30.1652, -70.8150), (64.0, 150.0), (0.0, 0.0)]
SUN_TOLERANCE_DEG = 0.015
STAR_TOLERANCE_DEG = 0.015


def _astropy_altaz(when: datetime, lat: float, lon: float) -> AltAz:
    location = EarthLocation(lat=lat * astropy_units.deg, lon=lon * astropy_units.deg, height=0)
    # pressure 0: geometric altitude, no refraction, as ephemeris computes.
    return AltAz(obstime=Time(when), location=location, pressure=0)


@pytest.mark.parametrize("when", DATES, ids=lambda d: d.isoformat())
@pytest.mark.parametrize("lat_lon", SITES, ids=str)
def test_sun_altitude_matches_astropy(when: datetime, lat_lon: tuple[float, float]) -> None:
    lat, lon = lat_lon
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = _astropy_altaz(when, lat, lon)
        expected = get_sun(Time(when)).transform_to(frame).alt.deg
    got = ephemeris.sun_altitude_deg(when, lat, lon)
    assert got == pytest.approx(expected, abs=SUN_TOLERANCE_DEG)


@pytest.mark.parametrize("when", DATES, ids=lambda d: d.isoformat())
@pytest.mark.parametrize(
    "ra_dec", [(101.2872, -16.7161), (279.2347, 38.7837), (37.9546, 89.2641), (201.298, -11.161)]
)
def test_star_altitude_matches_astropy(when: datetime, ra_dec: tuple[float, float]) -> None:
    ra, dec = ra_dec
    lat, lon = SITES[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        star = SkyCoord(ra=ra * astropy_units.deg, dec=dec * astropy_units.deg, frame="icrs")
        expected = star.transform_to(_astropy_altaz(when, lat, lon)).alt.deg
    got = ephemeris.altitude_deg(ra, dec, when, lat, lon)
    assert got == pytest.approx(expected, abs=STAR_TOLERANCE_DEG)


@pytest.mark.parametrize("when", DATES, ids=lambda d: d.isoformat())
def test_local_sidereal_time_matches_astropy(when: datetime) -> None:
    lon = -2.5463
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = Time(when).sidereal_time("mean", longitude=lon * astropy_units.deg).deg
    got = ephemeris.local_sidereal_time_deg(when, lon)
    difference = (got - expected + 180.0) % 360.0 - 180.0
    # 0.005 deg = 1.2 s of time: what UTC-for-UT1 costs at most.
    assert abs(difference) < 0.005


def test_sun_is_high_at_noon_and_low_at_midnight_in_summer() -> None:
    lat, lon = 37.2236, -2.5463
    noon = datetime(2026, 6, 21, 12, 10, tzinfo=UTC)
    midnight = noon + timedelta(hours=12)
    # At the solstice the noon altitude is 90 - lat + 23.44.
    assert ephemeris.sun_altitude_deg(noon, lat, lon) == pytest.approx(76.2, abs=0.3)
    assert ephemeris.sun_altitude_deg(midnight, lat, lon) < -25.0


def test_timezone_of_input_does_not_matter() -> None:
    utc = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)
    local = utc.astimezone(timezone(timedelta(hours=-5)))
    assert ephemeris.sun_altitude_deg(local, 10.0, 20.0) == ephemeris.sun_altitude_deg(
        utc, 10.0, 20.0
    )


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ephemeris.sun_altitude_deg(datetime(2026, 1, 1), 0.0, 0.0)
