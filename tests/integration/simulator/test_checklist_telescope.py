"""Conformance checklist, Telescope (ITelescopeV4), after ConformU's telescope tests.

Capability flags against behaviour, target and coordinate validation, parked refusals,
asynchronous slews, syncs, tracking rates, axis rates and MoveAxis, pier side, site and
time, pulse guiding, park and home. One simulator of its own at a high time scale; the
tests run in file order (the first needs targets never set).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from alpaca.exceptions import (
    InvalidOperationException,
    InvalidValueException,
    NotImplementedException,
    ParkedException,
)
from alpaca.telescope import Telescope, TelescopeAxes
from astropy.coordinates import Longitude
from astropy.time import Time
from astropy.utils import iers

from tests.helpers import wait_for
from tests.integration.simulator.conftest import Api, open_checklist_simulator
from tests.integration.simulator.test_checklist_common import connect_all

pytestmark = pytest.mark.integration

MOUNT = "telescope/0"
# Capability flag -> (member, form) that the flag promises or denies.
CAPABILITIES: dict[str, tuple[str, dict[str, str]]] = {
    "canslew": ("slewtocoordinates", {"RightAscension": "1", "Declination": "10"}),
    "canslewaltaz": ("slewtoaltaz", {"Azimuth": "90", "Altitude": "45"}),
    "canslewasync": ("slewtocoordinatesasync", {"RightAscension": "1", "Declination": "10"}),
    "canslewaltazasync": ("slewtoaltazasync", {"Azimuth": "90", "Altitude": "45"}),
    "cansync": ("synctocoordinates", {"RightAscension": "1", "Declination": "10"}),
    "cansyncaltaz": ("synctoaltaz", {"Azimuth": "90", "Altitude": "45"}),
    "canpark": ("park", {}),
    "canunpark": ("unpark", {}),
    "cansetpark": ("setpark", {}),
    "canfindhome": ("findhome", {}),
    "canpulseguide": ("pulseguide", {"Direction": "0", "Duration": "10"}),
    "cansetdeclinationrate": ("declinationrate", {"DeclinationRate": "0"}),
    "cansetrightascensionrate": ("rightascensionrate", {"RightAscensionRate": "0"}),
    "cansetpierside": ("sideofpier", {"SideOfPier": "0"}),
    "cansettracking": ("tracking", {"Tracking": "false"}),
    "cansetguiderates": ("guideratedeclination", {"GuideRateDeclination": "0.002"}),
}


@pytest.fixture(scope="module")
def mount_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with open_checklist_simulator(tmp_path_factory.mktemp("checklist_mount")) as simulator:
        client = Api(simulator)
        connect_all(client)
        yield client
        client.session.close()


@pytest.fixture
def api(mount_api: Api) -> Api:
    mount_api.ok(f"{MOUNT}/connected", Connected="true")
    return mount_api


@pytest.fixture
def mount(api: Api) -> Telescope:
    return Telescope(api.base_url.removeprefix("http://"), 0)


def wait_still(api: Api) -> None:
    wait_for(lambda: not api.value(f"{MOUNT}/slewing"), 10, 0.02, "mount at rest")


def unparked_and_tracking(api: Api) -> None:
    api.ok(f"{MOUNT}/unpark")
    wait_still(api)
    api.ok(f"{MOUNT}/tracking", Tracking="true")


def overhead_radec(api: Api, hour_angle_h: float = 0.0, dec_deg: float = 30.0) -> dict[str, str]:
    """A form for a target at ``hour_angle_h`` (well above the horizon at the site)."""
    ra_h = (api.value(f"{MOUNT}/siderealtime") - hour_angle_h) % 24.0
    return {"RightAscension": f"{ra_h:.6f}", "Declination": f"{dec_deg}"}


def test_targets_read_before_set_are_value_not_set(unused_api: Api) -> None:
    """ConformU accepts ValueNotSet (0x402) or InvalidOperation (0x40B); the notes ask 0x402."""
    api = unused_api
    for member in ("targetrightascension", "targetdeclination"):
        assert api.get(f"{MOUNT}/{member}")["ErrorNumber"] == 0x402


@pytest.mark.parametrize("flag", sorted(CAPABILITIES))
def test_capability_flags_agree_with_behaviour(api: Api, flag: str) -> None:
    member, form = CAPABILITIES[flag]
    can = api.value(f"{MOUNT}/{flag}")
    assert isinstance(can, bool)
    reply = api.put(f"{MOUNT}/{member}", **form)
    if can:
        assert reply["ErrorNumber"] != 0x400, f"{flag} true but {member}: {reply}"
    else:
        assert reply["ErrorNumber"] == 0x400, f"{flag} false but {member}: {reply}"
    api.ok(f"{MOUNT}/park")
    wait_still(api)


def test_parked_mount_refuses_motion(api: Api, mount: Telescope) -> None:
    api.ok(f"{MOUNT}/unpark")
    api.ok(f"{MOUNT}/park")
    wait_for(lambda: api.value(f"{MOUNT}/atpark"), 10, 0.02, "parked")
    refused = {
        "slewtocoordinatesasync": {"RightAscension": "1", "Declination": "10"},
        "slewtotargetasync": {},
        "slewtoaltazasync": {"Azimuth": "90", "Altitude": "45"},
        "synctocoordinates": {"RightAscension": "1", "Declination": "10"},
        "synctotarget": {},
        "moveaxis": {"Axis": "0", "Rate": "1"},
        "pulseguide": {"Direction": "0", "Duration": "100"},
        "findhome": {},
        "abortslew": {},
        "tracking": {"Tracking": "true"},
    }
    for member, form in refused.items():
        assert api.put(f"{MOUNT}/{member}", **form)["ErrorNumber"] == 0x408, member
    api.ok(f"{MOUNT}/park")  # parking a parked mount is harmless
    with pytest.raises(ParkedException):
        mount.AbortSlew()
    assert api.value(f"{MOUNT}/atpark") is True and api.value(f"{MOUNT}/tracking") is False


@pytest.mark.parametrize(
    ("member", "form"),
    [
        ("slewtocoordinatesasync", {"RightAscension": "-1", "Declination": "10"}),
        ("slewtocoordinatesasync", {"RightAscension": "24", "Declination": "10"}),
        ("slewtocoordinatesasync", {"RightAscension": "25", "Declination": "10"}),
        ("slewtocoordinatesasync", {"RightAscension": "1", "Declination": "91"}),
        ("slewtocoordinatesasync", {"RightAscension": "1", "Declination": "-100"}),
        ("synctocoordinates", {"RightAscension": "-1", "Declination": "10"}),
        ("synctocoordinates", {"RightAscension": "1", "Declination": "100"}),
        ("targetrightascension", {"TargetRightAscension": "-1"}),
        ("targetrightascension", {"TargetRightAscension": "24"}),
        ("targetdeclination", {"TargetDeclination": "91"}),
        ("targetdeclination", {"TargetDeclination": "-91"}),
        ("slewtoaltazasync", {"Azimuth": "-10", "Altitude": "45"}),
        ("slewtoaltazasync", {"Azimuth": "360", "Altitude": "45"}),
        ("slewtoaltazasync", {"Azimuth": "90", "Altitude": "100"}),
        ("slewsettletime", {"SlewSettleTime": "-1"}),
        ("guideratedeclination", {"GuideRateDeclination": "-1"}),
    ],
)
def test_invalid_values_are_refused(api: Api, member: str, form: dict[str, str]) -> None:
    unparked_and_tracking(api)
    if member == "slewtoaltazasync":
        api.ok(f"{MOUNT}/tracking", Tracking="false")
    assert api.put(f"{MOUNT}/{member}", **form)["ErrorNumber"] == 0x401


def test_destination_side_of_pier_validates_and_predicts(api: Api) -> None:
    unparked_and_tracking(api)
    bad = api.get(f"{MOUNT}/destinationsideofpier", RightAscension="25", Declination="10")
    assert bad["ErrorNumber"] == 0x401
    sides = {}
    for hour_angle_h in (-3.0, 3.0):
        form = overhead_radec(api, hour_angle_h)
        predicted = api.value(f"{MOUNT}/destinationsideofpier", **form)
        assert predicted in (0, 1)
        api.ok(f"{MOUNT}/slewtocoordinatesasync", **form)
        wait_still(api)
        assert api.value(f"{MOUNT}/sideofpier") == predicted
        sides[hour_angle_h] = predicted
    assert sides[-3.0] != sides[3.0]


def test_async_slew_shows_slewing_at_once_and_arrives(api: Api, mount: Telescope) -> None:
    unparked_and_tracking(api)
    assert mount.CanSlewAsync
    api.ok(f"{MOUNT}/slewtocoordinatesasync", **overhead_radec(api, 2.0))
    wait_still(api)
    target = overhead_radec(api, -2.0, 50.0)
    ra_h, dec_deg = float(target["RightAscension"]), float(target["Declination"])
    mount.SlewToCoordinatesAsync(ra_h, dec_deg)
    assert mount.Slewing
    assert mount.TargetRightAscension == pytest.approx(ra_h)
    assert mount.TargetDeclination == pytest.approx(dec_deg)
    wait_for(lambda: not mount.Slewing, 10, 0.02, "slew end")
    assert mount.RightAscension == pytest.approx(ra_h, abs=1e-3)
    assert mount.Declination == pytest.approx(dec_deg, abs=1e-3)
    assert not mount.AtPark and not mount.AtHome and mount.Tracking


def test_slew_to_target_and_abort(api: Api, mount: Telescope) -> None:
    unparked_and_tracking(api)
    start = overhead_radec(api, 3.0, 0.0)
    api.ok(f"{MOUNT}/slewtocoordinatesasync", **start)
    wait_still(api)
    far = overhead_radec(api, -3.0, 60.0)
    mount.TargetRightAscension = float(far["RightAscension"])
    mount.TargetDeclination = float(far["Declination"])
    mount.SlewToTargetAsync()
    assert mount.Slewing
    mount.AbortSlew()
    assert not mount.Slewing
    assert mount.Declination < 59.0


def test_equatorial_slews_need_tracking(api: Api, mount: Telescope) -> None:
    unparked_and_tracking(api)
    mount.Tracking = False
    with pytest.raises(InvalidOperationException):
        mount.SlewToCoordinatesAsync(1.0, 10.0)
    mount.Tracking = True
    with pytest.raises(InvalidOperationException):
        mount.SlewToAltAzAsync(90.0, 45.0)


def test_alt_az_slew_arrives(api: Api, mount: Telescope) -> None:
    unparked_and_tracking(api)
    mount.Tracking = False
    mount.SlewToAltAzAsync(120.0, 50.0)
    assert mount.Slewing
    wait_for(lambda: not mount.Slewing, 10, 0.02, "alt-az slew end")
    assert mount.Azimuth == pytest.approx(120.0, abs=0.05)
    assert mount.Altitude == pytest.approx(50.0, abs=0.05)


def test_sync_to_coordinates_moves_the_reported_position(api: Api, mount: Telescope) -> None:
    unparked_and_tracking(api)
    form = overhead_radec(api, 1.0, 20.0)
    api.ok(f"{MOUNT}/slewtocoordinatesasync", **form)
    wait_still(api)
    assert mount.CanSync
    ra_h = (float(form["RightAscension"]) + 0.01) % 24.0
    mount.SyncToCoordinates(ra_h, 20.05)
    assert mount.RightAscension == pytest.approx(ra_h, abs=1e-3)
    assert mount.Declination == pytest.approx(20.05, abs=1e-3)
    assert mount.TargetRightAscension == pytest.approx(ra_h)
    assert not mount.Slewing


def test_tracking_rates(api: Api, mount: Telescope) -> None:
    rates = api.value(f"{MOUNT}/trackingrates")
    assert rates and all(rate in (0, 1, 2, 3) for rate in rates)
    assert api.value(f"{MOUNT}/trackingrate") in rates
    for rate in rates:
        api.ok(f"{MOUNT}/trackingrate", TrackingRate=rate)
        assert api.value(f"{MOUNT}/trackingrate") == rate
    for rate in {0, 1, 2, 3, 4, -1} - set(rates):
        assert api.put(f"{MOUNT}/trackingrate", TrackingRate=rate)["ErrorNumber"] == 0x401
    assert int(mount.TrackingRate) in rates


def test_axis_rates_and_move_axis(api: Api, mount: Telescope) -> None:
    unparked_and_tracking(api)
    for axis in (0, 1, 2):
        rates = api.value(f"{MOUNT}/axisrates", Axis=axis)
        can_move = api.value(f"{MOUNT}/canmoveaxis", Axis=axis)
        assert bool(rates) == can_move, axis
        for rate in rates:
            assert set(rate) == {"Minimum", "Maximum"}
            assert 0.0 <= rate["Minimum"] <= rate["Maximum"]
    assert api.get(f"{MOUNT}/axisrates", Axis=3)["ErrorNumber"] == 0x401
    fastest = max(r["Maximum"] for r in api.value(f"{MOUNT}/axisrates", Axis=0))
    with pytest.raises(InvalidValueException):
        mount.MoveAxis(TelescopeAxes.axisPrimary, fastest + 1.0)
    with pytest.raises(InvalidValueException):
        mount.MoveAxis(TelescopeAxes.axisSecondary, -(fastest + 1.0))
    with pytest.raises(NotImplementedException):  # CanMoveAxis(tertiary) is false
        mount.MoveAxis(TelescopeAxes.axisTertiary, 0.0)
    mount.MoveAxis(TelescopeAxes.axisPrimary, fastest / 2)
    assert mount.Slewing
    mount.MoveAxis(TelescopeAxes.axisPrimary, 0.0)
    assert not mount.Slewing
    mount.MoveAxis(TelescopeAxes.axisSecondary, -fastest / 4)
    assert mount.Slewing
    mount.AbortSlew()
    assert not mount.Slewing


def test_sidereal_time_agrees_with_utc_date_and_longitude(api: Api) -> None:
    state = {item["Name"]: item["Value"] for item in api.value(f"{MOUNT}/devicestate")}
    utc = state["UTCDate"]
    assert utc.endswith("Z")
    longitude_deg = api.value(f"{MOUNT}/sitelongitude")
    # Apparent sidereal time without an IERS download: UT1 - UTC (< 0.9 s) and the
    # simulator's mean-time approximation (equation of the equinoxes < 1.2 s) both fit.
    with (
        iers.conf.set_temp("auto_download", False),
        iers.conf.set_temp("auto_max_age", None),
        iers.conf.set_temp("iers_degraded_accuracy", "ignore"),
    ):
        time = Time(datetime.fromisoformat(utc).replace(tzinfo=None), scale="utc")
        longitude = Longitude(longitude_deg, unit="deg")
        expected_h = float(time.sidereal_time("apparent", longitude=longitude).hour)
    difference_s = ((state["SiderealTime"] - expected_h + 12.0) % 24.0 - 12.0) * 3600.0
    assert abs(difference_s) < 3.0


def test_utc_date_is_iso_utc_and_not_settable(api: Api) -> None:
    utc = api.value(f"{MOUNT}/utcdate")
    assert utc.endswith("Z") and datetime.fromisoformat(utc).utcoffset() == timedelta(0)
    reply = api.put(f"{MOUNT}/utcdate", UTCDate="2025-01-15T21:00:00Z")
    assert reply["ErrorNumber"] == 0x400  # the simulated civil clock is set by its config


@pytest.mark.parametrize(
    ("member", "field", "good", "bad"),
    [
        ("sitelatitude", "SiteLatitude", 37.2236, (-91.0, 90.5)),
        ("sitelongitude", "SiteLongitude", -2.5463, (-181.0, 180.5)),
        ("siteelevation", "SiteElevation", 2168.0, (-301.0, 10001.0)),
    ],
)
def test_site_ranges_and_writes(
    api: Api, member: str, field: str, good: float, bad: tuple[float, float]
) -> None:
    original = api.value(f"{MOUNT}/{member}")
    for value in bad:
        assert api.put(f"{MOUNT}/{member}", **{field: value})["ErrorNumber"] == 0x401
    assert api.value(f"{MOUNT}/{member}") == original
    api.ok(f"{MOUNT}/{member}", **{field: good})
    assert api.value(f"{MOUNT}/{member}") == pytest.approx(good)


def test_slew_settle_time_round_trips(api: Api) -> None:
    api.ok(f"{MOUNT}/slewsettletime", SlewSettleTime=3)
    assert api.value(f"{MOUNT}/slewsettletime") == 3
    api.ok(f"{MOUNT}/slewsettletime", SlewSettleTime=0)
    assert api.value(f"{MOUNT}/slewsettletime") == 0


def test_pulse_guide(api: Api, mount: Telescope) -> None:
    unparked_and_tracking(api)
    assert mount.CanPulseGuide and not mount.IsPulseGuiding
    # 20 simulated seconds: long enough to observe at the checklist time scale.
    api.ok(f"{MOUNT}/pulseguide", Direction=0, Duration=20000)
    assert api.value(f"{MOUNT}/ispulseguiding") is True
    wait_for(lambda: not api.value(f"{MOUNT}/ispulseguiding"), 5, 0.02, "pulse end")
    for form in ({"Direction": "4", "Duration": "100"}, {"Direction": "0", "Duration": "-1"}):
        assert api.put(f"{MOUNT}/pulseguide", **form)["ErrorNumber"] == 0x401
    assert mount.GuideRateDeclination > 0 and mount.GuideRateRightAscension > 0


def test_rate_offsets_read_zero(api: Api) -> None:
    assert api.value(f"{MOUNT}/declinationrate") == 0.0
    assert api.value(f"{MOUNT}/rightascensionrate") == 0.0


def test_find_home_park_unpark(api: Api, mount: Telescope) -> None:
    unparked_and_tracking(api)
    api.ok(f"{MOUNT}/slewtocoordinatesasync", **overhead_radec(api, 2.0, 10.0))
    wait_still(api)
    mount.FindHome()
    assert not mount.AtHome
    wait_for(lambda: mount.AtHome, 10, 0.02, "at home")
    assert not mount.AtPark and not mount.Slewing
    mount.Park()
    wait_for(lambda: mount.AtPark, 10, 0.02, "parked")
    assert not mount.AtHome and not mount.Tracking
    mount.Unpark()
    assert not mount.AtPark
    mount.Unpark()  # repeating is harmless
    mount.Park()
    wait_for(lambda: mount.AtPark, 10, 0.02, "parked again")


def test_set_park_moves_the_park_position(api: Api, tmp_path: Path) -> None:
    unparked_and_tracking(api)
    form = overhead_radec(api, 1.5, 40.0)
    api.ok(f"{MOUNT}/slewtocoordinatesasync", **form)
    wait_still(api)
    api.ok(f"{MOUNT}/tracking", Tracking="false")
    altitude_deg = api.value(f"{MOUNT}/altitude")
    api.ok(f"{MOUNT}/setpark")
    api.ok(f"{MOUNT}/findhome")
    wait_still(api)
    api.ok(f"{MOUNT}/park")
    wait_for(lambda: api.value(f"{MOUNT}/atpark"), 10, 0.02, "parked at the new park")
    assert api.value(f"{MOUNT}/altitude") == pytest.approx(altitude_deg, abs=0.05)
