"""Run the file server in this process (:func:`serve`) or in a child process."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import threading
from collections.abc import Generator
from pathlib import Path
from types import TracebackType

import uvicorn

from observatory.fileserver.app import create_app
from observatory.settings import Settings

READY_PREFIX = "listening on http://"


class _Server(uvicorn.Server):
    """uvicorn without its signal capture: :func:`serve` handles SIGINT/SIGTERM itself."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def serve(host: str, port: int, batches_dir: Path, products_dir: Path) -> None:
    """Serve until SIGINT or SIGTERM, then return. ``port`` 0 picks a free port; prints
    ``listening on http://HOST:PORT`` on stdout once it accepts requests. Raises OSError
    when the port cannot be bound."""
    asyncio.run(_serve(host, port, batches_dir, products_dir))


async def _serve(host: str, port: int, batches_dir: Path, products_dir: Path) -> None:
    config = uvicorn.Config(
        create_app(batches_dir, products_dir),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
    )
    server = _Server(config)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, lambda: setattr(server, "should_exit", True))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()  # startup failed: raise its error
            raise RuntimeError("the file server stopped during startup")
        await asyncio.sleep(0.01)
    bound_port = server.servers[0].sockets[0].getsockname()[1]
    print(f"{READY_PREFIX}{host}:{bound_port}", flush=True)
    await serving


class FileServerProcess:
    """A file server in a child process; stop it with :meth:`stop` or ``with``."""

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

    def __enter__(self) -> FileServerProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def file_server_command(settings: Settings, host: str, port: int) -> list[str]:
    """The command line of a file server of ``settings``' batches and products."""
    return [
        sys.executable, "-m", "observatory.fileserver", "--host", host, "--port", str(port),
        "--batches-dir", str(settings.batches_dir), "--products-dir", str(settings.products_dir),
    ]  # fmt: skip


def start_file_server_process(
    settings: Settings, host: str = "127.0.0.1", port: int = 0, startup_timeout_s: float = 30.0
) -> FileServerProcess:
    """Start ``python -m observatory.fileserver`` serving ``settings.batches_dir`` and
    ``settings.products_dir``; returns once it accepts requests. Raises RuntimeError (with
    the child's output) when it does not come up in ``startup_timeout_s``."""
    process = subprocess.Popen(
        file_server_command(settings, host, port), stdout=subprocess.PIPE, text=True
    )
    line = _read_line(process, startup_timeout_s)
    if not line.startswith(READY_PREFIX):
        process.kill()
        process.wait()
        raise RuntimeError(f"file server did not start (exit {process.returncode}): {line!r}")
    return FileServerProcess(process, host, int(line.strip().rsplit(":", 1)[1]))


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
        raise RuntimeError(f"file server printed nothing in {timeout_s} s")
    return lines[0]
