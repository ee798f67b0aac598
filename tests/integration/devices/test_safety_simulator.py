"""The safety monitor adapter against the real simulator process."""

from __future__ import annotations

import pytest
from alpaca.safetymonitor import SafetyMonitor

from observatory.devices.safety import SafetyMonitorAdapter
from observatory.errors import DeviceUnreachable, UnsafeConditions
from observatory.simulator.server import SimulatorProcess
from tests.helpers import free_port
from tests.integration.devices.conftest import device_settings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def set_safe(address: str, safe: bool) -> None:
    raw = SafetyMonitor(address, 0)
    raw.Connected = True
    raw.Action("simulator:set_safe", "true" if safe else "false")


def test_the_verdict_follows_the_monitor(simulator: SimulatorProcess) -> None:
    monitor = SafetyMonitorAdapter(device_settings(simulator.address))
    try:
        set_safe(simulator.address, True)
        assert monitor.is_safe() is True
        monitor.require_safe()
        set_safe(simulator.address, False)
        assert monitor.is_safe() is False
        with pytest.raises(UnsafeConditions, match="reports unsafe conditions"):
            monitor.require_safe()
    finally:
        set_safe(simulator.address, True)


def test_an_unreachable_monitor_counts_as_unsafe() -> None:
    settings = device_settings(f"127.0.0.1:{free_port()}", retries=1, retry_backoff_s=0.01)
    monitor = SafetyMonitorAdapter(settings)
    with pytest.raises(DeviceUnreachable):
        monitor.is_safe()
    with pytest.raises(UnsafeConditions, match="conditions unknown") as caught:
        monitor.require_safe()
    assert isinstance(caught.value.__cause__, DeviceUnreachable)
