"""Run the file server in this process (:func:`serve`) or in a child process."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from observatory.fileserver.app import create_app
from observatory.serving import ServerProcess, announce, bound_port, spawn_server, start_app
from observatory.settings import Settings


def serve(host: str, port: int, batches_dir: Path, products_dir: Path) -> None:
    """Serve until SIGINT or SIGTERM, then return. ``port`` 0 picks a free port; prints
    ``listening on http://HOST:PORT`` on stdout once it accepts requests. Raises OSError
    when the port cannot be bound."""
    asyncio.run(_serve(host, port, batches_dir, products_dir))


async def _serve(host: str, port: int, batches_dir: Path, products_dir: Path) -> None:
    server, serving = await start_app(create_app(batches_dir, products_dir), host, port)
    announce(host, bound_port(server))
    await serving


class FileServerProcess(ServerProcess):
    """A file server in a child process; stop it with :meth:`stop` or ``with``."""


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
    process, bound = spawn_server(
        file_server_command(settings, host, port), "file server", startup_timeout_s
    )
    return FileServerProcess(process, host, bound)
