"""Database fixtures: a PostgreSQL server for the session, and ``database_url``, an empty
database migrated to head for each test, on SQLite and on PostgreSQL.

Migrations run once per session; each test then gets a copy of the migrated SQLite file,
or the session's PostgreSQL database emptied (rows deleted, ids restarted), which is
twenty times faster than creating a database per test.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url, text

from observatory.db.migrate import upgrade
from observatory.db.models import Base
from observatory.db.session import dispose_engines, get_engine
from tests.postgres import PostgresServer, PostgresUnavailable, find_bindir

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole test session; skips when it is not installed."""
    try:
        bindir = find_bindir()
    except PostgresUnavailable as error:
        pytest.skip(str(error))
    with PostgresServer(bindir) as server:
        yield server


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """URL of an empty database ``observatory`` shared by the whole session (not migrated)."""
    return postgres_server.create_database("observatory")


def fresh_sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'observatory.db'}"


@pytest.fixture(scope="session")
def _sqlite_migrated_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    url = fresh_sqlite_url(tmp_path_factory.mktemp("migrated-sqlite"))
    upgrade(url)
    dispose_engines(url)
    path = Path(str(make_url(url).database))
    # Everything into the main file, so that copying that one file copies the database.
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    return path


@pytest.fixture(scope="session")
def _postgres_test_database(postgres_server: PostgresServer) -> str:
    return postgres_server.create_database("observatory_tests")


def _empty_postgres_database(server: PostgresServer, url: str) -> None:
    name = str(make_url(url).database)
    # Connections a previous test left behind (a worker process, say) would hold locks.
    server.execute_autocommit(
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
        f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
    )
    dispose_engines(url)
    upgrade(url)  # puts the schema back if a test migrated it down
    with get_engine(url).begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
            if "pk" not in table.c:
                continue
            connection.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'pk'), 1, false)")
            )
    dispose_engines(url)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database migrated to head, for this test only: SQLite file or PostgreSQL.

    Pass the URL to ``session_scope(url)`` or ``Settings(database_url=url)``.
    """
    if request.param == "sqlite":
        url = fresh_sqlite_url(tmp_path)
        shutil.copyfile(
            request.getfixturevalue("_sqlite_migrated_file"), tmp_path / "observatory.db"
        )
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        url = request.getfixturevalue("_postgres_test_database")
        _empty_postgres_database(server, url)
    yield url
    dispose_engines(url)
