"""Going on through a database outage: one transaction tried again while the database is
away (a PostgreSQL server stopped and started, a connection cut, SQLite locked beyond its
busy timeout).

Only the work that must not be lost waits for the database: a worker claiming and ending
its order, the telescope recording a frame it took, the reconciler, ``observatory run``
following its orders. The safety supervisor never waits: it reads an unavailable database
as unknown and closes the dome (:mod:`observatory.supervisor.loop`).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError

log = logging.getLogger(__name__)

T = TypeVar("T")

# How long a transaction is tried again before its error is raised: a server restart, a
# failover, a lock outlasting the busy timeout. Longer outages fail the work, on record.
DATABASE_RETRY_S = 120.0
FIRST_DELAY_S = 0.5
LONGEST_DELAY_S = 5.0
# SQLSTATE classes of a server going away: connection exception (08), operator
# intervention (57P: admin or crash shutdown, cannot connect now).
UNAVAILABLE_SQLSTATES = ("08", "57P")


def database_unavailable(error: BaseException) -> bool:
    """True when ``error`` says the database could not be reached or went away, rather
    than that the statement was wrong (a missing table, a constraint)."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if not isinstance(error, OperationalError):
        return False
    original = error.orig
    if isinstance(original, sqlite3.OperationalError):
        return "locked" in str(original) or "busy" in str(original)
    # PostgreSQL: a failed connect carries no SQLSTATE; a server error does.
    code = getattr(original, "pgcode", None)
    return code is None or str(code).startswith(UNAVAILABLE_SQLSTATES)


def retry_unavailable(what: str, work: Callable[[], T], *, limit_s: float = DATABASE_RETRY_S) -> T:
    """``work()`` (which opens and ends its own transactions), run again after 0.5, 1, 2
    ... up to 5 s while it raises an error of :func:`database_unavailable`, each time
    logged as a warning naming ``what``. Raises that error once ``limit_s`` has passed,
    and any other error at once. ``work`` must be safe to run again after a rollback."""
    deadline = time.monotonic() + limit_s
    delay_s = FIRST_DELAY_S
    while True:
        try:
            return work()
        except DBAPIError as error:
            if not database_unavailable(error) or time.monotonic() + delay_s > deadline:
                raise
            reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
            log.warning("database unavailable while %s (%s); trying again in %.1f s",
                        what, reason, delay_s)  # fmt: skip
            time.sleep(delay_s)
            delay_s = min(2 * delay_s, LONGEST_DELAY_S)
