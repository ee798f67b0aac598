"""INSERT ... ON CONFLICT DO UPDATE on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def upsert(session: Session, model: Any, values: dict[str, Any], keys: Sequence[str]) -> None:
    """Insert one row of ``model``, or update every given column of the row with the same
    ``keys`` (a unique constraint). One statement, so concurrent re-runs leave one row."""
    name = session.get_bind().dialect.name
    if name not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"upserts support SQLite and PostgreSQL, not {name}")
    insert: Any = (postgresql.insert if name == "postgresql" else sqlite.insert)(model)
    statement = insert.values(**values)
    replaced = {column: statement.excluded[column] for column in values if column not in keys}
    session.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=replaced))
