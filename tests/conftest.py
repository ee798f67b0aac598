"""Fixtures shared by every test folder."""

from tests.db_fixtures import (  # noqa: F401  (fixtures are found by name)
    _postgres_test_database,
    _sqlite_migrated_file,
    database_url,
    postgres_server,
    postgres_url,
)
