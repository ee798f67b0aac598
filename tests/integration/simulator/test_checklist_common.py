"""Conformance checklist, members common to every device type (ConformU's common tests).

Connect/Disconnect, Connecting, Connected idempotence, DeviceState contents, interface
versions, SupportedActions, Action/Command* refusals, and which members answer while
disconnected. Each checklist file runs its own simulator at a high time scale; this one
lengthens the connect delay so that Connecting can be observed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from alpaca.dome import Dome
from alpaca.exceptions import ActionNotImplementedException, NotImplementedException

from observatory.simulator.members import MEMBERS, works_disconnected
from tests.helpers import wait_for
from tests.integration.simulator.conftest import DEVICE_TYPES, Api, open_checklist_simulator

pytestmark = pytest.mark.integration

# Simulated seconds Connect() takes here: 0.6 wall seconds at CHECKLIST_TIME_SCALE.
SLOW_CONNECT_DELAY_S = 30.0

# The operational properties each interface's DeviceState reports (ASCOM Platform 7).
DEVICE_STATE_NAMES: dict[str, set[str]] = {
    "camera": {
        "CameraState",
        "CCDTemperature",
        "CoolerPower",
        "HeatSinkTemperature",
        "ImageReady",
        "IsPulseGuiding",
        "PercentCompleted",
    },
    "covercalibrator": {
        "Brightness",
        "CalibratorChanging",
        "CalibratorState",
        "CoverMoving",
        "CoverState",
    },
    "dome": {"Altitude", "AtHome", "AtPark", "Azimuth", "ShutterStatus", "Slewing"},
    "filterwheel": {"Position"},
    "focuser": {"IsMoving", "Position", "Temperature"},
    "safetymonitor": {"IsSafe"},
    "telescope": {
        "Altitude",
        "AtHome",
        "AtPark",
        "Azimuth",
        "Declination",
        "IsPulseGuiding",
        "RightAscension",
        "SideOfPier",
        "SiderealTime",
        "Slewing",
        "Tracking",
        "UTCDate",
    },
}
# Members of DeviceState a device may leave out because it does not implement them.
NOT_IMPLEMENTED_STATE_MEMBERS = {("camera", "IsPulseGuiding"): "ispulseguiding"}
# Query parameters the GET members that take any need.
GET_PARAMETERS: dict[str, dict[str, str]] = {
    "axisrates": {"Axis": "0"},
    "canmoveaxis": {"Axis": "0"},
    "destinationsideofpier": {"RightAscension": "12", "Declination": "10"},
}


def connect_all(api: Api) -> None:
    for device_type in DEVICE_TYPES:
        api.ok(f"{device_type}/0/connected", Connected="true")


@pytest.fixture(scope="module")
def slow_connect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    tmp_path = tmp_path_factory.mktemp("checklist_common")
    with open_checklist_simulator(tmp_path, SLOW_CONNECT_DELAY_S) as simulator:
        client = Api(simulator)
        yield client
        client.session.close()


@pytest.fixture
def api(slow_connect_api: Api) -> Api:
    """Every device connected (at once, through Connected=true) before the test."""
    connect_all(slow_connect_api)
    return slow_connect_api


def state_of(api: Api, device_type: str) -> dict[str, Any]:
    items = api.value(f"{device_type}/0/devicestate")
    assert isinstance(items, list)
    for item in items:
        assert set(item) == {"Name", "Value"}, item
    names = [item["Name"] for item in items]
    assert len(names) == len(set(names)), f"duplicate names in {names}"
    return {item["Name"]: item["Value"] for item in items}


# -- connection ---------------------------------------------------------------------------


@pytest.mark.parametrize("device_type", DEVICE_TYPES)
def test_connect_is_asynchronous_and_disconnect_completes(api: Api, device_type: str) -> None:
    path = f"{device_type}/0"
    api.ok(f"{path}/disconnect")
    assert api.value(f"{path}/connected") is False
    assert api.value(f"{path}/connecting") is False
    api.ok(f"{path}/connect")
    assert api.value(f"{path}/connecting") is True
    assert api.value(f"{path}/connected") is False
    api.ok(f"{path}/connect")  # a second Connect while connecting changes nothing
    wait_for(lambda: api.value(f"{path}/connected"), 5, 0.02, f"{device_type} connected")
    assert api.value(f"{path}/connecting") is False
    api.ok(f"{path}/connect")  # Connect while connected is harmless
    assert api.value(f"{path}/connected") is True
    api.ok(f"{path}/disconnect")
    assert api.value(f"{path}/connected") is False
    api.ok(f"{path}/disconnect")
    assert api.value(f"{path}/connecting") is False


@pytest.mark.parametrize("device_type", DEVICE_TYPES)
def test_connected_writes_are_idempotent(api: Api, device_type: str) -> None:
    path = f"{device_type}/0"
    for value in ("true", "true", "false", "false", "true"):
        api.ok(f"{path}/connected", Connected=value)
        assert api.value(f"{path}/connected") is (value == "true")
        assert api.value(f"{path}/connecting") is False


def test_alpyca_connect_and_disconnect(api: Api) -> None:
    dome = Dome(api.base_url.removeprefix("http://"), 0)
    dome.Disconnect()
    dome.Connect()
    assert dome.Connecting
    wait_for(lambda: dome.Connected, 5, 0.02, "dome connected")
    assert not dome.Connecting


# -- identity, actions, commands ----------------------------------------------------------


def test_interface_versions_are_platform_7(api: Api) -> None:
    versions = {t: api.value(f"{t}/0/interfaceversion") for t in DEVICE_TYPES}
    assert versions == {
        "camera": 4,
        "covercalibrator": 2,
        "dome": 3,
        "filterwheel": 3,
        "focuser": 4,
        "safetymonitor": 3,
        "telescope": 4,
    }


@pytest.mark.parametrize("device_type", DEVICE_TYPES)
def test_identity_strings(api: Api, device_type: str) -> None:
    for member in ("name", "description", "driverinfo", "driverversion"):
        value = api.value(f"{device_type}/0/{member}")
        assert isinstance(value, str) and value.strip(), member
    major_minor = api.value(f"{device_type}/0/driverversion").split(".")[:2]
    assert all(part.isdigit() for part in major_minor)


@pytest.mark.parametrize("device_type", DEVICE_TYPES)
def test_supported_actions_list_the_simulator_actions(api: Api, device_type: str) -> None:
    actions = api.value(f"{device_type}/0/supportedactions")
    assert isinstance(actions, list) and all(isinstance(a, str) for a in actions)
    assert {"simulator:state", "simulator:fault", "simulator:faults"} <= set(actions)
    for name in actions:
        if name in ("simulator:state", "simulator:faults"):
            reply = api.put(f"{device_type}/0/action", Action=name, Parameters="")
            assert reply["ErrorNumber"] == 0 and isinstance(reply["Value"], str)


@pytest.mark.parametrize("device_type", DEVICE_TYPES)
def test_unknown_action_is_action_not_implemented(api: Api, device_type: str) -> None:
    reply = api.put(f"{device_type}/0/action", Action="simulator:nosuch", Parameters="")
    assert reply["ErrorNumber"] == 0x40C and reply["ErrorMessage"]


@pytest.mark.parametrize("command", ["commandblind", "commandbool", "commandstring"])
@pytest.mark.parametrize("device_type", DEVICE_TYPES)
def test_commands_are_not_implemented(api: Api, device_type: str, command: str) -> None:
    for raw in ("true", "false"):
        reply = api.put(f"{device_type}/0/{command}", Command="X", Raw=raw)
        assert reply["ErrorNumber"] == 0x400 and reply["ErrorMessage"]


def test_alpyca_maps_action_and_command_errors(api: Api) -> None:
    dome = Dome(api.base_url.removeprefix("http://"), 0)
    with pytest.raises(ActionNotImplementedException):
        dome.Action("simulator:nosuch")
    with pytest.raises(NotImplementedException):
        dome.CommandString("X", False)


# -- DeviceState --------------------------------------------------------------------------


@pytest.mark.parametrize("device_type", DEVICE_TYPES)
def test_device_state_holds_the_operational_properties(api: Api, device_type: str) -> None:
    state = state_of(api, device_type)
    expected = set(DEVICE_STATE_NAMES[device_type])
    for (state_type, name), member in NOT_IMPLEMENTED_STATE_MEMBERS.items():
        if state_type == device_type:
            # Left out only because the member itself answers NotImplemented.
            assert api.get(f"{device_type}/0/{member}")["ErrorNumber"] == 0x400
            expected.discard(name)
    assert set(state) == expected | {"TimeStamp"}
    stamp = datetime.fromisoformat(state["TimeStamp"])
    assert stamp.utcoffset() is not None and stamp.utcoffset() == UTC.utcoffset(stamp)


@pytest.mark.parametrize("device_type", DEVICE_TYPES)
def test_device_state_values_match_the_members(api: Api, device_type: str) -> None:
    """Stable members only (positions move with the sky and the clock)."""
    state = state_of(api, device_type)
    stable = {
        "Slewing",
        "AtHome",
        "AtPark",
        "ShutterStatus",
        "Position",
        "IsSafe",
        "CoverState",
        "CalibratorState",
        "Brightness",
        "Tracking",
        "SideOfPier",
        "CameraState",
        "ImageReady",
    }
    for name in stable & set(state):
        assert api.value(f"{device_type}/0/{name.lower()}") == state[name], name


# -- disconnected -------------------------------------------------------------------------


def _exempt_while_disconnected(device_type: str, member: str) -> bool:
    return device_type == "safetymonitor" and member == "issafe"


@pytest.mark.parametrize("device_type", DEVICE_TYPES)
def test_every_property_needs_a_connection_except_the_exempt(api: Api, device_type: str) -> None:
    api.ok(f"{device_type}/0/disconnect")
    failures: list[str] = []
    for (verb, name), member in sorted(MEMBERS[device_type].items()):
        if verb != "GET":
            continue
        reply = api.get(f"{device_type}/0/{name}", **GET_PARAMETERS.get(name, {}))
        exempt = works_disconnected(member) or _exempt_while_disconnected(device_type, name)
        if exempt and reply["ErrorNumber"] == 0x407:
            failures.append(f"{name} refuses while disconnected")
        if not exempt and reply["ErrorNumber"] != 0x407:
            failures.append(f"{name} answered {reply['ErrorNumber']:#x} while disconnected")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("device_type", DEVICE_TYPES)
def test_every_method_needs_a_connection(api: Api, device_type: str) -> None:
    api.ok(f"{device_type}/0/disconnect")
    for (verb, name), member in sorted(MEMBERS[device_type].items()):
        if verb != "PUT" or works_disconnected(member):
            continue
        form = {p.field: "1" if p.kind in ("int", "float") else "false" for p in member.params}
        if "UTCDate" in form:
            form["UTCDate"] = "2025-01-15T21:00:00Z"
        if "Command" in form or "Action" in form:
            form.update(Command="X", Action="simulator:state", Parameters="")
        reply = api.put(f"{device_type}/0/{name}", **form)
        assert reply["ErrorNumber"] == 0x407, f"PUT {name}: {reply}"


def test_safety_monitor_reports_unsafe_while_disconnected(api: Api) -> None:
    """ISafetyMonitor: IsSafe is False, not an error, when the device is not connected
    (ConformU reads it before connecting and flags true or an exception)."""
    api.action("safetymonitor", "simulator:set_safe", "true")
    api.ok("safetymonitor/0/disconnect")
    reply = api.get("safetymonitor/0/issafe")
    assert reply["ErrorNumber"] == 0 and reply["Value"] is False
    api.ok("safetymonitor/0/connect")
    wait_for(lambda: api.value("safetymonitor/0/connected"), 5, 0.02, "monitor connected")
    assert api.value("safetymonitor/0/issafe") is True
