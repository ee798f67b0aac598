"""Fixtures shared by every test folder, the xdist groups of the expensive ones, and the
random test order's seed on every report."""

from __future__ import annotations

import pytest

from tests.db_fixtures import (  # noqa: F401  (fixtures are found by name)
    _postgres_test_database,
    _sqlite_migrated_file,
    database_url,
    postgres_server,
    postgres_url,
)

# Expensive session fixtures, and the pytest-xdist group of the tests using them
# (``make test-fast`` runs ``--dist loadgroup``): each group runs in one worker process, so
# that one stack starts and one night is taken; the first match wins. Without xdist the
# marks do nothing.
XDIST_GROUPS = (
    ("stack", frozenset({"stack", "stack_settings"})),  # tests/integration/conftest.py
    ("night", frozenset({"night"})),  # tests/unit/processor/conftest.py
)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        for group, fixtures in XDIST_GROUPS:
            if fixtures & used:
                item.add_marker(pytest.mark.xdist_group(group))
                break


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
