"""Fixtures shared by every test folder, and the random test order's seed on every report."""

from __future__ import annotations

import pytest

from tests.db_fixtures import (  # noqa: F401  (fixtures are found by name)
    _postgres_test_database,
    _sqlite_migrated_file,
    database_url,
    postgres_server,
    postgres_url,
)


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    """Print the seed of the random order (pytest-randomly) even under ``-q``, and on a
    failure the command that runs the same order again."""
    if not config.pluginmanager.hasplugin("randomly"):
        return
    seed = config.getoption("randomly_seed")
    terminalreporter.write_line(f"tests ran in random order: --randomly-seed={seed}")
    if exitstatus == pytest.ExitCode.TESTS_FAILED:
        terminalreporter.write_line(
            f"reproduce this order with: python -m pytest -p randomly --randomly-seed={seed} "
            "<the same paths and options>",
            red=True,
        )
