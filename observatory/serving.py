"""Small HTTP servers run as child processes: the Alpaca simulator and the file server.

A server prints ``listening on http://HOST:PORT`` on stdout once it accepts requests; the
parent reads that line to learn the port it bound (port 0 picks a free one). SIGINT and
SIGTERM stop a server cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import threading
from collections.abc import Generator
from types import TracebackType
from typing import Self

import uvicorn
from starlette.types import ASGIApp

READY_PREFIX = "listening on http://"


class QuietServer(uvicorn.Server):
    """uvicorn without its own signal capture: :func:`start_app` installs the handlers."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def start_app(app: ASGIApp, host: str, port: int) -> tuple[QuietServer, asyncio.Task[None]]:
    """Start serving ``app``; returns once it accepts requests, with the server and its
    task (await the task to serve until SIGINT or SIGTERM). Raises the startup error
    (OSError when the port cannot be bound)."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
    )
    server = QuietServer(config)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, lambda: setattr(server, "should_exit", True))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()  # startup failed: raise its error
            raise RuntimeError("the HTTP server stopped during startup")
        await asyncio.sleep(0.01)
    return server, serving


def bound_port(server: uvicorn.Server) -> int:
    return int(server.servers[0].sockets[0].getsockname()[1])


def announce(host: str, port: int) -> None:
    """Tell the parent (see :func:`spawn_server`) that requests are answered."""
    print(f"{READY_PREFIX}{host}:{port}", flush=True)


class ServerProcess:
    """A server in a child process; stop it with :meth:`stop` or ``with``."""

    def __init__(self, process: subprocess.Popen[str], host: str, port: int) -> None:
        self.process = process
        self.host = host
        self.port = port

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

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

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def spawn_server(
    command: list[str], what: str, timeout_s: float
) -> tuple[subprocess.Popen[str], int]:
    """Start ``command`` and wait for its ready line; returns the process and its port.

    Raises RuntimeError naming ``what`` (and the child's exit code or first line) when the
    line does not come within ``timeout_s``; the child is killed first.
    """
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    stdout = process.stdout
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout_s)
    if not lines or not lines[0].startswith(READY_PREFIX):
        process.kill()
        process.wait()
        said = repr(lines[0]) if lines else f"nothing in {timeout_s} s"
        raise RuntimeError(f"{what} did not start (exit {process.returncode}): {said}")
    return process, int(lines[0].strip().rsplit(":", 1)[1])
