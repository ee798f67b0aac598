"""Whether the bundled simulator's address is free before a stack starts it.

A stack that starts the simulator points its devices at the simulator's address. Were
another program already listening there (another simulator, or an observatory's real
Alpaca devices on the default port 11111), the devices would drive that program. So the
address is tried by binding it, which sends nothing to whoever holds it, and a taken
address stops the stack before it starts anything.

For the same reason a device on this machine at any other address than the simulator's
(the embedded default's 127.0.0.1:11111 left behind when the simulator moved to another
port) is refused: on this machine, the stack that starts the simulator drives only it.
"""

from __future__ import annotations

import errno
import ipaddress
import socket

from observatory.errors import ConfigurationError
from observatory.settings import Settings


class SimulatorAddressTaken(ConfigurationError):
    """Another program listens on the simulator's address; the message says what to do."""


def bind_error(host: str, port: int) -> OSError | None:
    """The error a server binding ``host:port`` now would meet (as servers bind, with
    SO_REUSEADDR: an old connection in TIME_WAIT does not count), or None. Connects to
    nothing."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            return error
    return None


def check_simulator_address(settings: Settings) -> None:
    """Raise :class:`SimulatorAddressTaken` when ``simulator.host:simulator.port`` cannot
    be bound because another program holds it. Connects to nothing."""
    host, port = settings.simulator.host, settings.simulator.port
    error = bind_error(host, port)
    if error is None:
        return
    if error.errno != errno.EADDRINUSE:
        raise ConfigurationError(f"simulator: cannot use {host}:{port}: {error.strerror}")
    raise SimulatorAddressTaken(
        f"the simulator's address {host}:{port} is taken by another program (another"
        " simulator, or real Alpaca devices?); nothing was started and nothing sent"
        " to it. Stop that program, or run the simulator and the devices on a free"
        " port (OBSERVATORY_SIMULATOR__PORT=N and OBSERVATORY_DEVICES__<ROLE>_ADDRESS"
        f"={host}:N), or set OBSERVATORY_SIMULATOR__ENABLED=false to drive the devices"
        " the settings name"
    )


DEVICE_ROLES = (
    "dome", "telescope", "camera", "filterwheel", "covercalibrator", "safetymonitor", "focuser",
)  # fmt: skip


def check_device_addresses(settings: Settings) -> None:
    """Raise ConfigurationError naming the first device whose address is on this machine
    (loopback or ``localhost``) but not the simulator's. Devices elsewhere, and devices
    with no address, pass: the settings name them."""
    simulator = f"{settings.simulator.host}:{settings.simulator.port}"
    for role in DEVICE_ROLES:
        address: str | None = getattr(settings.devices, f"{role}_address")
        if address is None or address == simulator or not _on_this_machine(address):
            continue
        raise ConfigurationError(
            f"devices.{role}_address {address} is on this machine but the simulator this stack"
            f" starts is at {simulator}; point it there (OBSERVATORY_DEVICES__{role.upper()}"
            f"_ADDRESS={simulator}) or set OBSERVATORY_SIMULATOR__ENABLED=false"
        )


def _on_this_machine(address: str) -> bool:
    host = address.rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
