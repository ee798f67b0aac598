"""Small helpers shared by the tests."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

T = TypeVar("T")


def wait_for(
    predicate: Callable[[], T], timeout: float, interval: float = 0.1, message: str = "condition"
) -> T:
    """Poll ``predicate`` until it returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message}")
        time.sleep(interval)


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def small_disk(folder: Path, size_kib: int) -> Iterator[Path]:
    """A file system of ``size_kib`` KiB (a tmpfs) mounted on ``folder`` for the block:
    a disk that really fills. Skips the test, saying why, where mounting is not allowed
    (it needs root, as the CI machine has)."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(folder)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"a small disk cannot be mounted here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=True)


def env_settings(
    monkeypatch: pytest.MonkeyPatch, database_url: str, data_dir: Path
) -> Iterator[Any]:
    """Settings as the command line reads them (``OBSERVATORY_*`` variables): the database,
    the data folder, and a broker address nothing listens on, so a publish fails fast and
    no worker runs (an order waits). For a fixture: ``yield from env_settings(...)``."""
    from observatory.settings import get_settings

    monkeypatch.setenv("OBSERVATORY_DATABASE_URL", database_url)
    monkeypatch.setenv("OBSERVATORY_DATA_DIR", str(data_dir))
    monkeypatch.setenv("OBSERVATORY_BROKER_URL", "redis://127.0.0.1:1/0")
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def clean_observatory_env(monkeypatch: pytest.MonkeyPatch, config: Path | str = os.devnull) -> None:
    """No ``OBSERVATORY_*`` variable of the test run reaches the settings; the settings
    file is ``config`` (by default none: the built-in defaults)."""
    for key in list(os.environ):
        if key.upper().startswith("OBSERVATORY_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("OBSERVATORY_CONFIG", str(config))
