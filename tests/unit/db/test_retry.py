"""A transaction tried again through a database outage, and only through one: SQLite
locked, a PostgreSQL server stopped and started (tests/postgres.py)."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError

from observatory.db import retry
from observatory.db.retry import database_unavailable, retry_unavailable
from observatory.db.server import PostgresControl
from observatory.db.session import dispose_engines, session_scope
from observatory.errors import ConfigurationError
from tests.postgres import PostgresServer, PostgresUnavailable, find_bindir


def _sqlite_error(tmp_path: Path, sql: str) -> DBAPIError:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    try:
        with session_scope(url) as session:
            session.execute(text(sql))
    except DBAPIError as error:
        return error
    finally:
        dispose_engines(url)
    raise AssertionError(f"{sql!r} did not fail")


def test_a_wrong_statement_is_not_an_outage_and_is_raised_at_once(tmp_path: Path) -> None:
    error = _sqlite_error(tmp_path, "SELECT * FROM no_such_table")
    assert isinstance(error, OperationalError) and not database_unavailable(error)
    calls = []

    def work() -> None:
        calls.append(1)
        raise error

    with pytest.raises(OperationalError):
        retry_unavailable("reading", work)
    assert calls == [1]


def test_a_locked_sqlite_database_is_an_outage(tmp_path: Path) -> None:
    locked = OperationalError("BEGIN", {}, sqlite3.OperationalError("database is locked"))
    assert database_unavailable(locked)


def test_an_outage_is_waited_out_and_then_the_work_is_done(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(retry, "FIRST_DELAY_S", 0.01)
    locked = OperationalError("BEGIN", {}, sqlite3.OperationalError("database is locked"))
    failures = [locked, locked]

    def work() -> str:
        if failures:
            raise failures.pop()
        return "done"

    assert retry_unavailable("ending work order 7", work) == "done"
    assert "database unavailable while ending work order 7 (database is locked)" in caplog.text


def test_an_outage_longer_than_the_limit_raises_its_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retry, "FIRST_DELAY_S", 0.05)
    locked = OperationalError("BEGIN", {}, sqlite3.OperationalError("database is locked"))

    def work() -> None:
        raise locked

    started = time.monotonic()
    with pytest.raises(OperationalError) as raised:
        retry_unavailable("claiming", work, limit_s=0.5)
    assert raised.value is locked and time.monotonic() - started < 2.0


def test_a_folder_that_is_no_running_server_is_refused_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="not a PostgreSQL data directory"):
        PostgresControl.of(tmp_path, tmp_path / "pg.log")
    (tmp_path / "PG_VERSION").write_text("15\n")
    with pytest.raises(ConfigurationError, match="no PostgreSQL server runs on"):
        PostgresControl.of(tmp_path, tmp_path / "pg.log")


@pytest.fixture
def own_server() -> PostgresServer:
    # A server of this test's own: it is stopped and started, and an immediate stop (a
    # crash) must keep what was committed.
    try:
        bindir = find_bindir()
    except PostgresUnavailable as error:
        pytest.skip(str(error))
    with PostgresServer(bindir, durable_commits=True) as server:
        yield server


@pytest.mark.postgres
@pytest.mark.slow
def test_a_postgres_server_stopped_and_started_is_waited_for(
    own_server: PostgresServer, tmp_path: Path
) -> None:
    url = own_server.create_database()
    control = PostgresControl.of(own_server.data_dir, tmp_path / "postgres.log")
    try:
        with session_scope(url) as session:  # a pooled connection, about to go stale
            session.execute(text("CREATE TABLE rows (n integer)"))
        control.stop("immediate")
        with pytest.raises(DBAPIError) as down, session_scope(url) as session:
            session.execute(text("SELECT 1"))
        assert database_unavailable(down.value)
        restart = threading.Timer(2.0, control.start)
        restart.start()

        def insert() -> None:
            with session_scope(url) as session:
                session.execute(text("INSERT INTO rows VALUES (1)"))

        retry_unavailable("inserting", insert, limit_s=60.0)
        restart.join()
        with session_scope(url) as session:
            assert session.scalar(text("SELECT count(*) FROM rows")) == 1
        # A server ended under a connection in a transaction: the same, once it is back.
        with pytest.raises(DBAPIError) as cut, session_scope(url) as session:
            session.execute(text("SELECT 1"))
            control.stop("fast")
            session.execute(text("SELECT 1"))
        assert database_unavailable(cut.value)
        control.start()
        retry_unavailable("inserting", insert, limit_s=60.0)
    finally:
        dispose_engines(url)
