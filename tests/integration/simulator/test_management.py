"""Management API, setup pages, UDP discovery and the process lifecycle."""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid

import pytest
import requests
from alpaca import discovery, management

from observatory.simulator.server import SimulatorProcess, start_simulator_process

pytestmark = pytest.mark.integration


def test_api_versions_and_description(simulator: SimulatorProcess) -> None:
    reply = requests.get(
        f"{simulator.base_url}/management/apiversions", params={"ClientTransactionID": 4}, timeout=5
    ).json()
    assert reply["Value"] == [1] and reply["ClientTransactionID"] == 4
    description = management.description(simulator.address)
    assert set(description) >= {"ServerName", "Manufacturer", "ManufacturerVersion", "Location"}


def test_configured_devices_have_stable_uuids(simulator: SimulatorProcess) -> None:
    devices = management.configureddevices(simulator.address)
    assert {d["DeviceType"] for d in devices} == {
        "Camera",
        "CoverCalibrator",
        "Dome",
        "FilterWheel",
        "Focuser",
        "SafetyMonitor",
        "Telescope",
    }
    for device in devices:
        assert device["DeviceNumber"] == 0 and device["DeviceName"]
        uuid.UUID(device["UniqueID"])
    with start_simulator_process(time_scale=5.0) as restarted:
        again = management.configureddevices(restarted.address)
    assert again == devices


@pytest.mark.parametrize(
    "path", ["/setup", "/setup/v1/dome/0/setup", "/setup/v1/safetymonitor/0/setup"]
)
def test_setup_pages_are_html(simulator: SimulatorProcess, path: str) -> None:
    response = requests.get(f"{simulator.base_url}{path}", timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<html>" in response.text


def test_discovery_finds_the_simulator(
    simulator: SimulatorProcess, discovery_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(discovery, "port", discovery_port)
    found = discovery.search_ipv4(numquery=1, timeout=0.5)
    assert f"127.0.0.1:{simulator.port}" in found


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stops_cleanly_on_signals(signum: int) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "observatory.simulator", "--port", "0", "--discovery-port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("listening on http://127.0.0.1:")
    port = int(line.strip().rsplit(":", 1)[1])
    assert requests.get(f"http://127.0.0.1:{port}/management/apiversions", timeout=5).ok
    process.send_signal(signum)
    assert process.wait(10) == 0
    process.stdout.close()
