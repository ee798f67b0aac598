"""Fixtures shared by every test folder."""

from tests.db_fixtures import (  # noqa: F401  (fixtures are found by name)
    _postgres_migrated_template,
    database_url,
    postgres_server,
    postgres_url,
)
