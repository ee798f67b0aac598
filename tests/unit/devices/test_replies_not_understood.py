"""Replies the adapters do not understand are DeviceErrors naming device and member, never
a guess: a body that is JSON but no Alpaca object, a Value of the wrong JSON type, and a
safety verdict that is anything but a JSON boolean (which must never read as safe)."""

from __future__ import annotations

from typing import Any

import pytest

from observatory.devices.dome import DomeAdapter, ShutterState
from observatory.devices.safety import SafetyMonitorAdapter
from observatory.errors import DeviceError, UnsafeConditions
from tests.unit.devices.alpaca_stub import AlpacaStub, Reply
from tests.unit.devices.conftest import fast_settings


def monitor(stub: AlpacaStub) -> SafetyMonitorAdapter:
    stub.values["interfaceversion"] = 3
    return SafetyMonitorAdapter(fast_settings(stub.address, safetymonitor_address=stub.address))


@pytest.mark.parametrize("body", ["[]", "null", '"ok"', "7", '{"Value": true}'])
def test_a_body_that_is_no_alpaca_object_is_a_device_error(stub: AlpacaStub, body: str) -> None:
    adapter = monitor(stub)
    stub.script("issafe", Reply(raw_body=body))
    with pytest.raises(DeviceError) as caught:
        adapter.is_safe()
    assert f"safety monitor 0 at {stub.address} issafe: reply" in str(caught.value)


@pytest.mark.parametrize("value", ["false", "False", "0", 0, 1, None, {"IsSafe": False}, [False]])
def test_a_safety_verdict_that_is_no_json_boolean_is_never_safe(
    stub: AlpacaStub, value: Any
) -> None:
    stub.values["issafe"] = value
    adapter = monitor(stub)
    with pytest.raises(DeviceError) as caught:
        adapter.is_safe()
    assert f"issafe: reply value {value!r} is not a JSON boolean" in str(caught.value)
    with pytest.raises(UnsafeConditions, match="conditions unknown"):
        adapter.require_safe()


def test_only_a_json_true_is_safe(stub: AlpacaStub) -> None:
    stub.values["issafe"] = True
    adapter = monitor(stub)
    assert adapter.is_safe() is True
    stub.values["issafe"] = False
    with pytest.raises(UnsafeConditions, match="reports unsafe"):
        adapter.require_safe()


@pytest.mark.parametrize(
    ("member", "value", "expected"),
    [
        ("azimuth", None, "azimuth: reply value None is not a JSON number"),
        ("azimuth", "90", "azimuth: reply value '90' is not a JSON number"),
        ("azimuth", True, "azimuth: reply value True is not a JSON number"),
        ("slewing", 0, "slewing: reply value 0 is not a JSON boolean"),
        ("atpark", "true", "atpark: reply value 'true' is not a JSON boolean"),
        ("shutterstatus", None, "shutterstatus: reply value None is not a JSON integer"),
        ("shutterstatus", True, "shutterstatus: reply value True is not a JSON integer"),
        ("shutterstatus", 7, "shutterstatus: reply value 7 is not a ShutterStatus"),
        ("cansetazimuth", None, "cansetazimuth: reply value None is not a JSON boolean"),
    ],
)
def test_a_dome_value_of_the_wrong_type_is_a_device_error_naming_it(
    stub: AlpacaStub, member: str, value: Any, expected: str
) -> None:
    stub.values[member] = value
    with pytest.raises(DeviceError) as caught:
        DomeAdapter(fast_settings(stub.address)).status()
    assert f"dome 0 at {stub.address} {expected}" in str(caught.value)


def test_a_whole_number_is_a_json_number(stub: AlpacaStub) -> None:
    stub.values.update(azimuth=90, shutterstatus=0)
    state = DomeAdapter(fast_settings(stub.address)).status()
    assert (state.azimuth_deg, state.shutter) == (90.0, ShutterState.OPEN)
