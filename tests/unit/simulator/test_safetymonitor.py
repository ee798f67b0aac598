"""The safety monitor, whose verdict tests flip through an Action."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from observatory.simulator.devices.safetymonitor import SafetyMonitor
from observatory.simulator.errors import InvalidValue
from tests.unit.simulator.conftest import call


def test_set_safe_flips_is_safe(make_device: Callable[..., Any]) -> None:
    monitor = make_device(SafetyMonitor, safe=False)
    assert call(monitor, "GET", "issafe") is False and monitor.is_safe is False
    assert call(monitor, "PUT", "action", action="simulator:set_safe", parameters="TRUE") == "true"
    assert call(monitor, "GET", "issafe") is True
    call(monitor, "PUT", "action", action="simulator:set_safe", parameters="false")
    assert call(monitor, "GET", "issafe") is False


@pytest.mark.parametrize("parameters", ["", "yes", "1"])
def test_set_safe_needs_true_or_false(make_device: Callable[..., Any], parameters: str) -> None:
    monitor = make_device(SafetyMonitor)
    with pytest.raises(InvalidValue):
        call(monitor, "PUT", "action", action="simulator:set_safe", parameters=parameters)
