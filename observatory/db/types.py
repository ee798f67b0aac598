"""Column types shared by the models: aware UTC timestamps, JSON documents, short enums."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, Enum
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.mutable import MutableDict, MutableList
from sqlalchemy.types import TypeDecorator, TypeEngine


def utcnow() -> dt.datetime:
    """The current instant as an aware UTC datetime."""
    return dt.datetime.now(dt.UTC)


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timestamp that is always an aware UTC datetime in Python.

    Stored as ``TIMESTAMP WITH TIME ZONE`` on PostgreSQL and as naive UTC text on SQLite
    (which has no time zones); either way it reads back as aware UTC. Binding a naive
    datetime raises ``ValueError``: the project never guesses a time zone.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware (UTC) datetime")
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def _json(*, nullable_as_sql_null: bool) -> TypeEngine[Any]:
    # JSONB on PostgreSQL compares and indexes by value; elsewhere plain JSON text.
    base = JSON(none_as_null=nullable_as_sql_null)
    return base.with_variant(JSONB(none_as_null=nullable_as_sql_null), "postgresql")


def json_dict(*, nullable: bool = False) -> TypeEngine[Any]:
    """A JSON object column; top-level key changes (``row.doc["k"] = v``) are tracked.

    Changes nested deeper than the top level are not seen by the session: assign a new
    value to the key instead. ``None`` on a nullable column is stored as SQL NULL.
    """
    return MutableDict.as_mutable(_json(nullable_as_sql_null=nullable))


def json_list() -> TypeEngine[Any]:
    """A JSON array column; appends and item assignments are tracked."""
    return MutableList.as_mutable(_json(nullable_as_sql_null=False))


def str_enum(enum_class: type[enum.StrEnum], name: str) -> Enum:
    """An enum stored as its short string value (VARCHAR(16)) with a CHECK constraint.

    Not a native database enum, so adding a value needs only a new CHECK in a migration.
    Plain strings equal to a value are accepted on write; reads give enum members.
    """
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        validate_strings=True,
        values_callable=lambda members: [member.value for member in members],
    )
