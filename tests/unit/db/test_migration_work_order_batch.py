"""Revision 0006 fills ``work_orders.batch`` for orders stored before it, one row at a
time: an order whose url names no batch keeps NULL and does not stop the others."""

from __future__ import annotations

import json

from sqlalchemy import text

from observatory.db.migrate import upgrade
from observatory.db.session import get_engine

ROWS = {
    "calibrate_file_batch": [
        {"url": "/data/batches/20261123-observation-1"},
        {"url": "http://example.org"},  # no path segment: names no batch
        {"url": "https://example.org/nights/night-2.tar.gz"},
        {"nourl": True},
    ],
    "resume_file_batch": [{"batch": "20261123-observation-1"}, {"batch": "../etc"}],
    "dome_open": [{}],
}
EXPECTED = ["20261123-observation-1", None, "night-2", None, "20261123-observation-1", None,
            None]  # fmt: skip


def test_stored_orders_get_their_batch(empty_database_url: str) -> None:
    upgrade(empty_database_url, "0005_real_frames")
    with get_engine(empty_database_url).begin() as connection:
        # SQLite stores the JSON text as it is; PostgreSQL needs it cast to JSON.
        payload = ":payload" if connection.dialect.name == "sqlite" else "CAST(:payload AS JSON)"
        rows = [(request, payload) for request, payloads in ROWS.items() for payload in payloads]
        for number, (request, data) in enumerate(rows):
            connection.execute(
                text(
                    'INSERT INTO work_orders (order_id, "user", request, payload, state, '
                    "attempts, received_at, updated_at) VALUES (:id, 'u', :request, "
                    f"{payload}, 'received', 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"id": str(number), "request": request, "payload": json.dumps(data)},
            )
    upgrade(empty_database_url)
    with get_engine(empty_database_url).connect() as connection:
        batches = connection.execute(text("SELECT batch FROM work_orders ORDER BY pk")).scalars()
        assert list(batches) == EXPECTED
