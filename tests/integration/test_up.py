"""``observatory up`` runs the stack in the foreground and stops it cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from observatory.embedded_redis import ping
from observatory.simulator.address import DEVICE_ROLES
from tests.helpers import free_port, wait_for

# Slow: `observatory up` with every child, stopped by a signal; the start and restart
# rules have fast tests (tests/unit/test_stack_restart.py).
pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_up_starts_everything_and_sigterm_stops_it_all(tmp_path: Path) -> None:
    redis_port, simulator_port = free_port(), free_port()
    env = dict(os.environ)
    for key in list(env):
        if key.startswith("OBSERVATORY_"):
            del env[key]
    env.update({
        "OBSERVATORY_DATA_DIR": str(tmp_path),
        "OBSERVATORY_EMBEDDED_REDIS_PORT": str(redis_port),
        "OBSERVATORY_SIMULATOR__PORT": str(simulator_port),
    })  # fmt: skip
    for role in DEVICE_ROLES:
        env[f"OBSERVATORY_DEVICES__{role.upper()}_ADDRESS"] = f"127.0.0.1:{simulator_port}"
    up = subprocess.Popen(
        [sys.executable, "-m", "observatory.cli.main", "up"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    logs = tmp_path / "logs"
    try:
        wait_for(lambda: ping(redis_port), 30, message="the embedded Redis")
        for queue in ("dome", "telescope", "processor"):
            wait_for(
                lambda q=queue: (
                    (logs / f"worker-{q}.log").exists()
                    and b"ready." in (logs / f"worker-{q}.log").read_bytes()
                ),
                90,
                message=f"the {queue} worker",
            )
        assert (tmp_path / "observatory.db").exists()
        up.send_signal(signal.SIGTERM)
        assert up.wait(60) == 0
    finally:
        if up.poll() is None:
            up.kill()
    assert not ping(redis_port)
    output = up.stdout.read().decode() if up.stdout else ""
    assert "observatory up" in output
    # No child outlived the stack.
    leftovers = subprocess.run(["pgrep", "-f", f"--port {simulator_port}"], capture_output=True)
    assert leftovers.stdout == b""
