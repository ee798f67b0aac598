"""Engines and the session scope.

SQLite (the embedded default) runs in WAL mode with foreign keys on and a 30 s busy
timeout. Every SQLite transaction that may write starts with ``BEGIN IMMEDIATE``:
several worker processes share the file, and a transaction that read first and wrote
later would otherwise fail at once with "database is locked" when another process had
written in between; taking the write lock up front makes it wait (up to the busy
timeout) instead. A transaction that only reads (:func:`read_scope`) starts with a plain
``BEGIN`` and ``PRAGMA query_only``: in WAL mode it reads a snapshot without taking
the write lock, so it neither waits for a writer nor makes one wait (two processor
workers spent 40 ms a batch of the benchmark night waiting for each other's reads, and
every poll of an order's state took the lock from the workers), and a write in it fails.
PostgreSQL connections are checked before use (``pool_pre_ping``); a read scope's
transaction is ``READ ONLY`` there.

Nothing connects at import time. Engines are made on first use, one per URL per process,
and forgotten in a forked child (Celery's prefork pool) so that no connection is shared
across processes.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from observatory.errors import ConfigurationError
from observatory.settings import get_settings

SQLITE_BUSY_TIMEOUT_S = 30.0

_lock = threading.Lock()
# One engine and its session factory per URL, as given by the caller.
_engines: dict[str, tuple[Engine, sessionmaker[Session]]] = {}


def make_engine(url: str) -> Engine:
    """A new engine for ``url`` (``sqlite:///path`` or ``postgresql://...``).

    For a SQLite file, creates its parent folder. Does not connect yet. Raises
    ``ConfigurationError`` later, on first connect, if a SQLite file cannot use WAL.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _make_sqlite_engine(parsed)
    engine = create_engine(parsed, pool_pre_ping=True)
    event.listen(engine, "begin", _begin_read_only_if_asked)
    return engine


def _make_sqlite_engine(url: URL) -> Engine:
    if _is_sqlite_file(url):
        Path(str(url.database)).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
    event.listen(engine, "connect", _configure_sqlite_connection)
    event.listen(engine, "begin", _begin_immediate)
    return engine


def _is_sqlite_file(url: URL) -> bool:
    return bool(url.database) and url.database != ":memory:" and url.query.get("mode") != "memory"


def _configure_sqlite_connection(dbapi_connection: Any, connection_record: Any) -> None:
    # The driver's own transaction handling skips BEGIN before SELECT and SAVEPOINT;
    # switch it off and emit BEGIN ourselves (see _begin_immediate).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        (journal_mode,) = cursor.execute("PRAGMA journal_mode = WAL").fetchone()
        database_file = cursor.execute("PRAGMA database_list").fetchone()[2]
        if database_file and journal_mode.lower() != "wal":
            raise ConfigurationError(
                f"SQLite database {database_file} cannot use WAL (journal mode "
                f"{journal_mode!r}); put it on a local filesystem"
            )
        # Durable at each checkpoint and safe against corruption in WAL mode.
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


# The execution option that marks a connection's transaction as read-only.
_READ_ONLY = "observatory_read_only"


def _begin_immediate(connection: Connection) -> None:
    # query_only first: under it BEGIN IMMEDIATE (which takes the write lock) is refused.
    if connection.get_execution_options().get(_READ_ONLY):
        connection.exec_driver_sql("PRAGMA query_only = ON")
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("PRAGMA query_only = OFF")
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _begin_read_only_if_asked(connection: Connection) -> None:
    if connection.get_execution_options().get(_READ_ONLY):
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")


def get_engine(url: str | None = None) -> Engine:
    """The process's engine for ``url`` (default: the settings' ``sqlalchemy_url``)."""
    return _cached(url)[0]


def _cached(url: str | None) -> tuple[Engine, sessionmaker[Session]]:
    resolved = url if url is not None else get_settings().sqlalchemy_url
    with _lock:
        cached = _engines.get(resolved)
        if cached is None:
            engine = make_engine(resolved)
            # Objects stay readable after the scope commits; re-query to see newer data.
            cached = _engines[resolved] = (engine, sessionmaker(engine, expire_on_commit=False))
        return cached


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A session in one transaction: committed when the block ends, rolled back (and the
    exception re-raised) when it raises. ``url`` defaults to the settings' database.

    Keep the block short: on SQLite it holds the database's write lock until it ends.
    """
    session = _cached(url)[1]()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def read_scope(url: str | None = None) -> Iterator[Session]:
    """A session in one transaction that only reads (a write in it raises): on SQLite it
    reads a snapshot without the database's write lock (see the module docstring). Its
    objects stay readable after the block, as :func:`session_scope`'s do."""
    session = _cached(url)[1]()
    try:
        session.connection(execution_options={_READ_ONLY: True})
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def connection_scope(url: str | None = None) -> Iterator[Connection]:
    """A Core connection in one transaction, like :func:`session_scope` (committed when the
    block ends, rolled back when it raises) without the ORM's unit of work: for the few
    statements a worker runs around every work order, where that bookkeeping would cost
    more than the statements themselves."""
    with _cached(url)[0].begin() as connection:
        yield connection


def dispose_engines(url: str | None = None) -> None:
    """Close the pooled connections of one cached engine (``url``) or of all, and forget
    them; the next use makes a new engine. Needed before dropping a database."""
    with _lock:
        urls = list(_engines) if url is None else [url]
        for key in urls:
            cached = _engines.pop(key, None)
            if cached is not None:
                cached[0].dispose()


def _forget_engines_after_fork() -> None:
    # The parent's pooled connections must not be used (nor closed) by the child, and a
    # lock held by another parent thread at fork time would never be released here.
    global _lock
    _lock = threading.Lock()
    for engine, _ in _engines.values():
        engine.dispose(close=False)
    _engines.clear()


os.register_at_fork(after_in_child=_forget_engines_after_fork)
