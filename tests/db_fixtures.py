"""Database fixtures: a PostgreSQL server for the session, and ``database_url``, a fresh
migrated database per test on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url

from observatory.db.migrate import upgrade
from observatory.db.session import dispose_engines
from tests.postgres import PostgresServer, PostgresUnavailable, find_bindir

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
_TEMPLATE_DATABASE = "observatory_migrated"


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


@pytest.fixture(scope="session")
def _postgres_migrated_template(postgres_server: PostgresServer) -> str:
    url = postgres_server.create_database(_TEMPLATE_DATABASE)
    upgrade(url)
    # A template must have no connections when it is copied.
    dispose_engines(url)
    return _TEMPLATE_DATABASE


def fresh_sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'observatory.db'}"


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new database migrated to head, for this test only: SQLite file or PostgreSQL."""
    if request.param == "sqlite":
        url = fresh_sqlite_url(tmp_path)
        upgrade(url)
        yield url
        dispose_engines(url)
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    template = request.getfixturevalue("_postgres_migrated_template")
    url = server.create_database(template=template)
    yield url
    dispose_engines(url)
    server.drop_database(str(make_url(url).database))
