"""``observatory up`` as its children see it: checked before it starts, supervised while it
runs (the embedded Redis included), and leaving nothing behind when it ends however it ends.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from observatory.embedded_redis import EmbeddedRedis, ping
from observatory.simulator.address import DEVICE_ROLES
from tests.helpers import free_port, wait_for

pytestmark = pytest.mark.integration

QUEUES = ("dome", "telescope", "processor")


def up_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a private ``observatory up`` under ``data_dir``."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("OBSERVATORY_")}
    simulator_port = free_port()
    env.update({
        "OBSERVATORY_CONFIG": os.devnull,
        "OBSERVATORY_DATA_DIR": str(data_dir),
        "OBSERVATORY_EMBEDDED_REDIS_PORT": str(free_port()),
        "OBSERVATORY_SIMULATOR__PORT": str(simulator_port),
        "OBSERVATORY_SIMULATOR__TIME_SCALE": "20",
    })  # fmt: skip
    for role in DEVICE_ROLES:
        env[f"OBSERVATORY_DEVICES__{role.upper()}_ADDRESS"] = f"127.0.0.1:{simulator_port}"
    env.update(extra)
    return env


def start_up(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "observatory.cli.main", "up", "--processor-concurrency", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_ready(data_dir: Path, times: int = 1) -> None:
    for queue in QUEUES:
        log = data_dir / "logs" / f"worker-{queue}.log"
        wait_for(
            lambda log=log: log.exists() and log.read_bytes().count(b"ready.") >= times,
            120,
            message=f"the {queue} worker (ready #{times})",
        )


def descendants(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def survivors(processes: list[psutil.Process]) -> list[str]:
    alive = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(f"{process.pid} {' '.join(process.cmdline())[:80]}")
        except psutil.NoSuchProcess:
            continue
    return alive


@pytest.fixture
def running_up(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], dict[str, str]]]:
    env = up_env(tmp_path)
    up = start_up(env)
    try:
        wait_ready(tmp_path)
        yield up, env
    finally:
        family = descendants(up.pid) if up.poll() is None else []
        if up.poll() is None:
            up.kill()
            up.wait()
        for process in family:
            if process.is_running():
                process.kill()


@pytest.mark.slow
def test_an_invalid_routine_plan_is_refused_before_anything_starts(tmp_path: Path) -> None:
    plan = tmp_path / "routine.toml"
    plan.write_text('[[entries]]\nname = "x"\nat = "sunset"\ncolour = "red"\n'
                    '[entries.order]\nrequest = "dome_status"\n')  # fmt: skip
    env = up_env(tmp_path, OBSERVATORY_ROUTINE_PLAN=str(plan))
    done = subprocess.run(
        [sys.executable, "-m", "observatory.cli.main", "up"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "colour" in lines[0] and str(plan) in lines[0], lines
    assert not (tmp_path / "logs").exists()
    assert not ping(int(env["OBSERVATORY_EMBEDDED_REDIS_PORT"]))


@pytest.mark.slow
def test_an_invalid_simulator_file_is_refused_before_anything_starts(tmp_path: Path) -> None:
    config = tmp_path / "simulator.toml"
    config.write_text("[dome]\nshutter_secconds = 8\n")
    env = up_env(tmp_path, OBSERVATORY_SIMULATOR__CONFIG=str(config))
    done = subprocess.run(
        [sys.executable, "-m", "observatory.cli.main", "up"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "shutter_secconds" in lines[0], lines
    assert not (tmp_path / "logs").exists()


@pytest.mark.slow
def test_sigkill_of_the_stack_leaves_no_process_behind(
    running_up: tuple[subprocess.Popen[bytes], dict[str, str]],
) -> None:
    up, _ = running_up
    family = descendants(up.pid)
    names = " ".join(" ".join(p.cmdline()) for p in family)
    assert "redis-server" in names and "observatory.simulator" in names, names
    assert len(family) >= 8, names
    up.kill()
    up.wait()
    wait_for(lambda: not survivors(family), 10, message="the children to end")


@pytest.mark.slow
def test_sigterm_stops_the_stack_within_10_s_with_the_broker_gone(tmp_path: Path) -> None:
    # A broker the stack does not own, so that it stays gone.
    broker = EmbeddedRedis(tmp_path / "external", free_port())
    broker.start()
    up = start_up(up_env(tmp_path, OBSERVATORY_BROKER_URL=broker.url))
    try:
        wait_ready(tmp_path)
        family = descendants(up.pid)
        broker.stop()
        # The workers are in their reconnect loop by now.
        time.sleep(3)
        started = time.monotonic()
        up.send_signal(signal.SIGTERM)
        up.wait(30)
        elapsed_s = time.monotonic() - started
        assert elapsed_s < 10, f"SIGTERM took {elapsed_s:.1f} s"
        assert not survivors(family)
    finally:
        if up.poll() is None:
            up.kill()
        broker.stop()


@pytest.mark.slow
def test_a_killed_redis_is_restarted_and_the_next_order_succeeds(
    running_up: tuple[subprocess.Popen[bytes], dict[str, str]],
) -> None:
    up, env = running_up
    redis = next(p for p in descendants(up.pid) if "redis-server" in " ".join(p.cmdline()))
    redis.kill()
    port = int(env["OBSERVATORY_EMBEDDED_REDIS_PORT"])
    wait_for(lambda: not ping(port), 5, message="the killed Redis to go")
    wait_for(lambda: ping(port), 15, message="the stack to start Redis again")
    order = {"id": "after-redis", "request": "dome_status", "user": "tests",
             "datetime": "2026-12-06T00:00:00+00:00"}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "observatory.cli.main", "submit", "-", "--wait",
         "--timeout", "90"],
        input=json.dumps(order),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done
    assert "succeeded" in done.stdout


@pytest.mark.slow
def test_an_invalid_instrument_profile_is_refused_before_anything_starts(tmp_path: Path) -> None:
    folder = tmp_path / "instruments"
    folder.mkdir()
    (folder / "ccd.toml").write_text('name = "ccd"\ngian_e_per_adu = 1.5\n')
    env = up_env(tmp_path, OBSERVATORY_PROCESSOR__INSTRUMENTS_DIR=str(folder))
    done = subprocess.run(
        [sys.executable, "-m", "observatory.cli.main", "up"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "ccd.toml" in lines[0], lines
    assert not (tmp_path / "logs").exists()
