"""Revision 0016: an id is unique per user and per queue. Stored orders survive it; one
id may then name a user's orders to two queues, and the downgrade refuses while it does."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from observatory.db.migrate import alembic_config, upgrade
from observatory.db.session import get_engine

INSERT = (
    'INSERT INTO work_orders (order_id, "user", request, payload, state, attempts, queue, '
    "received_at, updated_at) VALUES (:id, 'Main Module', :request, {payload}, 'queued', 0, "
    ":queue, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
)


def insert(connection, request: str, queue: str) -> None:  # type: ignore[no-untyped-def]
    payload = "'{}'" if connection.dialect.name == "sqlite" else "CAST('{}' AS JSON)"
    connection.execute(
        text(INSERT.format(payload=payload)), {"id": "1", "request": request, "queue": queue}
    )


def test_one_id_names_a_users_orders_to_two_queues_after_0016(empty_database_url: str) -> None:
    upgrade(empty_database_url, "0015_camera_setup")
    engine = get_engine(empty_database_url)
    with engine.begin() as connection:
        insert(connection, "calibrate_file_batch", "processor")
    upgrade(empty_database_url)
    with engine.begin() as connection:
        insert(connection, "observation", "telescope")
    with pytest.raises(IntegrityError), engine.begin() as connection:
        insert(connection, "observation", "telescope")
    with engine.connect() as connection:
        count = connection.execute(text("SELECT COUNT(*) FROM work_orders")).scalar_one()
    assert count == 2
    with pytest.raises(RuntimeError, match="'1' of 'Main Module'"), engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0015_camera_setup")
