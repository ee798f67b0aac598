"""A chaos night on PostgreSQL (``observatory run --nights 1 --chaos SEED --postgres-data
DIR``): the server is stopped (immediate: as in a crash) 7 s into the night, among its
first orders, and started again. Read through the ledger: nothing lost,
nothing run twice, no duplicate rows, the outage's recovery timed, and the components
that met the outage said so and went on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from observatory.chaos.schedule import night_faults
from observatory.simulator.address import DEVICE_ROLES
from tests.helpers import free_port
from tests.postgres import PostgresServer, PostgresUnavailable, find_bindir

pytestmark = [
    pytest.mark.integration,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.timeout(2000),
]

# Night 1 of this seed stops the server 7 s in, for 11.7 s, in immediate mode.
SEED = 27


@pytest.fixture
def server() -> Iterator[PostgresServer]:
    # A server of this test's own (it is stopped and started); an immediate stop must
    # keep every commit, as a production server does.
    try:
        bindir = find_bindir()
    except PostgresUnavailable as error:
        pytest.skip(str(error))
    with PostgresServer(bindir, durable_commits=True) as started:
        yield started


def test_a_chaos_night_through_a_postgres_restart_loses_nothing(
    server: PostgresServer, tmp_path: Path
) -> None:
    stop = next(f for f in night_faults(SEED, 1, 150.0, database="postgres") if f.kind == "db_stop")
    assert stop.at_s < 15 and stop.spec == {"mode": "immediate"}
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("OBSERVATORY_")}
    simulator_port = free_port()
    data_dir = tmp_path / "var"
    env.update({
        "OBSERVATORY_CONFIG": str(tmp_path / "absent.toml"),
        "OBSERVATORY_DATA_DIR": str(data_dir),
        "OBSERVATORY_DATABASE_URL": server.create_database("observatory"),
        "OBSERVATORY_EMBEDDED_REDIS_PORT": str(free_port()),
        "OBSERVATORY_SIMULATOR__PORT": str(simulator_port),
    })  # fmt: skip
    for role in DEVICE_ROLES:
        env[f"OBSERVATORY_DEVICES__{role.upper()}_ADDRESS"] = f"127.0.0.1:{simulator_port}"
    ledger_path = tmp_path / "ledger.json"
    done = subprocess.run(
        [sys.executable, "-m", "observatory.cli.main", "run", "--nights", "1",
         "--chaos", str(SEED), "--ledger", str(ledger_path), "--no-report",
         "--postgres-data", str(server.data_dir)],
        env=env, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    tail = done.stdout[-4000:] + done.stderr[-2000:]
    assert ledger_path.exists(), tail
    ledger = json.loads(ledger_path.read_text())
    assert ledger["problems"] == [], ledger["problems"]
    assert done.returncode == 0, tail
    assert ledger["database"].startswith("postgresql (server")
    assert ledger["lost"] == [] and ledger["run_twice"] == []
    assert sum(ledger["duplicate_rows"].values()) == 0
    assert ledger["processes_left"] == []
    stops = [f for f in ledger["faults"] if f["kind"] == "db_stop"]
    assert len(stops) == 1 and stops[0]["applied"], stops
    assert stops[0]["recovery_s"] is not None and stops[0]["recovery_s"] < 60, stops
    assert ledger["orders"]["submitted"] >= 6
    # The outage was met, and waited out, by the stack (not only by the ledger's probe).
    logs = "".join(p.read_text(errors="replace") for p in (data_dir / "logs").glob("*.log"))
    assert "database unavailable while" in logs + done.stdout
    # The server is up again and the run's records are in it.
    server.execute_autocommit("SELECT 1")
