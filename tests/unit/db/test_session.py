"""Engines and the session scope: transactions, SQLite pragmas, concurrency, fork safety."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, make_url, select, text
from sqlalchemy.exc import IntegrityError

from observatory.db.migrate import upgrade
from observatory.db.models import StepRun, WorkOrder
from observatory.db.session import dispose_engines, get_engine, read_scope, session_scope
from observatory.settings import PROJECT_ROOT
from tests.postgres import PostgresServer


class Boom(Exception):
    pass


def _order(order_id: str = "o-1") -> WorkOrder:
    return WorkOrder(order_id=order_id, user="alice", request="dome_open", payload={})


def _count(url: str, model: type) -> int:
    with session_scope(url) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_session_scope_commits_at_the_end(database_url: str) -> None:
    with session_scope(database_url) as session:
        session.add(_order())
    assert _count(database_url, WorkOrder) == 1


def test_session_scope_rolls_back_everything_and_reraises(database_url: str) -> None:
    error = Boom("step failed")
    with pytest.raises(Boom) as raised, session_scope(database_url) as session:
        order = _order()
        order.step_runs = [StepRun(step="dome_open")]
        session.add(order)
        session.flush()  # the rows reach the database, inside the transaction
        raise error
    assert raised.value is error
    assert _count(database_url, WorkOrder) == 0
    assert _count(database_url, StepRun) == 0


def test_objects_stay_readable_after_the_scope(database_url: str) -> None:
    with session_scope(database_url) as session:
        order = _order()
        session.add(order)
    assert order.pk is not None
    assert order.order_id == "o-1"


def test_foreign_keys_are_enforced(database_url: str) -> None:
    with pytest.raises(IntegrityError), session_scope(database_url) as session:
        session.add(StepRun(work_order_pk=12345, step="dome_open"))


def test_sqlite_uses_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing' / 'folder' / 'observatory.db'}"
    try:
        with get_engine(url).connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        assert (tmp_path / "missing" / "folder" / "observatory.db").is_file()
    finally:
        dispose_engines(url)


def test_sqlite_concurrent_read_then_write_transactions_neither_fail_nor_lose_updates(
    tmp_path: Path,
) -> None:
    # Each transaction reads a counter and writes it back + 1. Deferred transactions would
    # fail with "database is locked" or lose increments; BEGIN IMMEDIATE serialises them.
    url = f"sqlite:///{tmp_path / 'observatory.db'}"
    upgrade(url)
    with session_scope(url) as session:
        session.add(_order())
    errors: list[BaseException] = []
    threads_n, increments_n = 6, 15

    def increment() -> None:
        try:
            for _ in range(increments_n):
                with session_scope(url) as session:
                    order = session.scalars(select(WorkOrder)).one()
                    order.attempts = order.attempts + 1
        except BaseException as error:  # noqa: BLE001 - reported to the main thread below
            errors.append(error)

    threads = [threading.Thread(target=increment) for _ in range(threads_n)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        with session_scope(url) as session:
            assert session.scalars(select(WorkOrder.attempts)).one() == threads_n * increments_n
    finally:
        dispose_engines(url)


def test_a_read_scope_reads_and_refuses_to_write(database_url: str) -> None:
    with session_scope(database_url) as session:
        session.add(_order())
    with read_scope(database_url) as session:
        order = session.scalars(select(WorkOrder)).one()
    assert order.order_id == "o-1"  # readable after the scope, as a session scope's
    with pytest.raises(Exception, match=r"read-only|readonly"), read_scope(database_url) as session:
        session.add(_order("o-2"))
        session.flush()
    # The pooled connection writes again in a session scope.
    with session_scope(database_url) as session:
        session.add(_order("o-3"))
    assert _count(database_url, WorkOrder) == 2


def test_sqlite_reads_run_on_connections_of_their_own(tmp_path: Path) -> None:
    """Switching ``query_only`` on a connection expires its prepared statements (the
    intake's next submit took 1.0 ms instead of 0.6): the writers' connections never
    have it, the readers' always do."""
    url = f"sqlite:///{tmp_path / 'observatory.db'}"
    upgrade(url)
    try:
        for _ in range(3):
            with read_scope(url) as session:
                reader = session.connection().connection.dbapi_connection
                assert session.execute(text("PRAGMA query_only")).scalar() == 1
            with session_scope(url) as session:
                writer = session.connection().connection.dbapi_connection
                assert session.execute(text("PRAGMA query_only")).scalar() == 0
            assert reader is not writer
    finally:
        dispose_engines(url)


def test_a_sqlite_read_scope_neither_waits_for_a_writer_nor_sees_its_work(tmp_path: Path) -> None:
    """A read takes no write lock: while another process holds it (a worker recording a
    step), a read scope reads the last committed state at once, where a session scope
    waits for the writer to end."""
    url = f"sqlite:///{tmp_path / 'observatory.db'}"
    upgrade(url)
    with session_scope(url) as session:
        session.add(_order())
    writing, release = threading.Event(), threading.Event()

    def writer() -> None:
        with session_scope(url) as session:
            session.add(_order("o-2"))
            session.flush()
            writing.set()
            release.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert writing.wait(10)
        started = time.monotonic()
        with read_scope(url) as session:
            assert session.scalars(select(WorkOrder.order_id)).all() == ["o-1"]
        assert time.monotonic() - started < 0.5
    finally:
        release.set()
        thread.join(10)
        dispose_engines(url)


def _write_in_forked_child(url: str, parent_engine: object, results: object) -> None:
    fresh = get_engine(url) is not parent_engine
    with session_scope(url) as session:
        session.add(_order("from-child"))
    results.put(fresh)  # type: ignore[attr-defined]


def test_a_forked_child_gets_its_own_engine(database_url: str) -> None:
    parent_engine = get_engine(database_url)
    assert _count(database_url, WorkOrder) == 0  # the parent's pool now holds a connection
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(
        target=_write_in_forked_child, args=(database_url, parent_engine, results)
    )
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0
    assert results.get(timeout=5) is True
    # The parent's pooled connection is still good after the child has exited.
    assert _count(database_url, WorkOrder) == 1


@pytest.mark.postgres
def test_postgres_connections_dropped_by_the_server_are_replaced(
    postgres_server: PostgresServer,
) -> None:
    url = postgres_server.create_database()
    try:
        with session_scope(url) as session:
            backend_pid = session.scalar(text("SELECT pg_backend_pid()"))
        # The pooled connection is now idle; the server ends it (waiting up to 5 s).
        postgres_server.execute_autocommit(f"SELECT pg_terminate_backend({backend_pid}, 5000)")
        with session_scope(url) as session:
            assert session.scalar(text("SELECT pg_backend_pid()")) != backend_pid
    finally:
        dispose_engines(url)
        postgres_server.drop_database(str(make_url(url).database))


def test_importing_the_database_modules_connects_to_nothing(tmp_path: Path) -> None:
    database = tmp_path / "never" / "observatory.db"
    code = (
        "import observatory.db.models, observatory.db.queries, "
        "observatory.db.session, observatory.db.migrate"
    )
    environment = {**os.environ, "OBSERVATORY_DATABASE_URL": f"sqlite:///{database}"}
    subprocess.run(
        [sys.executable, "-c", code], check=True, env=environment, cwd=PROJECT_ROOT, timeout=60
    )
    assert not database.parent.exists()
