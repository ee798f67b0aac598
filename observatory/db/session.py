"""Engines and the session scope.

SQLite (the embedded default) runs in WAL mode with foreign keys on and a 30 s busy
timeout. Every SQLite transaction that may write starts with ``BEGIN IMMEDIATE``:
several worker processes share the file, and a transaction that read first and wrote
later would otherwise fail at once with "database is locked" when another process had
written in between; taking the write lock up front makes it wait (up to the busy
timeout) instead. A transaction that only reads (:func:`read_scope`) runs on connections
of their own, opened with ``PRAGMA query_only``, and starts with a plain ``BEGIN``: in
WAL mode it reads a snapshot without taking the write lock, so it neither waits for a
writer nor makes one wait (two processor workers spent 40 ms a batch of the benchmark
night waiting for each other's reads, and every poll of an order's state took the lock
from the workers), and a write in it fails. Connections of their own, as switching
``query_only`` on a connection expires its prepared statements: the intake's next
submit took 1.0 ms instead of 0.6.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from observatory.errors import ConfigurationError
from observatory.settings import get_settings

SQLITE_BUSY_TIMEOUT_S = 30.0

# The execution option that marks a PostgreSQL transaction as read-only.
_READ_ONLY = "observatory_read_only"


@dataclass(frozen=True)
class _Engines:
    """A URL's engine and session factory, and those that only read."""

    engine: Engine
    sessions: sessionmaker[Session]
    reader: Engine
    reads: sessionmaker[Session]


_lock = threading.Lock()
# One set of engines per URL, as given by the caller.
_engines: dict[str, _Engines] = {}


def make_engine(url: str, read_only: bool = False) -> Engine:
    """A new engine for ``url`` (``sqlite:///path`` or ``postgresql://...``); with
    ``read_only``, a SQLite engine whose transactions only read (see the module
    docstring).

    For a SQLite file, creates its parent folder. Does not connect yet. Raises
    ``ConfigurationError`` later, on first connect, if a SQLite file cannot use WAL.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _make_sqlite_engine(parsed, read_only)
    engine = create_engine(parsed, pool_pre_ping=True)
    event.listen(engine, "begin", _begin_read_only_if_asked)
    return engine


def _make_sqlite_engine(url: URL, read_only: bool) -> Engine:
    if _is_sqlite_file(url):
        Path(str(url.database)).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
    event.listen(engine, "connect", _configure_sqlite_connection)
    if read_only:
        event.listen(engine, "connect", _sqlite_query_only)
        event.listen(engine, "begin", _begin_deferred)
    else:
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


def _begin_immediate(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_query_only(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA query_only = ON")
    finally:
        cursor.close()


def _begin_deferred(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN")


def _begin_read_only_if_asked(connection: Connection) -> None:
    if connection.get_execution_options().get(_READ_ONLY):
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")


def get_engine(url: str | None = None) -> Engine:
    """The process's engine for ``url`` (default: the settings' ``sqlalchemy_url``)."""
    return _cached(url).engine


def _cached(url: str | None) -> _Engines:
    resolved = url if url is not None else get_settings().sqlalchemy_url
    with _lock:
        cached = _engines.get(resolved)
        if cached is None:
            engine = make_engine(resolved)
            if engine.dialect.name == "sqlite":
                reader = make_engine(resolved, read_only=True)
            else:  # the same pool: a server's connections are counted
                reader = engine.execution_options(**{_READ_ONLY: True})
            # Objects stay readable after the scope commits; re-query to see newer data.
            cached = _engines[resolved] = _Engines(
                engine, sessionmaker(engine, expire_on_commit=False),
                reader, sessionmaker(reader, expire_on_commit=False),
            )  # fmt: skip
        return cached


@contextmanager
def _transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    session = sessions()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A session in one transaction: committed when the block ends, rolled back (and the
    exception re-raised) when it raises. ``url`` defaults to the settings' database.

    Keep the block short: on SQLite it holds the database's write lock until it ends.
    """
    with _transaction(_cached(url).sessions) as session:
        yield session


@contextmanager
def read_scope(url: str | None = None) -> Iterator[Session]:
    """A session in one transaction that only reads (a write in it raises): on SQLite it
    reads a snapshot without the database's write lock (see the module docstring). Its
    objects stay readable after the block, as :func:`session_scope`'s do."""
    with _transaction(_cached(url).reads) as session:
        yield session


@contextmanager
def connection_scope(url: str | None = None) -> Iterator[Connection]:
    """A Core connection in one transaction, like :func:`session_scope` (committed when the
    block ends, rolled back when it raises) without the ORM's unit of work: for the few
    statements a worker runs around every work order, where that bookkeeping would cost
    more than the statements themselves."""
    with _cached(url).engine.begin() as connection:
        yield connection


def dispose_engines(url: str | None = None) -> None:
    """Close the pooled connections of one cached engine (``url``) or of all, and forget
    them; the next use makes a new engine. Needed before dropping a database."""
    with _lock:
        urls = list(_engines) if url is None else [url]
        for key in urls:
            cached = _engines.pop(key, None)
            if cached is not None:
                cached.engine.dispose()
                cached.reader.dispose()


def _forget_engines_after_fork() -> None:
    # The parent's pooled connections must not be used (nor closed) by the child, and a
    # lock held by another parent thread at fork time would never be released here.
    global _lock
    _lock = threading.Lock()
    for cached in _engines.values():
        cached.engine.dispose(close=False)
        cached.reader.dispose(close=False)
    _engines.clear()


os.register_at_fork(after_in_child=_forget_engines_after_fork)
