"""A stack never starts its simulator, or anything, on an address another program holds;
and nothing is sent to that program."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from observatory.errors import ConfigurationError
from observatory.settings import DeviceSettings, Settings, SimulatorSettings
from observatory.simulator.address import (
    DEVICE_ROLES,
    SimulatorAddressTaken,
    check_device_addresses,
    check_simulator_address,
)
from tests.helpers import free_port


class ForeignListener:
    """A program already listening on a loopback port; counts who connects to it."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self.server.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.server.accept()
            except TimeoutError:
                continue
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.server.close()


@pytest.fixture
def foreign() -> Iterator[ForeignListener]:
    listener = ForeignListener()
    yield listener
    listener.close()


def settings_on(port: int, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, simulator=SimulatorSettings(port=port))


def test_a_taken_address_is_refused_naming_it_and_a_free_one_passes(
    foreign: ForeignListener, tmp_path: Path
) -> None:
    with pytest.raises(SimulatorAddressTaken, match=f"127.0.0.1:{foreign.port} is taken"):
        check_simulator_address(settings_on(foreign.port, tmp_path))
    check_simulator_address(settings_on(free_port(), tmp_path))
    assert foreign.connections == 0


@pytest.mark.slow
@pytest.mark.parametrize("command", [["run"], ["up"]])
def test_run_and_up_refuse_in_one_line_and_send_nothing(
    command: list[str], foreign: ForeignListener, tmp_path: Path
) -> None:
    address = f"127.0.0.1:{foreign.port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBSERVATORY_")}
    env |= {
        "OBSERVATORY_DATA_DIR": str(tmp_path),
        "OBSERVATORY_SIMULATOR__PORT": str(foreign.port),
        "OBSERVATORY_EMBEDDED_REDIS_PORT": str(free_port()),
    }
    for role in DEVICE_ROLES:
        env[f"OBSERVATORY_DEVICES__{role.upper()}_ADDRESS"] = address
    done = subprocess.run(
        [sys.executable, "-m", "observatory.cli.main", *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"simulator's address {address} is taken" in lines[0]
    assert "OBSERVATORY_SIMULATOR__PORT" in lines[0]
    assert foreign.connections == 0
    assert not (tmp_path / "logs").exists()  # no child was started


def test_a_device_on_this_machine_elsewhere_than_the_simulator_is_refused(tmp_path: Path) -> None:
    port = free_port()
    simulator = f"127.0.0.1:{port}"
    on_simulator = {f"{role}_address": simulator for role in DEVICE_ROLES}
    settings = Settings(
        data_dir=tmp_path,
        simulator=SimulatorSettings(port=port),
        devices=DeviceSettings.model_validate(on_simulator),
    )
    check_device_addresses(settings)
    # The embedded default's port left behind for one device, after the simulator moved.
    left_behind = settings.devices.model_copy(update={"focuser_address": "localhost:11111"})
    with pytest.raises(ConfigurationError, match=r"devices\.focuser_address localhost:11111"):
        check_device_addresses(settings.model_copy(update={"devices": left_behind}))
    # Devices on other hosts, or without an address, are the settings' to name.
    elsewhere = settings.devices.model_copy(
        update={"focuser_address": None, "dome_address": "192.0.2.10:11111"}
    )
    check_device_addresses(settings.model_copy(update={"devices": elsewhere}))
