"""Run the simulator in this process (:func:`serve`) or in a child process."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Generator
from datetime import datetime
from pathlib import Path
from types import TracebackType

import requests
import uvicorn

from observatory.simulator.app import create_app
from observatory.simulator.clock import Clock
from observatory.simulator.config import SimulatorConfig, load_config
from observatory.simulator.discovery import start_discovery
from observatory.simulator.observatory import Observatory

READY_PREFIX = "listening on http://"


class _Server(uvicorn.Server):
    """uvicorn without its signal capture: :func:`serve` handles SIGINT/SIGTERM itself."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


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
    uvicorn_config = uvicorn.Config(
        create_app(observatory),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
    )
    server = _Server(uvicorn_config)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, lambda: setattr(server, "should_exit", True))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()  # startup failed: raise its error
            raise RuntimeError("the HTTP server stopped during startup")
        await asyncio.sleep(0.01)
    bound_port = server.servers[0].sockets[0].getsockname()[1]
    transport = None
    try:
        if discovery_port is not None or config.discovery.enabled:
            udp_port = discovery_port if discovery_port is not None else config.discovery.port
            transport, _ = await start_discovery(bound_port, udp_port)
        print(f"{READY_PREFIX}{host}:{bound_port}", flush=True)
        await serving
    finally:
        server.should_exit = True
        if not serving.done():
            await serving
        if transport is not None:
            transport.close()


class SimulatorProcess:
    """A simulator running in a child process; stop it with :meth:`stop` or ``with``."""

    def __init__(self, process: subprocess.Popen[str], host: str, port: int) -> None:
        self.process = process
        self.host = host
        self.port = port

    @property
    def address(self) -> str:
        """``host:port`` as alpyca expects it."""
        return f"{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"http://{self.address}"

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if it has not exited after ``timeout_s``. Idempotent."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout_s)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> SimulatorProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


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
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    line = _read_line(process, startup_timeout_s)
    if not line.startswith(READY_PREFIX):
        process.kill()
        process.wait()
        raise RuntimeError(f"simulator did not start (exit {process.returncode}): {line!r}")
    bound_port = int(line.strip().rsplit(":", 1)[1])
    simulator = SimulatorProcess(process, host, bound_port)
    try:
        _wait_until_answering(simulator, startup_timeout_s)
    except BaseException:
        simulator.stop()
        raise
    return simulator


def _read_line(process: subprocess.Popen[str], timeout_s: float) -> str:
    assert process.stdout is not None
    stdout = process.stdout
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout_s)
    if not lines:
        process.kill()
        process.wait()
        raise RuntimeError(f"simulator printed nothing in {timeout_s} s")
    return lines[0]


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
