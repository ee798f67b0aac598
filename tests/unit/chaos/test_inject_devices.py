"""Device faults reach the device the settings name, and no other.

A simulator serves two domes and two safety monitors; the settings name number 1 of each.
Number 0 must never be connected or faulted (nothing is sent to a device the settings do
not name).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from observatory.chaos.inject import Injector
from observatory.chaos.schedule import Fault
from observatory.settings import DeviceSettings, Settings
from observatory.simulator.server import SimulatorProcess, start_simulator_process
from observatory.stack import Stack

TWO_OF_EACH = """
[discovery]
enabled = false

[[dome]]
connect_delay_s = 0.0
[[dome]]
connect_delay_s = 0.0

[[safetymonitor]]
connect_delay_s = 0.0
[[safetymonitor]]
connect_delay_s = 0.0
"""


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    config_path: Path = tmp_path_factory.mktemp("simulator") / "simulator.toml"
    config_path.write_text(TWO_OF_EACH)
    with start_simulator_process(config_path=config_path) as process:
        yield process


def get(simulator: SimulatorProcess, device: str, member: str) -> dict[str, object]:
    response = requests.get(f"{simulator.base_url}/api/v1/{device}/{member}", timeout=5)
    assert response.status_code == 200, response.text
    return dict(response.json())


def value(simulator: SimulatorProcess, device: str, member: str) -> object:
    reply = get(simulator, device, member)
    assert reply["ErrorNumber"] == 0, reply
    return reply["Value"]


def injector(simulator: SimulatorProcess, tmp_path: Path) -> Injector:
    devices = DeviceSettings(
        dome_address=simulator.address,
        dome_number=1,
        safetymonitor_address=simulator.address,
        safetymonitor_number=1,
    )
    return Injector(Stack(Settings(data_dir=tmp_path, devices=devices)), [])


def test_a_device_fault_goes_to_the_configured_dome_number(
    simulator: SimulatorProcess, tmp_path: Path
) -> None:
    chaos = injector(simulator, tmp_path)
    fault = Fault(1, 0.0, "device", "dome", 5.0, {"kind": "error", "member": "azimuth"})
    undo = chaos._apply(fault)
    assert get(simulator, "dome/1", "azimuth")["ErrorNumber"] == 0x500
    assert undo is not None
    undo()
    value(simulator, "dome/1", "azimuth")
    assert chaos.recovered(fault)
    # Dome 0 was never connected, so nothing was sent to it.
    assert value(simulator, "dome/0", "connected") is False


def test_an_unsafe_fault_goes_to_the_configured_safety_monitor_number(
    simulator: SimulatorProcess, tmp_path: Path
) -> None:
    chaos = injector(simulator, tmp_path)
    fault = Fault(1, 0.0, "unsafe", "safetymonitor", 5.0)
    undo = chaos._apply(fault)
    assert value(simulator, "safetymonitor/1", "issafe") is False
    assert undo is not None
    undo()
    assert value(simulator, "safetymonitor/1", "issafe") is True
    assert chaos.recovered(fault)
    assert value(simulator, "safetymonitor/0", "connected") is False


@pytest.mark.timeout(20)
def test_the_stack_is_still_supervised_while_recoveries_are_timed_at_the_end() -> None:
    # A worker killed just before the night's last order ended is restarted only by the
    # stack's supervision, which must go on while the injector waits for its recovery.
    injector = Injector(None, [], None)  # type: ignore[arg-type]
    recovered = threading.Event()
    checks: list[float] = []

    def check() -> None:
        checks.append(time.monotonic())
        if len(checks) == 3:
            recovered.set()

    timing = threading.Thread(target=recovered.wait, daemon=True)
    timing.start()
    injector._threads.append(timing)
    injector.stop(check)
    assert len(checks) >= 3 and not timing.is_alive()
