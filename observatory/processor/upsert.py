"""INSERT ... ON CONFLICT DO UPDATE on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def upsert(session: Session, model: Any, values: dict[str, Any], keys: Sequence[str]) -> None:
    """Insert one row of ``model``, or update every given column of the row with the same
    ``keys`` (a unique constraint). One statement, so concurrent re-runs leave one row."""
    upsert_many(session, model, [values], keys)


def upsert_many(
    session: Session, model: Any, rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> None:
    """:func:`upsert` each row, in one statement per set of columns the rows give (the
    rows sent together, not one round trip each)."""
    name = session.get_bind().dialect.name
    if name not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"upserts support SQLite and PostgreSQL, not {name}")
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        by_columns.setdefault(tuple(sorted(row)), []).append(row)
    for columns, group in by_columns.items():
        insert: Any = (postgresql.insert if name == "postgresql" else sqlite.insert)(model)
        replaced = {column: insert.excluded[column] for column in columns if column not in keys}
        statement = insert.on_conflict_do_update(index_elements=list(keys), set_=replaced)
        session.execute(statement, group)
