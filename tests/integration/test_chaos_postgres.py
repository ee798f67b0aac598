"""A chaos night on PostgreSQL (``observatory run --nights 1 --chaos SEED --postgres-data
DIR``): the server is stopped (immediate: as in a crash) 7 s into the night, among its
first orders, and started again. Read through the ledger: nothing lost,
nothing run twice, no duplicate rows, the outage's recovery timed, and the components
that met the outage said so and went on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from observatory.chaos.schedule import night_faults
from tests.integration.chaos_run import observatory_run, run_env
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
    data_dir = tmp_path / "var"
    env = run_env(tmp_path, OBSERVATORY_DATABASE_URL=server.create_database("observatory"))
    ledger_path = tmp_path / "ledger.json"
    done = observatory_run(
        env, "--nights", "1", "--chaos", str(SEED), "--ledger", str(ledger_path),
        "--no-report", "--postgres-data", str(server.data_dir), timeout_s=1800,
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
