"""One simulator process for the simulator's integration tests, and an HTTP helper."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from observatory.simulator.config import DEFAULT_CONFIG_PATH
from observatory.simulator.server import SimulatorProcess, start_simulator_process

# Fast enough that motions finish in a fraction of a second, slow enough to observe them.
TIME_SCALE = 20.0
# The conformance checklist's simulators (test_checklist_*.py) run faster still.
CHECKLIST_TIME_SCALE = 50.0
DEVICE_TYPES = (
    "camera",
    "covercalibrator",
    "dome",
    "filterwheel",
    "focuser",
    "safetymonitor",
    "telescope",
)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Api:
    """Raw Alpaca requests against one simulator (``/api/v1/`` paths are relative)."""

    def __init__(self, simulator: SimulatorProcess) -> None:
        self.base_url = simulator.base_url
        self.session = requests.Session()
        self.transaction_id = 0

    def url(self, path: str) -> str:
        return f"{self.base_url}/api/v1/{path}"

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        """GET returning the JSON envelope; fails the test on any non-200 status."""
        self.transaction_id += 1
        params.setdefault("ClientTransactionID", self.transaction_id)
        response = self.session.get(self.url(path), params=params, timeout=10)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def put(self, path: str, **form: Any) -> dict[str, Any]:
        self.transaction_id += 1
        form.setdefault("ClientTransactionID", self.transaction_id)
        response = self.session.put(self.url(path), data=form, timeout=10)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def value(self, path: str, **params: Any) -> Any:
        """The Value of a successful GET; fails the test on an ASCOM error."""
        reply = self.get(path, **params)
        assert reply["ErrorNumber"] == 0, reply
        return reply["Value"]

    def ok(self, path: str, **form: Any) -> dict[str, Any]:
        reply = self.put(path, **form)
        assert reply["ErrorNumber"] == 0, reply
        return reply

    def action(self, device: str, name: str, parameters: Any = "") -> Any:
        text = parameters if isinstance(parameters, str) else json.dumps(parameters)
        return self.ok(f"{device}/0/action", Action=name, Parameters=text)["Value"]


def open_checklist_simulator(
    tmp_path: Path, connect_delay_s: float | None = None, extra_toml: str = ""
) -> SimulatorProcess:
    """A simulator at CHECKLIST_TIME_SCALE from the default config, optionally with every
    connect delay replaced and ``extra_toml`` appended (keys of new tables only)."""
    text = DEFAULT_CONFIG_PATH.read_text()
    if connect_delay_s is not None:
        text = text.replace("connect_delay_s = 1.5", f"connect_delay_s = {connect_delay_s}")
    config_path = tmp_path / "simulator.toml"
    config_path.write_text(text + "\n" + extra_toml)
    return start_simulator_process(
        config_path=config_path, time_scale=CHECKLIST_TIME_SCALE, discovery_port=0
    )


@pytest.fixture(scope="session")
def discovery_port() -> int:
    return free_udp_port()


@pytest.fixture(scope="session")
def simulator(discovery_port: int) -> Iterator[SimulatorProcess]:
    with start_simulator_process(time_scale=TIME_SCALE, discovery_port=discovery_port) as sim:
        yield sim


@pytest.fixture
def api(simulator: SimulatorProcess) -> Iterator[Api]:
    """Every device connected before the test; every fault cleared after it."""
    client = Api(simulator)
    for device_type in DEVICE_TYPES:
        client.ok(f"{device_type}/0/connected", Connected="true")
    yield client
    for device_type in DEVICE_TYPES:
        client.ok(f"{device_type}/0/connected", Connected="true")
        client.action(device_type, "simulator:fault", {"kind": "clear"})
    client.session.close()


@pytest.fixture(scope="session")
def unused_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """Every device connected, of a checklist simulator of its own whose camera has never
    exposed and whose mount's targets were never set: its first-use refusals. Shared by
    the tests that ask for it, so they only read; none exposes, sets or moves anything."""
    with open_checklist_simulator(tmp_path_factory.mktemp("unused")) as simulator:
        client = Api(simulator)
        for device_type in DEVICE_TYPES:
            client.ok(f"{device_type}/0/connected", Connected="true")
        yield client
        client.session.close()
