"""Fixtures of the database tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url

from observatory.db.session import dispose_engines
from tests.db_fixtures import BACKENDS, fresh_sqlite_url
from tests.postgres import PostgresServer


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new database with no tables at all, SQLite or PostgreSQL."""
    if request.param == "sqlite":
        url = fresh_sqlite_url(tmp_path)
        yield url
        dispose_engines(url)
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create_database()
    yield url
    dispose_engines(url)
    server.drop_database(str(make_url(url).database))
