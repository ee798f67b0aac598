"""The mount's site against the settings': a scripted mount, and the simulator over HTTP."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from alpaca.telescope import Telescope

from observatory.devices.mount import MountAdapter
from observatory.settings import Settings, SiteSettings
from observatory.telescope.observation import observe
from observatory.telescope.rig import TelescopeRig
from observatory.telescope.site import SiteMismatch, check_mount_site
from tests.unit.devices.alpaca_stub import AlpacaStub
from tests.unit.devices.conftest import fast_settings
from tests.unit.telescope.conftest import claimed_order
from tests.unit.test_intake import Broker

PLAN = [{"filter": "R", "exposure_s": 1.0}]
SITE = SiteSettings(latitude_deg=37.2236, longitude_deg=-2.5463, elevation_m=2168.0)


@pytest.fixture
def stub() -> Iterator[AlpacaStub]:
    server = AlpacaStub().start()
    server.values.update(
        {"interfaceversion": 3, "sitelatitude": 37.2236, "sitelongitude": -2.5463,
         "siteelevation": 2168.0}
    )  # fmt: skip
    yield server
    server.stop()


def mount_of(stub: AlpacaStub) -> MountAdapter:
    return MountAdapter(fast_settings(stub.address, telescope_address=stub.address))


def test_a_mount_at_the_site_passes_and_a_mount_elsewhere_is_named(stub: AlpacaStub) -> None:
    check_mount_site(mount_of(stub), SITE)
    stub.values.update({"sitelatitude": 37.2336, "sitelongitude": -2.5463 + 0.005})
    with pytest.raises(SiteMismatch) as raised:
        check_mount_site(mount_of(stub), SITE)
    message = str(raised.value)
    assert "latitude 37.2336 deg, site.latitude_deg is 37.2236 deg" in message
    assert "longitude" not in message.split("):")[0]  # 0.005 deg off: within tolerance
    assert "\n" not in message and stub.address in message


def test_longitudes_across_the_date_line_are_one_place(stub: AlpacaStub) -> None:
    stub.values.update({"sitelatitude": -37.0, "sitelongitude": -179.999})
    check_mount_site(mount_of(stub), SiteSettings(latitude_deg=-37.0, longitude_deg=179.999))
    with pytest.raises(SiteMismatch, match=r"longitude 2\.0000 deg, site\.longitude_deg is"):
        stub.values["sitelongitude"] = 2.0
        check_mount_site(mount_of(stub), SiteSettings(latitude_deg=-37.0, longitude_deg=-2.0))


def test_a_mount_without_a_site_is_not_compared_and_the_log_says_so(
    stub: AlpacaStub, caplog: pytest.LogCaptureFixture
) -> None:
    stub.not_implemented |= {"sitelatitude", "sitelongitude", "siteelevation"}
    with caplog.at_level(logging.INFO):
        check_mount_site(mount_of(stub), SITE)
    said = " ".join(r.getMessage() for r in caplog.records)
    for member in ("SiteLatitude", "SiteLongitude", "SiteElevation"):
        assert f"does not report {member}" in said


def test_another_elevation_is_only_logged(
    stub: AlpacaStub, caplog: pytest.LogCaptureFixture
) -> None:
    stub.values["siteelevation"] = 100.0
    with caplog.at_level(logging.WARNING, "observatory.telescope.site"):
        check_mount_site(mount_of(stub), SITE)
    assert "elevation 100 m, site.elevation_m is 2168 m" in caplog.text


def test_an_observation_on_a_mount_set_elsewhere_fails_before_anything_moves(
    settings: Settings,
) -> None:
    # The simulator's mount answers SiteLatitude/SiteLongitude as set over Alpaca.
    mount = Telescope(settings.devices.telescope_address, 0)
    mount.Connected = True
    latitude = mount.SiteLatitude
    mount.SiteLatitude = 52.0
    try:
        rig = TelescopeRig.from_settings(settings)
        shutter_before = rig.dome.status().shutter
        claimed = claimed_order(
            settings, Broker(), "observation", ra=10.0, dec=20.0, exposures=PLAN
        )
        with pytest.raises(SiteMismatch, match=r"latitude 52\.0000 deg, site\.latitude_deg is"):
            observe(settings, claimed, rig, Broker())
        assert rig.dome.status().shutter is shutter_before
    finally:
        mount.SiteLatitude = latitude
