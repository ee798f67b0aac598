"""Conformance checklist, Dome (IDomeV3), FilterWheel (IFilterWheelV3), CoverCalibrator
(ICoverCalibratorV2) and SafetyMonitor (ISafetyMonitorV3), after ConformU's tests.

One simulator of its own at a high time scale.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers import wait_for
from tests.integration.simulator.conftest import Api, open_checklist_simulator
from tests.integration.simulator.test_checklist_common import connect_all

pytestmark = pytest.mark.integration

DOME, WHEEL, PANEL = "dome/0", "filterwheel/0", "covercalibrator/0"
OPEN, CLOSED, OPENING, CLOSING = 0, 1, 2, 3
COVER_CLOSED, COVER_MOVING, COVER_OPEN, COVER_UNKNOWN = 1, 2, 3, 4
LAMP_OFF, LAMP_NOT_READY, LAMP_READY = 1, 2, 3


@pytest.fixture(scope="module")
def devices_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with open_checklist_simulator(tmp_path_factory.mktemp("checklist_devices")) as simulator:
        client = Api(simulator)
        connect_all(client)
        yield client
        client.session.close()


@pytest.fixture
def api(devices_api: Api) -> Api:
    connect_all(devices_api)
    devices_api.ok(f"{DOME}/slaved", Slaved="false")
    return devices_api


def dome_still(api: Api) -> None:
    wait_for(lambda: not api.value(f"{DOME}/slewing"), 10, 0.02, "dome at rest")


# -- dome ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("member", "form"),
    [
        ("slewtoazimuth", {"Azimuth": "-0.1"}),
        ("slewtoazimuth", {"Azimuth": "360"}),
        ("slewtoazimuth", {"Azimuth": "720"}),
        ("synctoazimuth", {"Azimuth": "-10"}),
        ("synctoazimuth", {"Azimuth": "360.5"}),
        ("slewtoaltitude", {"Altitude": "-1"}),
        ("slewtoaltitude", {"Altitude": "90.5"}),
    ],
)
def test_dome_invalid_positions(api: Api, member: str, form: dict[str, str]) -> None:
    assert api.put(f"{DOME}/{member}", **form)["ErrorNumber"] == 0x401


def test_dome_shutter_transitions_and_slewing(api: Api) -> None:
    api.ok(f"{DOME}/closeshutter")
    wait_for(lambda: api.value(f"{DOME}/shutterstatus") == CLOSED, 10, 0.02, "closed")
    assert api.value(f"{DOME}/slewing") is False
    api.ok(f"{DOME}/openshutter")
    assert api.value(f"{DOME}/shutterstatus") == OPENING
    assert api.value(f"{DOME}/slewing") is True  # IDomeV3: the shutter counts as motion
    api.ok(f"{DOME}/openshutter")  # repeating changes nothing
    wait_for(lambda: api.value(f"{DOME}/shutterstatus") == OPEN, 10, 0.02, "open")
    assert api.value(f"{DOME}/slewing") is False
    api.ok(f"{DOME}/slewtoaltitude", Altitude=45)
    wait_for(lambda: api.value(f"{DOME}/altitude") == pytest.approx(45.0), 10, 0.02, "alt")
    api.ok(f"{DOME}/closeshutter")
    assert api.value(f"{DOME}/shutterstatus") == CLOSING
    assert api.value(f"{DOME}/slewing") is True
    wait_for(lambda: api.value(f"{DOME}/shutterstatus") == CLOSED, 10, 0.02, "closed")


def test_dome_abort_slew_stops_azimuth_and_shutter(api: Api) -> None:
    api.ok(f"{DOME}/synctoazimuth", Azimuth=0)
    assert api.value(f"{DOME}/azimuth") == pytest.approx(0.0)
    api.ok(f"{DOME}/slewtoazimuth", Azimuth=180)
    api.ok(f"{DOME}/openshutter")
    assert api.value(f"{DOME}/slewing") is True
    api.ok(f"{DOME}/abortslew")
    assert api.value(f"{DOME}/slewing") is False
    azimuth = api.value(f"{DOME}/azimuth")
    assert azimuth < 179.0 or azimuth > 181.0
    api.ok(f"{DOME}/abortslew")  # aborting an idle dome is harmless
    api.ok(f"{DOME}/closeshutter")
    wait_for(lambda: api.value(f"{DOME}/shutterstatus") == CLOSED, 10, 0.02, "closed")


def test_dome_park_home_and_set_park(api: Api) -> None:
    api.ok(f"{DOME}/findhome")
    assert api.value(f"{DOME}/athome") is False or api.value(f"{DOME}/slewing") is False
    wait_for(lambda: api.value(f"{DOME}/athome"), 10, 0.02, "at home")
    assert api.value(f"{DOME}/atpark") is False
    api.ok(f"{DOME}/slewtoazimuth", Azimuth=75)
    assert api.value(f"{DOME}/athome") is False
    dome_still(api)
    api.ok(f"{DOME}/setpark")
    api.ok(f"{DOME}/slewtoazimuth", Azimuth=200)
    dome_still(api)
    assert api.value(f"{DOME}/atpark") is False
    api.ok(f"{DOME}/park")
    wait_for(lambda: api.value(f"{DOME}/atpark"), 10, 0.02, "at park")
    assert api.value(f"{DOME}/azimuth") == pytest.approx(75.0)
    assert api.value(f"{DOME}/athome") is False
    api.ok(f"{DOME}/slewtoazimuth", Azimuth=180)
    api.ok(f"{DOME}/setpark")  # restore the configured park
    dome_still(api)


def test_dome_sync_when_can_sync(api: Api) -> None:
    assert api.value(f"{DOME}/cansyncazimuth") is True
    api.ok(f"{DOME}/synctoazimuth", Azimuth=123.5)
    assert api.value(f"{DOME}/azimuth") == pytest.approx(123.5)
    assert api.value(f"{DOME}/slewing") is False


def test_dome_slaving_follows_can_slave(api: Api) -> None:
    if not api.value(f"{DOME}/canslave"):
        assert api.put(f"{DOME}/slaved", Slaved="true")["ErrorNumber"] == 0x400
        assert api.value(f"{DOME}/slaved") is False
        return
    api.ok(f"{DOME}/slaved", Slaved="true")
    assert api.value(f"{DOME}/slaved") is True
    for member, form in (("slewtoazimuth", {"Azimuth": "10"}), ("park", {}), ("findhome", {})):
        assert api.put(f"{DOME}/{member}", **form)["ErrorNumber"] == 0x409, member
    api.ok(f"{DOME}/slaved", Slaved="false")
    assert api.value(f"{DOME}/slaved") is False
    dome_still(api)


# -- filter wheel -------------------------------------------------------------------------


def test_filter_wheel_names_offsets_and_moves(api: Api) -> None:
    names = api.value(f"{WHEEL}/names")
    offsets = api.value(f"{WHEEL}/focusoffsets")
    assert names and len(names) == len(offsets)
    assert all(isinstance(n, str) and n for n in names)
    assert all(isinstance(o, int) for o in offsets)
    wait_for(lambda: api.value(f"{WHEEL}/position") >= 0, 10, 0.02, "wheel at rest")
    here = api.value(f"{WHEEL}/position")
    target = (here + 2) % len(names)
    api.ok(f"{WHEEL}/position", Position=target)
    assert api.value(f"{WHEEL}/position") == -1  # moving
    wait_for(lambda: api.value(f"{WHEEL}/position") == target, 10, 0.02, "filter in place")
    api.ok(f"{WHEEL}/position", Position=target)  # already there: stays
    assert api.value(f"{WHEEL}/position") == target
    for bad in (-1, len(names), 99):
        assert api.put(f"{WHEEL}/position", Position=bad)["ErrorNumber"] == 0x401
    assert api.value(f"{WHEEL}/position") == target


# -- cover calibrator ---------------------------------------------------------------------


def test_calibrator_brightness_range(api: Api) -> None:
    maximum = api.value(f"{PANEL}/maxbrightness")
    assert maximum >= 1
    for bad in (-1, maximum + 1):
        assert api.put(f"{PANEL}/calibratoron", Brightness=bad)["ErrorNumber"] == 0x401
    assert api.value(f"{PANEL}/calibratorstate") in range(6)


def test_calibrator_changing_then_ready_then_off(api: Api) -> None:
    api.ok(f"{PANEL}/calibratoroff")
    assert api.value(f"{PANEL}/calibratorstate") == LAMP_OFF
    assert api.value(f"{PANEL}/brightness") == 0
    api.ok(f"{PANEL}/calibratoron", Brightness=100)
    assert api.value(f"{PANEL}/calibratorstate") == LAMP_NOT_READY
    assert api.value(f"{PANEL}/calibratorchanging") is True
    wait_for(lambda: api.value(f"{PANEL}/calibratorstate") == LAMP_READY, 10, 0.02, "lit")
    assert api.value(f"{PANEL}/calibratorchanging") is False
    assert api.value(f"{PANEL}/brightness") == 100
    api.ok(f"{PANEL}/calibratoroff")
    assert api.value(f"{PANEL}/calibratorstate") == LAMP_OFF
    assert api.value(f"{PANEL}/calibratorchanging") is False


def test_cover_moves_halts_and_reports(api: Api) -> None:
    assert api.value(f"{PANEL}/coverstate") in range(6)
    api.ok(f"{PANEL}/opencover")
    wait_for(lambda: api.value(f"{PANEL}/coverstate") == COVER_OPEN, 10, 0.02, "open")
    api.ok(f"{PANEL}/closecover")
    assert api.value(f"{PANEL}/coverstate") == COVER_MOVING
    assert api.value(f"{PANEL}/covermoving") is True
    api.ok(f"{PANEL}/haltcover")
    assert api.value(f"{PANEL}/covermoving") is False
    assert api.value(f"{PANEL}/coverstate") not in (COVER_MOVING, COVER_OPEN, COVER_CLOSED)
    api.ok(f"{PANEL}/haltcover")  # halting a still cover is harmless
    api.ok(f"{PANEL}/closecover")
    wait_for(lambda: api.value(f"{PANEL}/coverstate") == COVER_CLOSED, 10, 0.02, "closed")
    assert api.value(f"{PANEL}/covermoving") is False
    api.ok(f"{PANEL}/opencover")
    wait_for(lambda: api.value(f"{PANEL}/coverstate") == COVER_OPEN, 10, 0.02, "open")


# -- safety monitor -----------------------------------------------------------------------


def test_safety_monitor_is_safe_follows_the_truth_only_while_connected(api: Api) -> None:
    api.action("safetymonitor", "simulator:set_safe", "false")
    assert api.value("safetymonitor/0/issafe") is False
    api.action("safetymonitor", "simulator:set_safe", "true")
    assert api.value("safetymonitor/0/issafe") is True
    api.ok("safetymonitor/0/connected", Connected="false")
    assert api.value("safetymonitor/0/issafe") is False
    api.ok("safetymonitor/0/connected", Connected="true")
    assert api.value("safetymonitor/0/issafe") is True
