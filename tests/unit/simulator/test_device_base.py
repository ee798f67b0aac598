"""Common members every simulated device shares: connection, identity, actions, faults."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from observatory.simulator.clock import ManualClock
from observatory.simulator.devices import DEVICE_CLASSES
from observatory.simulator.devices.base import Device, DeviceSettings, get, put
from observatory.simulator.devices.safetymonitor import SafetyMonitor
from observatory.simulator.errors import (
    ActionNotImplemented,
    DriverError,
    InvalidValue,
    NotConnected,
    NotImplementedAscom,
)
from observatory.simulator.members import member_for
from tests.unit.simulator.conftest import call


def test_disconnected_device_answers_identity_but_refuses_state(
    make_device: Callable[..., Any],
) -> None:
    monitor = make_device(SafetyMonitor, connected=False)
    assert call(monitor, "GET", "connected") is False
    assert call(monitor, "GET", "interfaceversion") == 3
    assert call(monitor, "GET", "name") == "Simulated Safety Monitor"
    assert call(monitor, "GET", "supportedactions") == [
        "simulator:fault",
        "simulator:faults",
        "simulator:set_safe",
        "simulator:state",
    ]
    for name in ("description", "driverinfo", "driverversion", "connecting"):
        call(monitor, "GET", name)
    assert call(monitor, "GET", "issafe") is False  # ISafetyMonitor: False, not an error
    for verb, name in (("GET", "devicestate"), ("PUT", "commandblind")):
        with pytest.raises(NotConnected):
            call(monitor, verb, name, command="x", raw=False) if verb == "PUT" else call(
                monitor, verb, name
            )


def test_connect_takes_the_connect_delay(
    make_device: Callable[..., Any], clock: ManualClock
) -> None:
    monitor = make_device(SafetyMonitor, connected=False, connect_delay_s=1.5)
    call(monitor, "PUT", "connect")
    assert call(monitor, "GET", "connecting") is True
    assert call(monitor, "GET", "connected") is False
    clock.advance(1.0)
    call(monitor, "PUT", "connect")  # repeating is harmless
    assert call(monitor, "GET", "connecting") is True
    clock.advance(0.6)
    assert call(monitor, "GET", "connected") is True
    assert call(monitor, "GET", "connecting") is False
    call(monitor, "PUT", "disconnect")
    assert call(monitor, "GET", "connected") is False
    call(monitor, "PUT", "disconnect")


def test_connected_property_is_immediate(make_device: Callable[..., Any]) -> None:
    monitor = make_device(SafetyMonitor, connected=False)
    call(monitor, "PUT", "connected", connected=True)
    assert call(monitor, "GET", "connected") is True
    call(monitor, "PUT", "connected", connected=True)
    call(monitor, "PUT", "connected", connected=False)
    assert call(monitor, "GET", "connected") is False


def test_members_without_handlers_answer_not_implemented(make_device: Callable[..., Any]) -> None:
    monitor = make_device(SafetyMonitor)
    with pytest.raises(NotImplementedAscom):
        call(monitor, "PUT", "commandstring", command="x", raw=True)


def test_unknown_action_is_action_not_implemented(make_device: Callable[..., Any]) -> None:
    monitor = make_device(SafetyMonitor)
    with pytest.raises(ActionNotImplemented):
        call(monitor, "PUT", "action", action="simulator:nope", parameters="")


def test_action_names_are_case_insensitive(make_device: Callable[..., Any]) -> None:
    monitor = make_device(SafetyMonitor)
    state = json.loads(call(monitor, "PUT", "action", action="Simulator:State", parameters=""))
    assert state == {"connected": True, "is_safe": True}


def test_device_state_lists_values_and_a_utc_time_stamp(make_device: Callable[..., Any]) -> None:
    monitor = make_device(SafetyMonitor)
    state = call(monitor, "GET", "devicestate")
    assert state[0] == {"Name": "IsSafe", "Value": True}
    assert state[-1]["Name"] == "TimeStamp" and state[-1]["Value"].endswith("Z")


def test_error_fault_replaces_a_member_for_count_requests(make_device: Callable[..., Any]) -> None:
    monitor = make_device(SafetyMonitor)
    spec = {"kind": "error", "member": "issafe", "error_number": 0x555, "count": 2}
    call(monitor, "PUT", "action", action="simulator:fault", parameters=json.dumps(spec))
    for _ in range(2):
        with pytest.raises(DriverError) as raised:
            call(monitor, "GET", "issafe")
        assert raised.value.error_number == 0x555
    assert call(monitor, "GET", "issafe") is True


def test_fault_without_member_spares_the_action_member(make_device: Callable[..., Any]) -> None:
    monitor = make_device(SafetyMonitor)
    call(monitor, "PUT", "action", action="simulator:fault", parameters='{"kind": "error"}')
    with pytest.raises(DriverError):
        call(monitor, "GET", "name")
    call(monitor, "PUT", "action", action="simulator:fault", parameters='{"kind": "clear"}')
    assert call(monitor, "GET", "issafe") is True


def test_slow_fault_reports_a_reply_delay(make_device: Callable[..., Any]) -> None:
    monitor = make_device(SafetyMonitor, faults=[{"kind": "slow", "delay_s": 6}])
    issafe = member_for("safetymonitor", "GET", "issafe")
    action = member_for("safetymonitor", "PUT", "action")
    assert issafe is not None and action is not None
    assert monitor.reply_delay_s(issafe) == 6.0
    assert monitor.reply_delay_s(action) == 0.0


@pytest.mark.parametrize(
    "parameters",
    [
        '{"kind": "slow"}',
        '{"kind": "bogus"}',
        "not json",
        "[1]",
        '{"kind": "error", "x": 1}',
        '{"kind": "error", "error_number": 5}',
    ],
)
def test_malformed_faults_are_invalid_values(
    make_device: Callable[..., Any], parameters: str
) -> None:
    monitor = make_device(SafetyMonitor)
    with pytest.raises(InvalidValue):
        call(monitor, "PUT", "action", action="simulator:fault", parameters=parameters)


def test_misspelled_handlers_fail_at_class_creation() -> None:
    with pytest.raises(TypeError, match="not a member"):

        class Wrong(Device):
            device_type = "dome"

            @get("azimuthh")
            def azimuth(self) -> float:
                return 0.0

    with pytest.raises(TypeError, match="passes"):

        class WrongArgument(Device):
            device_type = "dome"

            @put("slewtoazimuth")
            def slew(self, azimuth_deg: float) -> None:
                pass


def test_registry_maps_lower_case_types_to_classes() -> None:
    for device_type, cls in DEVICE_CLASSES.items():
        assert cls.device_type == device_type
        assert issubclass(cls.settings_model, DeviceSettings)


def test_overriding_a_handler_method_replaces_it(make_device: Callable[..., Any]) -> None:
    class Renamed(SafetyMonitor):
        def get_name(self) -> str:
            return "Renamed"

    assert call(make_device(Renamed), "GET", "name") == "Renamed"
