"""The real stack for integration tests: embedded Redis, SQLite, the simulator over HTTP,
real Celery worker processes, and a real SMTP server. No eager mode anywhere."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from observatory.settings import PROJECT_ROOT, Settings, get_settings
from observatory.stack import Stack
from tests.helpers import free_port, wait_for
from tests.smtp import smtp_server  # noqa: F401  (fixture)

ADMIN = "admin@observatory.test"


@pytest.fixture(scope="session")
def stack_settings(tmp_path_factory: pytest.TempPathFactory, smtp_server) -> Iterator[Settings]:  # noqa: F811
    data_dir = tmp_path_factory.mktemp("stack")
    # The shipped instrument profiles, in a folder a test may add a camera's profile to.
    instruments = data_dir / "instruments"
    shutil.copytree(PROJECT_ROOT / "config" / "instruments", instruments)
    smtp_host, smtp_port, _ = smtp_server
    simulator_port = free_port()
    env = {
        "OBSERVATORY_DATA_DIR": str(data_dir),
        "OBSERVATORY_EMBEDDED_REDIS_PORT": str(free_port()),
        "OBSERVATORY_DATABASE_URL": f"sqlite:///{data_dir / 'observatory.db'}",
        "OBSERVATORY_SIMULATOR__PORT": str(simulator_port),
        "OBSERVATORY_SIMULATOR__TIME_SCALE": "20",
        "OBSERVATORY_ADMIN_EMAILS": ADMIN,
        "OBSERVATORY_SMTP__HOST": smtp_host,
        "OBSERVATORY_SMTP__PORT": str(smtp_port),
        # Short, so that a killed worker's message comes back within the test.
        "OBSERVATORY_VISIBILITY_TIMEOUT_S": "10",
        "OBSERVATORY_DEVICES__SHUTTER_TIMEOUT_S": "30",
        # The stack's tests drive the dome freely; the supervisor has its own tests
        # (test_supervisor.py). Disabled, the open permit asks the safety monitor only.
        "OBSERVATORY_SUPERVISOR__ENABLED": "false",
        "OBSERVATORY_PROCESSOR__INSTRUMENTS_DIR": str(instruments),
    }
    roles = (
        "DOME",
        "TELESCOPE",
        "CAMERA",
        "FILTERWHEEL",
        "COVERCALIBRATOR",
        "SAFETYMONITOR",
        "FOCUSER",
    )
    for role in roles:
        env[f"OBSERVATORY_DEVICES__{role}_ADDRESS"] = f"127.0.0.1:{simulator_port}"
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    get_settings.cache_clear()
    try:
        yield get_settings()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()


def worker_ready(log: Path) -> bool:
    return log.exists() and b"ready." in log.read_bytes()


@pytest.fixture(scope="session")
def stack(stack_settings: Settings) -> Iterator[Stack]:
    running = Stack(stack_settings, processor_concurrency=1, with_beat=False)
    try:
        running.start()
        for queue in ("dome", "telescope", "processor"):
            wait_for(
                lambda q=queue: worker_ready(running.log_path(f"worker-{q}")),
                90,
                message=f"the {queue} worker to be ready",
            )
        yield running
    finally:
        running.stop()
