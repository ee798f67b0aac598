"""The migrations build the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from observatory.db.migrate import alembic_config, current_revision, head_revision, upgrade
from observatory.db.models import Base
from observatory.db.session import get_engine

TABLES = {
    "work_orders",
    "step_runs",
    "file_batches",
    "exposures",
    "master_frames",
    "calibrated_frames",
    "device_events",
    "heartbeats",
    "queue_holds",
    "focus_runs",
}


def _tables(url: str) -> set[str]:
    with get_engine(url).connect() as connection:
        return set(inspect(connection).get_table_names()) - {"alembic_version"}


def test_upgrade_creates_every_table_and_records_head(empty_database_url: str) -> None:
    assert current_revision(empty_database_url) is None
    assert _tables(empty_database_url) == set()

    upgrade(empty_database_url)

    assert current_revision(empty_database_url) == head_revision()
    assert _tables(empty_database_url) == TABLES


def test_upgrade_twice_is_harmless(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    upgrade(empty_database_url)
    assert current_revision(empty_database_url) == head_revision()


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    with get_engine(database_url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_every_model_table_is_migrated() -> None:
    assert set(Base.metadata.tables) == TABLES


def test_downgrade_to_base_removes_everything(database_url: str) -> None:
    with get_engine(database_url).begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    assert _tables(database_url) == set()
    assert current_revision(database_url) is None


def test_concurrent_upgrades_of_one_database_both_succeed(empty_database_url: str) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            upgrade(empty_database_url)
        except BaseException as error:  # noqa: BLE001 - reported to the main thread below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert current_revision(empty_database_url) == head_revision()
