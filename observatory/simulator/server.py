"""Run the simulator in this process (:func:`serve`) or in a child process."""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import datetime
from pathlib import Path

import requests

from observatory.serving import ServerProcess, announce, bound_port, spawn_server, start_app
from observatory.simulator.app import create_app
from observatory.simulator.clock import Clock
from observatory.simulator.config import SimulatorConfig, load_config
from observatory.simulator.discovery import start_discovery
from observatory.simulator.observatory import Observatory


def serve(
    host: str,
    port: int,
    config_path: Path | None = None,
    time_scale: float | None = None,
    discovery_port: int | None = None,
    start_utc: datetime | None = None,
    clock_epoch_unix_s: float | None = None,
) -> None:
    """Serve the simulator until SIGINT or SIGTERM, then return.

    ``port`` 0 picks a free port. ``time_scale`` and ``start_utc`` override the config
    file's; ``clock_epoch_unix_s`` is the wall instant at which the simulated clock read
    ``start_utc`` (see :class:`~observatory.simulator.clock.Clock`);
    ``discovery_port`` overrides ``[discovery] port`` (and enables discovery). Prints
    ``listening on http://HOST:PORT`` on stdout once requests are answered. Raises
    ConfigurationError for a bad config and OSError when a port cannot be bound.
    """
    config = load_config(config_path, time_scale)
    if start_utc is not None:
        config = config.model_copy(update={"start_utc": start_utc})
    clock = Clock(config.time_scale, config.start_utc, epoch_unix_s=clock_epoch_unix_s)
    asyncio.run(_serve(config, clock, host, port, discovery_port))


async def _serve(
    config: SimulatorConfig, clock: Clock, host: str, port: int, discovery_port: int | None
) -> None:
    observatory = Observatory(config, clock)
    server, serving = await start_app(create_app(observatory), host, port)
    port = bound_port(server)
    transport = None
    try:
        if discovery_port is not None or config.discovery.enabled:
            udp_port = discovery_port if discovery_port is not None else config.discovery.port
            transport, _ = await start_discovery(port, udp_port)
        announce(host, port)
        await serving
    finally:
        server.should_exit = True
        if not serving.done():
            await serving
        if transport is not None:
            transport.close()


class SimulatorProcess(ServerProcess):
    """A simulator running in a child process; stop it with :meth:`stop` or ``with``."""

    @property
    def address(self) -> str:
        """``host:port`` as alpyca expects it."""
        return f"{self.host}:{self.port}"


def start_simulator_process(
    host: str = "127.0.0.1",
    port: int = 0,
    config_path: Path | None = None,
    time_scale: float | None = None,
    discovery_port: int | None = None,
    startup_timeout_s: float = 30.0,
    start_utc: datetime | None = None,
    clock_epoch_unix_s: float | None = None,
) -> SimulatorProcess:
    """Start ``python -m observatory.simulator`` and wait until it answers HTTP.

    Raises RuntimeError (with the child's exit code) when it does not come up in
    ``startup_timeout_s``. The child's stderr goes to this process's stderr.
    """
    command = [sys.executable, "-m", "observatory.simulator", "--host", host, "--port", str(port)]
    if config_path is not None:
        command += ["--config", str(config_path)]
    if time_scale is not None:
        command += ["--time-scale", repr(time_scale)]
    if discovery_port is not None:
        command += ["--discovery-port", str(discovery_port)]
    if start_utc is not None:
        command += ["--start-utc", start_utc.isoformat()]
    if clock_epoch_unix_s is not None:
        command += ["--clock-epoch", repr(clock_epoch_unix_s)]
    process, port = spawn_server(command, "simulator", startup_timeout_s)
    simulator = SimulatorProcess(process, host, port)
    try:
        _wait_until_answering(simulator, startup_timeout_s)
    except BaseException:
        simulator.stop()
        raise
    return simulator


def _wait_until_answering(simulator: SimulatorProcess, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    url = f"{simulator.base_url}/management/apiversions"
    while True:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise RuntimeError(f"simulator at {simulator.address} does not answer {url}")
        time.sleep(0.05)
