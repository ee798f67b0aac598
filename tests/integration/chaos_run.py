"""``observatory run`` as a new user starts it: a child process on a private data folder,
broker port and simulator port, with none of the test session's ``OBSERVATORY_*``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from observatory.simulator.address import DEVICE_ROLES
from tests.helpers import free_port


def run_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """This process's environment without its ``OBSERVATORY_*`` variables, plus those of a
    private run under ``tmp_path / "var"`` and ``overrides`` (``OBSERVATORY_...=value``)."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("OBSERVATORY_")}
    simulator_port = free_port()
    env.update({
        "OBSERVATORY_CONFIG": os.devnull,
        "OBSERVATORY_DATA_DIR": str(tmp_path / "var"),
        "OBSERVATORY_EMBEDDED_REDIS_PORT": str(free_port()),
        "OBSERVATORY_SIMULATOR__PORT": str(simulator_port),
    })  # fmt: skip
    for role in DEVICE_ROLES:
        env[f"OBSERVATORY_DEVICES__{role.upper()}_ADDRESS"] = f"127.0.0.1:{simulator_port}"
    env.update(overrides)
    return env


def observatory_run(
    env: dict[str, str], *args: str, timeout_s: float
) -> subprocess.CompletedProcess[str]:
    """``observatory run ARGS`` in a child process with ``env``; output captured."""
    return subprocess.run(
        [sys.executable, "-m", "observatory.cli.main", "run", *args],
        env=env, capture_output=True, text=True, timeout=timeout_s,
    )  # fmt: skip
