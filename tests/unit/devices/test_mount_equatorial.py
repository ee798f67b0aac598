"""The mount adapter speaks J2000 to its callers whatever the mount's EquatorialSystem.

One simulator serves three mounts: 0 reports Topocentric (apparent of date, "JNow"),
1 J2000, 2 Other. What the adapter sent is read back over HTTP (TargetRightAscension and
TargetDeclination) and compared with astropy's apparent place (TETE), an oracle
independent of the adapter's erfa calls.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import astropy.units as u
import pytest
import requests
from astropy.coordinates import FK4, FK5, TETE, SkyCoord
from astropy.time import Time
from astropy.utils import iers

from observatory.devices.equatorial import EquatorialSystem, from_mount, to_mount
from observatory.devices.mount import MountAdapter, separation_deg
from observatory.settings import DeviceSettings, TelescopeSettings
from observatory.simulator.server import SimulatorProcess, start_simulator_process

ARCSEC_DEG = 1.0 / 3600.0
THREE_MOUNTS = """
time_scale = 50.0

[discovery]
enabled = false

[site]
latitude_deg = 37.0

[[telescope]]
connect_delay_s = 0.0
equatorial_system = 1
pointing_error_east_arcsec = 0.0
pointing_error_north_arcsec = 0.0
pointing_error_random_arcsec = 0.0

[[telescope]]
connect_delay_s = 0.0
equatorial_system = 2

[[telescope]]
connect_delay_s = 0.0
equatorial_system = 0
"""


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    config_path: Path = tmp_path_factory.mktemp("simulator") / "simulator.toml"
    config_path.write_text(THREE_MOUNTS)
    with start_simulator_process(config_path=config_path) as process:
        yield process


def adapter(simulator: SimulatorProcess, number: int) -> MountAdapter:
    devices = DeviceSettings(
        telescope_address=simulator.address,
        telescope_number=number,
        poll_interval_s=0.02,
        connect_timeout_s=10.0,
    )
    return MountAdapter(devices, TelescopeSettings(slew_timeout_s=20.0))


def read(simulator: SimulatorProcess, number: int, member: str) -> Any:
    url = f"{simulator.base_url}/api/v1/telescope/{number}/{member}"
    reply = requests.get(url, timeout=5).json()
    assert reply["ErrorNumber"] == 0, reply
    return reply["Value"]


def slew_near_meridian(mount: MountAdapter) -> tuple[float, float]:
    """Slew to J2000 coordinates an hour east of the meridian at Dec +20; returns them."""
    mount.unpark()
    mount.set_tracking(True)
    target = ((mount.sidereal_time_hours() + 1.0) * 15.0 % 360.0, 20.0)
    mount.slew_to_radec(*target)
    return target


def apparent_place(ra_deg: float, dec_deg: float, when_utc: datetime) -> tuple[float, float]:
    """astropy's true-equator, true-equinox (geocentric apparent) place, offline."""
    with iers.conf.set_temp("auto_download", False):
        time = Time(when_utc, scale="utc")
        time.delta_ut1_utc = 0.0
        place = SkyCoord(ra_deg * u.deg, dec_deg * u.deg, frame="icrs").transform_to(
            TETE(obstime=time)
        )
    return float(place.ra.deg), float(place.dec.deg)


def test_a_topocentric_mount_is_sent_jnow_and_read_back_as_j2000(
    simulator: SimulatorProcess,
) -> None:
    mount = adapter(simulator, 0)
    target = slew_near_meridian(mount)
    assert mount.equatorial_system() is EquatorialSystem.TOPOCENTRIC
    sent = (
        read(simulator, 0, "targetrightascension") * 15.0,
        read(simulator, 0, "targetdeclination"),
    )
    mount_date = datetime.fromisoformat(str(read(simulator, 0, "utcdate")))
    expected = apparent_place(*target, mount_date)
    assert separation_deg(*sent, *expected) < 1.0 * ARCSEC_DEG
    assert separation_deg(*sent, *target) > 0.1  # precession since 2000 is not left out
    state = mount.status()
    assert separation_deg(state.ra_deg, state.dec_deg, *target) < 1.0 * ARCSEC_DEG
    # The simulated optics point at the J2000 target too (no pointing error configured).
    reply = requests.put(
        f"{simulator.base_url}/api/v1/telescope/0/action",
        data={"Action": "simulator:truth", "Parameters": ""},
        timeout=5,
    ).json()
    truth = json.loads(reply["Value"])
    true_off_deg = separation_deg(truth["true_ra_deg"], truth["true_dec_deg"], *target)
    assert true_off_deg < 1.0 * ARCSEC_DEG
    mount.park()


def test_a_j2000_mount_is_sent_the_coordinates_unchanged(simulator: SimulatorProcess) -> None:
    mount = adapter(simulator, 1)
    target = slew_near_meridian(mount)
    assert read(simulator, 1, "targetrightascension") * 15.0 == pytest.approx(target[0])
    assert read(simulator, 1, "targetdeclination") == pytest.approx(target[1])
    mount.park()


def test_a_mount_declaring_other_is_taken_as_j2000_and_the_log_says_so_once(
    simulator: SimulatorProcess, caplog: pytest.LogCaptureFixture
) -> None:
    mount = adapter(simulator, 2)
    with caplog.at_level(logging.WARNING, logger="observatory.devices.mount"):
        target = slew_near_meridian(mount)
        mount.status()
    assert read(simulator, 2, "targetdeclination") == pytest.approx(target[1])
    said = [r.getMessage() for r in caplog.records if "EquatorialSystem Other" in r.getMessage()]
    assert len(said) == 1 and "taken as J2000" in said[0], said
    mount.park()


# The conversions themselves, against astropy's frames (offline) and back again.
WHEN = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
STARS = [(83.8221, -5.3911), (279.2347, 38.7837), (0.0001, 89.2641), (359.99, -60.5)]


@pytest.mark.parametrize(("ra_deg", "dec_deg"), STARS)
def test_each_system_matches_astropy_and_converts_back(ra_deg: float, dec_deg: float) -> None:
    with iers.conf.set_temp("auto_download", False):
        star = SkyCoord(ra_deg * u.deg, dec_deg * u.deg, frame="icrs")
        j2050 = star.transform_to(FK5(equinox="J2050"))
        b1950 = star.transform_to(FK4(equinox="B1950", obstime=Time(WHEN)))
    expected = {
        EquatorialSystem.TOPOCENTRIC: apparent_place(ra_deg, dec_deg, WHEN),
        EquatorialSystem.J2000: (ra_deg, dec_deg),
        EquatorialSystem.OTHER: (ra_deg, dec_deg),
        EquatorialSystem.J2050: (j2050.ra.deg, j2050.dec.deg),
        EquatorialSystem.B1950: (b1950.ra.deg, b1950.dec.deg),
    }
    for system, place in expected.items():
        converted = to_mount(system, ra_deg, dec_deg, WHEN)
        assert separation_deg(*converted, *place) < 0.1 * ARCSEC_DEG, system
        back = from_mount(system, *converted, WHEN)
        assert separation_deg(*back, ra_deg, dec_deg) < 0.05 * ARCSEC_DEG, system


def test_a_date_dependent_system_without_a_date_is_refused() -> None:
    with pytest.raises(ValueError, match="epoch_utc"):
        to_mount(EquatorialSystem.TOPOCENTRIC, 10.0, 10.0)
    with pytest.raises(ValueError, match="naive"):
        from_mount(EquatorialSystem.B1950, 10.0, 10.0, datetime(2026, 1, 1))
